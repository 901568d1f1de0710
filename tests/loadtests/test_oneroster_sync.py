"""The integration persona against any OneRoster provider: the client spec, OAuth 1.0a
(HMAC-SHA256, verified by a test provider's own verifier) and OAuth 2 on OneRoster 1.1, the
sync that pages every collection to its end across sessions, the concurrency limit, and the
staging SIS (1.2, OAuth 2) continuing where the previous sessions stopped."""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from support.oneroster_provider import BASE, TOTALS, Provider
from support.sis_server import serve
from support.sync_browser import SyncBrowser

from loadtests.hub_loop import SECRET_OPTION, recorded_plan
from loadtests.identities import IdentityPool
from loadtests.oneroster.auth import base_string, normalized_url
from loadtests.oneroster.spec import ClientSpecError, check_clients, parse_clients, redacted
from loadtests.oneroster.sync import Cursor
from loadtests.plan import constant_plan
from loadtests.targets import Target, load_target
from loadtests.targets.staging import integration
from loadtests.targets_allowed import TargetRefused
from staging.oauth import ROSTER_CORE, create_client

SECRET = "s3cret, with @ and %"  # written %-encoded in the spec
ENCODED = "s3cret%2C%20with%20%40%20and%20%25"
ROWS = sum(TOTALS.values())


@pytest.fixture(scope="module")
def target() -> Target:
    return load_target("staging")


@pytest.fixture
def provider() -> Iterator[tuple[Provider, str]]:
    p = Provider({"sis-sync": SECRET})
    with serve(p.app()) as url:
        yield p, url


def spec_for(url: str, auth: str, secret: str = ENCODED) -> dict[str, Any]:
    [spec] = parse_clients(f"sis-sync:{secret}@{url}{BASE}?version=1.1&auth={auth}")
    return spec.identity()


def sessions(url: str, target: Target, identity: dict[str, Any], n: int,
             store: dict[str, Any], counts: Counter[str], **knobs: float) -> list[SyncBrowser]:
    out = []
    for _ in range(n):
        with SyncBrowser(url, target.login, "integration", identity, options=knobs,
                         shared=store, counts=counts) as b:
            target.click_paths["integration"](b)
        out.append(b)
    return out


# -- the client spec ---------------------------------------------------------------------------

def test_the_short_form_is_the_target_on_1_2_with_oauth2() -> None:
    [spec] = parse_clients("lms:abc")
    assert (spec.client_id, spec.secret, spec.base_url, spec.version, spec.auth) == \
        ("lms", "abc", "", "1.2", "oauth2")
    assert spec.root == "/ims/oneroster/rostering/v1p2" and spec.token_url == "/oauth/token"


def test_a_vendor_spec_names_url_version_auth_and_token_url() -> None:
    one, two = parse_clients(
        f"a:{ENCODED}@https://SIS.example.org/campus/oneroster/v1p1?version=1.1&auth=oauth1,"
        "b:x@https://sis.example.org?token_url=/campus/oauth2/token&scope=roster-core.readonly")
    assert one.secret == SECRET and one.base_url == "https://sis.example.org"
    assert one.root == "https://sis.example.org/campus/oneroster/v1p1"
    assert (one.version, one.auth) == ("1.1", "oauth1")
    assert two.root == "https://sis.example.org/ims/oneroster/rostering/v1p2"
    assert two.token_url == "https://sis.example.org/campus/oauth2/token"
    assert two.scope == "roster-core.readonly"
    assert SECRET not in one.redacted() and "a:***@https://sis.example.org" in one.redacted()


@pytest.mark.parametrize(("value", "problem"), [
    ("nosecret", "ID:SECRET"),
    ("a:b@https://h.example.org?version=2.0", "version=2.0"),
    ("a:b@https://h.example.org?auth=saml", "auth=saml"),
    ("a:b@https://h.example.org?auth=oauth1", "OneRoster 1.1's"),
    ("a:b@https://h.example.org?limit=5", "unknown setting 'limit'"),
    ("a:b@https://h.example.org?token_url=oauth/token", "token_url"),
])
def test_bad_specs_name_the_problem_never_the_secret(value: str, problem: str) -> None:
    with pytest.raises(ClientSpecError) as err:
        parse_clients(value)
    assert problem in str(err.value) and "write ID:SECRET" in str(err.value)
    assert ":b@" not in str(err.value)


def test_a_comma_cut_secret_is_not_shown() -> None:
    with pytest.raises(ClientSpecError) as err:
        parse_clients("lms:part1,part2")
    assert "part2" not in str(err.value) and "%2C" in str(err.value)


