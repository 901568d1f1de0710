"""Parent self-registration (cutover day) against a real server: the happy path end to end, and
the abuse cases (wrong, expired and reused codes and tokens, rate limits, duplicate emails,
custody no-access links, guessing child codes).

Each test talks from a loopback address of its own (127.0.5.x on the shared server), so the
per-IP limit of one test never counts another's requests. Tests that need other settings (a
code valid about a second, three requests per IP) run on a server and database of their own.
"""

from __future__ import annotations

import re
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, Login, new_database, query

from fake_data.district import District, generate
from fake_data.export_oneroster import Version, write_oneroster
from fake_data.profile import load_profile
from fake_data.userpool import build_userpool
from staging import passwords
from staging.app import create_app
from staging.authz import token_hash
from staging.config import Settings
from staging.metrics import Metrics
from staging.seed import SeedRequest, seed_database

Identity = dict[str, Any]
API = "/api/registration"


# --- helpers ------------------------------------------------------------------------------------

def _client(base: str, ip: str) -> httpx.Client:
    """A client whose requests come from loopback address `ip` (the server sees that IP)."""
    return httpx.Client(base_url=base, timeout=30.0,
                        transport=httpx.HTTPTransport(local_address=ip))


def _outbox(url: str, email: str, kind: str | None = None) -> list[tuple[str, str]]:
    rows = query(url, "SELECT kind, body FROM sis.email_outbox WHERE to_address = %s"
                      " AND (%s::text IS NULL OR kind = %s) ORDER BY id", [email, kind, kind])
    return [(r[0], r[1]) for r in rows]


def _last_code(url: str, email: str) -> str:
    body = _outbox(url, email, "registration_code")[-1][1]
    match = re.search(r"code is (\d{6})\b", body)
    assert match, body
    return match.group(1)


def _confirm_token(url: str, email: str) -> str:
    return _outbox(url, email, "registration_confirm")[-1][1].rsplit(": ", 1)[1]


