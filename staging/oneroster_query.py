"""OneRoster 1.2 collections: query parameters to safe SQL, paging headers, status payloads.

Owns what every OneRoster endpoint shares: the ``limit``/``offset``/``sort``/``orderBy``/
``filter``/``fields`` grammar, its translation into parameterized SQL over a whitelist of field
expressions per object type (no client text ever reaches the SQL text), the ``X-Total-Count``
and RFC 5988 ``Link`` headers, the imsx status payload of errors, and sourcedId parsing.

A collection is one or more *branches* (``users`` = guardians, staff and students), each a table
with its key columns, its filterable fields and the select list of its objects. One statement
answers a page: the filtered keys of the page (only the joins the filter needs), the total
count, and the page's objects joined back by key. The order is always deterministic: the sort
field, then the branch and key, which is sourcedId order for the fixed-width ids.

Filter values: ``field<op>'value'`` where the value runs to the last quote before the end or
before `` AND ``/`` OR `` and the next clause, so a quote inside a value (``O'Brien``) needs no
escaping. One logical operator kind per filter, as the specification allows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import anyio
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout

from fake_data.export_oneroster import DISTRICT_SOURCED_ID, Kind, sourced_id
from fake_data.profile import load_profile
from staging.db import Database, Row

DEFAULT_LIMIT, MAX_LIMIT = 100, 5000
MAX_FILTER_CHARS, MAX_CLAUSES = 2000, 20
INT32 = 2_147_483_647
FieldType = Literal["text", "date", "datetime", "bool", "number"]
Match = Callable[[str, str], tuple[str, dict[str, Any]] | None]


# --- status payloads ----------------------------------------------------------------------------

def status_payload(minor: str, description: str) -> dict[str, Any]:
    return {"imsx_codeMajor": "failure", "imsx_severity": "error",
            "imsx_description": description,
            "imsx_CodeMinor": {"imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem",
                 "imsx_codeMinorFieldValue": minor}]}}


class OneRosterError(Exception):
    """An error answered with the OneRoster status payload."""

    def __init__(self, status: int, minor: str, description: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.minor, self.description = status, minor, description
        self.headers = headers

    def response(self) -> JSONResponse:
        return JSONResponse(status_payload(self.minor, self.description), self.status,
                            headers=self.headers)


def unknown_object(what: str, sid: str) -> OneRosterError:
    return OneRosterError(404, "unknownobject", f"{what} {sid!r} not found")


def invalid_data(description: str) -> OneRosterError:
    return OneRosterError(400, "invaliddata", description)


class OneRosterRoute(APIRoute):
    """Routes whose errors, dependencies' included, answer the OneRoster status payload."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response: Response = await handler(request)
                return response
            except OneRosterError as exc:
                return exc.response()
            except RequestValidationError as exc:
                detail = "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg')}"
                                   for e in exc.errors())
                return invalid_data(detail or "the request is not valid").response()
            except PoolTimeout:
                return OneRosterError(429, "server_busy", "the server is busy; retry later",
                                      {"Retry-After": "1"}).response()
            except pg_errors.DataError:
                return invalid_data("a value is out of range or malformed").response()
            except pg_errors.IntegrityError:
                return OneRosterError(409, "invaliddata",
                                      "the change conflicts with existing data").response()

        return route


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
class Clause:
    field: str
    op: str
    value: str


_OP = r"(!=|>=|<=|=|>|<|~)"
_START = re.compile(r"\s*([A-Za-z][A-Za-z0-9_.]*)\s*" + _OP + r"\s*'")
_JOIN = re.compile(r"\s+(AND|OR)\s+(?=[A-Za-z][A-Za-z0-9_.]*\s*" + _OP + r"\s*')")
_END = re.compile(r"\s*")


def bad_filter(description: str) -> OneRosterError:
    return OneRosterError(400, "invalid_filter_field", description)


