"""Completing a password reset with the emailed token (POST /api/auth/password-reset/confirm)
against a real server: the new password works and the old one does not, the account's sessions
end, a lockout is cleared; the token is single-use (also under a race), expires, dies with a
newer reset, and is refused for an account no longer active. Never a 500.

Identities come from the middle of the pools (other staging tests take theirs from the ends),
and every account ends the test with its pool password again.
"""

from __future__ import annotations

import concurrent.futures as cf
from typing import Any

import httpx
import psycopg
import pytest
from support.sisdb import assert_error, query

Identities = dict[str, list[dict[str, Any]]]
CONFIRM = "/api/auth/password-reset/confirm"
NEW_PASSWORD = "Another-passw0rd"


def middle(identities: Identities, persona: str, k: int) -> dict[str, Any]:
    rows = identities[persona]
    return rows[len(rows) // 2 + k]


def reset_token(c: httpx.Client, url: str, who: dict[str, Any]) -> str:
    """Ask for a reset; the token of the email it sent (the account's email is its username)."""
    assert c.post("/api/auth/password-reset", json={"username": who["username"]}).status_code \
        == 202
    body = query(url, "SELECT body FROM sis.email_outbox WHERE to_address = %s AND kind ="
                      " 'password_reset' ORDER BY id DESC LIMIT 1", [who["username"]])[0][0]
    return str(body).rsplit(": ", 1)[1]


def execute(url: str, sql: str, params: Any) -> None:
    with psycopg.connect(url) as conn:
        conn.execute(sql, params)


def log_in(c: httpx.Client, who: dict[str, Any], password: str) -> httpx.Response:
    return c.post("/api/auth/login", json={"username": who["username"], "password": password})


def test_reset_changes_the_password_and_ends_the_sessions(client: httpx.Client, seeded_url: str,
                                                          identities: Identities) -> None:
    who = middle(identities, "teacher", 0)
    session = log_in(client, who, who["password"]).json()["token"]
    bearer = {"Authorization": f"Bearer {session}"}
    token = reset_token(client, seeded_url, who)
    done = client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    assert done.status_code == 200, done.text
    assert done.json() == {"status": "password_changed", "sessions_ended": 1}
    client.cookies.clear()
    assert_error(client.get("/api/auth/session", headers=bearer), 401)
    assert_error(log_in(client, who, who["password"]), 401, "invalid_credentials")
    assert log_in(client, who, NEW_PASSWORD).status_code == 200
    again = client.post(CONFIRM, json={"token": token, "password": who["password"]})
    assert_error(again, 400, "invalid_token")  # single-use
    # Back to the pool's password through a second reset (the identity stays usable).
    back = client.post(CONFIRM, json={"token": reset_token(client, seeded_url, who),
                                      "password": who["password"]})
    assert back.status_code == 200 and back.json()["sessions_ended"] == 1
    assert log_in(client, who, who["password"]).status_code == 200


def test_reset_clears_a_lockout(client: httpx.Client, seeded_url: str,
                                identities: Identities) -> None:
    who = middle(identities, "student", 0)
    codes = [log_in(client, who, f"wrong-{i}").status_code for i in range(5)]
    assert codes[-1] == 423
    token = reset_token(client, seeded_url, who)
    assert client.post(CONFIRM, json={"token": token, "password": who["password"]}).json() == {
        "status": "password_changed", "sessions_ended": 0}
    assert query(seeded_url, "SELECT count(*) FROM sis.login_failures WHERE username = %s",
                 [who["username"]]) == [(0,)]
    assert log_in(client, who, who["password"]).status_code == 200


def test_expired_superseded_and_inactive_tokens_are_refused(
        client: httpx.Client, seeded_url: str, identities: Identities) -> None:
    who = middle(identities, "guardian", 0)
    older, newer = reset_token(client, seeded_url, who), reset_token(client, seeded_url, who)
    assert client.post(CONFIRM, json={"token": newer, "password": who["password"]}
                       ).status_code == 200
    assert_error(client.post(CONFIRM, json={"token": older, "password": who["password"]}),
                 400, "invalid_token")  # a newer reset spends the older emails
    expired = reset_token(client, seeded_url, who)
    execute(seeded_url, "UPDATE sis.password_resets SET created_at = now() - interval '31 minutes'"
                      " WHERE user_id = %s AND used_at IS NULL", [who["user_id"]])
    assert_error(client.post(CONFIRM, json={"token": expired, "password": who["password"]}),
                 400, "invalid_token")
    gone = reset_token(client, seeded_url, who)
    execute(seeded_url, "UPDATE sis.accounts SET status = 'disabled' WHERE user_id = %s",
            [who["user_id"]])
    try:
        assert_error(client.post(CONFIRM, json={"token": gone, "password": who["password"]}),
                     400, "invalid_token")
    finally:
        execute(seeded_url, "UPDATE sis.accounts SET status = 'active' WHERE user_id = %s",
                [who["user_id"]])
    assert log_in(client, who, who["password"]).status_code == 200


def test_a_token_works_once_under_a_race(base_url: str, seeded_url: str,
                                         identities: Identities) -> None:
    who = middle(identities, "teacher", 1)
    with httpx.Client(base_url=base_url, timeout=30) as c:
        token = reset_token(c, seeded_url, who)

    def confirm(_: int) -> int:
        return httpx.post(f"{base_url}{CONFIRM}", json={"token": token,
                                                        "password": who["password"]}).status_code
    with cf.ThreadPoolExecutor(6) as pool:
        codes = sorted(pool.map(confirm, range(6)))
    assert codes == [200] + [400] * 5


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"token": "x" * 43, "password": NEW_PASSWORD}, 400, "invalid_token"),
    ({"token": "short", "password": NEW_PASSWORD}, 422, "invalid_request"),
    ({"token": "x" * 129, "password": NEW_PASSWORD}, 422, "invalid_request"),
    ({"token": "x" * 43, "password": "too-short"}, 422, "invalid_request"),
    ({"token": "x" * 43}, 422, "invalid_request"),
    ({"token": "x\x00" * 20, "password": NEW_PASSWORD}, 400, None),
    ([], 422, "invalid_request"),
])
def test_bad_requests_are_4xx(client: httpx.Client, body: Any, status: int,
                              code: str | None) -> None:
    assert_error(client.post(CONFIRM, json=body), status, code)


