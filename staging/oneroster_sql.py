"""OneRoster collections as SQL: what a collection is, and the one statement answering a page.

A collection is one or more *branches* (``users`` = guardians, staff and students), each a table
with its key columns, its filterable fields and the select list of its objects. One statement
answers a page: the filtered keys of the page (only the joins the filter needs), the total
count, and the page's objects joined back by key. The order is always deterministic: the sort
field, then the branch and key, which is sourcedId order for the fixed-width ids.

Filter clauses (`staging.oneroster_filter`) become parameterized conditions over a whitelist of
field expressions per object type: no client text ever reaches the SQL text. sourcedIds live
here too, since an id field's filter compares the integer behind the sourcedId (index-friendly)
and sorting compares the sourcedId text SQL builds.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from fake_data.export_oneroster import DISTRICT_SOURCED_ID, Kind, sourced_id
from staging.db import Row
from staging.oneroster_filter import Clause, bad_filter

INT32 = 2_147_483_647
FieldType = Literal["text", "date", "datetime", "bool", "number"]
Match = Callable[[str, str], tuple[str, dict[str, Any]] | None]


# --- sourcedIds ---------------------------------------------------------------------------------

_SID = re.compile(r"([a-z]+-)(\d{1,10})")


def parse_sourced_id(kind: Kind, value: str) -> int | None:
    """The integer id behind `value` if it is exactly ``sourced_id(kind, id)``, else None."""
    m = _SID.fullmatch(value)
    if not m:
        return None
    n = int(m.group(2))
    return n if n <= INT32 and sourced_id(kind, n) == value else None


def parse_org(value: str) -> int | None:
    """School id of an org sourcedId; 0 is the district (staff school 0, the district office)."""
    return 0 if value == DISTRICT_SOURCED_ID else parse_sourced_id("school", value)


def sid_sql(kind: Kind, expr: str) -> str:
    """SQL giving the same text as `sourced_id(kind, expr)` (for sorting and `~`)."""
    sample = sourced_id(kind, 0)
    prefix = sample[:sample.index("-") + 1]
    width = len(sample) - len(prefix)
    return (f"('{prefix}' || CASE WHEN {expr} < {10 ** width} THEN lpad({expr}::text, {width},"
            f" '0') ELSE {expr}::text END)")


@dataclass(frozen=True)
class Col:
    """A filterable, sortable field: its SQL expression, the type its filter values are parsed
    as, the branch joins it needs, and for ids an index-friendly equality."""

    expr: str
    type: FieldType = "text"
    joins: tuple[str, ...] = ()
    match: Match | None = None


def id_col(kind: Kind, expr: str, joins: tuple[str, ...] = ()) -> Col:
    def match(value: str, p: str) -> tuple[str, dict[str, Any]] | None:
        n = parse_sourced_id(kind, value)
        return None if n is None else (f"{expr} = %({p})s", {p: n})
    return Col(sid_sql(kind, expr), joins=joins, match=match)


def const_col(value: str) -> Col:
    return Col(f"'{value}'::text")


# --- collections --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Branch:
    """One table of a collection. `output` is the select list of its objects (the same columns
    in every branch); `joins` are named joins a field may need, always present in the output;
    `extra` holds further joins only the output needs."""

    rank: int
    table: str
    keys: tuple[str, ...]
    cols: Mapping[str, Col]
    output: str
    joins: Mapping[str, str] = field(default_factory=dict)
    extra: str = ""
    where: str = "TRUE"


@dataclass(frozen=True)
class Ctx:
    """Absolute base URLs for references (``href``). A page of 5,000 users points at a few
    orgs over and over: each reference is made once per request and shared."""

    rostering: str
    gradebook: str
    refs: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict, compare=False)

    def ref(self, path: str, sid: str, type_: str, service: str = "rostering") -> dict[str, str]:
        found = self.refs.get((path, sid))
        if found is None:
            base = self.rostering if service == "rostering" else self.gradebook
            found = self.refs[path, sid] = {"href": f"{base}/{path}/{sid}", "sourcedId": sid,
                                            "type": type_}
        return found


@dataclass(frozen=True)
class Collection:
    plural: str
    singular: str
    branches: tuple[Branch, ...]
    fields: tuple[str, ...]
    build: Callable[[Row, Ctx], dict[str, Any]]
    what: str = "object"
    sid_is_key: bool = True  # sourcedId order is key order (ids of fixed width)


@dataclass(frozen=True)
class Scope:
    """A sub-collection: a condition on every branch, and whether the parent exists."""

    where: str
    params: Mapping[str, Any]
    parent: str | None = None
    parent_what: str = ""
    parent_id: str = ""


@dataclass(frozen=True)
class ListParams:
    """What a page asks for, checked against the collection (`staging.oneroster_query`)."""

    limit: int
    offset: int
    sort: str | None
    desc: bool
    clauses: tuple[Clause, ...]
    logic: str
    fields: tuple[str, ...] | None


# --- filter clauses as conditions ---------------------------------------------------------------

def _typed(col: Col, clause: Clause) -> Any:
    value = clause.value
    try:
        if col.type == "date":
            return dt.date.fromisoformat(value)
        if col.type == "datetime":
            moment = dt.datetime.fromisoformat(value)
            return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
        if col.type == "bool":
            if value.lower() not in ("true", "false"):
                raise ValueError(value)
            return value.lower() == "true"
        if col.type == "number":
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(value)
            return number
    except ValueError:
        raise bad_filter(f"{clause.field}: {value!r} is not a valid {col.type}") from None
    return value


_CASTS = {"text": "text", "date": "date", "datetime": "timestamptz", "bool": "boolean",
          "number": "float8"}


def _condition(col: Col, clause: Clause, p: str) -> tuple[str, dict[str, Any]]:
    op = clause.op
    if op == "~":
        return (f"strpos(lower(({col.expr})::text), lower(%({p})s::text)) > 0",
                {p: clause.value})
    if op in ("=", "!=") and col.match is not None:
        found = col.match(clause.value, p)
        if found is None:  # no such id: nothing equals it
            return ("FALSE", {}) if op == "=" else ("TRUE", {})
        sql, params = found
        return (sql, params) if op == "=" else (f"({sql}) IS NOT TRUE", params)
    value = _typed(col, clause)
    cast = _CASTS[col.type]
    sql_op = "IS DISTINCT FROM" if op == "!=" else op
    return f"({col.expr}) {sql_op} %({p})s::{cast}", {p: value}


# --- the page statement -------------------------------------------------------------------------

def _branch_keys(b: Branch) -> str:
    return ", ".join(f"{k} AS k{i}" for i, k in enumerate(b.keys))


def _branch_select(b: Branch, lp: ListParams, scope: Scope | None, params: dict[str, Any],
                   *, sort: bool, key_sort: bool) -> str:
    joins: set[str] = set()
    conds = []
    for i, clause in enumerate(lp.clauses):
        col = b.cols[clause.field]
        joins.update(col.joins)
        sql, p = _condition(col, clause, f"b{b.rank}f{i}")
        conds.append(f"({sql})")
        params.update(p)
    where = [b.where, f"({f' {lp.logic} '.join(conds)})" if conds else "TRUE"]
    if scope is not None:
        where.append(scope.where)
    sortv = "NULL::text"
    if sort and lp.sort is not None and not key_sort:
        sortv = b.cols[lp.sort].expr
        joins.update(b.cols[lp.sort].joins)
    join_sql = " ".join(b.joins[j] for j in sorted(joins))
    return (f"SELECT {b.rank} AS rank, {_branch_keys(b)}, {sortv} AS sortv"
            f" FROM {b.table} {join_sql} WHERE {' AND '.join(where)}")


def _key_sort(coll: Collection, lp: ListParams) -> bool:
    """Whether the order is the key order: no sort field, or sourcedIds that follow the keys."""
    return lp.sort is None or (lp.sort == "sourcedId" and coll.sid_is_key)


def _order(coll: Collection, lp: ListParams, alias: str = "") -> str:
    nkeys = len(coll.branches[0].keys)
    keys = [f"{alias}rank"] + [f"{alias}k{i}" for i in range(nkeys)]
    direction = " DESC" if lp.desc else ""
    if _key_sort(coll, lp):
        return ", ".join(k + direction for k in keys)
    return ", ".join([f"{alias}sortv{direction}", *keys])


def _detail(b: Branch) -> str:
    on = " AND ".join([f"page.rank = {b.rank}",
                       *(f"{k} = page.k{i}" for i, k in enumerate(b.keys))])
    keys = ", ".join(f"page.k{i}" for i in range(len(b.keys)))
    return (f"SELECT page.rank, {keys}, page.sortv, {b.output} FROM page JOIN {b.table} ON {on}"
            f" {' '.join(b.joins.values())} {b.extra}")


def page_sql(coll: Collection, lp: ListParams, scope: Scope | None,
             params: dict[str, Any], *, with_total: bool) -> str:
    """The statement answering one page: its rows (``rank`` NULL when the page is empty), each
    with ``total`` (NULL unless `with_total`) and ``parent_ok``. Fills `params` with the
    clauses' values; ``limit``, ``offset``, ``seeded``, ``epoch`` and the scope's are the
    caller's."""
    key_sort = _key_sort(coll, lp)
    page = " UNION ALL ".join(_branch_select(b, lp, scope, params, sort=True, key_sort=key_sort)
                              for b in coll.branches)
    details = " UNION ALL ".join(_detail(b) for b in coll.branches)
    head = []
    if with_total:
        count = " UNION ALL ".join(_branch_select(b, lp, scope, params, sort=False,
                                                  key_sort=True) for b in coll.branches)
        head.append(f"(SELECT count(*) FROM ({count}) c) AS total")
    else:
        head.append("NULL::bigint AS total")
    head.append(f"({scope.parent}) AS parent_ok" if scope and scope.parent else "true AS parent_ok")
    return (f"WITH page AS MATERIALIZED ({page} ORDER BY {_order(coll, lp)}"
            f" LIMIT %(limit)s OFFSET %(offset)s)"
            f" SELECT t.total, t.parent_ok, d.* FROM (SELECT {', '.join(head)}) t"
            f" LEFT JOIN ({details}) d ON true ORDER BY {_order(coll, lp, 'd.')}")


def modified_sql(*exprs: str) -> str:
    """dateLastModified of a row from its change times: the seed time unless it changed after
    seeding."""
    latest = f"greatest({', '.join(exprs)})"
    return (f"(CASE WHEN {latest} > %(seeded)s::timestamptz THEN {latest}"
            " ELSE %(epoch)s::timestamptz END)")
