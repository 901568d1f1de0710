"""A built-in day against a district's own target file: the personas the file does not play
are refused unless left out on purpose, a left-out persona's activities are gone, the day's
click-path knobs apply only where the file declares them, and the plan carries the file and
says what was not rehearsed."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_data.profile import load_profile
from firstbell.plan_cmd import computed_plan
from kernel.errors import UserError
from loadtests.target_source import target_file_payload, target_of_payload
from scenarios.compute import compute, day_personas
from scenarios.model import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
PORTAL = ROOT / "targets" / "staging-portal"
SMALL = load_profile("small")
OTHERS = ("teacher", "clerk", "district_admin")


def portal():
    return target_of_payload(target_file_payload(PORTAL))


def test_a_persona_the_target_does_not_play_is_refused_naming_the_way_out() -> None:
    day, _ = load_scenario("smoke")
    with pytest.raises(ScenarioError) as caught:
        compute(day, SMALL, target=portal())
    message = str(caught.value)
    assert "plays no teacher, clerk, district_admin" in message
    assert "--drop-persona teacher" in message and "plays: teacher" in message


def test_dropped_personas_are_left_out_and_the_rest_is_the_same_day() -> None:
    day, _ = load_scenario("back-to-school")
    full = compute(day, SMALL)
    dropped = compute(day, SMALL, target=portal(), drop=OTHERS)
    assert set(day_personas(day)) - set(OTHERS) == {"student", "guardian"}
    assert set(dropped.plan.personas) == {"student", "guardian"}
    assert dropped.plan.target == "staging_portal"
    # the personas kept send exactly what they send in the whole day
    for persona in ("student", "guardian"):
        assert dropped.personas[persona].sessions == pytest.approx(
            full.personas[persona].sessions)
    # the day's knobs apply where the file declares the same knob, and only there
    target = portal()
    for persona, knobs in dropped.plan.mix.items():
        assert set(knobs) <= set(target.mix.get(persona, {}))
    assert dropped.plan.mix["guardian"] == full.plan.mix["guardian"]  # report_card_share


def test_a_drop_the_day_does_not_need_is_refused() -> None:
    day, _ = load_scenario("smoke")
    with pytest.raises(ScenarioError, match="--drop-persona nobody: the day 'smoke' sends no"):
        compute(day, SMALL, target=portal(), drop=("nobody",))
    with pytest.raises(ScenarioError, match="built-in target 'staging' plays them all"):
        compute(day, SMALL, drop=("teacher",))


def test_dropping_every_persona_is_refused() -> None:
    day, _ = load_scenario("smoke")
    with pytest.raises(ScenarioError, match="nothing to send"):
        compute(day, SMALL, target=portal(),
                drop=("teacher", "student", "guardian", "clerk", "district_admin"))


def test_the_plan_carries_the_file_and_what_was_not_rehearsed() -> None:
    computed = computed_plan("smoke", "small", None, 1.0, None, None, None, 42, PORTAL,
                             OTHERS)
    assert computed.plan.target_file is not None
    assert computed.plan.target_file["name"] == "staging_portal"
    assert computed.plan.not_rehearsed == sorted(OTHERS)
    assert target_of_payload(computed.plan.target_file).name == "staging_portal"


def test_a_broken_target_file_is_an_input_error(tmp_path: Path) -> None:
    broken = tmp_path / "target.yaml"
    broken.write_text("version: 1\nname: x\nhosts: []\npersonas: {}\n", encoding="utf-8")
    with pytest.raises(UserError) as caught:
        computed_plan("smoke", "small", None, 1.0, None, None, None, 42, broken, ())
    assert str(broken) in str(caught.value) and "hosts" in str(caught.value)
