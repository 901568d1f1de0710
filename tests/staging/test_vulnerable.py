"""The test-only insecure probe targets (FIRSTBELL_INSECURE_PROBE_TARGETS): each deliberately
flawed route is reachable with the switch on, and the very same request is refused with it off.

A database of its own (the small district at scale 0.2, accounts are deactivated here) and two
servers on it: `on` with the switch, `off` without, signing links with the same key (links live
one second). Sessions are rows in the shared database, so one login serves both servers and the
same request goes to each.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, assert_error, new_database

from fake_data.district import generate
from fake_data.profile import load_profile
from fake_data.userpool import build_userpool
from staging import signing
from staging.app import INSECURE_WARNING, create_app
from staging.config import Settings
from staging.seed import SeedRequest, seed_database

Identities = dict[str, list[dict[str, Any]]]
SEED = 11
KEY = "the insecure-probe tests' signing key, shared by both servers"
SETTINGS: dict[str, Any] = {**TEST_SETTINGS, "signed_link_seconds": 1, "signing_key": KEY}
DOWNLOADS = "/api/reports/downloads/"


@pytest.fixture(scope="module")
def district_db(postgres_url: str) -> tuple[str, Identities]:
    url = new_database(postgres_url)
    seed_database(url, SeedRequest("small", 0.2, SEED))
    pool = {persona: t.to_pylist() for persona, t in build_userpool(
        generate(load_profile("small"), 0.2, SEED)).items()}
    return url, pool


@pytest.fixture(scope="module")
def servers(district_db: tuple[str, Identities]) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    url, _ = district_db
    on_app = create_app(Settings(**SETTINGS, insecure_probe_targets=True), url)
    off_app = create_app(Settings(**SETTINGS, insecure_probe_targets=False), url)
    with serve(on_app) as on_base, serve(off_app) as off_base, \
            httpx.Client(base_url=on_base, timeout=30) as on, \
            httpx.Client(base_url=off_base, timeout=30) as off:
        yield on, off


@pytest.fixture
def pool(district_db: tuple[str, Identities]) -> Identities:
    return district_db[1]


def _login(client: httpx.Client, who: dict[str, Any]) -> dict[str, str]:
    """Log in (either server: the session is in the shared database); the bearer header. The
    session cookie is dropped, so requests without the header carry no session."""
    r = client.post("/api/auth/login", json={"username": who["username"],
                                             "password": who["password"]})
    client.cookies.clear()
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _gauge(client: httpx.Client) -> float:
    text = client.get("/metrics").text
    for family in text_string_to_metric_families(text):
        if family.name == "sis_insecure_probe_targets":
            return float(family.samples[0].value)
    raise AssertionError("no sis_insecure_probe_targets gauge")


def _csv_rows(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(r.text)))


def test_the_switch_is_off_by_default_flagged_on_metrics_and_loud_at_start(
        servers: tuple[httpx.Client, httpx.Client], district_db: tuple[str, Identities],
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    on, off = servers
    assert (_gauge(on), _gauge(off)) == (1.0, 0.0)
    # The OpenAPI document still describes the real API (the shadows are not listed twice).
    for client in (on, off):
        paths = client.get("/openapi.json").json()["paths"]
        assert "get" in paths["/api/portal/students/{student_id}/grades"]
    assert "INSECURE" in on.get("/openapi.json").json()["info"]["description"]
    assert "INSECURE" not in off.get("/openapi.json").json()["info"]["description"]
    with caplog.at_level(logging.WARNING, logger="staging.app"):
        url, _ = district_db
        with serve(create_app(Settings(**SETTINGS, insecure_probe_targets=True), url)):
            pass
        warned = [r for r in caplog.records if r.levelno == logging.WARNING
                  and r.getMessage() == INSECURE_WARNING]
        assert len(warned) == 1
        caplog.clear()
        with serve(create_app(Settings(**SETTINGS, insecure_probe_targets=False), url)):
            pass
        assert not [r for r in caplog.records if "INSECURE" in r.getMessage()]
    # Off unless the environment turns it on (there is no command-line flag).
    monkeypatch.delenv("FIRSTBELL_INSECURE_PROBE_TARGETS", raising=False)
    assert Settings().insecure_probe_targets is False
    monkeypatch.setenv("FIRSTBELL_INSECURE_PROBE_TARGETS", "true")
    assert Settings().insecure_probe_targets is True


def test_portal_grades_of_any_student_for_any_session(
        servers: tuple[httpx.Client, httpx.Client], pool: Identities) -> None:
    on, off = servers
    students = {s["student_id"]: s for s in pool["student"]}
    guardian = next(g for g in pool["guardian"] if g["no_access_children"])
    parent = _login(off, guardian)
    stranger = next(s for s in guardian["forbidden_students"]
                    if s not in guardian["no_access_children"])
    path = f"/api/portal/students/{stranger}/grades"
    # The real answer, as the student sees it on the real route: the same body on the flaw.
    own = off.get(path, headers=_login(off, students[stranger]))
    assert own.status_code == 200 and own.json()["classes"]
    got = on.get(path, headers=parent)
    assert got.status_code == 200, got.text
    assert got.json() == own.json()
    assert_error(off.get(path, headers=parent), 404, "not_found")
    # Custody: a child whose link is marked no-access.
    custody = f"/api/portal/students/{guardian['no_access_children'][0]}/grades"
    assert on.get(custody, headers=parent).status_code == 200
    assert_error(off.get(custody, headers=parent), 404, "not_found")
    # Any role, not only the portal's.
    teacher = _login(off, pool["teacher"][0])
    assert on.get(path, headers=teacher).status_code == 200
    assert_error(off.get(path, headers=teacher), 403, "forbidden")
    # Still a session, and still a student that exists.
    assert_error(on.get(path), 401)
    assert_error(on.get("/api/portal/students/2000000000/grades", headers=parent), 404)


def test_sim_record_of_any_school_for_any_staff(
        servers: tuple[httpx.Client, httpx.Client], pool: Identities) -> None:
    on, off = servers
    clerk = pool["clerk"][0]
    other = next(s for s in pool["student"] if s["school_id"] != clerk["school_id"])
    path = f"/api/sim/students/{other['student_id']}"
    real = off.get(path, headers=_login(off, pool["district_admin"][0]))
    assert real.status_code == 200
    office = _login(off, clerk)
    got = on.get(path, headers=office)
    assert got.status_code == 200 and got.json() == real.json()
    assert_error(off.get(path, headers=office), 404, "not_found")
    teacher = _login(off, pool["teacher"][1])  # a teacher: no sim at all on the real SIS
    assert on.get(path, headers=teacher).json() == real.json()
    assert_error(off.get(path, headers=teacher), 403, "forbidden")
    student = _login(off, pool["student"][0])  # not staff: refused on both
    assert_error(on.get(path, headers=student), 403, "forbidden")
    assert_error(off.get(path, headers=student), 403, "forbidden")
    assert_error(on.get("/api/sim/students/2000000000", headers=office), 404)


def test_gradebook_roster_of_any_section_for_any_session(
        servers: tuple[httpx.Client, httpx.Client], pool: Identities) -> None:
    on, off = servers
    teacher = pool["teacher"][2]
    section = teacher["forbidden_sections"][0]
    path = f"/api/gradebook/sections/{section}/roster"
    real = off.get(path, headers=_login(off, pool["district_admin"][0]))
    assert real.status_code == 200 and real.json()["students"]
    colleague = _login(off, teacher)
    assert on.get(path, headers=colleague).json() == real.json()
    assert_error(off.get(path, headers=colleague), 404, "not_found")
    parent = _login(off, next(g for g in pool["guardian"] if g["children"]))
    assert on.get(path, headers=parent).json() == real.json()
    assert_error(off.get(path, headers=parent), 403, "forbidden")
    assert_error(on.get(path), 401)
    assert_error(on.get("/api/gradebook/sections/2000000000/roster", headers=parent), 404)


def test_disabled_accounts_log_in(servers: tuple[httpx.Client, httpx.Client],
                                  pool: Identities) -> None:
    on, off = servers
    admin = _login(off, pool["district_admin"][0])
    deactivated = pool["teacher"][-1]
    r = off.post(f"/api/admin/users/{deactivated['user_id']}/deactivate", headers=admin)
    assert r.status_code == 200
    for who in (pool["terminated_staff"][0], deactivated):  # terminated in HR; deactivated
        body = {"username": who["username"], "password": who["password"]}
        refused = off.post("/api/auth/login", json=body)
        assert_error(refused, 403, "account_disabled")
        got = on.post("/api/auth/login", json=body)
        on.cookies.clear()
        assert got.status_code == 200, got.text
        assert set(got.json()) == {"token", "user"}
        assert got.json()["user"] == {"user_id": who["user_id"], "role": who.get("role", "teacher"),
                                      "person_type": "staff", "person_id": who["staff_id"]}
        headers = {"Authorization": f"Bearer {got.json()['token']}"}
        me = on.get("/api/auth/session", headers=headers)
        assert me.status_code == 200 and me.json()["person_id"] == who["staff_id"]
        assert_error(off.get("/api/auth/session", headers=headers), 401, "session_expired")
        # Everything else is the real login: a wrong password is still wrong.
        assert_error(on.post("/api/auth/login", json={**body, "password": "wrong"}), 401,
                     "invalid_credentials")
    # An account never activated is not disabled: refused on both, as the real login does.
    fresh = pool["guardian_unregistered"][0]
    body = {"username": fresh["username"], "password": fresh["password"]}
    for client in (on, off):
        assert_error(client.post("/api/auth/login", json=body), 403, "account_unactivated")
    assert_error(on.post("/api/auth/login", json={"username": "ghost@example.org",
                                                  "password": "x"}), 401, "invalid_credentials")


def test_ended_sessions_still_answer(servers: tuple[httpx.Client, httpx.Client],
                                     pool: Identities) -> None:
    on, off = servers
    admin = _login(off, pool["district_admin"][0])
    who = pool["teacher"][-2]
    headers = _login(off, who)
    before = off.get("/api/auth/session", headers=headers)
    assert before.status_code == 200
    r = off.post(f"/api/admin/users/{who['user_id']}/deactivate", headers=admin)
    assert r.status_code == 200 and r.json()["sessions_ended"] == 1
    assert_error(off.get("/api/auth/session", headers=headers), 401, "session_expired")
    got = on.get("/api/auth/session", headers=headers)
    assert got.status_code == 200 and got.json() == before.json()
    # A logged-out session too; but a token that never was a session is still refused.
    student = _login(off, pool["student"][1])
    assert off.post("/api/auth/logout", headers=student).status_code == 204
    assert on.get("/api/auth/session", headers=student).status_code == 200
    assert_error(off.get("/api/auth/session", headers=student), 401)
    assert_error(on.get("/api/auth/session", headers={"Authorization": "Bearer nope"}), 401)
    assert_error(on.get("/api/auth/session"), 401, "unauthenticated")


def _wait_past(expires_at: str) -> None:
    time.sleep(max(0.0, dt.datetime.fromisoformat(expires_at).timestamp() - time.time()) + 0.2)


def test_download_links_need_no_session_signature_or_time(
        servers: tuple[httpx.Client, httpx.Client], pool: Identities) -> None:
    on, off = servers
    owner = pool["district_admin"][0]
    admin = _login(off, owner)
    link = off.post("/api/reports/roster", json={"school_id": 1}, headers=admin).json()
    token = link["url"].removeprefix(DOWNLOADS)
    payload, mac = token.split(".")
    tampered = f"{payload}.{mac[:-2]}{'AA' if mac[-2:] != 'AA' else 'BB'}"
    # No session at all.
    assert _csv_rows(on.get(link["url"]))
    assert_error(off.get(link["url"]), 401)
    # A tampered signature (the owner's session on the real SIS: refused all the same).
    assert _csv_rows(on.get(DOWNLOADS + tampered))
    assert_error(off.get(DOWNLOADS + tampered, headers=admin), 403, "invalid_link")
    # A link signed with some other key, naming the administrator: the whole district.
    forged = signing.sign(b"not the key", owner["user_id"], "roster", int(time.time()) + 60)
    assert len(_csv_rows(on.get(DOWNLOADS + forged))) > 100
    assert_error(off.get(DOWNLOADS + forged, headers=admin), 403, "invalid_link")
    # A report card, after its link expired.
    guardian = next(g for g in pool["guardian"] if g["children"])
    parent = _login(off, guardian)
    card = off.get(f"/api/portal/students/{guardian['children'][0]}/report-card",
                   headers=parent).json()
    _wait_past(card["expires_at"])
    _wait_past(link["expires_at"])
    pdf = on.get(card["url"])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert _csv_rows(on.get(link["url"]))
    assert_error(off.get(card["url"], headers=parent), 403, "link_expired")
    assert_error(off.get(link["url"], headers=admin), 403, "link_expired")
    # Only a payload that cannot be read at all is refused.
    for junk in ("0", "%00", "bm90IGpzb24.x", f"{signing._b64(b'{}')}.x"):
        assert_error(on.get(DOWNLOADS + junk), 403, "invalid_link")
