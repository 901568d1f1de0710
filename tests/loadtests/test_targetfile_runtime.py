"""Target-file sessions on a small fake SIS (httpx's MockTransport): a cookie session after a
form login (hidden CSRF input, a 302 not followed), extracts of every kind, loops and picks,
think kinds, a probe denied by a marker's absence and one that exposes; and `target check`'s
report, which never shows a password, a token or a cookie."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import httpx
from support.sync_browser import SyncBrowser

from loadtests.targetfile.check_run import check_target, render
from loadtests.targetfile.loader import load_target_file
from loadtests.targetfile.target import build_target

SESSION = "s3cr3t-session-cookie"
FILE = """\
version: 1
name: fake
hosts: [sis.test]
session: {carrier: cookie}
login:
  steps:
    - name: login page
      group: auth
      request: {url: /login}
      extract:
        hidden: {form: "form#login"}
        csrf: {css: "input[name=csrf]", attr: value}
    - name: login post
      metric: auth.login
      request:
        method: POST
        url: /login
        form: "{{ hidden }}"
      check: {status: [302], location_contains: /home}
      extract:
        next: {location: true}
        sid: {cookie: sid}
  success: {status: [302]}
logout:
  - {name: logout, metric: auth.logout, request: {method: POST, url: /logout,
     headers: {X-CSRF: "{{ csrf }}"}}}
personas:
  guardian:
    mix: {extra_share: 0}
    think: 2
    steps:
      - name: home
        metric: portal.home
        request: {url: "{{ next }}"}
        check: {body_contains: [Welcome], jsonpath: {$.user: "{{ user.username }}"}}
        extract:
          kids: {jsonpath: "$.kids[*]", all: true}
          first: {regex: "kid-(\\\\d+)"}
          etag: {header: ETag}
      - for_each: kids
        as: kid
        pick: {count: 2, order: as_listed}
        steps:
          - name: grades
            group: portal
            request: {url: "/kids/{{ kid }}/grades", query: {term: "{{ first }}"}}
            think: {recorded: 1.5}
      - repeat: 3
        up_to: true
        steps:
          - {think: {min: 1, max: 3}}
      - name: extra
        group: portal
        probability: "{{ mix.extra_share }}"
        request: {url: /extra}
      - probe: peek
probes:
  peek:
    as: guardian
    other: {values: "{{ user.forbidden }}"}
    request: {url: "/kids/{{ other.value }}/grades"}
    metric: portal.grades
    asked: "kid {{ other.value }}"
    denied: {absent: ["Name-{{ other.value }}"]}
  leak:
    as: guardian
    other: {values: "{{ user.forbidden }}"}
    request: {url: "/leak/{{ other.value }}"}
    metric: portal.leak
