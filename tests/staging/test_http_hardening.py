"""HTTP-level hardening of the staging SIS: 405 names every allowed method, request bodies are
bounded before they are read (413), sessions have an absolute lifetime, and the session cookie
is Secure when the client reached the SIS over TLS."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, query

from staging.app import create_app
from staging.config import Settings

Identities = dict[str, list[dict[str, Any]]]


def test_405_names_every_method_of_the_path(client: httpx.Client) -> None:
    for method, path, allowed in (
            ("PATCH", "/admin/faults", "DELETE, GET, PUT"),
            ("DELETE", "/api/auth/login", "POST"),
            ("POST", "/healthz", "GET"),
            ("DELETE", "/oauth/token", "POST")):
        r = client.request(method, path)
        assert r.status_code == 405, (method, path)
        assert r.headers["allow"] == allowed, (method, path, r.headers.get("allow"))
        assert r.json()["error"]["code"] == "method_not_allowed"


def test_a_large_declared_body_is_refused_before_it_is_read(base_url: str) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        # 40 MiB declared, one byte sent: the answer must come without waiting for the rest.
        s.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: sis\r\nContent-Type: application/json"
                  b"\r\nContent-Length: 41943040\r\n\r\n{")
        started = time.monotonic()
        head = s.recv(4096)
    assert head.startswith(b"HTTP/1.1 413 "), head
    assert b"payload_too_large" in head and time.monotonic() - started < 2


def test_a_large_chunked_body_is_cut_off(client: httpx.Client) -> None:
    sent = []

    def chunks() -> Iterator[bytes]:
        for _ in range(64):  # 4 MiB in 64 KiB chunks, no Content-Length
            sent.append(1)
            yield b" " * 65536

    r = client.post("/api/auth/login", content=chunks(),
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
    ok = client.post("/api/auth/login", json={"username": "x@example.org", "password": "y"})
    assert ok.status_code == 401  # an ordinary body still reads


def test_sessions_have_an_absolute_lifetime(seeded_url: str, identities: Identities) -> None:
    settings = Settings(**{**TEST_SETTINGS, "session_max_hours": 1.5 / 3600})  # 1.5 s
    who = identities["student"][6]
    with serve(create_app(settings, seeded_url)) as base, httpx.Client(base_url=base) as c:
        token = c.post("/api/auth/login", json={"username": who["username"],
                                                "password": who["password"]}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        codes = []
        for _ in range(12):  # polled every 0.25 s: never idle, yet it ends
            codes.append(c.get("/api/auth/session", headers=headers).status_code)
            time.sleep(0.25)
    assert codes[0] == 200 and codes[-1] == 401, codes
    assert codes == sorted(codes), codes  # once ended, it stays ended


def _login(c: httpx.Client, who: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    r = c.post("/api/auth/login", json={"username": who["username"],
                                        "password": who["password"]}, headers=headers)
    assert r.status_code == 200, r.text
    return r


def test_secure_cookie_over_tls_at_a_trusted_proxy(seeded_url: str,
                                                   identities: Identities) -> None:
    who = identities["student"][7]
    tls = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    behind = Settings(**{**TEST_SETTINGS, "trusted_proxies": "127.0.0.1, 10.0.0.0/8"})
    with serve(create_app(behind, seeded_url)) as base, httpx.Client(base_url=base) as c:
        assert "secure" in _login(c, who, tls).headers["set-cookie"].lower()
        assert "secure" not in _login(c, who, {}).headers["set-cookie"].lower()
    # Not from a trusted proxy: the header is a client's claim, ignored.
    with serve(create_app(Settings(**TEST_SETTINGS), seeded_url)) as base, \
            httpx.Client(base_url=base) as c:
        assert "secure" not in _login(c, who, tls).headers["set-cookie"].lower()


def _request_code(base: str, email: str, forwarded: str) -> int:
    return httpx.post(f"{base}/api/registration/request-code", json={"email": email},
                      headers={"X-Forwarded-For": forwarded}).status_code


def _logged_ip(url: str, email: str) -> list[str]:
    return [ip for (ip,) in query(url, "SELECT client_ip FROM sis.registration_requests"
                                       " WHERE email = %s", [email])]


def test_forwarded_for_counts_only_from_trusted_proxies(seeded_url: str) -> None:
    tag = uuid.uuid4().hex[:8]
    # Default: no proxy trusted; the per-address limit counts the socket's peer (loopback).
    with serve(create_app(Settings(**TEST_SETTINGS), seeded_url)) as base:
        assert _request_code(base, f"a-{tag}@example.org", "203.0.113.7") == 202
    assert _logged_ip(seeded_url, f"a-{tag}@example.org") == ["127.0.0.1"]
    # ... so a made-up header does not reset the limit.
    capped = Settings(**{**TEST_SETTINGS, "registration_per_ip_per_hour": 1})
    with serve(create_app(capped, seeded_url)) as base:
        assert _request_code(base, f"b-{tag}@example.org", "203.0.113.8") == 429
    # Behind a configured proxy the forwarded client is the one counted.
    behind = Settings(**{**TEST_SETTINGS, "trusted_proxies": "127.0.0.0/8"})
    with serve(create_app(behind, seeded_url)) as base:
        assert _request_code(base, f"c-{tag}@example.org", "203.0.113.10") == 202
    assert _logged_ip(seeded_url, f"c-{tag}@example.org") == ["203.0.113.10"]
