"""OneRoster collections over HTTP: a request's paging, sorting, filter and field parameters in,
a page or one object out with the ``X-Total-Count`` and RFC 5988 ``Link`` headers.

What a collection is and the SQL of a page are `staging.oneroster_sql`'s; the filter grammar is
`staging.oneroster_filter`'s; the error payload is `staging.oneroster_status`'s. This module
checks the parameters against the collection, runs its page statement, and formats the objects
(dateLastModified from the seed time, ISO datetimes, no nulls).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
from typing import Any

import anyio
from fastapi import Request
from fastapi.responses import JSONResponse

from fake_data.profile import load_profile
from staging.db import Database, Row
from staging.oneroster_filter import Clause, bad_filter, parse_filter
from staging.oneroster_sql import INT32, Collection, Ctx, ListParams, Scope, page_sql
from staging.oneroster_status import OneRosterError, invalid_data, unknown_object

DEFAULT_LIMIT, MAX_LIMIT = 100, 5000


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


def context(request: Request) -> Ctx:
    root = str(request.base_url).rstrip("/")
    return Ctx(f"{root}/ims/oneroster/rostering/v1p2", f"{root}/ims/oneroster/gradebook/v1p2")


def _select(obj: dict[str, Any], fields: tuple[str, ...] | None) -> dict[str, Any]:
    return obj if fields is None else {k: v for k, v in obj.items() if k in fields}


async def _run(request: Request, coll: Collection, lp: ListParams, scope: Scope | None,
               *, with_total: bool) -> tuple[list[Row], int]:
    params: dict[str, Any] = {"limit": lp.limit, "offset": lp.offset,
                              **await seed_times(request), **(scope.params if scope else {})}
    sql = page_sql(coll, lp, scope, params, with_total=with_total)
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
    # %Y writes year 1 as "1" (glibc): ISO 8601 wants four digits.
    return (f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M:%S.")
            + f"{value.microsecond // 1000:03d}Z")


def compact(obj: dict[str, Any]) -> dict[str, Any]:
    """Drop absent optional values: OneRoster's JSON schema types them, null is not allowed."""
    return {k: v for k, v in obj.items() if v is not None}