def test_a_vendor_url_must_be_an_allowed_staging_host() -> None:
    with pytest.raises(TargetRefused, match=r"lms:\*\*\*@https://sis.example.org"):
        check_clients("lms:pw@https://sis.example.org", [])
    assert check_clients("lms:pw@https://sis.example.org", ["sis.example.org"])


def test_run_json_records_no_client_secret() -> None:
    plan = constant_plan({"integration": 1}, 10, {
        "oneroster_clients": ["lms:topsecret", "v:pw2@https://h.example.org?version=1.1"]})
    recorded = recorded_plan(plan)
    assert "topsecret" not in str(recorded) and "pw2" not in str(recorded)
    assert recorded["oneroster_clients"][0] == "lms:***"
    assert SECRET_OPTION.search("firstbell_oneroster_client")
    assert redacted(["garbage-without-colon"]) == ["***"]


def test_clients_serve_several_sessions_at_once() -> None:
    pool = IdentityPool({}, extra={"integration": [{"client_id": "a"}, {"client_id": "b"}]})
    taken = [pool.checkout("integration") for _ in range(5)]
    assert [t[1]["client_id"] for t in taken if t] == ["a", "b", "a", "b", "a"]
    mine = IdentityPool({}, index=1, count=2, extra={"integration": [{"client_id": "a"},
                                                                      {"client_id": "b"}]})
    assert {mine.checkout("integration")[1]["client_id"] for _ in range(3)} == {"b"}  # type: ignore[index]


# -- OAuth 1.0a -----------------------------------------------------------------------------------

def test_base_string_follows_rfc_5849() -> None:
    assert normalized_url("HTTP://Example.COM:80/r%20v/X?id=123") == "http://example.com/r%20v/X"
    assert normalized_url("https://h.example.org:8443/a") == "https://h.example.org:8443/a"
    text = base_string("get", "http://h.example.org/p", [("b", "2 x"), ("a", "1"), ("a", "0")])
    assert text == "GET&http%3A%2F%2Fh.example.org%2Fp&a%3D0%26a%3D1%26b%3D2%2520x"


def offsets(p: Provider) -> dict[str, list[int]]:
    out: dict[str, list[int]] = {}
    for s in p.served:
        out.setdefault(s.collection, []).append(s.offset)
    return out


@pytest.mark.parametrize("auth", ["oauth1", "oauth2"])
def test_the_sync_reads_every_row_once_across_sessions(
        provider: tuple[Provider, str], target: Target, auth: str) -> None:
    p, url = provider
    store: dict[str, Any] = {}
    counts: Counter[str] = Counter()
    # 18 pages of 5 rows (7 + 3 + 12 + 23 + 31 rows), 3 pages a session: 6 sessions
    browsers = sessions(url, target, spec_for(url, auth), 6, store, counts,
                        page_size=5, max_pages=3)
    assert all(b.failures() == [] for b in browsers)
    assert sum(s.rows for s in p.served) == ROWS
    assert {c: sorted(o) for c, o in offsets(p).items()} == \
        {c: list(range(0, t, 5)) for c, t in TOTALS.items()}
    assert len(p.served) == 18 and p.refused == 0
    assert counts["oneroster|passes"] == 1
    assert sum(v for k, v in counts.items() if k.startswith("oneroster|rows|")) == ROWS
    assert counts["oneroster|pages|users"] == 5
    tokens = [b.labels().count("oauth.token") for b in browsers]
    assert tokens == ([0] * 6 if auth == "oauth1" else [1] * 6)  # one per session, cached
    # the next night starts over at the first collection
    sessions(url, target, spec_for(url, auth), 1, store, counts, page_size=5, max_pages=1)
    assert p.served[-1].collection == "orgs" and p.served[-1].offset == 0


@pytest.mark.parametrize("auth", ["oauth1", "oauth2"])
def test_a_wrong_secret_is_refused_and_counted(
        provider: tuple[Provider, str], target: Target, auth: str) -> None:
    p, url = provider
    counts: Counter[str] = Counter()
    [b] = sessions(url, target, spec_for(url, auth, "wrong"), 1, {}, counts)
    assert [c.status for c in b.calls] == [401]
    assert counts["oneroster|refused"] == 1 and p.refused == 1 and p.served == []


def test_a_bad_signature_is_refused(provider: tuple[Provider, str], target: Target) -> None:
    """The provider's verifier really checks: the same request signed for another URL."""
    import httpx

    from loadtests.oneroster.auth import oauth1_header
    _, url = provider
    header = oauth1_header("GET", f"{url}{BASE}/orgs", [("limit", "5")], "sis-sync", SECRET)
    assert httpx.get(f"{url}{BASE}/orgs?limit=5", headers={"Authorization": header}) \
        .status_code == 200
    assert httpx.get(f"{url}{BASE}/orgs?limit=5", headers={"Authorization": header}) \
        .status_code == 401  # the nonce again
    forged = oauth1_header("GET", f"{url}{BASE}/users", [("limit", "5")], "sis-sync", SECRET)
    assert httpx.get(f"{url}{BASE}/orgs?limit=5", headers={"Authorization": forged}) \
        .status_code == 401


