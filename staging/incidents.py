"""incidents: behavior incidents, the discipline workflow of the old systems — staff record an
incident, administrators review it, families see the outcome.

Who may do what (anyone else's incident, or a student outside the caller's reach, answers 404;
a role outside the endpoint family 403):

- **Record** (``POST /api/incidents``): teachers, clerks, counselors, principals and assistant
  principals of the student's school, and district administrators. A teacher may record an
  incident for any student of their school, not only their own classes' (a hallway incident
  can involve anyone). A student of another school answers 404. Withdrawn students may still be
  recorded (an incident is often written up after the fact).
- **Read** (the queue ``GET /api/incidents``, one incident, a student's incidents):
  principals, assistant principals and counselors see their school's incidents, district
  administrators all of them. Teachers and clerks see only the incidents they reported
  themselves: a clerk often enters an incident phoned in by a teacher and must see what was
  entered, but discipline records are shared on a need-to-know basis and working the school's
  queue is the administrators' job.
- **Review** (``POST /{id}/review``): principals and assistant principals of the incident's
  school, and district administrators (a counselor reads but does not decide). ``reported`` may
  go to ``under_review``, ``resolved`` or ``dismissed``; ``under_review`` to ``resolved`` or
  ``dismissed``; ``resolved`` and ``dismissed`` are final (409). A resolution is given exactly
  when resolving.
- **Families** (``GET /students/{id}`` only): a guardian for a child linked with portal access,
  a student for themselves. They see incidents under review or resolved — not ones nobody has
  looked at yet, nor dismissed ones — with the description and resolution, never who reported
  or reviewed them.

An incident belongs to the school where the student was when it was recorded, and stays there
after a transfer. Visibility is built into each query's WHERE clause from the caller's role
(fixed SQL fragments, one per role), so each plan uses the index that fits: the queue the
(school, status, occurred_at) index, a teacher's list the reporter index, a student's page the
student index.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from staging.api_docs import answers
from staging.attendance import clock
from staging.authz import ADMIN, Principal, current_principal, require_role
from staging.dates import bounded_moment
from staging.db import Database, Row
from staging.errors import ApiError, forbidden, not_found

router = APIRouter(prefix="/api/incidents", tags=["incidents"],
                   responses=answers(401, 403, 404, 422))
INT32 = 2_147_483_647
Id = Annotated[int, Path(ge=1, le=INT32)]
Caller = Annotated[Principal, Depends(current_principal)]

SCHOOL_WIDE = ("principal", "assistant_principal", "counselor")
OWN_REPORTS = ("teacher", "clerk")
RECORDERS = (*OWN_REPORTS, *SCHOOL_WIDE, ADMIN)
REVIEWERS = ("principal", "assistant_principal", ADMIN)
FAMILY = ("guardian", "student")
FAMILY_STATUSES = ["under_review", "resolved"]
FUTURE_SLACK = dt.timedelta(minutes=1)  # clocks of the reporting device and server differ
OLDEST_DAYS = 365  # the current school year, counted back from the data's today
DEFAULT_LIMIT, MAX_LIMIT = 50, 200

Category = Literal["disruption", "defiance", "fighting", "bullying", "tardiness", "property",
                   "other"]
Status = Literal["reported", "under_review", "resolved", "dismissed"]
Resolution = Literal["conference", "detention", "suspension_in_school",
                     "suspension_out_of_school", "no_action"]
# Target status -> the statuses it may be reached from.
TRANSITIONS: dict[str, list[str]] = {
    "under_review": ["reported"],
    "resolved": ["reported", "under_review"],
    "dismissed": ["reported", "under_review"],
}

STAFF_FIELDS = ("incident_id", "student_id", "school_id", "reported_by", "occurred_at",
                "location", "category", "severity", "description", "status", "reviewed_by",
                "reviewed_at", "resolution", "created_at")
# No reported_by / reviewed_by: a family never learns which staff member wrote them up.
FAMILY_FIELDS = ("incident_id", "student_id", "school_id", "occurred_at", "location",
                 "category", "severity", "description", "status", "reviewed_at", "resolution")


def _columns(fields: tuple[str, ...], alias: str = "i") -> str:
    return ", ".join(f"{alias}.{f}" for f in fields)


STAFF_COLUMNS = (_columns(STAFF_FIELDS)
                 + ", st.first_name AS student_first_name, st.last_name AS student_last_name")


class IncidentIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    student_id: int = Field(ge=1, le=INT32)
    occurred_at: Annotated[AwareDatetime, AfterValidator(bounded_moment)]
    location: str | None = Field(None, min_length=1, max_length=120, pattern=r"^[^\x00-\x1f]+$")
    category: Category
    severity: int = Field(ge=1, le=4)
    # Line breaks are fine in a narrative; NUL is not storable text.
    description: str = Field(min_length=1, max_length=2000, pattern=r"^[^\x00]+$")

    @model_validator(mode="after")
    def _not_in_future(self) -> IncidentIn:
        if self.occurred_at > dt.datetime.now(dt.UTC) + FUTURE_SLACK:
            raise ValueError("occurred_at is in the future")
        return self


class ReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Literal["under_review", "resolved", "dismissed"]
    resolution: Resolution | None = None

    @model_validator(mode="after")
    def _resolution_when_resolved(self) -> ReviewIn:
        if self.status == "resolved" and self.resolution is None:
            raise ValueError("a resolved incident needs a resolution")
        if self.status != "resolved" and self.resolution is not None:
            raise ValueError("a resolution is given only when resolving")
        return self


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _staff_scope(p: Principal) -> str:
    """The incidents a staff member may read, as a condition on ``sis.incidents i``; 403 for
    roles outside the staff side of the family."""
    if p.is_admin:
        return "true"
    if p.role in SCHOOL_WIDE:
        return "i.school_id = %(school)s"
    if p.role in OWN_REPORTS:
        return "i.reported_by = %(person)s"
    raise forbidden(f"role {p.role} cannot read the incident log")


def _params(p: Principal, **more: Any) -> dict[str, Any]:
    return {"school": p.school_id, "person": p.person_id, **more}


def _staff_view(row: Row) -> dict[str, Any]:
    return {k: row[k] for k in (*STAFF_FIELDS, "student_first_name", "student_last_name")}


RECORD = """
WITH ins AS (
    INSERT INTO sis.incidents (student_id, school_id, reported_by, occurred_at, location,
                               category, severity, description)
    SELECT st.student_id, st.school_id, %(person)s, %(occurred)s, %(location)s, %(category)s,
           %(severity)s, %(description)s
    FROM sis.students st WHERE st.student_id = %(student)s AND {school}
    RETURNING *)
