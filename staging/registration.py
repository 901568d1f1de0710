"""registration: parent self-registration on cutover day, when old parent accounts do not carry
over and every parent registers again.

The flow: request a code by email (always 202, so it never tells who has an account), verify the
code for a one-time registration token, choose a password (the account waits for the second
email), confirm that email (the account is active: log in with the email as username), then
link each child with the student's id and the access code the school sent home on paper.

Only a guardian record whose account is not active yet receives a code. An email that two
guardian records share (a typo or a shared inbox in the SIS data) gets a "contact the school"
message instead: either record could be the person asking. Abuse limits: code requests per
client IP (the one that answers 429) and per email (silent: still 202, nothing sent), five wrong
tries spend a code, and ten wrong child codes per guardian per hour answer 429. Codes and tokens
are stored hashed; every step is counted in ``sis_registrations_total{step,result}``, with
results that reveal nothing about who is on file (a code request is ``accepted`` or
``rate_limited``, a wrong code ``invalid_code``; the detailed outcome of a request is kept in
``sis.registration_requests``, not in the public metric).
"""

from __future__ import annotations

import math
import secrets
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field, StringConstraints, field_validator

from staging import passwords
from staging.api_docs import answers
from staging.authz import Principal, current_principal, require_role, token_hash
from staging.db import Database
from staging.errors import ApiError

router = APIRouter(prefix="/api/registration", tags=["registration"], responses=answers(422))
Caller = Annotated[Principal, Depends(current_principal)]

MAX_CODE_TRIES = 5
MAX_CHILD_CODE_FAILURES = 10  # per guardian per hour
LOCK_EMAIL, LOCK_GUARDIAN = 0x5245_4701, 0x5245_4702  # advisory-lock namespaces (two-key form)
ELIGIBLE = ("unactivated", "pending_confirmation")  # may (re)start registration
Email = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=3,
                                         max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")]
Token = Annotated[str, Field(min_length=16, max_length=128)]


class CodeRequest(BaseModel):
    email: Email


class VerifyRequest(BaseModel):
    email: Email
    code: str = Field(pattern=r"^\d{6}$")


class AccountRequest(BaseModel):
    registration_token: Token
    password: str = Field(min_length=10, max_length=128)


class ConfirmRequest(BaseModel):
    token: Token


class ChildRequest(BaseModel):
    student_id: int = Field(ge=1, le=2_147_483_647)
    access_code: str = Field(min_length=1, max_length=32)

    @field_validator("access_code")
    @classmethod
    def _normal_code(cls, value: str) -> str:
        # Copied by hand from a letter: spacing, dashes and case do not matter.
        return "".join(value.split()).replace("-", "").upper()


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _count(request: Request, step: str, result: str) -> None:
    request.app.state.metrics.registrations.labels(step, result).inc()


def _code_hash(email: str, code: str) -> bytes:
    # Keyed by the email, so equal codes of two parents do not share a hash. Six digits are cheap
    # to brute-force from a leaked hash; the short validity and five tries are the protection.
    return token_hash(f"{email}\n{code}")


def _too_many(request: Request, step: str, message: str, retry_after: Any) -> ApiError:
    _count(request, step, "rate_limited")
    seconds = str(max(1, math.ceil(float(retry_after or 1))))
    return ApiError(429, "rate_limited", message, {"Retry-After": seconds})


REQUEST_STATE = """
SELECT
  (SELECT count(*) FROM sis.registration_requests
   WHERE client_ip = %(ip)s AND created_at > now() - interval '1 hour') AS ip_requests,
  (SELECT extract(epoch FROM min(created_at) + interval '1 hour' - now())
   FROM sis.registration_requests
   WHERE client_ip = %(ip)s AND created_at > now() - interval '1 hour') AS ip_retry_after,
  (SELECT count(*) FROM sis.registration_requests
   WHERE email = %(email)s AND created_at > now() - interval '1 hour'
     AND outcome IN ('sent', 'contact_school')) AS email_sends,
  (SELECT coalesce(json_agg(json_build_object('user_id', user_id, 'status', status)), '[]')
   FROM sis.accounts WHERE lower(email) = %(email)s AND person_type = 'guardian') AS records
"""

