"""The click paths that read email from the test mailbox, driven by the synchronous test browser
against a real staging SIS started with FIRSTBELL_DEV_MAILBOX: a cutover-day parent's
registration (`guardian_unregistered`, twice: the second run finds the account active) and the
teacher's "forgot password" start (the `password_reset_share` knob).

Identities come from the middle of the pools (other staging tests take theirs from the ends);
requests come from loopback addresses 127.0.6.x of their own, so the registration limit per
client IP never counts another test's requests. Every account ends with its pool password.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, query
from support.sync_browser import SyncBrowser

from loadtests.targets import Target, load_target
from loadtests.targets.staging import mailbox
from staging.app import create_app
from staging.config import Settings

Identities = dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="module")
def mailbox_url(seeded_url: str) -> Iterator[str]:
    with serve(create_app(Settings(**TEST_SETTINGS, dev_mailbox=True), seeded_url)) as url:
        yield url


@pytest.fixture(scope="module")
def target() -> Target:
    return load_target("staging")


def run(url: str, target: Target, persona: str, identity: dict[str, Any], ip: str,
        **kw: Any) -> SyncBrowser:
    with SyncBrowser(url, target.login, persona, identity, probes=target.probes,
                     transport=httpx.HTTPTransport(local_address=ip), **kw) as b:
        target.click_paths[persona](b)
    return b


def assert_clean(b: SyncBrowser) -> None:
    assert b.failures() == [] and b.exposures == []
    assert all(o.refused for o in b.outcomes), b.outcomes
    assert all(3 <= t <= 20 for t in b.thinks), b.thinks
    assert b.labels()[-1] == "auth.logout"


def test_a_parent_registers_links_the_children_and_cannot_link_a_no_access_child(
        mailbox_url: str, seeded_url: str, identities: Identities, target: Target) -> None:
    fits = [g for g in identities["guardian_unregistered"]
            if g["children"] and g["no_access_children"]]
    me = fits[len(fits) // 2]
    links = ["registration.link_child"] * len(me["children"])
    tail = ["auth.login", *links, "portal.home", "registration.link_child", "auth.logout"]

    first = run(mailbox_url, target, "guardian_unregistered", me, "127.0.6.1", always=True)
    assert_clean(first)
    assert first.labels(probes=True) == [
        "dev.mailbox", "registration.request_code", "dev.mailbox", "registration.verify",
        "registration.account", "dev.mailbox", "registration.confirm", *tail]
    assert first.waits == []  # the outbox row is there when the request answers
    assert [(o.probe, o.status) for o in first.outcomes] == [("no_access_link", 403)]
    assert int(first.outcomes[0].asked.split()[-1]) in me["no_access_children"]
    [(status, username)] = query(seeded_url, "SELECT status::text, username FROM sis.accounts"
                                             " WHERE user_id = %s", [me["user_id"]])
    assert (status, username) == ("active", me["email"])
    assert query(seeded_url, "SELECT portal_access FROM sis.guardian_links WHERE guardian_id"
                             " = %s AND student_id = ANY(%s)",
                 [me["guardian_id"], me["no_access_children"]]) == [(False,)] * len(
                     me["no_access_children"])

    # A second run on the same database: no code for an active account, so after a few looks
    # in the mailbox the parent logs in with the pool's password, and nothing fails.
    again = run(mailbox_url, target, "guardian_unregistered", me, "127.0.6.2", always=True)
    assert_clean(again)
    assert again.labels(probes=True) == [
        "dev.mailbox", "registration.request_code", *["dev.mailbox"] * mailbox.POLL_TRIES, *tail]
    assert again.waits == [mailbox.POLL_SECONDS] * (mailbox.POLL_TRIES - 1)


def test_without_the_mailbox_the_session_stops_at_its_first_look(
        base_url: str, identities: Identities, target: Target) -> None:
    rows = identities["guardian_unregistered"]
    b = run(base_url, target, "guardian_unregistered", rows[len(rows) // 2 + 1], "127.0.6.3")
    assert [(c.endpoint, c.status) for c in b.calls] == [("dev.mailbox", 404)]  # counted


def test_a_teacher_session_can_start_with_forgot_password(
        mailbox_url: str, seeded_url: str, identities: Identities, target: Target) -> None:
    rows = identities["teacher"]
    me = rows[len(rows) // 2 + 5]
    b = run(mailbox_url, target, "teacher", me, "127.0.6.4",
            options={"password_reset_share": 1.0})
    assert_clean(b)
    assert b.labels()[:6] == ["dev.mailbox", "auth.password_reset", "dev.mailbox",
                              "auth.password_reset_confirm", "auth.login", "auth.session"]
    assert query(seeded_url, "SELECT count(*) FROM sis.password_resets WHERE user_id = %s"
                             " AND used_at IS NOT NULL", [me["user_id"]]) == [(1,)]
    assert httpx.post(f"{mailbox_url}/api/auth/login", json={
        "username": me["username"], "password": me["password"]}).status_code == 200
    # The knob's default (0) never resets, even with every "sometimes" step on.
    plain = run(mailbox_url, target, "teacher", me, "127.0.6.4", always=True)
    assert plain.labels()[0] == "auth.login" and "auth.password_reset" not in plain.labels()


def test_a_reset_that_sends_no_email_just_logs_in(
        mailbox_url: str, identities: Identities, target: Target) -> None:
    rows = identities["teacher"]
    me = rows[len(rows) // 2 + 6]
    for _ in range(Settings(**TEST_SETTINGS).reset_rate_per_hour):  # spend the hour's resets
        httpx.post(f"{mailbox_url}/api/auth/password-reset", json={"username": me["username"]})
    b = run(mailbox_url, target, "teacher", me, "127.0.6.5", options={"password_reset_share": 1})
    assert_clean(b)
    assert b.labels()[:6] == ["dev.mailbox", "auth.password_reset",
                              *["dev.mailbox"] * mailbox.POLL_TRIES, "auth.login"]
    assert "auth.password_reset_confirm" not in b.labels()