def parse_filter(text: str) -> tuple[list[Clause], str]:
    """`field<op>'value'` clauses joined by one kind of logical operator."""
    if len(text) > MAX_FILTER_CHARS:
        raise bad_filter(f"the filter is longer than {MAX_FILTER_CHARS} characters")
    clauses: list[Clause] = []
    logic: str | None = None
    pos = 0
    while True:
        m = _START.match(text, pos)
        if m is None:
            raise bad_filter(f"cannot read the filter at character {pos + 1}: use field<op>'value'"
                             " with = != > < >= <= ~, joined by AND or OR")
        start, q, joined = m.end(), m.end(), None
        while True:
            q = text.find("'", q)
            if q < 0:
                raise bad_filter("a filter value has no closing quote")
            if _END.fullmatch(text, q + 1):
                break
            joined = _JOIN.match(text, q + 1)
            if joined:
                break
            q += 1
        clauses.append(Clause(m.group(1), m.group(2), text[start:q]))
        if len(clauses) > MAX_CLAUSES:
            raise bad_filter(f"at most {MAX_CLAUSES} filter clauses")
        if joined is None:
            return clauses, logic or "AND"
        if logic not in (None, joined.group(1)):
            raise bad_filter("use one logical operator (AND or OR) in a filter, not both")
        logic, pos = joined.group(1), joined.end()


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


@dataclass(frozen=True)
class ListParams:
    limit: int
    offset: int
    sort: str | None
    desc: bool
    clauses: tuple[Clause, ...]
    logic: str
    fields: tuple[str, ...] | None