# Every outcome runs this one statement (the code and the email only where the outcome calls
# for them), so sis_db_query_duration_seconds counts the same queries for every email: a query
# run only when a code is sent would tell who has a guardian record.
RECORD_REQUEST = """
WITH spent AS (
  UPDATE sis.registration_codes SET spent_at = now()
  WHERE email = %(email)s AND spent_at IS NULL AND %(outcome)s = 'sent'),
code AS (
  INSERT INTO sis.registration_codes (email, user_id, code_hash, expires_at)
  SELECT %(email)s, %(user)s::integer, %(hash)s::bytea, now() + make_interval(secs => %(secs)s)
  WHERE %(outcome)s = 'sent'),
mail AS (
  INSERT INTO sis.email_outbox (to_address, kind, subject, body)
  SELECT %(email)s, m.kind, m.subject, m.body FROM (VALUES
    ('sent', 'registration_code', 'Your parent portal registration code', %(code_body)s),
    ('contact_school', 'registration_contact_school', 'Parent portal registration',
     %(contact_body)s)) AS m (outcome, kind, subject, body)
  WHERE m.outcome = %(outcome)s)
INSERT INTO sis.registration_requests (email, client_ip, outcome)
VALUES (%(email)s, %(ip)s, %(outcome)s)
"""
CONTACT_SCHOOL = ("More than one parent or guardian on file at your children's school uses"
                  " this email address, so we cannot register it online. Please contact the"
                  " school office to register your parent portal account.")


