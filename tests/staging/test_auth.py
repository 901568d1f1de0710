"""auth: login, sessions, lockout, deactivation, password reset — against a real server."""

from __future__ import annotations

import concurrent.futures as cf
import time
from typing import Any

import httpx
import psycopg
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, Login

from staging.app import create_app
from staging.config import Settings


def test_login_logout_and_session(client: httpx.Client, identities: dict[str, list[Any]],
                                  seeded_url: str) -> None:
    teacher = identities["teacher"][0]
    r = client.post("/api/auth/login", json={"username": teacher["username"],
                                             "password": teacher["password"]})
    assert r.status_code == 200
    token = r.json()["token"]
    assert r.json()["user"]["role"] == "teacher"
    assert "sis_session" in r.cookies
    who = client.get("/api/auth/session", headers={"Authorization": f"Bearer {token}"})
    assert who.status_code == 200 and who.json()["person_id"] == teacher["staff_id"]
    assert who.json()["school_id"] == teacher["school_id"]
    # The first login upgraded the seed-cost hash to the configured cost.
    with psycopg.connect(seeded_url) as conn:
        stored = conn.execute("SELECT password_hash FROM sis.accounts WHERE user_id = %s",
                              [teacher["user_id"]]).fetchone()
    assert stored and stored[0].startswith(f"pbkdf2_sha256${TEST_SETTINGS['kdf_iterations']}$")
    out = client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    assert out.status_code == 204
    again = client.get("/api/auth/session", headers={"Authorization": f"Bearer {token}"})
    assert again.status_code == 401 and again.json()["error"]["code"] == "session_expired"


