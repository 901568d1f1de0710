"""Load Arrow tables into PostgreSQL: DDL from Arrow schemas, binary COPY, keys after the load.

This module owns the PostgreSQL side of the generated data: how Arrow types map to column types,
how rows are streamed with ``COPY … FROM STDIN (FORMAT BINARY)``, the primary keys and lookup
indexes of the canonical district tables, and loading a whole `District` atomically. It does not
own the connection (the caller's, embedded or external server), nor the staging SIS's own tables
such as ``firstbell_meta``.

Rows are written in batches of `BATCH_ROWS`: each batch's columns become Python lists once and
feed ``copy.write_row``, so memory stays bounded even for streamed history tables of tens of
millions of rows. Keys and indexes are built after the data is in (several times faster than
maintaining them row by row), and every table is marked as synthetic with a comment.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql

from fake_data.district import SYNTHETIC_NOTE, District

BATCH_ROWS = 100_000

# Arrow type -> (column type in the DDL, type name for the binary COPY dumpers).
_TYPES: dict[pa.DataType, tuple[str, str]] = {
    pa.int8(): ("smallint", "int2"),
    pa.int16(): ("smallint", "int2"),
    pa.int32(): ("integer", "int4"),
    pa.int64(): ("bigint", "int8"),
    pa.uint8(): ("smallint", "int2"),
    pa.uint16(): ("integer", "int4"),
    pa.uint32(): ("bigint", "int8"),
    pa.float16(): ("real", "float4"),
    pa.float32(): ("real", "float4"),
    pa.float64(): ("double precision", "float8"),
    pa.bool_(): ("boolean", "bool"),
    pa.date32(): ("date", "date"),
    pa.string(): ('text COLLATE "C"', "text"),
    pa.large_string(): ('text COLLATE "C"', "text"),
}

# Link tables are keyed by the pair they link; every other table by its first `_id` column.
LINK_KEYS: dict[str, tuple[str, ...]] = {
    "guardian_links": ("student_id", "guardian_id"),
    "enrollments": ("section_id", "student_id"),
}
# Columns other tables point at: each gets an index unless it leads the table's primary key.
INDEXED_COLUMNS = (
    "school_id", "student_id", "guardian_id", "section_id", "teacher_id", "household_id",
    "course_id", "person_id",
)
UNIQUE_COLUMNS: dict[str, tuple[str, ...]] = {"accounts": ("username",)}

Progress = Callable[[str, int], None]


def _types(arrow_type: pa.DataType) -> tuple[str, str]:
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    try:
        return _TYPES[arrow_type]
    except KeyError:
        raise TypeError(f"no PostgreSQL column type for Arrow type {arrow_type}") from None


def _schema_of(table: pa.Table | pa.RecordBatch | pa.Schema) -> pa.Schema:
    return table if isinstance(table, pa.Schema) else table.schema


def _qualified(schema: str, name: str) -> sql.Identifier:
    return sql.Identifier(schema, name)


def primary_key(name: str, columns: Sequence[str]) -> tuple[str, ...]:
    """The primary key of a canonical district table: the linked pair, or the first `_id`."""
    if name in LINK_KEYS:
        return LINK_KEYS[name]
    first = next((c for c in columns if c.endswith("_id")), None)
    if first is None:
        raise ValueError(f"table {name}: no `_id` column to use as its primary key")
    return (first,)


def table_ddl(name: str, table: pa.Table | pa.Schema, schema: str = "public", *,
              primary_key: Sequence[str] = ()) -> str:
    """CREATE TABLE for an Arrow table (or schema). Columns are nullable except `primary_key`'s;
    the key itself is added after the load. Text is ``COLLATE "C"`` (faster sorts and indexes)."""
    arrow_schema = _schema_of(table)
    unknown = set(primary_key) - set(arrow_schema.names)
    if unknown:
        raise ValueError(f"table {name}: primary key columns not in the table: {sorted(unknown)}")
    columns = [
        sql.SQL("{} {}{}").format(
            sql.Identifier(field.name),
            sql.SQL(_types(field.type)[0]),
            sql.SQL(" NOT NULL" if field.name in primary_key else ""),
        )
        for field in arrow_schema
    ]
    return sql.SQL("CREATE TABLE {} ({})").format(
        _qualified(schema, name), sql.SQL(", ").join(columns)
    ).as_string()


def create_table(conn: psycopg.Connection, name: str, table: pa.Table | pa.Schema,
                 schema: str = "public", *, primary_key: Sequence[str] = (),
                 comment: str = SYNTHETIC_NOTE) -> None:
    """Create the table (see `table_ddl`) and mark it with `comment` (synthetic data)."""
    conn.execute(table_ddl(name, table, schema, primary_key=primary_key))
    conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(
        _qualified(schema, name), sql.Literal(comment)
    ))


def _python_column(arr: pa.Array) -> list[Any]:
    """One column as a Python list, by the fastest route for its type."""
    values: list[Any]
    if pa.types.is_dictionary(arr.type) and arr.null_count == 0:
        values = arr.dictionary.to_pylist()  # each distinct string is made once, then shared
        return [values[i] for i in arr.indices.to_numpy().tolist()]
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = arr.type
    if arr.null_count == 0 and (
        pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t)
        or pa.types.is_date32(t)
    ):
        values = arr.to_numpy(zero_copy_only=False).tolist()  # dates come as datetime.date
    else:
        values = arr.to_pylist()
    return values


def copy_batches(conn: psycopg.Connection, name: str, batches: Iterable[pa.RecordBatch],
                 schema: str = "public", *, freeze: bool = False) -> int:
    """Binary COPY record batches into an existing table, matching columns by name; returns rows.

    Batches are consumed one at a time (a generator is never materialized), and a large batch
    is written in slices of `BATCH_ROWS`. Every batch must have the first one's column types.
    `freeze` writes the rows frozen (``COPY … FREEZE``): only allowed when the table was created
    or truncated in the current transaction, and it spares the first readers setting hint bits.
    """
    it = iter(batches)
    first = next(it, None)
    if first is None:
        return 0
    arrow_schema = first.schema
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY{})").format(
        _qualified(schema, name),
        sql.SQL(", ").join(sql.Identifier(c) for c in arrow_schema.names),
        sql.SQL(", FREEZE" if freeze else ""),
    )
    rows = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.set_types([_types(field.type)[1] for field in arrow_schema])
        for batch in itertools.chain([first], it):
            if not batch.schema.equals(arrow_schema):
                raise ValueError(
                    f"table {name}: batch schema {batch.schema} differs from the first batch's "
                    f"{arrow_schema}"
                )
            for start in range(0, batch.num_rows, BATCH_ROWS):
                piece = batch.slice(start, BATCH_ROWS)
                for row in zip(*(_python_column(col) for col in piece.columns), strict=True):
                    copy.write_row(row)
            rows += batch.num_rows
    return rows


def copy_table(conn: psycopg.Connection, name: str, table: pa.Table, schema: str = "public", *,
               freeze: bool = False) -> int:
    """Binary COPY an Arrow table into an existing table (see `copy_batches`); returns rows."""
    return copy_batches(conn, name, table.to_batches(max_chunksize=BATCH_ROWS), schema,
                        freeze=freeze)


def _key_statements(name: str, columns: Sequence[str], schema: str) -> list[sql.Composed]:
    """Primary key, unique indexes and lookup indexes of a canonical district table."""
    target = _qualified(schema, name)
    key = primary_key(name, columns)
    statements = [
        sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} PRIMARY KEY ({})").format(
            target, sql.Identifier(f"{name}_pkey"), sql.SQL(", ").join(map(sql.Identifier, key))
        )
    ]
    for column in UNIQUE_COLUMNS.get(name, ()):
        statements.append(sql.SQL("CREATE UNIQUE INDEX {} ON {} ({})").format(
            sql.Identifier(f"{name}_{column}_key"), target, sql.Identifier(column)
        ))
    for column in columns:
        if column in INDEXED_COLUMNS and column != key[0]:
            statements.append(sql.SQL("CREATE INDEX {} ON {} ({})").format(
                sql.Identifier(f"{name}_{column}_idx"), target, sql.Identifier(column)
            ))
    return statements


def load_district(conn: psycopg.Connection, district: District, schema: str = "public",
                  progress: Progress | None = None) -> dict[str, int]:
    """Load every table of `district` into `schema` (created if missing) in one transaction.

    Creates the tables, COPYs the rows (frozen: readers need not set hint bits, and the
    visibility map is set), then adds the primary keys and indexes and ANALYZEs.
    On any error nothing is left behind (if the caller already has a transaction open, this is
    a savepoint in it, and the caller commits). `progress(table, rows)` is called after each
    table's COPY. Fails if a table already exists. Returns the rows loaded per table.
    """
    report = progress or (lambda _name, _rows: None)
    comment = (f"{SYNTHETIC_NOTE} Profile {district.profile.name}, scale {district.scale:g}, "
               f"seed {district.seed}.")
    rows: dict[str, int] = {}
    with conn.transaction():
        exists = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema]
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for name, table in district.tables.items():
            create_table(conn, name, table, schema,
                         primary_key=primary_key(name, table.column_names), comment=comment)
            rows[name] = copy_table(conn, name, table, schema, freeze=True)
            report(name, rows[name])
        for name, table in district.tables.items():
            for statement in _key_statements(name, table.column_names, schema):
                conn.execute(statement)
        for name in district.tables:
            conn.execute(sql.SQL("ANALYZE {}").format(_qualified(schema, name)))
    return rows
