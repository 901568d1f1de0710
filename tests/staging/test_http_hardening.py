"""HTTP-level hardening of the staging SIS: 405 names every allowed method, request bodies are
bounded before they are read (413), sessions have an absolute lifetime, and the session cookie
is Secure when the client reached the SIS over TLS."""

from __future__ import annotations

import httpx


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
