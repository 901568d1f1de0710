"""How a OneRoster client signs in: OAuth 2 client credentials (1.2, and 1.1 providers that
adopted it) or OAuth 1.0a with HMAC-SHA256 signatures (1.1).

OAuth 1.0a is written here with the standard library (`hmac`, `hashlib`, `urllib.parse`),
following RFC 5849 §3.4-3.5: oauthlib is not in firstbell's environment, and the part a
two-legged OneRoster client needs (no token, no callback, signed query parameters, the
``Authorization: OAuth`` header) is short enough to read in full below.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from loadtests.browser import Browser, Response

TOKEN_MARGIN = 30.0  # seconds before its expiry a token is replaced, so none expires in flight
DEFAULT_TOKEN_SECONDS = 3600.0  # when the provider does not say (expires_in is optional)


def basic(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: id and secret are form-encoded before the Basic encoding."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


# -- OAuth 1.0a (RFC 5849) ----------------------------------------------------------------------

def encode(value: str) -> str:
    """RFC 5849 §3.6: UTF-8, then every byte but the unreserved characters percent-encoded."""
    return quote(value, safe="-._~")


def normalized_url(url: str) -> str:
    """§3.4.1.2: scheme and host lower-case, the default port dropped, no query or fragment."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    if port and not ((scheme == "http" and port == 80) or (scheme == "https" and port == 443)):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path or '/'}"


def base_string(method: str, url: str, params: Sequence[tuple[str, str]]) -> str:
    """§3.4.1: method, normalized URL and the normalized parameters (query and oauth_*, each
    name and value encoded, sorted by name then value), each encoded and joined by ``&``."""
    pairs = sorted((encode(k), encode(v)) for k, v in params)
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join((method.upper(), encode(normalized_url(url)), encode(normalized)))


def oauth1_header(method: str, url: str, query: Sequence[tuple[str, str]], client_id: str,
                  secret: str, *, nonce: str | None = None,
                  timestamp: int | None = None) -> str:
    """The ``Authorization: OAuth …`` value of one request (two-legged: no token, so the key
    is the encoded secret and ``&``)."""
    oauth = {"oauth_consumer_key": client_id,
             "oauth_nonce": nonce or secrets.token_hex(16),
             "oauth_signature_method": "HMAC-SHA256",
             "oauth_timestamp": str(int(time.time()) if timestamp is None else timestamp),
             "oauth_version": "1.0"}
    text = base_string(method, url, [*query, *oauth.items()])
    key = f"{encode(secret)}&".encode()
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    oauth["oauth_signature"] = base64.b64encode(digest).decode("ascii")
    return "OAuth " + ", ".join(f'{encode(k)}="{encode(v)}"' for k, v in sorted(oauth.items()))


# -- OAuth 2 client credentials -----------------------------------------------------------------

class Signer:
    """One session's credentials: `headers(method, url, query)` are what a request carries.

    OAuth 2: the token is asked for on first use and kept for the session until shortly before
    it expires. OAuth 1.0a: each request is signed. `refused` is the status of a token request
    that was refused (401/400), else None."""

    def __init__(self, browser: Browser, identity: Mapping[str, Any],
                 count: Callable[[str], None]) -> None:
        self.browser, self.me, self.count = browser, identity, count
        self.token: str | None = None
        self.expires = 0.0
        self.refused: int | None = None

    @property
    def oauth1(self) -> bool:
        return self.me.get("auth") == "oauth1"

    def headers(self, method: str, url: str,
                query: Sequence[tuple[str, str]]) -> dict[str, str] | None:
        """None when no credentials could be had (the token request failed)."""
        if self.oauth1:
            return {"Authorization": oauth1_header(method, url, query, self.me["client_id"],
                                                   self.me["client_secret"])}
        if self.token is None or time.monotonic() >= self.expires:
            self.token = self._fetch()
        return None if self.token is None else {"Authorization": f"Bearer {self.token}"}

    def _fetch(self) -> str | None:
        me = self.me
        form = {"grant_type": "client_credentials"}
        if me.get("scope"):
            form["scope"] = me["scope"]
        r = self.browser.post("oauth.token", me.get("token_url") or "/oauth/token", token=None,
                              data=form, headers={"Authorization": basic(
                                  me["client_id"], me["client_secret"])})
        body = _json(r) if 200 <= r.status_code < 300 else None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            self.refused = r.status_code
            return None
        seconds = body.get("expires_in") if isinstance(body, dict) else None
        life = float(seconds) if isinstance(seconds, int | float) else DEFAULT_TOKEN_SECONDS
        self.expires = time.monotonic() + max(life - TOKEN_MARGIN, life / 2)
        self.count("tokens")
        return token


def _json(r: Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None
