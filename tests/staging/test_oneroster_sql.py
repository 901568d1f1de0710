"""The OneRoster SQL builder alone (`staging.oneroster_sql`): a collection's page statement from
checked list parameters, sourcedIds, and dateLastModified, without a database or a server."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from fake_data.export_oneroster import DISTRICT_SOURCED_ID, Kind, sourced_id
from staging.db import Row
from staging.oneroster_filter import Clause
from staging.oneroster_sql import (
    INT32,
    Branch,
    Col,
    Collection,
    Ctx,
    ListParams,
    Scope,
    id_col,
    modified_sql,
    page_sql,
    parse_org,
    parse_sourced_id,
    sid_sql,
)
from staging.oneroster_status import OneRosterError

SCHOOL_JOIN = "JOIN sis.schools sc ON sc.school_id = x.school_id"


def _build(row: Row, ctx: Ctx) -> dict[str, Any]:
    return dict(row)


def _branch(rank: int, table: str, key: str, kind: Kind) -> Branch:
    return Branch(rank, f"{table} x", (key,), {
        "sourcedId": id_col(kind, key),
        "familyName": Col("x.last_name"),
        "birthDate": Col("x.birth_date", "date"),
        "enabledUser": Col("x.enabled", "bool"),
        "score": Col("x.score", "number"),
        "schoolName": Col("sc.name", joins=("school",)),
    }, output="x.last_name AS family", joins={"school": SCHOOL_JOIN})


PEOPLE = Collection("people", "person", (_branch(0, "sis.students", "x.student_id", "student"),
                                         _branch(1, "sis.staff", "x.staff_id", "staff")),
                    ("sourcedId", "familyName"), _build)


def _params(*clauses: Clause, logic: str = "AND", sort: str | None = None,
            desc: bool = False) -> ListParams:
    return ListParams(10, 20, sort, desc, clauses, logic, None)


def _sql(lp: ListParams, scope: Scope | None = None, *, with_total: bool = True,
         coll: Collection = PEOPLE) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {}
    return page_sql(coll, lp, scope, params, with_total=with_total), params


def _page(sql: str) -> str:
    """The page's key query (before the objects are joined back)."""
    return sql.split(" SELECT t.total", 1)[0]


def test_client_text_reaches_only_the_parameters() -> None:
    hostile = "x'); DROP TABLE sis.students; --"
    sql, params = _sql(_params(Clause("familyName", "=", hostile),
                               Clause("familyName", "~", hostile)))
    assert hostile not in sql and "DROP" not in sql
    # One parameter per branch and clause, named by both.
    assert params == {"b0f0": hostile, "b0f1": hostile, "b1f0": hostile, "b1f1": hostile}
    assert "(x.last_name) = %(b0f0)s::text" in sql
    assert "strpos(lower((x.last_name)::text), lower(%(b0f1)s::text)) > 0" in sql


def test_operators_and_logic() -> None:
    sql, _ = _sql(_params(Clause("familyName", "!=", "a"), Clause("familyName", "<=", "b"),
                          logic="OR"))
    assert ("((x.last_name) IS DISTINCT FROM %(b0f0)s::text) OR"
            " ((x.last_name) <= %(b0f1)s::text)") in sql


@pytest.mark.parametrize(("field", "text", "value", "cast"), [
    ("birthDate", "2010-05-01", dt.date(2010, 5, 1), "date"),
    ("enabledUser", "TRUE", True, "boolean"),
    ("score", "2.5", 2.5, "float8"),
])
def test_values_are_typed_by_their_field(field: str, text: str, value: Any, cast: str) -> None:
    sql, params = _sql(_params(Clause(field, ">", text)))
    assert params["b0f0"] == value and f"%(b0f0)s::{cast}" in sql


def test_datetimes_without_a_zone_are_utc() -> None:
    coll = Collection("things", "thing", (Branch(0, "t", ("t.id",), {
        "dateLastModified": Col("t.modified", "datetime")}, output="t.id"),), (), _build)
    _, params = _sql(_params(Clause("dateLastModified", ">", "2024-01-02T03:04:05")), coll=coll)
    assert params["b0f0"] == dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)


