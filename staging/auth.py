"""auth: login with a real KDF, logout, session info, password resets (request by email, then
confirm with the emailed token), deactivation and reactivation.

Sessions live in PostgreSQL and expire after the idle timeout and after an absolute lifetime;
failed logins are throttled per address and per username without a lockout switch for others
(staging/throttle.py); a deactivated account is refused and every request on its open
sessions fails at once (the session check joins the account's status on every request).
Reactivation turns the account back on but never revives the sessions deactivation ended, and
never re-enables a staff member terminated in HR. A password reset token is single-use, expires
after ``reset_token_minutes``, and ends every session of the account.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel, Field

from staging import passwords
from staging.api_docs import answers
from staging.authz import (
    ADMIN,
    SESSION_COOKIE,
    Principal,
    current_principal,
    require_role,
    token_hash,
)
from staging.db import Database
from staging.errors import ApiError, not_found
from staging.throttle import LoginThrottle, retry_after

router = APIRouter(prefix="/api/auth", tags=["auth"], responses=answers(422))
admin_router = APIRouter(prefix="/api/admin", tags=["admin"], responses=answers(401, 403, 404, 422))
# Unknown users are checked against this (a seed-cost hash), so they take the same path as a
# seeded account: see `_check`.
_DUMMY_HASH = passwords.hash_password("not-a-password", 1, salt=b"firstbell-dummy!")
UserId = Annotated[int, Path(ge=1, le=2_147_483_647)]


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=1024)


class ResetRequest(BaseModel):
    username: str = Field(min_length=1, max_length=320)


class ResetConfirm(BaseModel):
    token: str = Field(min_length=16, max_length=128)
    password: str = Field(min_length=10, max_length=128)  # the rule registration applies


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _check(password: str, encoded: str, iterations: int) -> tuple[bool, str | None]:
    """Whether `password` matches, and the hash at the full cost when the stored one is weaker
    (a seeded account that never logged in: 1 iteration). Every refusal pays one full KDF:
    a weak stored hash is re-hashed at full cost whatever the outcome (the upgrade on success,
    the same work thrown away on failure), so a wrong password costs the same for an unknown
    user, a seeded account and one that has logged in."""
    ok, rounds = passwords.verify(password, encoded)
    if rounds >= iterations:
        return ok, None
    upgraded = passwords.hash_password(password, iterations)
    return ok, upgraded if ok else None


async def _verify(password: str, encoded: str, iterations: int) -> tuple[bool, str | None]:
    """`_check` off the event loop (PBKDF2 releases the GIL, so logins use every core)."""
    return await anyio.to_thread.run_sync(_check, password, encoded, iterations)


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/login", responses=answers(401, 403, 423, 429))
async def login(body: LoginRequest, request: Request, response: Response) -> dict[str, Any]:
    """Log in. 401 for a wrong password or an unknown user alike; 423 once this address has
    failed `lockout_threshold` times on the username; 429 (Retry-After) when this address or
    this username is being slowed down (staging/throttle.py). None of them tells whether the
    account exists; only a correct password learns the account's state (403)."""
    db, settings, metrics = _db(request), request.app.state.settings, request.app.state.metrics
    throttle: LoginThrottle = request.app.state.login_throttle
    address = _client(request)
    locked = ApiError(423, "account_locked", "too many failed logins; try again in "
                      f"{settings.lockout_minutes:g} minutes")
    gate = await throttle.check(db, body.username, address)
    if gate.locked:
        metrics.logins.labels("locked").inc()
        raise locked
    if gate.retry_after > 0:
        metrics.logins.labels("throttled").inc()
        raise ApiError(429, "too_many_attempts", "too many failed logins; slow down",
                       {"Retry-After": retry_after(gate.retry_after)})
    account = await db.fetchrow(
        "auth.login.account",
        # A staff member terminated in HR is refused even if the account was left active.
        "SELECT a.user_id, a.password_hash, CASE WHEN sf.status = 'terminated' THEN 'disabled'"
        " ELSE a.status::text END AS status, a.role::text AS role,"
        " a.person_type::text AS person_type, a.person_id FROM sis.accounts a"
        " LEFT JOIN sis.staff sf ON a.person_type = 'staff' AND sf.staff_id = a.person_id"
        " WHERE a.username = %s", [body.username])
    # Unknown users take the same path: the same verification, counted and locked alike.
    ok, new_hash = await _verify(body.password, account["password_hash"] if account
                                 else _DUMMY_HASH, settings.kdf_iterations)
    if account is None or not ok:
        metrics.logins.labels("refused").inc()
        if await throttle.failed(db, body.username, address, gate):
            raise locked
        raise ApiError(401, "invalid_credentials", "wrong username or password")
    if not await throttle.succeeded(db, body.username, address):
        raise locked  # a concurrent wrong guess locked this address while this one verified
    if account["status"] != "active":
        # Only a correct password learns the account's state: a wrong one is answered as for
        # an unknown user, so logins cannot tell which emails are on file.
        metrics.logins.labels(account["status"]).inc()
        raise ApiError(403, f"account_{account['status']}", f"the account is {account['status']}")
    token = secrets.token_urlsafe(32)
    async with db.connection() as conn, conn.transaction():
        await db.run(conn, "auth.login.success",
                     "UPDATE sis.accounts SET last_login_at = now(),"
                     " password_hash = coalesce(%s, password_hash) WHERE user_id = %s",
                     [new_hash, account["user_id"]])
        await db.run(conn, "auth.login.session",
                     "INSERT INTO sis.sessions (token_hash, user_id) VALUES (%s, %s)",
                     [token_hash(token), account["user_id"]])
    metrics.logins.labels("success").inc()
    # Secure over TLS (also TLS ended at a trusted proxy: X-Forwarded-Proto sets the scheme).
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        max_age=int(settings.session_idle_minutes * 60),
                        secure=request.url.scheme == "https")
    return {"token": token, "user": {k: account[k] for k in
                                     ("user_id", "role", "person_type", "person_id")}}


