"""Short-lived signed download links: HMAC-SHA256 over (user, resource, expiry).

A download (report, roster export, report card) is two steps: an authorized request answers a
link, and the link is fetched on a session of the same user before it expires. The link alone
is no capability (the CPS 2018 spreadsheet linked from a mass email needed no login), and a
session alone does not reach a file without asking for it through an authorization check first.

A token is ``<payload>.<mac>``, both base64url without padding; the payload is compact JSON
``{"u": user_id, "r": resource, "e": expires_at}`` (epoch seconds). The MAC covers a purpose
label and the payload bytes exactly as sent, and is compared in constant time before anything
in the payload is trusted.

The key is ``settings.signing_key`` or, when that is empty, 32 random bytes made once per app
(links then die with the server, and each server worker has its own key: set a key when running
more than one worker).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import math
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

from fastapi import FastAPI, Request
from pydantic import BaseModel

DOWNLOAD_PATH = "/api/reports/downloads/"
PURPOSE = b"firstbell-download-v1\n"  # a MAC made for something else never verifies here
MAX_TOKEN_CHARS = 2048
TOKEN_PART = re.compile(r"[A-Za-z0-9_-]+")


class DownloadLink(BaseModel):
    url: str
    expires_at: dt.datetime


class LinkError(Exception):
    """Why a token was refused: malformed, bad_signature, expired or wrong_user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    """Strict: only the canonical spelling decodes (the lenient decoder skips stray characters
    and ignores unused low bits, so an altered token could decode to the same bytes)."""
    if not TOKEN_PART.fullmatch(text):
        raise ValueError("not base64url")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if _b64(raw) != text:
        raise ValueError("not canonical base64url")
    return raw


def _mac(key: bytes, payload: bytes) -> bytes:
    return hmac.new(key, PURPOSE + payload, hashlib.sha256).digest()


def sign(key: bytes, user_id: int, resource: str, expires_at: int) -> str:
    """A token for `user_id` to fetch `resource` until `expires_at` (epoch seconds)."""
    payload = json.dumps({"u": user_id, "r": resource, "e": expires_at},
                         separators=(",", ":"), sort_keys=True).encode()
    return f"{_b64(payload)}.{_b64(_mac(key, payload))}"


def verify(key: bytes, token: str, user_id: int, now: float | None = None) -> str:
    """The resource a valid token names; LinkError when it is malformed, forged or tampered
    with, expired, or made for another user."""
    if len(token) > MAX_TOKEN_CHARS or token.count(".") != 1:
        raise LinkError("malformed")
    encoded, mac = token.split(".")
    try:
        payload, given = _unb64(encoded), _unb64(mac)
    except (binascii.Error, ValueError) as exc:
        raise LinkError("malformed") from exc
    if not hmac.compare_digest(_mac(key, payload), given):
        raise LinkError("bad_signature")
    # Signed by us, so well formed unless the key leaked; checked anyway, never trusted blindly.
    try:
        claims: Any = json.loads(payload)
        owner, resource, expires_at = claims["u"], claims["r"], claims["e"]
    except (ValueError, TypeError, KeyError) as exc:
        raise LinkError("malformed") from exc
    if not (isinstance(owner, int) and isinstance(resource, str)
            and isinstance(expires_at, int)):
        raise LinkError("malformed")
    if (time.time() if now is None else now) >= expires_at:
        raise LinkError("expired")
    if owner != user_id:
        raise LinkError("wrong_user")
    return resource


def resource(kind: str, **params: object) -> str:
    """A canonical resource name: ``roster?school=3``; None values are left out."""
    query = urlencode(sorted((k, str(v)) for k, v in params.items() if v is not None))
    return f"{kind}?{query}" if query else kind


def parse_resource(name: str) -> tuple[str, dict[str, str]]:
    kind, _, query = name.partition("?")
    return kind, dict(parse_qsl(query, keep_blank_values=True))


def app_key(app: FastAPI) -> bytes:
    """The configured key, or this app's random one, made at first use."""
    configured: str = app.state.settings.signing_key
    if configured:
        return configured.encode()
    key: bytes | None = getattr(app.state, "signing_key", None)
    if key is None:  # no await between the check and the store: one key per app
        key = secrets.token_bytes(32)
        app.state.signing_key = key
    return key


def issue(request: Request, user_id: int, resource: str) -> DownloadLink:
    """The answer to an authorized download request: the link and when it stops working."""
    seconds: int = request.app.state.settings.signed_link_seconds
    # Rounded up, so a link lives at least the configured time.
    expires_at = math.ceil(time.time() + seconds)
    token = sign(app_key(request.app), user_id, resource, expires_at)
    return DownloadLink(url=DOWNLOAD_PATH + token,
                        expires_at=dt.datetime.fromtimestamp(expires_at, dt.UTC))