"""


def sis(request: httpx.Request) -> httpx.Response:
    path, cookie = request.url.path, request.headers.get("cookie", "")
    if path == "/login" and request.method == "GET":
        return httpx.Response(200, html='<form id="login"><input type="hidden" name="csrf"'
                              ' value="c-123"><input name="user"></form>',
                              headers={"set-cookie": "pre=1; Path=/"})
    if path == "/login":
        ok = b"csrf=c-123" in request.content and "pre=1" in cookie
        return httpx.Response(302 if ok else 403, headers={
            "location": "/home", "set-cookie": f"sid={SESSION}; HttpOnly"} if ok else {})
    if f"sid={SESSION}" not in cookie:
        return httpx.Response(401)
    if path == "/home":
        return httpx.Response(200, json={"user": "ann", "kids": [7, 8, 9], "msg": "Welcome",
                                         "tag": "kid-42"}, headers={"ETag": "e1"})
    if path.startswith("/kids/"):
        kid = path.split("/")[2]
        body = f"Name-{kid}" if kid in ("7", "8", "9") else "nothing here"
        return httpx.Response(200, json={"kid": kid, "text": body,
                                         "term": request.url.params.get("term")})
    if path == "/logout":
        ok = request.headers.get("x-csrf") == "c-123"
        return httpx.Response(204 if ok else 400, headers={"set-cookie": "sid=; Max-Age=0"})
    if path.startswith("/leak/"):
        return httpx.Response(200, json={"secret": "data"})
    return httpx.Response(404)


ME: dict[str, Any] = {"username": "ann", "password": "pw-ann-1234", "forbidden": [11, 12]}


def load(tmp_path: Path) -> Any:
    (tmp_path / "t.yaml").write_text(FILE)
    return load_target_file(tmp_path / "t.yaml")


def test_cookie_session(tmp_path: Path) -> None:
    target = build_target(load(tmp_path))
    assert target.login.cookies and target.login.token_header is None
    with SyncBrowser("http://sis.test", target.login, "guardian", ME, seed=3,
                     probes=target.probes, transport=httpx.MockTransport(sis)) as b:
        target.click_paths["guardian"](b)
    calls = [(c.method, c.endpoint, c.path, c.query, c.status) for c in b.calls]
    assert calls[:3] == [
        ("GET", "auth.login_page", "/login", (), 200),
        ("POST", "auth.login", "/login", (), 302),     # not followed
        ("GET", "portal.home", "/home", (), 200),
    ]
    kids = [c.path for c in b.calls[3:5]]  # two of three, in the listed order
    assert kids == sorted(kids) and set(kids) < {f"/kids/{k}/grades" for k in (7, 8, 9)}
    assert all(c[3] == (("term", "42"),) for c in calls[3:5])
    assert [c.endpoint for c in b.calls[5:]] == ["portal.grades", "portal.leak", "auth.logout"]
    # (the test browser counts any non-2xx as failed; the recorded 302 is the login's success)
    assert b.calls[-1].status == 204 and [c.status for c in b.failures()] == [302]
    # the marker probe asked another kid and saw no marker; the leak is an exposure
    assert [(o.probe, o.asked) for o in b.exposures] == [("leak", "11")] or \
        [(o.probe, o.asked) for o in b.exposures] == [("leak", "12")]
    # ... and its refusal (a 200 without the marker) is recorded as one
    assert [(o.probe, o.status) for o in b.outcomes if o.probe == "peek"] == [("peek", 200)]
    assert b.cookies is not None and b.cookies.cookies == {}  # logged out
    # think: the persona's default 2 after home, recorded 1.5 (unjittered) per kid, 1-3 drawn
    assert b.thinks[:3] == [2.0, 1.5, 1.5] and b.thinks_unjittered[:2] == [1.5, 1.5]
    assert 1 <= len(b.thinks[3:]) <= 3 and all(1 <= t <= 3 for t in b.thinks[3:])


def test_marker_probe_finds_an_exposure(tmp_path: Path) -> None:
    target = build_target(load(tmp_path))
    me = {**ME, "forbidden": [8]}  # the fake SIS shows kid 8's name: an exposure
    with SyncBrowser("http://sis.test", target.login, "guardian", me, seed=1,
                     probes=["peek"], transport=httpx.MockTransport(sis)) as b:
        target.click_paths["guardian"](b)
    assert [(o.probe, o.asked, o.status) for o in b.exposures] == [("peek", "kid 8", 200)]


def test_failed_login_stops_the_session(tmp_path: Path) -> None:
    target = build_target(load(tmp_path))

    def no_csrf(request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path == "/login":
            return httpx.Response(200, html="<form id=login></form>")
        return sis(request)
    with SyncBrowser("http://sis.test", target.login, "guardian", ME,
                     transport=httpx.MockTransport(no_csrf)) as b:
        target.click_paths["guardian"](b)
    # no CSRF input: the login cannot go on (refused, not retried) and the session ends
    assert [c.endpoint for c in b.calls] == ["auth.login_page"]
    assert b.token is None


def test_check_report_hides_secrets(tmp_path: Path) -> None:
    tf = load(tmp_path)
    report = check_target(tf, "http://sis.test", {"guardian": ME},
                          transport=httpx.MockTransport(sis))
    text = render(report)
    assert "login ok" in text and "ok   guardian home: GET /home -> 200" in text
    assert "kids = list of 3: [7, 8, 9]" in text and "check jsonpath $.user: ok" in text
    assert SESSION not in text and "pw-ann-1234" not in text and "c-123" not in text
    assert "sid = •••" in text and "csrf = •••" in text and 'hidden = {"csrf": "•••"}' in text
    assert any(p.exposed and p.probe == "leak" for p in report.probes) and not report.ok
    assert "EXPOSED" in text
    assert [(p.probe, p.exposed, p.denied) for p in report.probes if p.probe == "peek"] == \
        [("peek", False, True)] and "probe peek as guardian (kid 1" in text
    assert any(line.startswith("probe peek") and line.endswith("200 denied")
               for line in text.splitlines())


def test_check_report_masks_a_failed_answer(tmp_path: Path) -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/home":
            return httpx.Response(500, text="oops " + request.headers.get("cookie", "")
                                  + " pw-ann-1234")
        return sis(request)
    report = check_target(load(tmp_path), "http://sis.test", {"guardian": ME},
                          transport=httpx.MockTransport(echo))
    [home] = [s for s in report.steps if s.step == "home"]
    assert home.failed and home.excerpt is not None and home.excerpt.startswith("oops")
    assert SESSION not in home.excerpt and "pw-ann-1234" not in home.excerpt
    assert json.dumps([s.variables for s in report.steps]).count(SESSION) == 0
    assert "answer: oops" in render(report)


def test_staging_portal_check(staging_url: str, identities: dict[str, list[dict[str, Any]]],
                              ) -> None:
    folder = Path(__file__).resolve().parents[2] / "targets" / "staging-portal"
    me = {"guardian": [g for g in identities["guardian"] if g["no_access_children"]][-1],
          "student": identities["student"][-1]}
    report = check_target(load_target_file(folder), staging_url, me)
    text = render(report)
    assert report.ok, text
    assert "token = •••" in text and me["guardian"]["password"] not in text
    assert {p.probe for p in report.probes} == {"foreign_student", "no_access_child"}
    assert textwrap.dedent(text).endswith("all steps passed\n")


def test_a_persona_logs_in_from_its_declared_pool(tmp_path: Path) -> None:
    # RosarioSIS's guardian logs in as rows of the `parent` pool: the engine checks out (and
    # loads) that pool for guardian sessions, not a pool named after the day persona.
    (tmp_path / "t.yaml").write_text(FILE.replace("  guardian:\n    mix:",
                                                  "  guardian:\n    pool: {userpool: parent}\n"
                                                  "    mix:", 1))
    target = build_target(load_target_file(tmp_path / "t.yaml"))
    assert target.pool_of("guardian") == "parent" and target.pool_of("teacher") == "teacher"
    assert target.pools_for(["guardian"]) == ["parent"]