@router.post("/request-code", status_code=202, responses=answers(429))
async def request_code(body: CodeRequest, request: Request) -> dict[str, str]:
    """Email a registration code if this email belongs to exactly one guardian whose account is
    not active yet. Always 202 (no enumeration), except past the per-IP limit (429)."""
    db, settings = _db(request), request.app.state.settings
    ip = request.client.host if request.client else "unknown"
    email = body.email
    code = f"{secrets.randbelow(1_000_000):06d}"
    minutes = settings.registration_code_minutes
    async with db.connection() as conn, conn.transaction():
        # Serializes requests for one email, so its limit holds under concurrent requests.
        # The per-IP count is not locked: a burst may pass it by the requests in flight.
        await db.run(conn, "registration.request.lock",
                     "SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [LOCK_EMAIL, email])
        rows = await db.run(conn, "registration.request.state", REQUEST_STATE,
                            {"ip": ip, "email": email})
        state = rows[0]
        if state["ip_requests"] >= settings.registration_per_ip_per_hour:
            raise _too_many(request, "request_code",
                            "too many registration requests from this address; try later",
                            state["ip_retry_after"])
        records = state["records"]
        if state["email_sends"] >= settings.registration_per_email_per_hour:
            outcome = "email_limited"
        elif not records:
            outcome = "unknown_email"
        elif all(r["status"] not in ELIGIBLE for r in records):
            outcome = "not_eligible"
        elif len(records) > 1:
            outcome = "contact_school"
        else:
            outcome = "sent"
        await db.run(conn, "registration.request.record", RECORD_REQUEST, {
            "email": email, "ip": ip, "outcome": outcome, "secs": minutes * 60,
            "user": records[0]["user_id"] if outcome == "sent" else None,
            "hash": _code_hash(email, code),
            "code_body": f"Your parent portal registration code is {code}. It expires in "
                         f"{minutes:g} minutes. If you did not ask for it, ignore this email.",
            "contact_body": CONTACT_SCHOOL})
    # One result for every outcome: the metric is public, the outcome is in
    # sis.registration_requests.
    _count(request, "request_code", "accepted")
    return {"status": "accepted"}


VERIFY_CODE = """
WITH c AS (
  SELECT id FROM sis.registration_codes
  WHERE email = %(email)s AND spent_at IS NULL AND expires_at > now()
  ORDER BY created_at DESC LIMIT 1 FOR UPDATE)
UPDATE sis.registration_codes r
SET attempts = r.attempts + CASE WHEN r.code_hash = %(hash)s THEN 0 ELSE 1 END,
    spent_at = CASE WHEN r.code_hash = %(hash)s OR r.attempts + 1 >= %(tries)s THEN now() END
FROM c WHERE r.id = c.id
RETURNING r.user_id, r.code_hash = %(hash)s AS ok
"""


@router.post("/verify", responses=answers(400))
async def verify(body: VerifyRequest, request: Request) -> dict[str, Any]:
    """Trade the emailed code for a one-time registration token. A wrong, expired, spent or
    never-sent code all answer the same 400."""
    db, settings = _db(request), request.app.state.settings
    token = secrets.token_urlsafe(32)
    secs = settings.registration_code_minutes * 60
    async with db.connection() as conn, conn.transaction():
        rows = await db.run(conn, "registration.verify.code", VERIFY_CODE, {
            "email": body.email, "hash": _code_hash(body.email, body.code),
            "tries": MAX_CODE_TRIES})
        if rows and rows[0]["ok"]:
            await db.run(conn, "registration.verify.token",
                         "INSERT INTO sis.registration_tokens (token_hash, kind, user_id,"
                         " expires_at) VALUES (%s, 'account', %s, now() + make_interval(secs =>"
                         " %s))", [token_hash(token), rows[0]["user_id"], secs])
    if not rows or not rows[0]["ok"]:
        # One result: "no code" would tell that no code was ever sent to this email.
        _count(request, "verify", "invalid_code")
        raise ApiError(400, "invalid_code",
                       f"the code is wrong or has expired; after {MAX_CODE_TRIES} wrong tries"
                       " a code stops working and a new one must be requested")
    _count(request, "verify", "ok")
    return {"registration_token": token, "expires_in": int(secs)}


CREATE_ACCOUNT = """
WITH t AS (
  UPDATE sis.registration_tokens SET used_at = now()
  WHERE token_hash = %(token)s AND kind = 'account' AND used_at IS NULL AND expires_at > now()
  RETURNING user_id),
a AS (
  UPDATE sis.accounts a SET password_hash = %(hash)s, status = 'pending_confirmation',
         failed_logins = 0, locked_until = NULL
  FROM t WHERE a.user_id = t.user_id AND a.status = ANY(%(eligible)s)
  RETURNING a.user_id, a.email, a.username),
old AS (
  UPDATE sis.registration_tokens r SET used_at = now() FROM a
  WHERE r.user_id = a.user_id AND r.kind = 'confirm' AND r.used_at IS NULL),
c AS (
  INSERT INTO sis.registration_tokens (token_hash, kind, user_id, expires_at)
  SELECT %(confirm)s, 'confirm', user_id, now() + make_interval(secs => %(secs)s) FROM a),
o AS (
  INSERT INTO sis.email_outbox (to_address, kind, subject, body)
  SELECT email, 'registration_confirm', 'Confirm your parent portal account', %(body)s FROM a)
SELECT (SELECT count(*) FROM t) AS tokens, a.user_id, a.username FROM (SELECT 1) one
LEFT JOIN a ON true
"""


@router.post("/account", status_code=201, responses=answers(400, 409))
async def create_account(body: AccountRequest, request: Request) -> dict[str, Any]:
    """Choose the password; the account waits for the confirmation sent to the email."""
    db, settings = _db(request), request.app.state.settings
    digest = token_hash(body.registration_token)
    account = await db.fetchrow(
        "registration.account.token",
        "SELECT a.email FROM sis.registration_tokens t JOIN sis.accounts a USING (user_id)"
        " WHERE t.token_hash = %s AND t.kind = 'account' AND t.used_at IS NULL"
        " AND t.expires_at > now()", [digest])
    if account is None:
        _count(request, "account", "invalid_token")
        raise ApiError(400, "invalid_token", "the registration token is not valid; it is"
                       " used once and expires: verify a new code")
    if body.password.strip().lower() == (account["email"] or "").lower():
        _count(request, "account", "weak_password")
        raise ApiError(400, "weak_password", "the password must not be your email address")
    # Hashed at the full cost, off the event loop, before the transaction holds a connection.
    new_hash = await anyio.to_thread.run_sync(
        passwords.hash_password, body.password, settings.kdf_iterations)
    confirm = secrets.token_urlsafe(32)
    rows = await db.fetch("registration.account.create", CREATE_ACCOUNT, {
        "token": digest, "hash": new_hash, "eligible": list(ELIGIBLE),
        "confirm": token_hash(confirm), "secs": settings.registration_code_minutes * 60,
        "body": "Confirm your email to activate your parent portal account with this token: "
                f"{confirm}"})
    row = rows[0]
    if not row["tokens"]:  # used by a concurrent request in between
        _count(request, "account", "invalid_token")
        raise ApiError(400, "invalid_token", "the registration token is not valid")
    if row["user_id"] is None:
        _count(request, "account", "already_active")
        raise ApiError(409, "already_active", "this account is already active; log in")
    _count(request, "account", "ok")
    return {"status": "pending_confirmation", "username": row["username"]}


@router.post("/confirm", responses=answers(400))
async def confirm(body: ConfirmRequest, request: Request) -> dict[str, Any]:
    """Confirm the second email: the account becomes active and can log in."""
    row = await _db(request).fetchrow(
        "registration.confirm",
        "WITH t AS (UPDATE sis.registration_tokens SET used_at = now()"
        "   WHERE token_hash = %s AND kind = 'confirm' AND used_at IS NULL"
        "   AND expires_at > now() RETURNING user_id)"
        " UPDATE sis.accounts a SET status = 'active' FROM t"
        " WHERE a.user_id = t.user_id AND a.status = 'pending_confirmation'"
        " RETURNING a.user_id, a.username", [token_hash(body.token)])
    if row is None:
        _count(request, "confirm", "invalid_token")
        raise ApiError(400, "invalid_token", "the confirmation token is not valid; it is used"
                       " once and expires")
    _count(request, "confirm", "ok")
    return {"status": "active", "username": row["username"]}


LINK_STATE = """
SELECT
  (SELECT count(*) FROM sis.child_link_failures
   WHERE guardian_id = %(guardian)s AND at > now() - interval '1 hour') AS failures,
  (SELECT extract(epoch FROM min(at) + interval '1 hour' - now()) FROM sis.child_link_failures
   WHERE guardian_id = %(guardian)s AND at > now() - interval '1 hour') AS retry_after,
  (SELECT portal_access FROM sis.guardian_links
   WHERE student_id = %(student)s AND guardian_id = %(guardian)s) AS portal_access,
  st.student_id, st.first_name, st.last_name, st.grade, st.school_id, sc.name AS school_name,
  coalesce(st.access_code = %(code)s, false) AS code_ok
FROM (SELECT 1) one
LEFT JOIN sis.students st ON st.student_id = %(student)s
LEFT JOIN sis.schools sc ON sc.school_id = st.school_id
"""


@router.post("/children", responses=answers(400, 401, 403, 429))
async def link_child(body: ChildRequest, request: Request, response: Response,
                     p: Caller) -> dict[str, Any]:
    """Link a child to the logged-in guardian with the child's access code: 201 when linked now,
    200 when the link already existed; 403 on a no-access (custody) link, whatever the code."""
    require_role(p, "guardian")
    db = _db(request)
    params = {"guardian": p.person_id, "student": body.student_id, "code": body.access_code}
    async with db.connection() as conn, conn.transaction():
        await db.run(conn, "registration.child.lock", "SELECT pg_advisory_xact_lock(%s, %s)",
                     [LOCK_GUARDIAN, p.person_id])
        row = (await db.run(conn, "registration.child.state", LINK_STATE, params))[0]
        if row["failures"] >= MAX_CHILD_CODE_FAILURES:
            raise _too_many(request, "link_child", "too many wrong access codes; try later",
                            row["retry_after"])
        if row["portal_access"] is False:
            _count(request, "link_child", "no_access")
            raise ApiError(403, "no_access", "this child cannot be linked to your account;"
                           " contact the school")
        if not row["code_ok"]:
            await db.run(conn, "registration.child.failure",
                         "INSERT INTO sis.child_link_failures (guardian_id, student_id)"
                         " VALUES (%(guardian)s, %(student)s)", params)
        elif row["portal_access"] is None:
            await db.run(conn, "registration.child.link",
                         "INSERT INTO sis.guardian_links (student_id, guardian_id, relationship,"
                         " is_primary, portal_access) VALUES (%(student)s, %(guardian)s,"
                         " 'guardian', false, true) ON CONFLICT DO NOTHING", params)
    if not row["code_ok"]:
        _count(request, "link_child", "wrong_code")
        raise ApiError(400, "wrong_code", "the student id or the access code is wrong")
    created = row["portal_access"] is None
    _count(request, "link_child", "linked" if created else "already_linked")
    response.status_code = 201 if created else 200
    return {"student_id": row["student_id"], "first_name": row["first_name"],
            "last_name": row["last_name"], "grade": row["grade"], "school_id": row["school_id"],
            "school_name": row["school_name"], "linked": "created" if created else "existing"}
