"""fake_data.pgload against a real PostgreSQL server (the session's throwaway cluster)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from fake_data import pgload
from fake_data.district import TABLES, District
from fake_data.history import HISTORY_TABLES, history_batches

EXPECTED_KEYS = {
    "district": ("district_id",),
    "schools": ("school_id",),
    "academic_sessions": ("session_id",),
    "courses": ("course_id",),
    "students": ("student_id",),
    "households": ("household_id",),
    "guardians": ("guardian_id",),
    "guardian_links": ("student_id", "guardian_id"),
    "staff": ("staff_id",),
    "sections": ("section_id",),
    "enrollments": ("section_id", "student_id"),
    "accounts": ("user_id",),
}


def tables_in(conn: psycopg.Connection, schema: str) -> list[str]:
    rows = conn.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema]
    ).fetchall()
    return sorted(r[0] for r in rows)


def count(conn: psycopg.Connection, query: str) -> int:
    row = conn.execute(query).fetchone()
    assert row is not None
    return int(row[0])


# --- DDL -------------------------------------------------------------------------------------


def test_table_ddl_maps_arrow_types() -> None:
    schema = pa.schema([
        ("a_id", pa.int32()), ("tiny", pa.int8()), ("short", pa.int16()), ("big", pa.int64()),
        ("x", pa.float64()), ("y", pa.float32()), ("flag", pa.bool_()), ("day", pa.date32()),
        ("s", pa.string()), ("d", pa.dictionary(pa.int32(), pa.string())),
    ])
    ddl = pgload.table_ddl("t", schema, "sch", primary_key=["a_id"])
    assert ddl == (
        'CREATE TABLE "sch"."t" ("a_id" integer NOT NULL, "tiny" smallint, "short" smallint, '
        '"big" bigint, "x" double precision, "y" real, "flag" boolean, "day" date, '
        '"s" text COLLATE "C", "d" text COLLATE "C")'
    )


def test_table_ddl_rejects_unknown_type_and_key() -> None:
    with pytest.raises(TypeError, match="no PostgreSQL column type"):
        pgload.table_ddl("t", pa.schema([("b", pa.binary())]))
    with pytest.raises(ValueError, match="primary key"):
        pgload.table_ddl("t", pa.schema([("a", pa.int32())]), primary_key=["nope"])


def test_primary_keys_of_the_canonical_tables(small: District) -> None:
    keys = {name: pgload.primary_key(name, t.column_names) for name, t in small.tables.items()}
    assert keys == EXPECTED_KEYS


# --- loading a district ----------------------------------------------------------------------


@pytest.mark.postgres
def test_row_counts_match_the_arrow_tables(pg_conn: psycopg.Connection, small: District) -> None:
    seen: list[tuple[str, int]] = []
    rows = pgload.load_district(pg_conn, small, progress=lambda n, r: seen.append((n, r)))
    expected = {name: t.num_rows for name, t in small.tables.items()}
    assert rows == expected
    assert seen == list(expected.items())
    for name in TABLES:
        assert count(pg_conn, f"SELECT count(*) FROM {name}") == expected[name], name


@pytest.mark.postgres
def test_every_table_round_trips_value_for_value(pg_conn: psycopg.Connection,
                                                 small: District) -> None:
    pgload.load_district(pg_conn, small, schema="district_small")
    for name, table in small.tables.items():
        key = EXPECTED_KEYS[name]
        ordered = table.sort_by([(c, "ascending") for c in key])
        columns = ", ".join(f'"{c}"' for c in table.column_names)
        got = pg_conn.execute(
            f"SELECT {columns} FROM district_small.{name} ORDER BY {', '.join(key)}"
        ).fetchall()
        want = [tuple(row.values()) for row in ordered.to_pylist()]
        assert got == want, name


@pytest.mark.postgres
def test_sample_values(pg_conn: psycopg.Connection, small: District) -> None:
    pgload.load_district(pg_conn, small)
    students = small["students"]
    for i in (0, students.num_rows // 2, students.num_rows - 1):
        s = students.slice(i, 1).to_pylist()[0]
        row = pg_conn.execute(
            "SELECT first_name, last_name, birth_date, grade, sex FROM students "
            "WHERE student_id = %s", [s["student_id"]]
        ).fetchone()
        assert row == (s["first_name"], s["last_name"], s["birth_date"], s["grade"], s["sex"])
        assert isinstance(row[2], dt.date)

    guardians = small["guardians"]
    no_email = guardians.filter(pc.is_null(guardians["email"]))
    assert no_email.num_rows > 0
    gid = no_email["guardian_id"][0].as_py()
    row = pg_conn.execute(
        "SELECT email IS NULL, first_name FROM guardians WHERE guardian_id = %s", [gid]
    ).fetchone()
    assert row == (True, no_email["first_name"][0].as_py())
    assert count(pg_conn, "SELECT count(*) FROM guardians WHERE email IS NULL") \
        == no_email.num_rows
    assert count(pg_conn, "SELECT count(*) FROM staff WHERE termination_date IS NULL") \
        == small["staff"]["termination_date"].null_count
    assert count(pg_conn, "SELECT count(*) FROM academic_sessions WHERE parent_id IS NULL") == 1

    # Dictionary columns arrive as plain text with the "C" collation.
    types: dict[str, str] = dict(pg_conn.execute(
        "SELECT column_name, data_type || coalesce(' ' || collation_name, '') "
        "FROM information_schema.columns WHERE table_name = 'students'"
    ).fetchall())
    assert types["sex"] == types["first_name"] == types["race"] == "text C"
    assert types["grade"] == "smallint" and types["birth_date"] == "date"
    assert types["iep"] == "boolean" and types["student_id"] == "integer"
    sexes = {r[0] for r in pg_conn.execute("SELECT DISTINCT sex FROM students").fetchall()}
    assert sexes == {"female", "male"}

    comment = pg_conn.execute("SELECT obj_description('public.enrollments'::regclass)").fetchone()
    assert comment is not None
    assert comment[0].startswith("SYNTHETIC DATA generated by firstbell")
    assert "Profile small" in comment[0]


@pytest.mark.postgres
def test_primary_keys_and_indexes_exist(pg_conn: psycopg.Connection, small: District) -> None:
    pgload.load_district(pg_conn, small)
    keys = {
        table: tuple(cols)
        for table, cols in pg_conn.execute(
            "SELECT c.conrelid::regclass::text, array_agg(a.attname ORDER BY k.ord) "
            "FROM pg_constraint c, unnest(c.conkey) WITH ORDINALITY k(attnum, ord) "
            "JOIN pg_attribute a ON a.attnum = k.attnum "
            "WHERE c.contype = 'p' AND a.attrelid = c.conrelid "
            "AND c.connamespace = 'public'::regnamespace GROUP BY 1"
        ).fetchall()
    }
    assert keys == EXPECTED_KEYS
    indexes = {
        name: definition for name, definition in pg_conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
        ).fetchall()
    }
    for name in (
        "students_school_id_idx", "students_household_id_idx", "guardians_household_id_idx",
        "guardian_links_guardian_id_idx", "staff_school_id_idx", "sections_school_id_idx",
        "sections_course_id_idx", "sections_teacher_id_idx", "enrollments_student_id_idx",
        "enrollments_school_id_idx", "accounts_person_id_idx",
    ):
        assert name in indexes, name
    assert indexes["accounts_username_key"].startswith("CREATE UNIQUE INDEX")
    # A column leading the primary key needs no second index.
    assert "enrollments_section_id_idx" not in indexes
    assert "guardian_links_student_id_idx" not in indexes
    analyzed = pg_conn.execute(
        "SELECT count(*) FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
    ).fetchone()
    assert analyzed == (len(TABLES),)
    # Rows were copied frozen: every page is all-visible from the start (no vacuum needed).
    not_visible = pg_conn.execute(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "AND relkind = 'r' AND relallvisible < relpages"
    ).fetchall()
    assert not_visible == []


@pytest.mark.postgres
def test_references_resolve(pg_conn: psycopg.Connection, small: District) -> None:
    pgload.load_district(pg_conn, small)
    orphans = {
        "enrollment without section": "SELECT count(*) FROM enrollments e "
        "LEFT JOIN sections s USING (section_id) WHERE s.section_id IS NULL",
        "enrollment without student": "SELECT count(*) FROM enrollments e "
        "LEFT JOIN students s USING (student_id) WHERE s.student_id IS NULL",
        "section without teacher": "SELECT count(*) FROM sections s "
        "LEFT JOIN staff t ON t.staff_id = s.teacher_id WHERE t.staff_id IS NULL",
        "section taught by terminated staff": "SELECT count(*) FROM sections s "
        "JOIN staff t ON t.staff_id = s.teacher_id WHERE t.status = 'terminated'",
        "link without guardian": "SELECT count(*) FROM guardian_links l "
        "LEFT JOIN guardians g USING (guardian_id) WHERE g.guardian_id IS NULL",
        "student without household": "SELECT count(*) FROM students s "
        "LEFT JOIN households h USING (household_id) WHERE h.household_id IS NULL",
        "section enrolment count off": "SELECT count(*) FROM sections s WHERE s.enrolled <> "
        "(SELECT count(*) FROM enrollments e WHERE e.section_id = s.section_id)",
    }
    for what, query in orphans.items():
        assert count(pg_conn, query) == 0, what


# --- atomicity -------------------------------------------------------------------------------


@pytest.mark.postgres
def test_duplicate_key_rolls_everything_back(pg_conn: psycopg.Connection,
                                             small: District) -> None:
    students = small["students"]
    broken = dataclasses.replace(small, tables={
        **small.tables, "students": pa.concat_tables([students, students.slice(7, 1)])
    })
    with pytest.raises(psycopg.errors.UniqueViolation):
        pgload.load_district(pg_conn, broken, schema="broken")
    assert tables_in(pg_conn, "broken") == []
    assert pg_conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = 'broken'").fetchone() \
        is None


@pytest.mark.postgres
def test_loading_twice_fails_and_keeps_the_first_load(pg_conn: psycopg.Connection,
                                                      small: District) -> None:
    pgload.load_district(pg_conn, small)
    with pytest.raises(psycopg.errors.DuplicateTable):
        pgload.load_district(pg_conn, small)
    assert tables_in(pg_conn, "public") == sorted(TABLES)
    assert count(pg_conn, "SELECT count(*) FROM enrollments") == small["enrollments"].num_rows


@pytest.mark.postgres
def test_inside_a_caller_transaction_is_a_savepoint(pg_conn: psycopg.Connection,
                                                    small: District) -> None:
    with pg_conn.transaction():
        pg_conn.execute("CREATE TABLE keep_me (x int)")
        pgload.load_district(pg_conn, small, schema="inner")
        with pytest.raises(psycopg.errors.DuplicateTable):
            pgload.load_district(pg_conn, small, schema="inner")
    assert tables_in(pg_conn, "inner") == sorted(TABLES)
    assert tables_in(pg_conn, "public") == ["keep_me"]


# --- streaming -------------------------------------------------------------------------------

HISTORY = pa.schema([
    ("student_id", pa.int32()), ("day", pa.date32()), ("minutes", pa.int16()),
    ("status", pa.dictionary(pa.int32(), pa.string())), ("note", pa.string()),
])


def attendance_batches(sizes: list[int], consumed: list[int]) -> Iterator[pa.RecordBatch]:
    """Attendance-like batches, made only when asked for; `consumed` records each one made."""
    start = 0
    for size in sizes:
        ids = pa.array(range(start, start + size), pa.int32())
        yield pa.record_batch([
            ids,
            pc.cast(pc.cast(pc.add(pc.cast(ids, pa.int64()), 19_000), pa.int32()), pa.date32()),
            pa.array([i % 400 for i in range(start, start + size)], pa.int16()),
            pa.DictionaryArray.from_arrays(
                pa.array([i % 3 for i in range(start, start + size)], pa.int32()),
                pa.array(["present", "absent", "tardy"]),
            ),
            pa.array([None if i % 5 else f"note {i}" for i in range(start, start + size)]),
        ], schema=HISTORY)
        consumed.append(size)
        start += size


@pytest.mark.postgres
def test_copy_batches_streams_a_generator(pg_conn: psycopg.Connection) -> None:
    sizes = [1, 40_000, 250_000, 0, 9_999]  # one batch larger than BATCH_ROWS, one empty
    total = sum(sizes)
    consumed: list[int] = []
    pgload.create_table(pg_conn, "attendance", HISTORY)
    batches = attendance_batches(sizes, consumed)
    assert consumed == []  # nothing is made before the copy asks for it
    assert pgload.copy_batches(pg_conn, "attendance", batches) == total
    assert consumed == sizes
    row = pg_conn.execute(
        "SELECT count(*), count(DISTINCT student_id), min(student_id), max(student_id), "
        "sum(minutes), count(note), min(day), max(day) FROM attendance"
    ).fetchone()
    epoch = dt.date(1970, 1, 1)
    assert row == (
        total, total, 0, total - 1, sum(i % 400 for i in range(total)),
        len(range(0, total, 5)), epoch + dt.timedelta(19_000),
        epoch + dt.timedelta(19_000 + total - 1),
    )
    by_status: dict[str, int] = dict(pg_conn.execute(
        "SELECT status, count(*) FROM attendance GROUP BY status"
    ).fetchall())
    assert by_status == {s: len(range(i, total, 3))
                         for i, s in enumerate(["present", "absent", "tardy"])}
    assert pg_conn.execute(
        "SELECT note, status FROM attendance WHERE student_id = 123455"
    ).fetchone() == ("note 123455", "tardy")


@pytest.mark.postgres
def test_copy_batches_edge_cases(pg_conn: psycopg.Connection) -> None:
    pgload.create_table(pg_conn, "attendance", HISTORY)
    assert pgload.copy_batches(pg_conn, "attendance", iter([])) == 0
    good = next(attendance_batches([3], []))
    other = pa.record_batch([pa.array([1], pa.int64())], names=["student_id"])
    with pytest.raises(ValueError, match="differs from the first batch"):
        pgload.copy_batches(pg_conn, "attendance", [good, other])
    assert count(pg_conn, "SELECT count(*) FROM attendance") == 0  # the COPY was aborted
    # Columns are matched by name, not position.
    reordered = good.select(["note", "status", "student_id", "minutes", "day"])
    assert pgload.copy_batches(pg_conn, "attendance", [reordered]) == 3
    assert count(pg_conn, "SELECT sum(student_id) FROM attendance") == 3


@pytest.mark.postgres
def test_history_stream_loads_one_copy_per_batch(pg_conn: psycopg.Connection,
                                                 small: District) -> None:
    # The history stream interleaves its tables day by day, and a connection runs one COPY at a
    # time: so each batch is its own COPY, into tables created from the first batch's schema.
    rows = dict.fromkeys(HISTORY_TABLES, 0)
    with pg_conn.transaction():
        for name, batch in history_batches(small, days=3):
            if rows[name] == 0:
                pgload.create_table(pg_conn, name, batch.schema)
            rows[name] += pgload.copy_batches(pg_conn, name, [batch], freeze=True)
    for name in HISTORY_TABLES:
        assert count(pg_conn, f"SELECT count(*) FROM {name}") == rows[name] > 0, name
    assert count(pg_conn, "SELECT count(DISTINCT date) FROM attendance_daily") == 3
    graded = count(pg_conn, "SELECT count(*) FROM scores WHERE score_status = 'fully graded'")
    assert count(pg_conn, "SELECT count(score) FROM scores") == graded
