"""oauth: OAuth 2 client credentials (RFC 6749 §4.4) for the OneRoster 1.2 REST API.

Owns the integration clients (``sis.oauth_clients``: a hashed secret and the scopes granted;
created, listed and revoked with ``firstbell staging oauth-client``),
the token endpoint ``POST /oauth/token`` and the ``require_scope`` dependency the OneRoster
routers put on every endpoint. Clients authenticate with HTTP Basic (or, as RFC 6749 §2.3.1
allows, ``client_id``/``client_secret`` form fields, never both); tokens are random, stored as
SHA-256 hashes, carry the scopes granted and expire after ``oauth_token_seconds``.

Errors of the token endpoint are RFC 6749 §5.2 JSON (``{"error": "invalid_client"}``...); errors
of a protected endpoint are OneRoster status payloads (401 unauthorisedrequest, 403 forbidden).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, unquote

import anyio
import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row

from staging import passwords
from staging.api_docs import oauth_answers
from staging.authz import token_hash
from staging.db import Database
from staging.oneroster_status import OneRosterError

router = APIRouter(tags=["oauth"])

SCOPE_BASE = "https://purl.imsglobal.org/spec/or/v1p2/scope/"
ROSTER_CORE = SCOPE_BASE + "roster-core.readonly"
ROSTER = SCOPE_BASE + "roster.readonly"
ROSTER_DEMOGRAPHICS = SCOPE_BASE + "roster-demographics.readonly"
GRADEBOOK_READ = SCOPE_BASE + "gradebook.readonly"
GRADEBOOK_WRITE = SCOPE_BASE + "gradebook.createput"
GRADEBOOK_DELETE = SCOPE_BASE + "gradebook.delete"
SCOPES = (ROSTER_CORE, ROSTER, ROSTER_DEMOGRAPHICS, GRADEBOOK_READ, GRADEBOOK_WRITE,
          GRADEBOOK_DELETE)
# Secrets are 256-bit random strings, so the KDF only has to make a stolen hash useless to
# replay, not slow down guessing: a modest cost keeps token requests cheap.
SECRET_ITERATIONS = 10_000
MAX_FORM_BYTES = 8192
# Unknown clients still pay one verification, so timing does not tell which client ids exist.
_DUMMY_HASH = passwords.hash_password("not-a-secret", SECRET_ITERATIONS, salt=b"firstbell-oauth!")


def create_client(conninfo: str, name: str, scopes: list[str]) -> tuple[str, str]:
    """Register an integration; returns (client_id, client_secret). The secret is shown once:
    only its hash is stored."""
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise ValueError(f"unknown OneRoster scopes {unknown}; use some of {list(SCOPES)}"
                         if unknown else "a client needs at least one scope")
    if not name.strip():
        raise ValueError("a client needs a name")
    client_id, secret = secrets.token_hex(16), secrets.token_urlsafe(32)
    with psycopg.connect(conninfo) as conn:
        conn.execute("INSERT INTO sis.oauth_clients (client_id, secret_hash, name, scopes)"
                     " VALUES (%s, %s, %s, %s)",
                     [client_id, passwords.hash_password(secret, SECRET_ITERATIONS), name.strip(),
                      sorted(set(scopes), key=SCOPES.index)])
    return client_id, secret


CLIENTS = """
SELECT c.client_id, c.name, c.scopes, c.created_at,
       (SELECT count(*) FROM sis.oauth_tokens t
        WHERE t.client_id = c.client_id AND t.expires_at > now()) AS live_tokens
FROM sis.oauth_clients c ORDER BY c.created_at, c.client_id
"""

# The tokens go with the client (also by the foreign key's cascade); counted for the message.
REVOKE = """
WITH tokens AS (DELETE FROM sis.oauth_tokens WHERE client_id = %(id)s RETURNING expires_at),
client AS (DELETE FROM sis.oauth_clients WHERE client_id = %(id)s RETURNING name)
SELECT (SELECT name FROM client) AS name,
       (SELECT count(*) FROM tokens WHERE expires_at > now()) AS live_tokens
"""


def list_clients(conninfo: str) -> list[dict[str, Any]]:
    """The integration clients, oldest first, with their live (unexpired) token counts."""
    with psycopg.connect(conninfo) as conn, conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(CLIENTS).fetchall()


def revoke_client(conninfo: str, client_id: str) -> tuple[str, int] | None:
    """Remove a client and every token it holds (they stop working at once); returns its name
    and how many live tokens were revoked, or None when no such client exists."""
    with psycopg.connect(conninfo) as conn:
        row = conn.execute(REVOKE, {"id": client_id}).fetchone()
    if row is None or row[0] is None:
        return None
    return str(row[0]), int(row[1])


def _error(status: int, error: str, description: str) -> JSONResponse:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="oneroster"'
    return JSONResponse({"error": error, "error_description": description}, status,
                        headers=headers)


class _Refused(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description


def _credentials(request: Request, form: dict[str, list[str]]) -> tuple[str, str]:
    """The client's id and secret, from HTTP Basic or the form (exactly one of them)."""
    header = request.headers.get("authorization", "")
    in_form = "client_id" in form or "client_secret" in form
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic":
            raise _Refused(401, "invalid_client", "use HTTP Basic client authentication")
        if in_form:
            raise _Refused(400, "invalid_request", "use one client authentication method")
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise _Refused(401, "invalid_client", "malformed Basic credentials") from None
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            raise _Refused(401, "invalid_client", "malformed Basic credentials")
        # RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic encoding.
        return unquote(client_id.replace("+", " ")), unquote(secret.replace("+", " "))
    if not in_form:
        raise _Refused(401, "invalid_client", "client authentication is required")
    return _single(form, "client_id") or "", _single(form, "client_secret") or ""


