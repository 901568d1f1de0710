"""Fidelity of the traffic model (issue 18): a ledger line's basis is the weakest of its
sources, bell times per level with tiered starts, the day files' window widths and apexes in
the ledger, the remote/hybrid/in-person mode and the teacher's per-cell grade saves."""

from __future__ import annotations

import pytest

from fake_data.profile import load_profile
from scenarios.compute import compute
from scenarios.ledger import Assumption, weakest_basis
from scenarios.model import load_scenario

CPS = load_profile("cps")


@pytest.mark.parametrize(("source", "basis"), [
    ("[S] CPS Stats & Facts 2018-19", "S"),
    ("[S] Duval County 2009: >700k at the deadline; [E] 2.5x", "E"),
    ("[S] CPS: teachers take attendance every day; [E] 5% absent or on leave", "E"),
    ("[S] CPS Stats; [D] per grade", "D"),
    ("[D/E] rows and a guess", "E"),
    ("[D] students x share", "D"),
    ("[E]", "E"),
])
def test_a_lines_basis_is_the_weakest_of_its_sources(source: str, basis: str) -> None:
    assert weakest_basis(source) == basis
    assert Assumption("x", 1.0, "", source, "test").as_json()["basis"] == basis


def test_no_estimate_is_exported_as_published() -> None:
    """Every built-in day's ledger: a line exported as published cites nothing but [S]."""
    from scenarios.model import builtin_scenarios
    for name in builtin_scenarios():
        for row in compute(load_scenario(name)[0], CPS).plan.assumptions:
            if row["basis"] == "S":
                assert "[E]" not in row["source"] and "[D" not in row["source"], (name, row)
