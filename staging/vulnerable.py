"""TEST ONLY: deliberately vulnerable shadows of real routes, for proving security probes work.

With ``FIRSTBELL_INSECURE_PROBE_TARGETS=true`` (``Settings.insecure_probe_targets``),
``create_app`` mounts this router *before* the real ones, so each route here answers instead of
the real route on the same path and method, and ``sis_insecure_probe_targets`` is 1. Each one
re-creates a classic flaw on exactly the path a probe uses, with the real module's SQL and
response shape, so a probe that passes against the real SIS must fail here:

- portal grades: any session reads any student's grades (no ownership, no custody check);
- sim student record: any staff session reads any school's students;
- gradebook roster: any session reads any section's roster;
- login: a disabled account (deactivated, or terminated in HR) with its password gets a session;
- session info: a session ended by deactivation, or of a disabled account, still answers;
- signed downloads: no session, no signature check, no expiry: the link is a bearer capability.

Never turn this on for a real rehearsal: it is an exposure by design.
"""

from __future__ import annotations

import binascii
import json
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response

from staging import auth, gradebook, portal, reports, signing, sim
from staging.authz import (
    SESSION_COOKIE,
    Principal,
    _token,
    current_principal,
    token_hash,
)
from staging.db import Database, Row
from staging.errors import ApiError, forbidden, not_found

router = APIRouter(include_in_schema=False)  # the OpenAPI document keeps describing the real API
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
Caller = Annotated[Principal, Depends(current_principal)]

# The caller's principal from an account, with no account-status or HR check (the flaw);
# `{where}` picks the account.
PRINCIPAL_SQL = """
SELECT a.user_id, a.role::text AS role, a.person_type::text AS person_type, a.person_id,
       coalesce(sf.school_id, st.school_id) AS school_id
FROM sis.accounts a
LEFT JOIN sis.staff sf ON a.person_type = 'staff' AND sf.staff_id = a.person_id
LEFT JOIN sis.students st ON a.person_type = 'student' AND st.student_id = a.person_id
WHERE {where}
"""
# FLAW: the session is found by its token alone: neither ended_at nor the account's status
# (nor HR) is checked. Only the idle timeout still applies.
BY_SESSION = ("a.user_id = (SELECT s.user_id FROM sis.sessions s WHERE s.token_hash = %(token)s"
              " AND s.last_seen_at > now() - make_interval(secs => %(idle)s))")
BY_USER = "a.user_id = %(user)s"


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _principal(row: Row, digest: bytes = b"") -> Principal:
    return Principal(row["user_id"], row["role"], row["person_type"], row["person_id"],
                     row["school_id"], digest)


@router.get("/api/portal/students/{student_id}/grades")
async def grades(student_id: Id, request: Request, p: Caller) -> dict[str, Any]:
    """FLAW: any role, any student: no ownership check and no custody (portal_access) check."""
    _, classes = await portal._grades(request, student_id)
    return {"student_id": student_id, "classes": classes}


@router.get("/api/sim/students/{student_id}")
async def student_record(student_id: Id, request: Request, p: Caller) -> Row:
    """FLAW: any staff role (a teacher too), any school's student."""
    if p.person_type != "staff":
        raise forbidden(f"role {p.role} cannot use this endpoint")
    row = await _db(request).fetchrow("sim.record", sim.RECORD,
                                      {"student": student_id, "admin": True, "school": -1})
    if row is None:
        raise not_found("student")
    return row


@router.get("/api/gradebook/sections/{section_id}/roster")
async def roster(section_id: Id, request: Request, p: Caller) -> dict[str, Any]:
    """FLAW: any role, any section (not only the caller's own)."""
    db = _db(request)
    if await db.fetchrow("gradebook.section", "SELECT 1 FROM sis.sections"
                         " WHERE section_id = %s", [section_id]) is None:
        raise not_found("section")
    rows = await db.fetch("gradebook.roster", gradebook.ROSTER, {"section": section_id})
    return {"section_id": section_id, "students": rows}


@router.post("/api/auth/login")
async def login(body: auth.LoginRequest, request: Request,
                response: Response) -> dict[str, Any]:
    """The real login, except that a disabled account (deactivated, or terminated in HR) whose
    password was right is let in: the real login refuses it only after verifying the password
    (and has counted the attempt as `disabled` in sis_logins_total)."""
    try:
        return await auth.login(body, request, response)
    except ApiError as exc:
        if exc.code != "account_disabled":
            raise
    db = _db(request)
    row = await db.fetchrow("auth.login.account", PRINCIPAL_SQL.format(
        where="a.username = %(username)s"), {"username": body.username})
    if row is None:  # removed in between
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    token = secrets.token_urlsafe(32)
    await db.fetch("auth.login.session",
                   "INSERT INTO sis.sessions (token_hash, user_id) VALUES (%s, %s)",
                   [token_hash(token), row["user_id"]])
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        max_age=int(request.app.state.settings.session_idle_minutes * 60))
    return {"token": token, "user": {k: row[k] for k in
                                     ("user_id", "role", "person_type", "person_id")}}


@router.get("/api/auth/session")
async def session(request: Request) -> dict[str, Any]:
    """FLAW: an ended session, or one of a disabled account, still answers."""
    token = _token(request)
    if not token:
        raise ApiError(401, "unauthenticated", "log in first", {"WWW-Authenticate": "Bearer"})
    digest = token_hash(token)
    row = await _db(request).fetchrow("auth.session", PRINCIPAL_SQL.format(where=BY_SESSION), {
        "token": digest, "idle": request.app.state.settings.session_idle_minutes * 60})
    if row is None:
        raise ApiError(401, "session_expired", "the session is not valid; log in again",
                       {"WWW-Authenticate": "Bearer"})
    return await auth.session(_principal(row, digest))


def _claims(token: str) -> tuple[int, str]:
    """The owner and resource in a token's payload, read without checking the signature or the
    expiry (FLAW); 403 only when the payload cannot be decoded at all."""
    try:
        claims: Any = json.loads(signing._unb64(token.partition(".")[0]))
        owner, resource = claims["u"], claims["r"]
    except (binascii.Error, ValueError, TypeError, KeyError) as exc:
        raise ApiError(403, "invalid_link", "the download link is not valid") from exc
    if not (isinstance(owner, int) and isinstance(resource, str)):
        raise ApiError(403, "invalid_link", "the download link is not valid")
    return owner, resource


@router.get("/api/reports/downloads/{token}", response_class=Response)
async def download(token: reports.Token, request: Request) -> Response:
    """FLAW: no session, and the payload is trusted unsigned and unexpired: whoever holds (or
    forges) a link gets the document, served as to the user the payload names."""
    owner, resource = _claims(token)
    row = await _db(request).fetchrow("reports.link_owner", PRINCIPAL_SQL.format(where=BY_USER),
                                      {"user": owner})
    if row is None:
        raise ApiError(403, "invalid_link", "the download link is not valid")
    p = _principal(row)
    kind, params = signing.parse_resource(resource)
    if kind == portal.REPORT_CARD:
        return await reports._report_card(request, p, params)
    if kind in reports.ROLES:
        return await reports._csv_export(request, p, kind, params)
    raise ApiError(403, "invalid_link", "the download link is not valid")
