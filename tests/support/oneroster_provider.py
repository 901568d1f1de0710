"""A OneRoster 1.1 provider for tests, on 127.0.0.1 through `support.sis_server.serve`: paged
rostering collections of known size, behind either OAuth 1.0a (HMAC-SHA256 signatures checked
on every request) or OAuth 2 client credentials (``POST /oauth/token``, then Bearer).

Its OAuth 1.0a verifier is written here from RFC 5849 §3.4 on its own (it shares no code with
`loadtests.oneroster.auth`), so a signing mistake in the client fails against it. It refuses a
replayed nonce and a timestamp more than 5 minutes off.

What a test reads: `served` (every page answered: collection, offset, limit, rows), `refused`
(requests answered 401), `in_flight` now and `most_in_flight` ever (requests being answered at
once, across every client).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

BASE = "/ims/oneroster/v1p1"
TOTALS = {"orgs": 7, "academicSessions": 3, "classes": 12, "users": 23, "enrollments": 31}


@dataclass(frozen=True)
class Served:
    collection: str
    offset: int
    limit: int
    rows: int


@dataclass
class Provider:
    clients: dict[str, str]                          # client id -> secret
    totals: dict[str, int] = field(default_factory=lambda: dict(TOTALS))
    max_limit: int = 50_000                          # the provider's own page-size cap
    delay: float = 0.0                               # seconds each page takes to answer
    served: list[Served] = field(default_factory=list)
    refused: int = 0
    tokens: dict[str, str] = field(default_factory=dict)  # bearer token -> client id
    in_flight: int = 0
    most_in_flight: int = 0
    nonces: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- OAuth 1.0a, verified the long way -----------------------------------------------------
    @staticmethod
    def _pct(text: str) -> str:
        return "".join(c if c.isascii() and (c.isalnum() or c in "-._~")
                       else "".join(f"%{b:02X}" for b in c.encode("utf-8")) for c in text)

    def oauth1_client(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.startswith("OAuth "):
            return None
        oauth: dict[str, str] = {}
        for item in header[len("OAuth "):].split(","):
            name, _, quoted = item.strip().partition("=")
            oauth[unquote(name)] = unquote(quoted.strip('"'))
        client = oauth.get("oauth_consumer_key", "")
        secret = self.clients.get(client)
        signature = oauth.pop("oauth_signature", "")
        if (secret is None or oauth.get("oauth_signature_method") != "HMAC-SHA256"
                or oauth.get("oauth_version", "1.0") != "1.0"
                or abs(time.time() - int(oauth.get("oauth_timestamp", "0"))) > 300):
            return None
        query = parse_qsl(request.url.query, keep_blank_values=True)
        pairs = sorted(f"{self._pct(k)}={self._pct(v)}" for k, v in [*query, *oauth.items()])
        url = request.url
        port = "" if url.port in (None, 80 if url.scheme == "http" else 443) else f":{url.port}"
        base_uri = f"{url.scheme}://{(url.hostname or '').lower()}{port}{url.path}"
        text = "&".join([request.method, self._pct(base_uri), self._pct("&".join(pairs))])
        want = base64.b64encode(hmac.new(f"{self._pct(secret)}&".encode(), text.encode(),
                                         hashlib.sha256).digest()).decode()
        if not hmac.compare_digest(want, signature):
            return None
        nonce = f"{client}|{oauth.get('oauth_timestamp')}|{oauth.get('oauth_nonce')}"
        with self.lock:
            if nonce in self.nonces:
                return None
            self.nonces.add(nonce)
        return client

    def bearer_client(self, request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        return self.tokens.get(header[len("Bearer "):]) if header.startswith("Bearer ") \
            else None

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/healthz")
        def healthz() -> Response:
            return Response("ok")

        @app.post("/oauth/token")
        async def token(request: Request) -> Response:
            form = dict(parse_qsl((await request.body()).decode()))
            basic = request.headers.get("authorization", "")
            try:
                pair = base64.b64decode(basic.removeprefix("Basic ")).decode()
            except ValueError:
                pair = ""
            client, _, secret = (unquote(p) for p in pair.partition(":"))
            if form.get("grant_type") != "client_credentials":
                return JSONResponse({"error": "unsupported_grant_type"}, 400)
            if not secret or self.clients.get(client) != secret:
                with self.lock:
                    self.refused += 1
                return JSONResponse({"error": "invalid_client"}, 401)
            issued = secrets.token_urlsafe(16)
            self.tokens[issued] = client
            return JSONResponse({"access_token": issued, "token_type": "bearer",
                                 "expires_in": 3600})

        @app.get(BASE + "/{collection}")
        def collection(collection: str, request: Request) -> Response:
            with self.lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                if (self.oauth1_client(request) or self.bearer_client(request)) is None:
                    with self.lock:
                        self.refused += 1
                    return JSONResponse({"imsx_codeMajor": "failure"}, 401,
                                        headers={"WWW-Authenticate": "OAuth"})
                if collection not in self.totals:
                    return JSONResponse({"imsx_codeMajor": "failure"}, 404)
                if self.delay:
                    time.sleep(self.delay)  # a sync route: run in a thread, not the loop
                limit = min(int(request.query_params.get("limit", "100")), self.max_limit)
                offset = int(request.query_params.get("offset", "0"))
                total = self.totals[collection]
                rows = [{"sourcedId": f"{collection}-{i}"}
                        for i in range(offset, min(offset + limit, total))]
                with self.lock:
                    self.served.append(Served(collection, offset, limit, len(rows)))
                link = (f'<{BASE}/{collection}?limit={limit}&offset={offset + limit}>;'
                        ' rel="next"') if offset + limit < total else ""
                headers = {"X-Total-Count": str(total)}
                if link:
                    headers["Link"] = link
                return JSONResponse({collection: rows}, headers=headers)
            finally:
                with self.lock:
                    self.in_flight -= 1

        return app