@pytest.mark.parametrize(("field", "text"), [("birthDate", "yesterday"),
                                             ("enabledUser", "maybe"), ("score", "nan")])
def test_a_value_not_of_its_type_is_a_bad_filter(field: str, text: str) -> None:
    with pytest.raises(OneRosterError) as caught:
        _sql(_params(Clause(field, "=", text)))
    assert (caught.value.status, caught.value.minor) == (400, "invalid_filter_field")
    assert caught.value.description.startswith(f"{field}: {text!r} is not a valid")


def test_ids_compare_the_integer_behind_the_sourced_id() -> None:
    sql, params = _sql(_params(Clause("sourcedId", "=", sourced_id("student", 7))))
    assert "x.student_id = %(b0f0)s" in sql and params["b0f0"] == 7
    # Not a staff sourcedId: nothing in the staff branch equals it, everything differs.
    assert "(FALSE)" in sql and "b1f0" not in params
    sql, _ = _sql(_params(Clause("sourcedId", "!=", sourced_id("student", 7))))
    assert "(x.student_id = %(b0f0)s) IS NOT TRUE" in sql and "(TRUE)" in sql


def test_joins_only_where_a_filter_or_sort_needs_them() -> None:
    sql, _ = _sql(_params(Clause("familyName", "=", "a")))
    assert SCHOOL_JOIN not in _page(sql)
    assert SCHOOL_JOIN in sql  # the objects always carry every join
    sql, _ = _sql(_params(Clause("schoolName", "=", "a")))
    assert SCHOOL_JOIN in _page(sql)
    sql, _ = _sql(_params(sort="schoolName"))
    assert SCHOOL_JOIN in _page(sql)


def test_order_is_deterministic() -> None:
    sql, _ = _sql(_params())
    assert sql.endswith("ORDER BY d.rank, d.k0") and "ORDER BY rank, k0 LIMIT" in sql
    sql, _ = _sql(_params(desc=True))
    assert sql.endswith("ORDER BY d.rank DESC, d.k0 DESC")
    # sourcedIds of fixed width sort as the keys do.
    sql, _ = _sql(_params(sort="sourcedId", desc=True))
    assert "NULL::text AS sortv" in sql and sql.endswith("ORDER BY d.rank DESC, d.k0 DESC")
    sql, _ = _sql(_params(sort="familyName", desc=True))
    assert "x.last_name AS sortv" in sql
    assert sql.endswith("ORDER BY d.sortv DESC, d.rank, d.k0")


def test_total_scope_and_parent() -> None:
    scope = Scope("x.school_id = %(school)s", {"school": 3}, "SELECT true FROM sis.schools",
                  "org", "sch-0003")
    sql, params = _sql(_params(), scope)
    assert sql.count("x.school_id = %(school)s") == 4  # page and count, each branch
    assert "(SELECT count(*) FROM (" in sql and "(SELECT true FROM sis.schools) AS parent_ok" in sql
    assert "LIMIT %(limit)s OFFSET %(offset)s" in sql and params == {}
    sql, _ = _sql(_params(), with_total=False)
    assert "NULL::bigint AS total" in sql and "true AS parent_ok" in sql and "count(*)" not in sql


def test_sourced_ids() -> None:
    assert parse_sourced_id("student", sourced_id("student", 42)) == 42
    assert parse_sourced_id("student", sourced_id("staff", 42)) is None
    assert parse_sourced_id("student", "stu-42") is None  # not as we write it
    assert parse_sourced_id("student", f"stu-{INT32 + 1}") is None
    assert parse_org(DISTRICT_SOURCED_ID) == 0 and parse_org(sourced_id("school", 3)) == 3
    assert sid_sql("student", "st.student_id") == (
        "('stu-' || CASE WHEN st.student_id < 1000000 THEN lpad(st.student_id::text, 6, '0')"
        " ELSE st.student_id::text END)")


def test_modified_is_the_seed_time_unless_changed_after_seeding() -> None:
    assert modified_sql("a.m", "b.m") == (
        "(CASE WHEN greatest(a.m, b.m) > %(seeded)s::timestamptz THEN greatest(a.m, b.m)"
        " ELSE %(epoch)s::timestamptz END)")