SELECT {columns} FROM ins i JOIN sis.students st ON st.student_id = i.student_id
"""


@router.post("", status_code=201)
async def record(body: IncidentIn, request: Request, p: Caller) -> dict[str, Any]:
    """Record an incident for a student of the caller's school (any school: a district
    administrator); it starts as ``reported``."""
    require_role(p, *RECORDERS)
    oldest = (await clock(request)).today - dt.timedelta(days=OLDEST_DAYS)
    if body.occurred_at.date() < oldest:
        raise ApiError(422, "invalid_request", f"occurred_at is before {oldest}: incidents of "
                       "past school years are not recorded here")
    school = "true" if p.is_admin else "st.school_id = %(school)s"
    rows = await _db(request).fetch(
        "incidents.record", RECORD.format(school=school, columns=STAFF_COLUMNS), _params(
            p, student=body.student_id, occurred=body.occurred_at, location=body.location,
            category=body.category, severity=body.severity, description=body.description))
    if not rows:
        raise not_found("student")
    return _staff_view(rows[0])


QUEUE = """
SELECT t.total, {columns}
FROM (SELECT count(*) AS total FROM sis.incidents i WHERE {where}) t
LEFT JOIN LATERAL (
    SELECT * FROM sis.incidents i WHERE {where}
    ORDER BY i.occurred_at DESC, i.incident_id DESC LIMIT %(limit)s OFFSET %(offset)s) i ON true
LEFT JOIN sis.students st ON st.student_id = i.student_id
ORDER BY i.occurred_at DESC, i.incident_id DESC
"""


@router.get("")
async def queue(
    request: Request, p: Caller,
    school_id: Annotated[int | None, Query(ge=1, le=INT32)] = None,
    status: Annotated[Status | None, Query()] = None,
    student_id: Annotated[int | None, Query(ge=1, le=INT32)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """The review queue, newest first: the incidents the caller may read (see the module
    notes), filtered by school, status and student; ``total`` counts every match."""
    if p.role in FAMILY:
        raise forbidden("guardians and students see incidents under /students/{student_id}")
    conditions = [_staff_scope(p)]
    if school_id is not None:
        if not p.is_admin and school_id != p.school_id:
            raise not_found("school")
        conditions.append("i.school_id = %(school_id)s")
    if status is not None:
        conditions.append("i.status = %(status)s")
    if student_id is not None:
        conditions.append("i.student_id = %(student_id)s")
    where = " AND ".join(conditions)
    rows = await _db(request).fetch(
        "incidents.queue", QUEUE.format(where=where, columns=STAFF_COLUMNS), _params(
            p, school_id=school_id, status=status, student_id=student_id, limit=limit,
            offset=offset))
    total = rows[0]["total"] if rows else 0
    items = [_staff_view(r) for r in rows if r["incident_id"] is not None]
    return {"total": total, "limit": limit, "offset": offset, "incidents": items}


STUDENT_INCIDENTS = """
WITH inc AS (
    SELECT {fields} FROM sis.incidents i WHERE i.student_id = %(student)s AND {incidents})