def _int_param(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise invalid_data(f"{name} must be an integer") from None


def list_params(request: Request, coll: Collection) -> ListParams:
    filterable = coll.branches[0].cols
    q = request.query_params
    limit = _int_param(request, "limit", DEFAULT_LIMIT)
    offset = _int_param(request, "offset", 0)
    if limit < 1 or offset < 0 or offset > INT32:
        raise invalid_data("limit must be at least 1 and offset not negative")
    sort = q.get("sort") or None
    if sort is not None and sort not in filterable:
        raise OneRosterError(400, "invalid_sort_field",
                             f"{coll.plural} cannot be sorted by {sort!r}")
    order = (q.get("orderBy") or "asc").lower()
    if order not in ("asc", "desc"):
        raise OneRosterError(400, "invalid_sort_field", "orderBy must be asc or desc")
    clauses: list[Clause] = []
    logic = "AND"
    if q.get("filter"):
        clauses, logic = parse_filter(q["filter"])
        for c in clauses:
            if c.field not in filterable:
                raise bad_filter(f"{coll.plural} have no filterable field {c.field!r}")
    return ListParams(min(limit, MAX_LIMIT), offset, sort, order == "desc", tuple(clauses), logic,
                      selected_fields(request, coll))


def selected_fields(request: Request, coll: Collection) -> tuple[str, ...] | None:
    """The ``fields`` asked for (None: all); an unknown one is a 400."""
    raw = request.query_params.get("fields")
    if not raw:
        return None
    fields = tuple(f.strip() for f in raw.split(",") if f.strip())
    unknown = [f for f in fields if f not in coll.fields]
    if unknown:
        raise OneRosterError(400, "invalid_selection_field",
                             f"{coll.plural} have no field {', '.join(map(repr, unknown))}")
    return fields


# --- SQL ----------------------------------------------------------------------------------------

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


def _sql(coll: Collection, lp: ListParams, scope: Scope | None,
         params: dict[str, Any], *, with_total: bool) -> str:
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


async def seed_times(request: Request) -> dict[str, dt.datetime]:
    """``epoch``: what dateLastModified says for rows unchanged since seeding (the profile's
    cutover date; else the time of seeding). ``seeded``: the seeding transaction's time, which
    rows stamped while seeding (by a later migration) carry and which counts as unchanged.
    Worked out once per app."""
    cached: dict[str, dt.datetime] | None = getattr(request.app.state, "oneroster_times", None)
    if cached is not None:
        return cached
    db: Database = request.app.state.db
    [row] = await db.fetch(
        "oneroster.seed_times",
        "SELECT (SELECT value FROM sis.firstbell_meta WHERE key = 'profile') AS profile,"
        " (SELECT value FROM sis.firstbell_meta WHERE key = 'seeded_at') AS seeded_at,"
        " (SELECT max(applied_at) FROM sis.schema_migrations) AS migrated")
    seeded: dt.datetime = row["migrated"] or dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    value = seeded
    with contextlib.suppress(TypeError, ValueError):
        value = dt.datetime.fromisoformat(row["seeded_at"])
    # A profile file that has moved since seeding (or an imported district): the seeding time.
    with contextlib.suppress(Exception):
        profile = await anyio.to_thread.run_sync(load_profile, row["profile"])
        value = dt.datetime.combine(profile.calendar.cutover_date, dt.time(0), dt.UTC)
    times = {"epoch": value, "seeded": seeded}
    request.app.state.oneroster_times = times
    return times


def modified_sql(*exprs: str) -> str:
    """dateLastModified of a row from its change times: the seed time unless it changed after
    seeding."""
    latest = f"greatest({', '.join(exprs)})"
    return (f"(CASE WHEN {latest} > %(seeded)s::timestamptz THEN {latest}"
            " ELSE %(epoch)s::timestamptz END)")


def context(request: Request) -> Ctx:
    root = str(request.base_url).rstrip("/")
    return Ctx(f"{root}/ims/oneroster/rostering/v1p2", f"{root}/ims/oneroster/gradebook/v1p2")


def _select(obj: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
    return obj if fields is None else {k: v for k, v in obj.items() if k in fields}


async def _run(request: Request, coll: Collection, lp: ListParams, scope: Scope | None,
               *, with_total: bool) -> tuple[list[Row], int]:
    params: dict[str, Any] = {"limit": lp.limit, "offset": lp.offset,
                              **await seed_times(request), **(scope.params if scope else {})}
    sql = _sql(coll, lp, scope, params, with_total=with_total)
    db: Database = request.app.state.db
    rows = await db.fetch(f"oneroster.{coll.plural}", sql, params)
    head = rows[0]
    if scope is not None and scope.parent and not head["parent_ok"]:
        raise unknown_object(scope.parent_what, scope.parent_id)
    return [r for r in rows if r["rank"] is not None], int(head["total"] or 0)


async def list_response(request: Request, coll: Collection, scope: Scope | None = None,
                        key: str | None = None) -> JSONResponse:
    """A page of `coll` (within `scope`) as ``{plural: [...]}`` with the paging headers."""
    lp = list_params(request, coll)
    rows, total = await _run(request, coll, lp, scope, with_total=True)
    ctx = context(request)
    objects = [_select(coll.build(r, ctx), lp.fields) for r in rows]
    headers = {"X-Total-Count": str(total),
               "Link": link_header(request, lp.offset, lp.limit, total)}
    return JSONResponse({key or coll.plural: objects}, headers=headers)


def one_params(request: Request, coll: Collection, sid: str) -> ListParams:
    return ListParams(2, 0, None, False, (Clause("sourcedId", "=", sid),), "AND",
                      selected_fields(request, coll))


async def fetch_one(request: Request, coll: Collection, sid: str,
                    scope: Scope | None = None) -> dict[str, Any] | None:
    lp = one_params(request, coll, sid)
    rows, _ = await _run(request, coll, lp, scope, with_total=False)
    return _select(coll.build(rows[0], context(request)), lp.fields) if rows else None


async def one_response(request: Request, coll: Collection, sid: str,
                       scope: Scope | None = None, key: str | None = None) -> JSONResponse:
    """One object as ``{singular: {...}}``; 404 unknownobject when there is none."""
    obj = await fetch_one(request, coll, sid, scope)
    if obj is None:
        raise unknown_object(coll.what, sid)
    return JSONResponse({key or coll.singular: obj})


def link_header(request: Request, offset: int, limit: int, total: int) -> str:
    """RFC 5988 links to the next, last, previous and first pages, other parameters kept."""
    last = (total - 1) // limit * limit if total > 0 else 0
    rels = []
    if offset + limit < total:
        rels.append(("next", offset + limit))
    rels.append(("last", last))
    if offset > 0:
        rels.append(("prev", max(0, offset - limit)))
    rels.append(("first", 0))
    return ", ".join(f'<{request.url.include_query_params(limit=limit, offset=o)}>; rel="{rel}"'
                     for rel, o in rels)


# --- formatting ---------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4096)  # most rows carry the seed time
def iso_datetime(value: dt.datetime | dt.date) -> str:
    """ISO 8601 UTC with milliseconds, as OneRoster examples write it."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0), dt.UTC)
    value = value.astimezone(dt.UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def compact(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop absent optional values: OneRoster's JSON schema types them, null is not allowed."""
    return {k: v for k, v in obj.items() if v is not None}