def test_bad_credentials_and_unknown_users(client: httpx.Client,
                                           identities: dict[str, list[Any]]) -> None:
    student = identities["student"][1]
    wrong = client.post("/api/auth/login", json={"username": student["username"],
                                                 "password": "nope"})
    unknown = client.post("/api/auth/login", json={"username": "ghost@example.org",
                                                   "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()  # no user enumeration
    assert client.get("/api/auth/session").status_code == 401
    assert client.post("/api/auth/login", json={"username": ""}).status_code == 422


def test_lockout_after_five_failures(client: httpx.Client,
                                     identities: dict[str, list[Any]]) -> None:
    student = identities["student"][2]
    codes = [client.post("/api/auth/login", json={"username": student["username"],
                                                  "password": f"wrong{i}"}).status_code
             for i in range(5)]
    assert codes == [401, 401, 401, 401, 423]
    right = client.post("/api/auth/login", json={"username": student["username"],
                                                 "password": student["password"]})
    assert right.status_code == 423 and right.json()["error"]["code"] == "account_locked"


def test_deactivation_kills_live_sessions(login: Login,
                                          identities: dict[str, list[Any]]) -> None:
    admin = login(identities["district_admin"][0])
    clerk_identity = identities["clerk"][0]
    clerk = login(clerk_identity)
    assert clerk.get("/api/auth/session").status_code == 200
    r = admin.post(f"/api/admin/users/{clerk_identity['user_id']}/deactivate")
    # Other tests may have logged this clerk in too: at least our session ended.
    assert r.status_code == 200 and r.json()["sessions_ended"] >= 1
    assert clerk.get("/api/auth/session").status_code == 401
    relogin = clerk.post("/api/auth/login", json={"username": clerk_identity["username"],
                                                  "password": clerk_identity["password"]})
    assert relogin.status_code == 403 and relogin.json()["error"]["code"] == "account_disabled"
    # Only a district administrator may deactivate.
    teacher = login(identities["teacher"][1])
    assert teacher.post(f"/api/admin/users/{clerk_identity['user_id']}/deactivate"
                        ).status_code == 403


def test_terminated_staff_cannot_log_in(client: httpx.Client,
                                        identities: dict[str, list[Any]]) -> None:
    for gone in identities["terminated_staff"]:
        r = client.post("/api/auth/login", json={"username": gone["username"],
                                                 "password": gone["password"]})
        assert r.status_code == 403, gone


def test_password_reset_goes_to_the_outbox_and_is_rate_limited(
        client: httpx.Client, identities: dict[str, list[Any]], seeded_url: str) -> None:
    guardian = identities["guardian"][3]
    codes = [client.post("/api/auth/password-reset",
                         json={"username": guardian["username"]}).status_code for _ in range(7)]
    assert codes == [202] * 7
    assert client.post("/api/auth/password-reset",
                       json={"username": "ghost@example.org"}).status_code == 202
    with psycopg.connect(seeded_url) as conn:
        sent = conn.execute("SELECT count(*) FROM sis.email_outbox WHERE to_address = %s"
                            " AND kind = 'password_reset'", [guardian["username"]]).fetchone()
    assert sent and sent[0] == 5  # reset_rate_per_hour


def test_idle_sessions_expire(seeded_url: str, identities: dict[str, list[Any]]) -> None:
    settings = Settings(**{**TEST_SETTINGS, "session_idle_minutes": 1 / 60})  # one second
    with serve(create_app(settings, seeded_url)) as base, httpx.Client(base_url=base) as c:
        who = identities["student"][4]
        token = c.post("/api/auth/login", json={"username": who["username"],
                                                "password": who["password"]}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}
        assert c.get("/api/auth/session", headers=headers).status_code == 200
        time.sleep(1.3)
        assert c.get("/api/auth/session", headers=headers).status_code == 401


def test_concurrent_guesses_cannot_overrun_the_lockout(base_url: str, seeded_url: str,
                                                       identities: dict[str, list[Any]]) -> None:
    victim = identities["student"][5]
    wrong = {"username": victim["username"], "password": "guess"}
    with httpx.Client(base_url=base_url, timeout=30) as c, cf.ThreadPoolExecutor(20) as pool:
        codes = sorted(pool.map(lambda _: c.post("/api/auth/login", json=wrong).status_code,
                                range(20)))
        right = c.post("/api/auth/login", json={"username": victim["username"],
                                                "password": victim["password"]})
    assert codes == [401] * 4 + [423] * 16  # exactly five guesses were ever checked
    assert right.status_code == 423
    # Counted per (username, address): the lock holds for this address only.
    assert _failures(seeded_url, victim["username"]) == [("127.0.0.1", 5, True), ("*", 5, False)]


def test_a_wrong_password_never_tells_whether_or_how_an_account_exists(
        client: httpx.Client, identities: dict[str, list[Any]]) -> None:
    unknown = client.post("/api/auth/login", json={"username": "ghost@example.net",
                                                   "password": "x"})
    for who in (identities["guardian_unregistered"][0], identities["terminated_staff"][0]):
        r = client.post("/api/auth/login", json={"username": who["username"], "password": "x"})
        assert (r.status_code, r.json()) == (unknown.status_code, unknown.json()) == (
            401, {"error": {"code": "invalid_credentials",
                            "message": "wrong username or password"}})


def test_staff_terminated_in_hr_lose_access_even_with_the_account_left_on(
        login: Login, identities: dict[str, list[Any]], seeded_url: str) -> None:
    who = identities["teacher"][2]
    teacher = login(who)
    assert teacher.get("/api/auth/session").status_code == 200
    with psycopg.connect(seeded_url, autocommit=True) as conn:
        conn.execute("UPDATE sis.staff SET status = 'terminated' WHERE staff_id = %s",
                     [who["staff_id"]])
    try:
        assert teacher.get("/api/auth/session").status_code == 401
        again = teacher.post("/api/auth/login", json={"username": who["username"],
                                                      "password": who["password"]})
        assert again.status_code == 403 and again.json()["error"]["code"] == "account_disabled"
    finally:
        with psycopg.connect(seeded_url, autocommit=True) as conn:
            conn.execute("UPDATE sis.staff SET status = 'active' WHERE staff_id = %s",
                         [who["staff_id"]])


# Reactivation. The account deactivated and reactivated here is a student from the middle of the
# pool, which no other test logs in as (and outside the OneRoster tests' sample of low ids).
REACTIVATED = 2500


def _failures(url: str, username: str) -> list[tuple[str, int, bool]]:
    """The throttle's rows of `username`: (address, failures, locked now)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT address, failures, coalesce(locked_until > now(), false)"
                            " FROM sis.login_failures WHERE username = %s ORDER BY address DESC",
                            [username]).fetchall()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def _account(url: str, user_id: int) -> tuple[Any, ...]:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT status, failed_logins, locked_until FROM sis.accounts"
                           " WHERE user_id = %s", [user_id]).fetchone()
    assert row is not None
    return tuple(row)


def test_reactivation_lets_the_user_log_in_again_but_old_sessions_stay_dead(
        login: Login, client: httpx.Client, identities: dict[str, list[Any]],
        seeded_url: str) -> None:
    who = identities["student"][REACTIVATED]
    admin = login(identities["district_admin"][0])
    before = login(who)
    assert before.get("/api/auth/session").status_code == 200
    r = admin.post(f"/api/admin/users/{who['user_id']}/deactivate")
    assert r.status_code == 200 and r.json()["sessions_ended"] >= 1
    # Still trying while deactivated: wrong passwords lock the account too.
    codes = [client.post("/api/auth/login", json={"username": who["username"],
                                                  "password": f"wrong{i}"}).status_code
             for i in range(5)]
    assert codes == [401, 401, 401, 401, 423]
    assert _account(seeded_url, who["user_id"])[0] == "disabled"
    assert _failures(seeded_url, who["username"]) == [("127.0.0.1", 5, True), ("*", 5, False)]
    r = admin.post(f"/api/admin/users/{who['user_id']}/activate")
    assert r.status_code == 200, r.text
    assert r.json() == {"user_id": who["user_id"], "status": "active"}
    assert _account(seeded_url, who["user_id"])[0] == "active"
    assert _failures(seeded_url, who["username"]) == []  # lockout cleared
    # The session from before the deactivation stays ended; a new login works.
    assert before.get("/api/auth/session").status_code == 401
    after = login(who)
    me = after.get("/api/auth/session")
    assert me.status_code == 200 and me.json()["person_id"] == who["student_id"]
    assert before.get("/api/auth/session").status_code == 401
    # Activating an active account is harmless, and leaves its sessions alone.
    assert admin.post(f"/api/admin/users/{who['user_id']}/activate").status_code == 200
    assert after.get("/api/auth/session").status_code == 200


def test_only_district_administrators_activate_known_accounts(
        login: Login, identities: dict[str, list[Any]]) -> None:
    target = identities["student"][REACTIVATED]["user_id"]
    for persona, i in (("teacher", 1), ("clerk", 1), ("student", 1)):
        r = login(identities[persona][i]).post(f"/api/admin/users/{target}/activate")
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", persona
    admin = login(identities["district_admin"][0])
    unknown = admin.post("/api/admin/users/2000000000/activate")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert admin.post("/api/admin/users/0/activate").status_code == 422
    assert admin.post(f"/api/admin/users/{target}/activate",
                      headers={"Authorization": "Bearer nope"}).status_code == 401


def test_activation_never_re_enables_staff_terminated_in_hr(
        login: Login, client: httpx.Client, identities: dict[str, list[Any]],
        seeded_url: str) -> None:
    admin = login(identities["district_admin"][0])
    gone = identities["terminated_staff"][0]
    r = admin.post(f"/api/admin/users/{gone['user_id']}/activate")
    assert r.status_code == 409, r.text
    assert r.json()["error"]["code"] == "staff_terminated"
    assert "HR" in r.json()["error"]["message"]
    assert _account(seeded_url, gone["user_id"])[0] == "disabled"
    relogin = client.post("/api/auth/login", json={"username": gone["username"],
                                                   "password": gone["password"]})
    assert relogin.status_code == 403 and relogin.json()["error"]["code"] == "account_disabled"
    # An account never activated (a guardian who has not registered) is not switched on either.
    with psycopg.connect(seeded_url) as conn:
        row = conn.execute("SELECT user_id FROM sis.accounts WHERE status = 'unactivated'"
                           " ORDER BY user_id DESC LIMIT 1").fetchone()
    assert row is not None
    r = admin.post(f"/api/admin/users/{row[0]}/activate")
    assert r.status_code == 409 and r.json()["error"]["code"] == "account_unactivated"
    assert _account(seeded_url, row[0])[0] == "unactivated"