def test_a_provider_page_cap_is_adopted(provider: tuple[Provider, str],
                                         target: Target) -> None:
    p, url = provider
    p.max_limit = 4
    counts: Counter[str] = Counter()
    sessions(url, target, spec_for(url, "oauth1"), 30, {}, counts, page_size=5, max_pages=1)
    first_pass = p.served[:sum(-(-t // 4) for t in TOTALS.values())]
    assert sum(s.rows for s in first_pass) == ROWS
    assert counts["oneroster|passes"] >= 1 and counts["oneroster|page_capped|orgs"] == 1


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_limits_sessions_in_flight(
        provider: tuple[Provider, str], target: Target, concurrency: int) -> None:
    p, url = provider
    p.delay = 0.05
    store: dict[str, Any] = {}
    counts: Counter[str] = Counter()
    identity = spec_for(url, "oauth1")
    threads = [threading.Thread(target=sessions, args=(url, target, identity, 1, store, counts),
                                kwargs={"page_size": 5, "max_pages": 3,
                                        "concurrency": concurrency}) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(p.served) == 12  # 4 sessions of 3 pages
    assert len({(s.collection, s.offset) for s in p.served}) == 12  # no offset twice
    if concurrency == 1:
        assert p.most_in_flight == 1
        assert counts["oneroster|slot_waits"] >= 1 and counts["oneroster|slot_gave_up"] == 0
    else:
        assert p.most_in_flight > 1


def test_cursor_ignores_answers_of_a_finished_collection() -> None:
    cursor = Cursor(("a", "b"), 10)
    first, second = cursor.claim(), cursor.claim()
    assert cursor.read(first, 5, 5, None) == ""  # total 5: "a" ends
    assert cursor.collection == "b"
    assert cursor.read(second, 0, 5, None) == ""  # late answer of "a": ignored
    assert cursor.claim().collection == "b"


# -- the staging SIS (OneRoster 1.2, OAuth 2) ------------------------------------------------------

PAGE = re.compile(r"/ims/oneroster/rostering/v1p2/(\w+)\?limit=(\d+)&offset=(\d+)$")


def test_staging_sessions_continue_where_the_previous_stopped(
        staging_url: str, seeded_url: str, target: Target) -> None:
    client_id, secret = create_client(seeded_url, "load test nightly sync", [ROSTER_CORE])
    store: dict[str, Any] = {}
    counts: Counter[str] = Counter()
    browsers = sessions(staging_url, target, {"client_id": client_id, "client_secret": secret},
                        4, store, counts, page_size=2, max_pages=3)
    seen: dict[str, list[int]] = {}
    for b in browsers:
        assert b.failures() == []
        assert b.labels()[0] == "oauth.token"
        for call in b.calls[1:]:
            match = PAGE.search(call.path)
            assert match, call.path
            assert match[2] == "2"
            seen.setdefault(match[1], []).append(int(match[3]))
    assert sum(len(v) for v in seen.values()) == 12
    for collection, offs in seen.items():
        assert offs == sorted(set(offs)) and offs[0] == 0, collection  # strictly increasing
    assert list(seen) == list(integration.COLLECTIONS)[:len(seen)]
    assert counts["oneroster|tokens"] == 4


def test_the_engine_browser_shares_per_run_and_counts_on_the_recorder(target: Target) -> None:
    from loadtests.session import EngineBrowser
    from loadtests.stats import Recorder
    plan = constant_plan({"integration": 1}, 10)
    recorder = Recorder()
    run_shared: dict[str, Any] = {}

    def browser(shared: dict[str, Any]) -> EngineBrowser:
        return EngineBrowser(None, recorder, IdentityPool({}), plan, target.login,
                             "integration", {}, 0.0, 1, frozenset(), shared=shared)

    one, two = browser(run_shared), browser(run_shared)
    cursor = one.shared("c", lambda: Cursor(("a",), 5))
    assert two.shared("c", lambda: Cursor(("b",), 5)) is cursor
    assert browser({}).shared("c", lambda: Cursor(("b",), 5)) is not cursor  # another run
    one.count("oneroster|passes")
    two.count("oneroster|rows|a", 7)
    assert recorder.take({}).counters == {"oneroster|passes": 1, "oneroster|rows|a": 7}
