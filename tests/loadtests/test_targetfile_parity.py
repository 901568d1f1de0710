"""The staging portal as a target file (targets/staging-portal) against the built-in Python
guardian and student paths: with the same seed and identity against a real staging SIS, both
send the same requests (method, endpoint label, path, query) in the same order, think the same
thinks and run the same probes; with a browser that draws from the session's rng where the
engine does (think jitter, probe rate), so the rng call order is held identical too."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from support.sync_browser import SyncBrowser

from loadtests.targetfile.loader import load_target_file
from loadtests.targetfile.target import build_target
from loadtests.targets import Target, load_target

Identities = dict[str, list[dict[str, Any]]]
PORTAL = Path(__file__).resolve().parents[2] / "targets" / "staging-portal"
PROBES = ("foreign_student", "no_access_child")


class EngineLike(SyncBrowser):
    """Draws from the rng where the engine's browser does: think jitter, the probe rate."""

    def think(self, seconds: float, *, jitter: bool = True) -> None:
        super().think(seconds * (self.rng.uniform(0.5, 1.5) if jitter else 1.0),
                      jitter=jitter)

    def should_probe(self, probe: str) -> bool:
        return probe in self.enabled and self.rng.random() < 0.7


@pytest.fixture(scope="module")
def python_target() -> Target:
    return load_target("staging")


@pytest.fixture(scope="module")
def file_target() -> Target:
    return build_target(load_target_file(PORTAL))


SIGNED = re.compile(r"/downloads/[^/?]+")

def run(url: str, target: Target, persona: str, me: dict[str, Any], seed: int,
        pools: Identities, options: dict[str, float] | None = None) -> SyncBrowser:
    with EngineLike(url, target.login, persona, me, pools=pools, probes=PROBES, seed=seed,
                    options=options) as b:
        target.click_paths[persona](b)
    return b


def trace(b: SyncBrowser) -> list[tuple[Any, ...]]:
    # A signed download link carries its expiry second: the two runs may straddle one, so the
    # link's token is compared as "a signed link", its path up to the token exactly.
    return [(c.method, c.endpoint, SIGNED.sub("/downloads/<signed>", c.path), c.query, c.probe)
            for c in b.calls]


def same(url: str, python_target: Target, file_target: Target, persona: str,
         me: dict[str, Any], seed: int, pools: Identities,
         options: dict[str, float] | None = None) -> SyncBrowser:
    a = run(url, python_target, persona, me, seed, pools, options)
    b = run(url, file_target, persona, me, seed, pools, options)
    assert trace(b) == trace(a)
    assert b.thinks == a.thinks
    assert b.outcomes == a.outcomes
    assert b.rng.random() == a.rng.random()  # the same number of draws
    assert b.failures() == [] and a.failures() == []
    assert b.exposures == []
    return b


def test_guardians(staging_url: str, identities: Identities, python_target: Target,
                   file_target: Target) -> None:
    pools = {"student": identities["student"]}
    custody = [g for g in identities["guardian"] if g["no_access_children"]]
    families = [g for g in identities["guardian"] if len(g["children"]) >= 2]
    seen: set[str] = set()
    for i, me in enumerate([*custody[-3:], *families[-4:]]):
        for seed in (i, 100 + i):
            b = same(staging_url, python_target, file_target, "guardian", me, seed, pools,
                     {"report_card_share": 0.6})
            seen |= {c.endpoint for c in b.calls}
            seen |= {f"probe:{o.probe}" for o in b.outcomes}
    assert {"portal.report_card", "reports.download", "probe:foreign_student",
            "probe:no_access_child"} <= seen


def test_students(staging_url: str, identities: Identities, python_target: Target,
                  file_target: Target) -> None:
    seen: set[str] = set()
    for i, me in enumerate(identities["student"][-8:-2]):
        for seed in (i, 50 + i):
            b = same(staging_url, python_target, file_target, "student", me, seed, {})
            seen |= {c.endpoint for c in b.calls}
    assert {"portal.assignments", "portal.attendance"} <= seen


def test_failed_login_is_the_same(staging_url: str, identities: Identities,
                                  python_target: Target, file_target: Target) -> None:
    me = {**identities["student"][-9], "password": "not-the-password"}
    a = run(staging_url, python_target, "student", me, 1, {})
    b = run(staging_url, file_target, "student", me, 1, {})
    assert trace(b) == trace(a) == [("POST", "auth.login", "/api/auth/login", (), None)]
