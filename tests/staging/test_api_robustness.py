"""Bad input to any endpoint answers 4xx with a JSON error body, never a 500.

Every operation in the served OpenAPI document is called with hostile path values, query values
and bodies, by a district administrator (who passes every role check, so the input reaches the
handlers) and by a guardian.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from support.sisdb import Login

PATH_VALUES = ("0", "-1", "2147483648", "99999999999999999999", "abc", "1.5", "%00", "1")
BODIES: tuple[Any, ...] = (None, {}, [], "text", {"date": "2019-02-30"},
                           {"records": [{"student_id": "x"}]}, {"scores": [None]},
                           {"q": "'; DROP TABLE sis.students; --"})
QUERIES = ("", "?date=not-a-date", "?from=2019-05-01&to=2019-04-01", "?q=%25%25", "?limit=0",
           "?q=a", "?teacher_id=-5", "?q=O'Brien")


def _operations(client: httpx.Client) -> list[tuple[str, str]]:
    spec = client.get("/openapi.json").json()
    return [(method.upper(), path) for path, ops in spec["paths"].items()
            for method in ops if path.startswith("/api/") and path != "/api/auth/logout"
            and "deactivate" not in path]


@pytest.mark.parametrize("who", ["district_admin", "guardian"])
def test_no_endpoint_answers_500(client: httpx.Client, login: Login,
                                 identities: dict[str, list[dict[str, Any]]], who: str) -> None:
    caller = login(identities[who][-2])
    checked = 0
    for method, template in _operations(client):
        for value in PATH_VALUES:
            path = re.sub(r"\{[^}]+\}", value, template)
            for body, query in zip(BODIES, QUERIES, strict=True):
                r = caller.request(method, path + query,
                                   json=body if method != "GET" else None)
                assert r.status_code < 500, (method, path + query, body, r.status_code, r.text)
                if r.status_code >= 400:
                    assert "error" in r.json(), (method, path, r.text)
                checked += 1
    assert checked > 1000
    assert caller.get("/api/auth/session").status_code == 200  # still logged in, still up