def _single(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name)
    if not values:
        return None
    if len(values) > 1:  # RFC 6749 §3.2: parameters must not be repeated
        raise _Refused(400, "invalid_request", f"parameter {name} is repeated")
    return values[0]


async def _form(request: Request) -> dict[str, list[str]]:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() \
            != "application/x-www-form-urlencoded":
        raise _Refused(400, "invalid_request",
                       "send the token request as application/x-www-form-urlencoded")
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise _Refused(400, "invalid_request", "the token request is too large")
    try:
        return parse_qs(body.decode(), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise _Refused(400, "invalid_request", "the token request is not UTF-8") from None


async def _issue(request: Request) -> dict[str, Any]:
    db: Database = request.app.state.db
    seconds = request.app.state.settings.oauth_token_seconds
    form = await _form(request)
    grant = _single(form, "grant_type")
    if grant is None:
        raise _Refused(400, "invalid_request", "grant_type is required")
    if grant != "client_credentials":
        raise _Refused(400, "unsupported_grant_type", "only client_credentials is supported")
    client_id, secret = _credentials(request, form)
    scope_text = _single(form, "scope")
    row = await db.fetchrow("oauth.client",
                            "SELECT secret_hash, scopes FROM sis.oauth_clients"
                            " WHERE client_id = %s", [client_id]) if client_id else None
    ok, _ = await anyio.to_thread.run_sync(
        passwords.verify, secret, row["secret_hash"] if row else _DUMMY_HASH)
    if row is None or not ok:
        raise _Refused(401, "invalid_client", "unknown client or wrong secret")
    granted: list[str] = row["scopes"]
    wanted = scope_text.split() if scope_text and scope_text.strip() else granted
    missing = sorted(set(wanted) - set(granted))
    if missing:
        raise _Refused(400, "invalid_scope", f"not granted to this client: {' '.join(missing)}")
    scopes = [s for s in granted if s in set(wanted)]
    token = secrets.token_urlsafe(32)
    async with db.connection() as conn, conn.transaction():
        # Expired tokens of this client go as it asks for a new one, so the table stays small.
        await db.run(conn, "oauth.token.sweep",
                     "DELETE FROM sis.oauth_tokens WHERE client_id = %s AND expires_at < now()",
                     [client_id])
        await db.run(conn, "oauth.token.issue",
                     "INSERT INTO sis.oauth_tokens (token_hash, client_id, scopes, expires_at)"
                     " VALUES (%s, %s, %s, now() + make_interval(secs => %s))",
                     [token_hash(token), client_id, scopes, seconds])
    return {"access_token": token, "token_type": "bearer", "expires_in": seconds,
            "scope": " ".join(scopes)}


@router.post("/oauth/token", response_model=None, responses=oauth_answers(400, 401))
async def token(request: Request) -> JSONResponse:
    """RFC 6749 client-credentials token request (form-encoded, HTTP Basic client auth)."""
    metrics = request.app.state.metrics
    try:
        body = await _issue(request)
    except _Refused as refused:
        metrics.oauth_tokens.labels(refused.error).inc()
        return _error(refused.status, refused.error, refused.description)
    metrics.oauth_tokens.labels("issued").inc()
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


TOKEN_QUERY = """
SELECT t.scopes, t.client_id FROM sis.oauth_tokens t
JOIN sis.oauth_clients c ON c.client_id = t.client_id
WHERE t.token_hash = %s AND t.expires_at > now()
"""


def require_scope(*any_of: str) -> Callable[[Request], Awaitable[str]]:
    """A dependency: the request's bearer token must be valid (else 401) and carry at least one
    of `any_of` (else 403). Returns the client id."""
    unknown = set(any_of) - set(SCOPES)
    if unknown or not any_of:
        raise ValueError(f"unknown scopes {sorted(unknown)}")

    async def dependency(request: Request) -> str:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        challenge = {"WWW-Authenticate": 'Bearer realm="oneroster"'}
        if scheme.lower() != "bearer" or not value.strip():
            raise OneRosterError(401, "unauthorisedrequest",
                                 "send an OAuth 2 bearer token (POST /oauth/token)", challenge)
        db: Database = request.app.state.db
        row = await db.fetchrow("oauth.token.check", TOKEN_QUERY, [token_hash(value.strip())])
        if row is None:
            raise OneRosterError(
                401, "unauthorisedrequest", "the access token is unknown or expired",
                {"WWW-Authenticate": 'Bearer realm="oneroster", error="invalid_token"'})
        if not set(any_of) & set(row["scopes"]):
            raise OneRosterError(403, "forbidden",
                                 f"the token lacks the scope: one of {' '.join(any_of)}")
        return str(row["client_id"])

    return dependency