SELECT st.first_name AS student_first_name, st.last_name AS student_last_name, i.*
FROM sis.students st LEFT JOIN inc i ON true
WHERE st.student_id = %(student)s AND ({student})
ORDER BY i.occurred_at DESC, i.incident_id DESC
"""
FAMILY_STUDENT = {
    "student": "st.student_id = %(person)s",
    "guardian": "EXISTS (SELECT 1 FROM sis.guardian_links l WHERE l.student_id = st.student_id"
                " AND l.guardian_id = %(person)s AND l.portal_access)",
}


@router.get("/students/{student_id}")
async def student_incidents(student_id: Id, request: Request, p: Caller) -> dict[str, Any]:
    """A student's incidents, newest first. Families: under review or resolved only, without
    staff identities. Staff: the incidents they may read, for a student of their school or one
    with such incidents (a transferred student's old incidents stay with the old school)."""
    fields: tuple[str, ...]
    if p.role in FAMILY:
        fields, incidents = FAMILY_FIELDS, "i.status = ANY(%(family_statuses)s)"
        student = FAMILY_STUDENT[p.role]
    else:
        fields, incidents = STAFF_FIELDS, _staff_scope(p)
        student = "true" if p.is_admin else (
            "st.school_id = %(school)s OR EXISTS (SELECT 1 FROM inc)")
    rows = await _db(request).fetch(
        "incidents.student", STUDENT_INCIDENTS.format(
            fields=_columns(fields), incidents=incidents, student=student),
        _params(p, student=student_id, family_statuses=FAMILY_STATUSES))
    if not rows:
        raise not_found("student")
    return {"student_id": student_id, "first_name": rows[0]["student_first_name"],
            "last_name": rows[0]["student_last_name"],
            "incidents": [{k: r[k] for k in fields} for r in rows
                          if r["incident_id"] is not None]}


@router.get("/{incident_id}")
async def get_incident(incident_id: Id, request: Request, p: Caller) -> dict[str, Any]:
    """One incident the caller may read (see the module notes)."""
    if p.role in FAMILY:
        raise forbidden("guardians and students see incidents under /students/{student_id}")
    row = await _db(request).fetchrow(
        "incidents.get",
        f"SELECT {STAFF_COLUMNS} FROM sis.incidents i"
        " JOIN sis.students st ON st.student_id = i.student_id"
        f" WHERE i.incident_id = %(id)s AND {_staff_scope(p)}", _params(p, id=incident_id))
    if row is None:
        raise not_found("incident")
    return _staff_view(row)


# One statement: `cur` finds the incident the reviewer may see; the UPDATE applies only from an
# allowed status. A concurrent review that got there first changes the row's status, the
# UPDATE's recheck then fails and the caller gets the 409, never a lost update.
REVIEW = """
WITH cur AS (
    SELECT i.incident_id, i.status FROM sis.incidents i
    WHERE i.incident_id = %(id)s AND {scope}),
up AS (
    UPDATE sis.incidents i
    SET status = %(status)s, resolution = %(resolution)s, reviewed_by = %(person)s,
        reviewed_at = now()
    FROM cur WHERE i.incident_id = cur.incident_id AND i.status = ANY(%(from)s)
    RETURNING i.*)
SELECT cur.status AS previous, {columns}
FROM cur LEFT JOIN up i ON true LEFT JOIN sis.students st ON st.student_id = i.student_id
"""


@router.post("/{incident_id}/review", responses=answers(409))
async def review(incident_id: Id, body: ReviewIn, request: Request, p: Caller) -> dict[str, Any]:
    """Move an incident of the caller's school along: under review, resolved (with the
    resolution) or dismissed; records who reviewed it and when. 409 from a final status."""
    require_role(p, *REVIEWERS)
    rows = await _db(request).fetch(
        "incidents.review", REVIEW.format(scope=_staff_scope(p), columns=STAFF_COLUMNS),
        _params(p, id=incident_id, status=body.status, resolution=body.resolution,
                **{"from": TRANSITIONS[body.status]}))
    if not rows:
        raise not_found("incident")
    row = rows[0]
    if row["incident_id"] is None:
        raise ApiError(409, "invalid_transition",
                       f"incident {incident_id} is {row['previous']}; it cannot become "
                       f"{body.status}")
    return _staff_view(row)