@router.post("/logout", status_code=204, responses=answers(401))
async def logout(request: Request, response: Response,
                 p: Annotated[Principal, Depends(current_principal)]) -> None:
    await _db(request).fetch("auth.logout",
                             "UPDATE sis.sessions SET ended_at = now() WHERE token_hash = %s",
                             [p.token_hash])
    response.delete_cookie(SESSION_COOKIE)


@router.get("/session", responses=answers(401))
async def session(p: Annotated[Principal, Depends(current_principal)]) -> dict[str, Any]:
    return {"user_id": p.user_id, "role": p.role, "person_type": p.person_type,
            "person_id": p.person_id, "school_id": p.school_id}


@router.post("/password-reset", status_code=202)
async def password_reset(body: ResetRequest, request: Request) -> dict[str, str]:
    """Always 202, whether or not the account exists (no user enumeration)."""
    db, settings = _db(request), request.app.state.settings
    token = secrets.token_urlsafe(32)
    # One statement whether or not an email goes out: a separate outbox query would be counted
    # in sis_db_query_duration_seconds only for accounts that exist.
    await db.fetch("auth.reset.request", RESET_REQUEST, {
        "u": body.username, "t": token_hash(token), "limit": settings.reset_rate_per_hour,
        "body": f"Use this code to reset your password: {token}"})
    return {"status": "accepted"}


RESET_REQUEST = """
WITH a AS (SELECT user_id, email FROM sis.accounts WHERE username = %(u)s
             AND status = 'active' AND email IS NOT NULL),
recent AS (SELECT count(*) AS n FROM sis.password_resets r, a
           WHERE r.user_id = a.user_id AND r.created_at > now() - interval '1 hour'),
reset AS (INSERT INTO sis.password_resets (token_hash, user_id)
          SELECT %(t)s, a.user_id FROM a, recent WHERE recent.n < %(limit)s RETURNING user_id)
INSERT INTO sis.email_outbox (to_address, kind, subject, body)
SELECT a.email, 'password_reset', 'Reset your password', %(body)s FROM a JOIN reset USING (user_id)
"""

RESET_TOKEN = """
SELECT a.user_id, a.username, a.email FROM sis.password_resets r
JOIN sis.accounts a USING (user_id)
WHERE r.token_hash = %(token)s AND r.used_at IS NULL AND a.status = 'active'
  AND r.created_at > now() - make_interval(secs => %(secs)s)
"""

# One statement, so two requests with the same token cannot both pass: the first marks it used.
# The other open tokens of the account die with it (an older email must not reset it again),
# its sessions end (whoever knew the old password is logged out) and the lockout is cleared.
RESET_CONFIRM = """
WITH r AS (
  UPDATE sis.password_resets SET used_at = now()
  WHERE token_hash = %(token)s AND used_at IS NULL
    AND created_at > now() - make_interval(secs => %(secs)s)
  RETURNING user_id),
a AS (
  UPDATE sis.accounts a SET password_hash = %(hash)s, failed_logins = 0, locked_until = NULL
  FROM r WHERE a.user_id = r.user_id AND a.status = 'active'
  RETURNING a.user_id, a.username),
unlocked AS (
  DELETE FROM sis.login_failures f USING a WHERE f.username = a.username),
others AS (
  UPDATE sis.password_resets p SET used_at = now() FROM a
  WHERE p.user_id = a.user_id AND p.used_at IS NULL AND p.token_hash <> %(token)s),
ended AS (
  UPDATE sis.sessions s SET ended_at = now() FROM a
  WHERE s.user_id = a.user_id AND s.ended_at IS NULL RETURNING 1)
SELECT (SELECT user_id FROM a) AS user_id, (SELECT count(*) FROM ended) AS sessions_ended
"""


