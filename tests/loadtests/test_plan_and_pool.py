"""Plans (file, options, errors) and the identity pool (disjoint shares, one session each)."""

from __future__ import annotations

from argparse import Namespace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from loadtests.identities import IdentityPool
from loadtests.options import DEFAULT_RATES, plan_from
from loadtests.plan import PlanError, load_plan, parse_rates


def options(**kw: Any) -> Namespace:
    base = {"firstbell_plan": None, "firstbell_rate": DEFAULT_RATES, "firstbell_duration": 60.0}
    return Namespace(**{**base, **kw})


def test_constant_plan_from_options_with_overrides() -> None:
    plan = plan_from(options(firstbell_rate="teacher=2, guardian=0.5", firstbell_duration=30.0,
                             firstbell_think_scale=0.1, firstbell_seed=7,
                             firstbell_oneroster_client="abc:s3cret,def:x"))
    assert plan.duration == 30.0 and plan.curve.rate("guardian", 10) == 0.5
    assert plan.think_scale == 0.1 and plan.seed == 7
    assert plan.oneroster_clients == ["abc:s3cret", "def:x"]


def test_plan_file_and_the_simulated_clock(tmp_path: Path) -> None:
    path = tmp_path / "day.yaml"
    path.write_text("scenario: morning\nclock_start: '07:30'\nspeed: 6\nstages:\n"
                    "  - {seconds: 60, rates: {teacher: 4}, label: bell}\n"
                    "  - {seconds: 30, rates: {guardian: 1}}\n", encoding="utf-8")
    plan = load_plan(path, {"probe_rate": 0.5})
    assert plan.scenario == "morning" and plan.probe_rate == 0.5 and plan.duration == 90
    assert plan.clock_seconds(0) == 7.5 * 3600 and plan.clock_seconds(60) == 7.5 * 3600 + 360
    assert plan.stage_label(10) == "bell" and plan.stage_label(70) == "stage 2"


@pytest.mark.parametrize(("text", "message"), [
    ("stages: []\n", "field stages: List should have at least 1 item"),
    ("stages:\n  - {seconds: 0, rates: {teacher: 1}}\n", "field stages.0.seconds"),
    ("stages:\n  - {seconds: 5, rates: {teacher: 1}}\nspeeed: 2\n", "field speeed: Extra inputs"),
    ("clock_start: '25:00'\nstages:\n  - {seconds: 5}\n", "'25:00' is not a time of day"),
    ("- 1\n- 2\n", "a plan is a mapping"),
    ("stages: [\n", "not YAML or JSON"),
])
def test_bad_plans_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "plan.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as err:
        load_plan(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_rates_syntax() -> None:
    assert parse_rates("a=1,b=0.25") == {"a": 1.0, "b": 0.25}
    for bad in ("a", "a=x", "=3"):
        with pytest.raises(PlanError, match="persona=rate"):
            parse_rates(bad)


def pool(n: int, index: int, count: int) -> IdentityPool:
    table = pa.table({"user_id": pa.array(range(1, n + 1)),
                      "student_id": pa.array(range(100, 100 + n))})
    return IdentityPool({"student": table}, index=index, count=count, seed=3)


def test_worker_shares_are_disjoint_and_cover_the_pool() -> None:
    taken: list[set[int]] = []
    for index in range(3):
        p = pool(100, index, 3)
        mine = set()
        while (got := p.checkout("student")) is not None:
            mine.add(got[1]["user_id"])
        taken.append(mine)
    assert sum(len(t) for t in taken) == 100 and set().union(*taken) == set(range(1, 101))


def test_an_identity_is_held_by_one_session_at_a_time() -> None:
    p = pool(4, 0, 1)
    held = [p.checkout("student") for _ in range(4)]
    assert p.checkout("student") is None  # all four in sessions
    assert len({h[1]["user_id"] for h in held if h}) == 4
    row, identity = held[2]  # type: ignore[misc]
    p.checkin("student", row)
    again = p.checkout("student")
    assert again is not None and again[1] == identity


def test_lookup_reads_the_whole_pool() -> None:
    p = pool(10, 1, 2)  # this share holds the odd rows, lookup still sees every row
    assert p.lookup("student", "student_id", 100) == {"user_id": 1, "student_id": 100}
    assert p.lookup("student", "student_id", 5) is None
    assert p.lookup("teacher", "student_id", 100) is None