def _other(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def _status(url: str, user_id: int) -> str:
    return str(query(url, "SELECT status FROM sis.accounts WHERE user_id = %s", [user_id])[0][0])


def _register(c: httpx.Client, url: str, who: Identity) -> None:
    """Register `who` with their seeded password, confirm, log in: `c` carries the session."""
    assert c.post(f"{API}/request-code", json={"email": who["email"]}).status_code == 202
    token = c.post(f"{API}/verify", json={"email": who["email"],
                                          "code": _last_code(url, who["email"])})
    assert token.status_code == 200, token.text
    made = c.post(f"{API}/account", json={"registration_token": token.json()["registration_token"],
                                          "password": who["password"]})
    assert made.status_code == 201, made.text
    confirmed = c.post(f"{API}/confirm", json={"token": _confirm_token(url, who["email"])})
    assert confirmed.status_code == 200, confirmed.text
    login = c.post("/api/auth/login", json={"username": who["email"], "password": who["password"]})
    assert login.status_code == 200, login.text
    c.headers["Authorization"] = f"Bearer {login.json()['token']}"
    c.cookies.clear()


@pytest.fixture(scope="module")
def unregistered(identities: dict[str, list[Identity]]) -> list[Identity]:
    """The cutover-day persona: guardians whose account is not activated yet."""
    return identities["guardian_unregistered"]


@pytest.fixture(scope="module")
def take(unregistered: list[Identity]) -> Callable[[Callable[[Identity], bool]], Identity]:
    """The next unused guardian_unregistered identity from the end that fits `fits`: one per
    test, so no two tests register the same parent."""
    used: set[int] = set()

    def _take(fits: Callable[[Identity], bool]) -> Identity:
        who = next(g for g in reversed(unregistered)
                   if g["guardian_id"] not in used and fits(g))
        used.add(who["guardian_id"])
        return who
    return _take


Take = Callable[[Callable[[Identity], bool]], Identity]


def _any(_: Identity) -> bool:
    return True


# --- the persona and the access codes (fake_data) -----------------------------------------------

def test_unregistered_persona_matches_the_district(district: District,
                                                   unregistered: list[Identity]) -> None:
    accounts = {r["user_id"]: r for r in district["accounts"].to_pylist()}
    code = dict(zip(district["students"]["student_id"].to_pylist(),
                    district["students"]["access_code"].to_pylist(), strict=True))
    emails = Counter(e for e in district["guardians"]["email"].to_pylist() if e)
    links = {(li["guardian_id"], li["student_id"]): li["portal_access"]
             for li in district["guardian_links"].to_pylist()}
    assert len(unregistered) > 100
    assert any(g["no_access_children"] for g in unregistered)
    for g in unregistered:
        account = accounts[g["user_id"]]
        assert account["status"] == "unactivated" and account["person_id"] == g["guardian_id"]
        assert g["password"] == account["password"] and g["email"] == account["email"]
        assert emails[g["email"]] == 1  # a shared email cannot register online
        assert all(links[(g["guardian_id"], s)] for s in g["children"])
        assert all(not links[(g["guardian_id"], s)] for s in g["no_access_children"])
        assert g["children_codes"] == [code[s] for s in g["children"]]
        assert g["no_access_codes"] == [code[s] for s in g["no_access_children"]]
    assert all(re.fullmatch(r"[A-HJ-KM-NP-Z2-9]{8}", c) for c in code.values())
    again = generate(load_profile("small"), 1.0, 42)["students"]["access_code"]
    assert again.to_pylist() == list(code.values())  # same seed, same codes


# --- the happy path -----------------------------------------------------------------------------

def test_register_confirm_login_and_link_children(base_url: str, seeded_url: str, take: Take,
                                                  district: District) -> None:
    who = take(lambda g: len(g["children"]) >= 2)
    email = who["email"]
    with _client(base_url, "127.0.5.1") as c:
        r = c.post(f"{API}/request-code", json={"email": f"  {email.upper()} "})
        assert r.status_code == 202 and r.json() == {"status": "accepted"}
        code = _last_code(seeded_url, email)
        stored = query(seeded_url, "SELECT user_id, code_hash FROM sis.registration_codes"
                                   " WHERE email = %s", [email])
        assert [(u, bytes(h)) for u, h in stored] == [
            (who["user_id"], token_hash(f"{email}\n{code}"))]  # hashed, never the code

        v = c.post(f"{API}/verify", json={"email": email, "code": code})
        assert v.status_code == 200 and v.json()["expires_in"] == 30 * 60
        token = v.json()["registration_token"]
        assert query(seeded_url, "SELECT kind, user_id FROM sis.registration_tokens"
                                 " WHERE token_hash = %s", [token_hash(token)]) == [
            ("account", who["user_id"])]

        made = c.post(f"{API}/account", json={"registration_token": token,
                                              "password": who["password"]})
        assert made.status_code == 201
        assert made.json() == {"status": "pending_confirmation", "username": email}
        (stored_hash,) = query(seeded_url, "SELECT password_hash FROM sis.accounts"
                                           " WHERE user_id = %s", [who["user_id"]])[0]
        assert passwords.verify(who["password"], stored_hash) == (
            True, TEST_SETTINGS["kdf_iterations"])  # the configured cost, not the seed's
        assert _status(seeded_url, who["user_id"]) == "pending_confirmation"
        early = c.post("/api/auth/login", json={"username": email, "password": who["password"]})
        assert early.status_code == 403
        assert early.json()["error"]["code"] == "account_pending_confirmation"

        kinds = [k for k, _ in _outbox(seeded_url, email)]
        assert kinds == ["registration_code", "registration_confirm"]
        done = c.post(f"{API}/confirm", json={"token": _confirm_token(seeded_url, email)})
        assert done.status_code == 200 and done.json() == {"status": "active", "username": email}
        assert _status(seeded_url, who["user_id"]) == "active"

        login = c.post("/api/auth/login", json={"username": email, "password": who["password"]})
        assert login.status_code == 200 and login.json()["user"]["person_id"] == who["guardian_id"]
        c.headers["Authorization"] = f"Bearer {login.json()['token']}"
        students = {s["student_id"]: s for s in district["students"].to_pylist()}
        for student_id, access_code in zip(who["children"], who["children_codes"], strict=True):
            linked = c.post(f"{API}/children", json={"student_id": student_id,
                                                     "access_code": access_code.lower()})
            assert linked.status_code == 200, linked.text  # the seeded link already existed
            child = linked.json()
            st = students[student_id]
            assert child["linked"] == "existing"
            assert (child["first_name"], child["last_name"], child["grade"], child["school_id"]) \
                == (st["first_name"], st["last_name"], st["grade"], st["school_id"])
        home = c.get("/api/portal/home")
        assert home.status_code == 200
        assert sorted(s["student_id"] for s in home.json()["students"]) == sorted(who["children"])
    counted = {(m.labels["step"], m.labels["result"]): m.value
               for family in text_string_to_metric_families(httpx.get(f"{base_url}/metrics").text)
               if family.name == "sis_registrations" for m in family.samples
               if m.name == "sis_registrations_total"}
    for step, result in (("request_code", "accepted"), ("verify", "ok"), ("account", "ok"),
                         ("confirm", "ok"), ("link_child", "already_linked")):
        assert counted[(step, result)] >= 1


# --- codes and tokens ---------------------------------------------------------------------------

def test_wrong_code_then_five_wrong_codes_spend_it(base_url: str, seeded_url: str,
                                                   take: Take) -> None:
    who = take(_any)
    email = who["email"]
    with _client(base_url, "127.0.5.2") as c:
        c.post(f"{API}/request-code", json={"email": email})
        code = _last_code(seeded_url, email)
        wrong = [c.post(f"{API}/verify", json={"email": email, "code": _other(code)})
                 for _ in range(5)]
        assert [r.status_code for r in wrong] == [400] * 5
        assert {r.json()["error"]["code"] for r in wrong} == {"invalid_code"}
        late = c.post(f"{API}/verify", json={"email": email, "code": code})
        assert late.status_code == 400  # five wrong tries: the right code no longer works
        assert late.json() == wrong[0].json()  # nothing tells a spent code from a wrong one
        assert query(seeded_url, "SELECT attempts, spent_at IS NOT NULL FROM"
                                 " sis.registration_codes WHERE email = %s", [email]) == [(5, True)]
        c.post(f"{API}/request-code", json={"email": email})
        fresh = _last_code(seeded_url, email)
        one_wrong = c.post(f"{API}/verify", json={"email": email, "code": _other(fresh)})
        assert one_wrong.status_code == 400
        ok = c.post(f"{API}/verify", json={"email": email, "code": fresh})
        assert ok.status_code == 200  # one wrong try does not spend a code
        reuse = c.post(f"{API}/verify", json={"email": email, "code": fresh})
        assert reuse.status_code == 400 and reuse.json()["error"]["code"] == "invalid_code"
        for bad in ({"email": email, "code": "12a456"}, {"email": "not-an-email", "code": fresh},
                    {"email": email}):
            r = c.post(f"{API}/verify", json=bad)
            assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_request"


def test_tokens_are_single_use_and_passwords_checked(base_url: str, seeded_url: str,
                                                     take: Take) -> None:
    who = take(_any)
    email = who["email"]
    with _client(base_url, "127.0.5.3") as c:
        c.post(f"{API}/request-code", json={"email": email})
        token = c.post(f"{API}/verify", json={"email": email, "code": _last_code(seeded_url, email)}
                       ).json()["registration_token"]
        same = c.post(f"{API}/account", json={"registration_token": token, "password": email})
        assert same.status_code == 400 and same.json()["error"]["code"] == "weak_password"
        for short in ("short", "x" * 129):
            r = c.post(f"{API}/account", json={"registration_token": token, "password": short})
            assert r.status_code == 422
        assert _status(seeded_url, who["user_id"]) == "unactivated"  # nothing changed yet
        ok = c.post(f"{API}/account", json={"registration_token": token,
                                            "password": who["password"]})
        assert ok.status_code == 201
        again = c.post(f"{API}/account", json={"registration_token": token,
                                               "password": "another-password-1"})
        assert again.status_code == 400 and again.json()["error"]["code"] == "invalid_token"
        (stored_hash,) = query(seeded_url, "SELECT password_hash FROM sis.accounts"
                                           " WHERE user_id = %s", [who["user_id"]])[0]
        assert passwords.verify(who["password"], stored_hash)[0]  # the reuse changed nothing
        made_up = c.post(f"{API}/confirm", json={"token": "x" * 43})
        assert made_up.status_code == 400
        confirm = _confirm_token(seeded_url, email)
        assert c.post(f"{API}/confirm", json={"token": confirm}).status_code == 200
        reuse = c.post(f"{API}/confirm", json={"token": confirm})
        assert reuse.status_code == 400 and reuse.json()["error"]["code"] == "invalid_token"
        assert _status(seeded_url, who["user_id"]) == "active"
        # Once active, the account cannot register again: no new code is sent.
        before = len(_outbox(seeded_url, email))
        assert c.post(f"{API}/request-code", json={"email": email}).status_code == 202
        assert len(_outbox(seeded_url, email)) == before


# --- who gets a code ----------------------------------------------------------------------------

def test_per_email_limit_is_silent(base_url: str, seeded_url: str, take: Take) -> None:
    who = take(_any)
    email = who["email"]
    with _client(base_url, "127.0.5.4") as c:
        codes = []
        for _ in range(3):  # the default limit: three per email per hour
            assert c.post(f"{API}/request-code", json={"email": email}).status_code == 202
            codes.append(_last_code(seeded_url, email))
        for _ in range(2):
            r = c.post(f"{API}/request-code", json={"email": email})
            assert r.status_code == 202 and r.json() == {"status": "accepted"}
        assert len(_outbox(seeded_url, email, "registration_code")) == 3
        outcomes = query(seeded_url, "SELECT outcome FROM sis.registration_requests"
                                     " WHERE email = %s ORDER BY id", [email])
        assert [o for (o,) in outcomes] == ["sent"] * 3 + ["email_limited"] * 2
        if codes[0] != codes[-1]:  # a newer code replaces the older one
            old = c.post(f"{API}/verify", json={"email": email, "code": codes[0]})
            assert old.status_code == 400
        assert c.post(f"{API}/verify", json={"email": email, "code": codes[-1]}).status_code == 200


def test_shared_email_gets_contact_school_and_no_code(base_url: str, seeded_url: str,
                                                      district: District) -> None:
    guardians = district["guardians"].to_pylist()
    status = {r["person_id"]: r["status"] for r in district["accounts"].to_pylist()
              if r["person_type"] == "guardian"}
    shared = Counter(g["email"] for g in guardians if g["email"])
    email = next(e for e, n in sorted(shared.items()) if n > 1 and any(
        status[g["guardian_id"]] == "unactivated" for g in guardians if g["email"] == e))
    with _client(base_url, "127.0.5.5") as c:
        r = c.post(f"{API}/request-code", json={"email": email})
        assert r.status_code == 202 and r.json() == {"status": "accepted"}
    sent = _outbox(seeded_url, email)
    assert [k for k, _ in sent] == ["registration_contact_school"]
    assert "contact the school" in sent[0][1] and not re.search(r"\d{6}", sent[0][1])
    assert query(seeded_url, "SELECT count(*) FROM sis.registration_codes WHERE email = %s",
                 [email]) == [(0,)]


def test_unknown_and_active_emails_get_nothing(base_url: str, seeded_url: str,
                                               district: District,
                                               identities: dict[str, list[Identity]]) -> None:
    unknown = f"nobody-{uuid.uuid4().hex[:10]}@example.invalid"
    shared = Counter(e for e in district["guardians"]["email"].to_pylist() if e)
    # An active parent (read only: asking for a code changes nothing of theirs).
    active_email = next(g["username"] for g in reversed(identities["guardian"][:-96])
                        if shared[g["username"]] == 1)
    with _client(base_url, "127.0.5.6") as c:
        for email in (unknown, active_email):
            r = c.post(f"{API}/request-code", json={"email": email})
            assert r.status_code == 202 and r.json() == {"status": "accepted"}
        assert c.post(f"{API}/request-code", json={"email": "no-at-sign"}).status_code == 422
    assert _outbox(seeded_url, unknown) == []
    assert [k for k, _ in _outbox(seeded_url, active_email)
            if k.startswith("registration")] == []
    outcomes = dict(query(seeded_url, "SELECT email, outcome FROM sis.registration_requests"
                                      " WHERE email IN (%s, %s)", [unknown, active_email]))
    assert outcomes == {unknown: "unknown_email", active_email: "not_eligible"}


# --- linking children ---------------------------------------------------------------------------

def test_no_access_child_cannot_be_linked_even_with_its_code(base_url: str, seeded_url: str,
                                                             take: Take) -> None:
    who = take(lambda g: bool(g["no_access_children"]) and bool(g["children"]))
    child, code = who["no_access_children"][0], who["no_access_codes"][0]
    with _client(base_url, "127.0.5.7") as c:
        _register(c, seeded_url, who)
        for attempt in (code, "WRONGCODE"):
            r = c.post(f"{API}/children", json={"student_id": child, "access_code": attempt})
            assert r.status_code == 403 and r.json()["error"]["code"] == "no_access"
            assert set(r.json()) == {"error"}  # no child data
        assert query(seeded_url, "SELECT portal_access FROM sis.guardian_links"
                                 " WHERE student_id = %s AND guardian_id = %s",
                     [child, who["guardian_id"]]) == [(False,)]
        home = c.get("/api/portal/home").json()
        assert sorted(s["student_id"] for s in home["students"]) == sorted(who["children"])
        assert c.get(f"/api/portal/students/{child}/schedule").status_code == 404


def test_wrong_child_codes_and_the_guessing_limit(base_url: str, seeded_url: str,
                                                  take: Take, login: Login,
                                                  identities: dict[str, list[Identity]]) -> None:
    who = take(lambda g: bool(g["children"]))
    child, code = who["children"][0], who["children_codes"][0]
    with _client(base_url, "127.0.5.8") as anonymous:
        r = anonymous.post(f"{API}/children", json={"student_id": child, "access_code": code})
        assert r.status_code == 401 and r.json()["error"]["code"] == "unauthenticated"
    student = login(identities["student"][-77])
    r = student.post(f"{API}/children", json={"student_id": child, "access_code": code})
    assert r.status_code == 403 and set(r.json()) == {"error"}
    with _client(base_url, "127.0.5.9") as c:
        _register(c, seeded_url, who)
        for bad in ({"student_id": 0, "access_code": code}, {"student_id": child},
                    {"student_id": child, "access_code": "x" * 33}):
            assert c.post(f"{API}/children", json=bad).status_code == 422
        wrong = c.post(f"{API}/children", json={"student_id": child, "access_code": "AAAAAAAA"})
        missing = c.post(f"{API}/children", json={"student_id": 2_000_000_000,
                                                  "access_code": code})
        assert wrong.status_code == missing.status_code == 400
        assert wrong.json() == missing.json()  # a missing student looks like a wrong code
        assert wrong.json()["error"]["code"] == "wrong_code"
        for i in range(8):
            r = c.post(f"{API}/children", json={"student_id": child, "access_code": f"BAD{i}"})
            assert r.status_code == 400
        limited = c.post(f"{API}/children", json={"student_id": child, "access_code": code})
        assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
        assert 3000 < int(limited.headers["Retry-After"]) <= 3600
        assert query(seeded_url, "SELECT count(*) FROM sis.child_link_failures"
                                 " WHERE guardian_id = %s", [who["guardian_id"]]) == [(10,)]


# --- a server of its own: a code valid about a second, three code requests per IP ---------------

OWN_SETTINGS = {**TEST_SETTINGS, "registration_code_minutes": 0.02,
                "registration_per_ip_per_hour": 3}


@pytest.fixture(scope="module")
def own_district() -> District:
    return generate(load_profile("small"), 0.2, 7)


@pytest.fixture(scope="module")
def own(postgres_url: str, own_district: District) -> Iterator[tuple[str, str, Metrics]]:
    url = new_database(postgres_url)
    seed_database(url, SeedRequest("small", 0.2, 7))
    metrics = Metrics()
    with serve(create_app(Settings(**OWN_SETTINGS), url, metrics)) as base:
        yield base, url, metrics


def test_expired_code_and_expired_registration_token(
        own: tuple[str, str, Metrics], own_district: District) -> None:
    base, url, _ = own
    who = build_userpool(own_district)["guardian_unregistered"].to_pylist()[-1]
    email = who["email"]
    with _client(base, "127.0.6.1") as c:
        c.post(f"{API}/request-code", json={"email": email})
        code = _last_code(url, email)
        time.sleep(1.5)
        late = c.post(f"{API}/verify", json={"email": email, "code": code})
        assert late.status_code == 400 and late.json()["error"]["code"] == "invalid_code"
        assert query(url, "SELECT attempts, spent_at IS NULL, expires_at < now() FROM"
                          " sis.registration_codes WHERE email = %s", [email]) == [(0, True, True)]
        c.post(f"{API}/request-code", json={"email": email})
        ok = c.post(f"{API}/verify", json={"email": email, "code": _last_code(url, email)})
        assert ok.status_code == 200
        time.sleep(1.5)
        token = ok.json()["registration_token"]
        stale = c.post(f"{API}/account", json={"registration_token": token,
                                               "password": who["password"]})
        assert stale.status_code == 400 and stale.json()["error"]["code"] == "invalid_token"
    assert _status(url, who["user_id"]) == "unactivated"


def test_ip_limit_answers_429(own: tuple[str, str, Metrics]) -> None:
    base, url, metrics = own
    emails = [f"ip-{i}-{uuid.uuid4().hex[:8]}@example.invalid" for i in range(4)]
    with _client(base, "127.0.6.2") as c:
        assert [c.post(f"{API}/request-code", json={"email": e}).status_code
                for e in emails[:3]] == [202, 202, 202]
        limited = c.post(f"{API}/request-code", json={"email": emails[3]})
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "rate_limited"
        assert 3500 < int(limited.headers["Retry-After"]) <= 3600
    with _client(base, "127.0.6.3") as other:  # the limit is per client address
        assert other.post(f"{API}/request-code", json={"email": emails[3]}).status_code == 202
    assert query(url, "SELECT client_ip, count(*) FROM sis.registration_requests"
                      " WHERE email = ANY(%s) GROUP BY 1 ORDER BY 1", [emails]) == [
        ("127.0.6.2", 3), ("127.0.6.3", 1)]  # the refused request is not logged
    get = metrics.registry.get_sample_value
    assert get("sis_registrations_total", {"step": "request_code",
                                           "result": "rate_limited"}) == 1


def test_the_access_code_proves_a_new_link(own: tuple[str, str, Metrics],
                                           own_district: District) -> None:
    base, url, _ = own
    guardian = build_userpool(own_district)["guardian"].to_pylist()[0]
    linked = {s for (s,) in query(url, "SELECT student_id FROM sis.guardian_links"
                                       " WHERE guardian_id = %s", [guardian["guardian_id"]])}
    student = next(s for s in guardian["forbidden_students"] if s not in linked)
    code = own_district["students"]["access_code"].to_pylist()[student - 1]
    with _client(base, "127.0.6.4") as c:
        login = c.post("/api/auth/login", json={"username": guardian["username"],
                                                "password": guardian["password"]})
        assert login.status_code == 200
        c.headers["Authorization"] = f"Bearer {login.json()['token']}"
        assert c.get(f"/api/portal/students/{student}/schedule").status_code == 404
        made = c.post(f"{API}/children", json={"student_id": student, "access_code": code})
        assert made.status_code == 201 and made.json()["linked"] == "created"
        assert query(url, "SELECT relationship, is_primary, portal_access FROM"
                          " sis.guardian_links WHERE student_id = %s AND guardian_id = %s",
                     [student, guardian["guardian_id"]]) == [("guardian", False, True)]
        spaced = f"{code[:4].lower()}-{code[4:]}"
        again = c.post(f"{API}/children", json={"student_id": student, "access_code": spaced})
        assert again.status_code == 200 and again.json()["linked"] == "existing"
        home = c.get("/api/portal/home").json()
        assert student in {s["student_id"] for s in home["students"]}
        assert c.get(f"/api/portal/students/{student}/schedule").status_code == 200


def test_oneroster_export_carries_no_access_codes(own_district: District,
                                                  tmp_path: Path) -> None:
    codes = set(own_district["students"]["access_code"].to_pylist())
    versions: tuple[Version, ...] = ("1.1", "1.2")
    for version in versions:
        path = write_oneroster(own_district, tmp_path / f"or-{version}.zip", version)
        with zipfile.ZipFile(path) as zf:
            files = {n: zf.read(n).decode() for n in zf.namelist()}
        assert not any("access" in text.split("\r\n", 1)[0].lower() for text in files.values())
        text = "\n".join(files.values())
        assert not any(code in text for code in codes)


def test_every_student_has_a_code_also_when_enrolled_later(own: tuple[str, str, Metrics],
                                                           own_district: District) -> None:
    _, url, _ = own
    stored = dict(query(url, "SELECT student_id, access_code FROM sis.students"))
    generated = own_district["students"]
    assert stored == dict(zip(generated["student_id"].to_pylist(),
                              generated["access_code"].to_pylist(), strict=True))
    # A student the registrar enrolls later (no code in the insert) gets one from the default.
    fresh = [c for (c,) in query(url, "SELECT sis.new_access_code() FROM generate_series(1, 50)")]
    assert all(re.fullmatch(r"[A-HJ-KM-NP-Z2-9]{8}", c) for c in fresh)
    assert len(set(fresh)) == len(fresh)