@router.post("/password-reset/confirm", responses=answers(400))
async def password_reset_confirm(body: ResetConfirm, request: Request) -> dict[str, Any]:
    """Set a new password with the emailed token: 400 `invalid_token` for a wrong, used or
    expired token (or an account no longer active), 400 `weak_password` for the username."""
    db, settings = _db(request), request.app.state.settings
    params = {"token": token_hash(body.token), "secs": settings.reset_token_minutes * 60}
    invalid = ApiError(400, "invalid_token", "the reset token is not valid; it is used once and"
                       f" expires after {settings.reset_token_minutes:g} minutes: ask for a new"
                       " one")
    # Checked before the slow hash, so made-up tokens cost no KDF.
    account = await db.fetchrow("auth.reset.token", RESET_TOKEN, params)
    if account is None:
        raise invalid
    new = body.password.strip().lower()
    if new in ((account["username"] or "").lower(), (account["email"] or "").lower()):
        raise ApiError(400, "weak_password", "the password must not be your username or email")
    new_hash = await anyio.to_thread.run_sync(
        passwords.hash_password, body.password, settings.kdf_iterations)
    row = await db.fetchrow("auth.reset.confirm", RESET_CONFIRM, {**params, "hash": new_hash})
    if row is None or row["user_id"] is None:  # used or deactivated in between
        raise invalid
    return {"status": "password_changed", "sessions_ended": row["sessions_ended"]}


@admin_router.post("/users/{user_id}/deactivate")
async def deactivate(user_id: UserId, request: Request,
                     p: Annotated[Principal, Depends(current_principal)]) -> dict[str, Any]:
    """Deactivate an account (a terminated employee): its open sessions stop working at once
    and its outstanding password-reset tokens are spent."""
    require_role(p, ADMIN)
    db = _db(request)
    async with db.connection() as conn, conn.transaction():
        rows = await db.run(conn, "admin.deactivate",
                            "UPDATE sis.accounts SET status = 'disabled' WHERE user_id = %s"
                            " RETURNING user_id", [user_id])
        if not rows:
            raise not_found("user")
        ended = await db.run(conn, "admin.deactivate.sessions",
                             "UPDATE sis.sessions SET ended_at = now()"
                             " WHERE user_id = %s AND ended_at IS NULL RETURNING 1", [user_id])
        # Reset tokens asked for before die too: one must not outlive a reactivation.
        await db.run(conn, "admin.deactivate.resets",
                     "UPDATE sis.password_resets SET used_at = now()"
                     " WHERE user_id = %s AND used_at IS NULL", [user_id])
    return {"user_id": user_id, "status": "disabled", "sessions_ended": len(ended)}


ACTIVATE_CHECK = """
SELECT a.status::text AS status, a.person_type::text AS person_type, a.person_id,
       sf.status::text AS hr_status
FROM sis.accounts a
LEFT JOIN sis.staff sf ON a.person_type = 'staff' AND sf.staff_id = a.person_id
WHERE a.user_id = %s
FOR UPDATE OF a
"""


@admin_router.post("/users/{user_id}/activate", responses=answers(409))
async def activate(user_id: UserId, request: Request,
                   p: Annotated[Principal, Depends(current_principal)]) -> dict[str, Any]:
    """Turn a deactivated account back on and clear any lockout. Sessions ended by the
    deactivation stay ended (the user logs in again). 409 `staff_terminated` for a staff member
    who is not active in HR (reinstate them there first: login would refuse them anyway), and
    409 `account_unactivated` for an account that was never activated (the family registers)."""
    require_role(p, ADMIN)
    db = _db(request)
    async with db.connection() as conn, conn.transaction():
        rows = await db.run(conn, "admin.activate.check", ACTIVATE_CHECK, [user_id])
        if not rows:
            raise not_found("user")
        account = rows[0]
        if account["person_type"] == "staff" and account["hr_status"] != "active":
            hr = account["hr_status"] or "not on file"
            raise ApiError(409, "staff_terminated",
                           f"staff member {account['person_id']} is {hr} in HR; reinstate them"
                           " there before reactivating the account")
        if account["status"] not in ("active", "disabled"):
            raise ApiError(409, "account_unactivated",
                           f"the account is {account['status']}, never activated: its owner"
                           " activates it by registering")
        await db.run(conn, "admin.activate",
                     "UPDATE sis.accounts SET status = 'active', failed_logins = 0,"
                     " locked_until = NULL WHERE user_id = %s", [user_id])
        await db.run(conn, "admin.activate.unlock",
                     "DELETE FROM sis.login_failures WHERE username ="
                     " (SELECT username FROM sis.accounts WHERE user_id = %s)", [user_id])
    return {"user_id": user_id, "status": "active"}
