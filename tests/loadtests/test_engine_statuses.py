"""How the engine's browser judges statuses a target file declares: a step whose check expects
a redirect or a 4xx (``status: [303]``, ``[404]``) is a success in Locust's eyes too, an
unexpected redirect fails its check, and a probe's own denied statuses (a redirect to the login
page) count as a denial, not as inconclusive."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from loadtests.browser import LoginSpec
from loadtests.identities import IdentityPool
from loadtests.plan import constant_plan
from loadtests.session import EngineBrowser
from loadtests.stats import Recorder


class Answer:
    """What Locust's catch_response hands the browser: a status, and a verdict to give."""

    def __init__(self, status: int) -> None:
        self.status_code, self.headers, self.text, self.content = status, {}, "", b""
        # Locust's own default: a 4xx or 5xx fails unless success() is called
        self.verdict: str | None = "failed" if status >= 400 else None

    def success(self) -> None:
        self.verdict = "ok"

    def failure(self, why: str) -> None:
        self.verdict = f"failed: {why}"

    def json(self) -> Any:
        return {}


class Client:
    def __init__(self, status: int) -> None:
        self.status = status
        self.answers: list[Answer] = []

    @contextmanager
    def request(self, method: str, path: str, **kw: Any) -> Iterator[Answer]:
        answer = Answer(self.status)
        self.answers.append(answer)
        yield answer


def browser(status: int) -> tuple[EngineBrowser, Client, Recorder]:
    client, recorder = Client(status), Recorder()
    b = EngineBrowser(client, recorder, IdentityPool({}), constant_plan({"guardian": 1}, 10),
                      LoginSpec(), "guardian", {"username": "u"}, 0.0, 1, frozenset({"p"}))
    return b, client, recorder


def expects(*statuses: int) -> Any:
    return lambda r: None if r.status_code in statuses else f"status {r.status_code}"


@pytest.mark.parametrize(("status", "expected", "verdict"), [
    (303, (303,), "ok"),        # an expected redirect
    (404, (404,), "ok"),        # an expected 4xx: a success, not Locust's failure
    (302, (200,), "failed: check failed: status 302"),   # sent back to the login page
    (200, (303,), "failed: check failed: status 200"),
    (500, (200,), "failed"),    # a 5xx stays a failure by its status, not a failed check too
])
def test_a_check_judges_the_statuses_it_expects(status: int, expected: tuple[int, ...],
                                                verdict: str | None) -> None:
    b, client, recorder = browser(status)
    b.request("GET", "portal.home", "/home", check=expects(*expected), expect=expected,
              follow_redirects=False)
    assert client.answers[0].verdict == verdict
    failed = recorder.take({}).counters.get("checks_failed|guardian|portal.home", 0)
    assert failed == (1 if verdict and "check failed" in verdict else 0)


def test_without_expect_a_redirect_is_not_checked() -> None:
    """A Python click path's check reads 2xx bodies only, as before."""
    b, client, _ = browser(302)
    b.request("GET", "portal.home", "/home", check=expects(200))
    assert client.answers[0].verdict is None


@pytest.mark.parametrize(("status", "denied", "outcome"), [
    (302, (302,), "denied"), (302, (401, 403, 404), "inconclusive"),
    (404, (401, 403, 404), "denied"), (200, (302,), "exposed"),
])
def test_a_probe_counts_its_own_denied_statuses(status: int, denied: tuple[int, ...],
                                                outcome: str) -> None:
    b, client, recorder = browser(status)
    b.probe("p", "GET", "portal.student", "/students/9", asked="student 9",
            follow_redirects=False, denied=frozenset(denied))
    counters = recorder.take({}).counters
    assert counters[f"probes|p|{outcome}"] == 1
    assert (client.answers[0].verdict == "ok") is (outcome == "denied")
