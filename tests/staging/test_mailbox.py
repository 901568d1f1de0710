"""The test-only mailbox (FIRSTBELL_DEV_MAILBOX): the outbox over HTTP, newest first, for
loopback clients only, on a server started with the switch; without it the route does not exist.

A server with the switch runs on the staging tests' database next to the normal one; the emails
read here are written through the real API (a registration code, password resets).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS, assert_error, query

from staging import mailbox
from staging.app import create_app
from staging.config import Settings

MAILBOX = "/api/dev/mailbox"


@pytest.fixture(scope="module")
def on(seeded_url: str) -> Iterator[str]:
    with serve(create_app(Settings(**TEST_SETTINGS, dev_mailbox=True), seeded_url)) as url:
        yield url


def gauge(base: str) -> float:
    for family in text_string_to_metric_families(httpx.get(f"{base}/metrics").text):
        if family.name == "sis_dev_mailbox":
            return float(family.samples[0].value)
    raise AssertionError("no sis_dev_mailbox gauge")


def test_the_mailbox_lists_an_address_newest_first(on: str, seeded_url: str,
                                                   identities: dict[str, list[Any]]) -> None:
    who = identities["guardian"][len(identities["guardian"]) // 2 + 3]  # nobody else's
    with httpx.Client(base_url=on, timeout=30) as c:
        assert c.get(MAILBOX, params={"to": who["username"]}).json() == []
        for _ in range(2):
            assert c.post("/api/auth/password-reset",
                          json={"username": who["username"]}).status_code == 202
        mails = c.get(MAILBOX, params={"to": who["username"].upper()})  # any case
        assert mails.status_code == 200
        body = mails.json()
        assert [set(m) for m in body] == [{"kind", "subject", "body", "created_at"}] * 2
        assert [m["kind"] for m in body] == ["password_reset"] * 2
        assert body[0]["created_at"] > body[1]["created_at"]  # newest first (same format)
        stored = query(seeded_url, "SELECT body FROM sis.email_outbox WHERE to_address = %s"
                                   " ORDER BY id DESC", [who["username"]])
        assert [m["body"] for m in body] == [r[0] for r in stored]
        assert len(c.get(MAILBOX, params={"to": who["username"], "limit": 1}).json()) == 1
        assert c.get(MAILBOX, params={"to": who["username"],
                                      "kind": "registration_code"}).json() == []
        assert_error(c.get(MAILBOX), 422)  # `to` is required
        assert_error(c.get(MAILBOX, params={"to": "x@example.org", "limit": 0}), 422)
        assert_error(c.get(MAILBOX, params={"to": "a\x00b@example.org"}), 400)


def test_off_the_route_does_not_exist(on: str, base_url: str) -> None:
    params = {"to": "anyone@example.org"}
    assert_error(httpx.get(f"{base_url}{MAILBOX}", params=params), 404, "not_found")
    assert httpx.get(f"{on}{MAILBOX}", params=params).status_code == 200
    assert gauge(base_url) == 0 and gauge(on) == 1
    documented = httpx.get(f"{on}/openapi.json").json()
    assert MAILBOX in documented["paths"] and "TEST MAILBOX" in documented["info"]["description"]
    assert MAILBOX not in httpx.get(f"{base_url}/openapi.json").json()["paths"]


def test_only_loopback_clients_may_read_it(seeded_url: str) -> None:
    # Requests straight into the app from a documentation address (192.0.2.0/24) and from a
    # peer that is no IP at all; the lifespan (so the database) is not even started: the
    # refusal comes before any query.
    app = create_app(Settings(**TEST_SETTINGS, dev_mailbox=True), seeded_url)

    async def ask(peer: str, headers: dict[str, str] | None = None) -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=(peer, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://sis.test") as c:
            return await c.get(MAILBOX, params={"to": "a@example.org"}, headers=headers)

    assert_error(asyncio.run(ask("192.0.2.10")), 403, "forbidden")
    assert_error(asyncio.run(ask("testclient")), 403)
    assert_error(asyncio.run(ask("192.0.2.10", {"X-Forwarded-For": "127.0.0.1"})), 403)
    assert mailbox.is_loopback("127.0.6.1") and mailbox.is_loopback("::1")
    assert not mailbox.is_loopback("10.0.0.1") and not mailbox.is_loopback("")


def test_start_warns_and_the_setting_reads_the_environment(
        seeded_url: str, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="staging.app"):
        with serve(create_app(Settings(**TEST_SETTINGS, dev_mailbox=True), seeded_url)):
            pass
        assert [r for r in caplog.records if r.levelno == logging.WARNING
                and r.getMessage() == mailbox.WARNING]
        caplog.clear()
        with serve(create_app(Settings(**TEST_SETTINGS), seeded_url)):
            pass
        assert not [r for r in caplog.records if "DEV_MAILBOX" in r.getMessage()]
    monkeypatch.delenv("FIRSTBELL_DEV_MAILBOX", raising=False)
    assert Settings().dev_mailbox is False
    monkeypatch.setenv("FIRSTBELL_DEV_MAILBOX", "1")
    assert Settings().dev_mailbox is True