def test_the_username_is_no_new_password(client: httpx.Client, seeded_url: str,
                                         identities: Identities) -> None:
    who = middle(identities, "clerk", 0)
    token = reset_token(client, seeded_url, who)
    weak = client.post(CONFIRM, json={"token": token, "password": who["username"].upper()})
    assert_error(weak, 400, "weak_password")
    # A refused password does not spend the token.
    assert client.post(CONFIRM, json={"token": token, "password": who["password"]}
                       ).status_code == 200


def test_deactivation_spends_outstanding_reset_tokens(client: httpx.Client, login: Any,
                                                      seeded_url: str,
                                                      identities: Identities) -> None:
    """A reset asked for before a deactivation must not change the password after a
    reactivation (the token would outlive the decision to cut the account off)."""
    who = middle(identities, "teacher", 2)
    admin = login(identities["district_admin"][0])
    token = reset_token(client, seeded_url, who)
    assert admin.post(f"/api/admin/users/{who['user_id']}/deactivate").status_code == 200
    assert admin.post(f"/api/admin/users/{who['user_id']}/activate").status_code == 200
    stale = client.post(CONFIRM, json={"token": token, "password": NEW_PASSWORD})
    assert_error(stale, 400, "invalid_token")
    assert log_in(client, who, NEW_PASSWORD).status_code == 401
    assert log_in(client, who, who["password"]).status_code == 200
    # A reset asked for after the reactivation works as ever.
    fresh = client.post(CONFIRM, json={"token": reset_token(client, seeded_url, who),
                                       "password": who["password"]})
    assert fresh.status_code == 200, fresh.text
