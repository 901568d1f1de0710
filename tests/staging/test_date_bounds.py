"""Every date a client sends is ISO 8601 text within bounds: year 1 and 9999 (where Python's
date arithmetic overflows) and a bare number (once read as a Unix time) answer 422 naming the
parameter, never a 500; OneRoster writes the year-1 dates it holds as four-digit ISO 8601."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import httpx
from support.sisdb import Login

from staging.oneroster_query import iso_datetime

BAD_DAYS = ("0001-01-01", "9999-12-31", "0", "1700000000", "2019-02-30")
Identities = dict[str, list[dict[str, Any]]]


def _date_queries(client: httpx.Client) -> list[tuple[str, str]]:
    """(path, parameter) for every query parameter the OpenAPI document types as a date."""
    spec = client.get("/openapi.json").json()
    found = []
    for path, ops in spec["paths"].items():
        for op in ops.values():
            for param in op.get("parameters", []):
                schemas = [param["schema"], *param["schema"].get("anyOf", [])]
                if param["in"] == "query" and any(s.get("format") == "date" for s in schemas):
                    found.append((path, param["name"]))
    return found


def test_every_date_query_parameter_is_bounded(client: httpx.Client, login: Login,
                                               identities: Identities) -> None:
    found = _date_queries(client)
    assert ("/api/portal/students/{student_id}/attendance", "to") in found
    assert len(found) >= 5, found
    for who in ("guardian", "district_admin", "teacher"):
        caller = login(identities[who][0])
        for template, name in found:
            path = re.sub(r"\{[^}]+\}", "1", template)
            for value in BAD_DAYS:
                r = caller.get(path, params={name: value})
                assert r.status_code == 422, (who, path, name, value, r.status_code, r.text)
                error = r.json()["error"]
                assert error["code"] == "invalid_request"
                assert any(name in d["loc"] for d in error["details"]), r.text
        assert caller.get("/api/auth/session").status_code == 200  # the connection lived on


def test_the_reported_overflow_is_a_422(login: Login, identities: Identities) -> None:
    guardian = login(identities["guardian"][3])
    r = guardian.get("/api/portal/students/1/attendance", params={"to": "0001-01-01"})
    assert r.status_code == 422, r.text
    assert "1900-01-01" in str(r.json()["error"]["details"])  # says what range is allowed


def test_dates_in_bodies_are_bounded(login: Login, identities: Identities) -> None:
    admin = login(identities["district_admin"][0])
    guardian = login(identities["guardian"][3])
    for value in ("0001-01-01", "9999-12-31", 0):
        for caller, path, body in (
                (guardian, "/api/portal/students/1/absence-notices",
                 {"date": value, "reason": "flu"}),
                (admin, "/api/reports/attendance", {"from": value, "to": "2019-05-01"}),
                (admin, "/api/reports/attendance", {"from": "2019-05-01", "to": value}),
                (admin, "/api/incidents", {"student_id": 1, "occurred_at": f"{value}T00:00:00Z",
                                           "category": "other", "severity": 1,
                                           "description": "x"})):
            r = caller.post(path, json=body)
            assert r.status_code == 422, (path, body, r.status_code, r.text)


def test_oneroster_writes_year_one_as_iso_8601() -> None:
    assert iso_datetime(dt.date(1, 1, 1)) == "0001-01-01T00:00:00.000Z"
    assert iso_datetime(dt.datetime(999, 3, 4, 5, 6, 7, 8000, tzinfo=dt.UTC)) \
        == "0999-03-04T05:06:07.008Z"
    assert iso_datetime(dt.date(2019, 4, 22)) == "2019-04-22T00:00:00.000Z"
