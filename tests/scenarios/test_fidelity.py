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


def _assume(*items: str) -> list[tuple[dict[str, tuple[float, str | None]], str]]:
    from scenarios.ledger import parse_assume
    return [(parse_assume(list(items)), "--assume")]


def test_bells_ring_in_tiers_and_windows_follow_them() -> None:
    """cps elementary schools start at 07:30 (5%), 07:45 (15%), 08:00 (65%), 08:45 (15%): the
    teachers' morning window (bell - 30m to bell + 15m) is spread over the four, each with
    its share of the 21,334 x 14,329 / 20,267 elementary teachers' sessions."""
    from scenarios.district import Bells
    bells = Bells.of(CPS)
    assert bells.tiers["elementary"] == ((-1800.0, 0.05), (-900.0, 0.15), (0.0, 0.65),
                                         (2700.0, 0.15))
    assert bells.events["elementary.first_bell"] == (8 * 3600,)  # the nominal schedule
    c = compute(load_scenario("back-to-school")[0], CPS)
    morning = c.activities["teacher_morning"]
    # 07:00-07:15 holds only the 07:30 tier's window (07:00-07:45, apex 07:25): 5% of the
    # sessions x the triangle's first 15 of 25 rising minutes, 15^2 / (25 x 45) = 0.2
    before = sum(s.rates["teacher"] * (s.end - s.start) for s in c.slots
                 if s.end <= 7 * 3600 + 15 * 60 and s.start >= 7 * 3600)
    assert before == pytest.approx(0.05 * 0.2 * morning, rel=1e-6)


def test_window_widths_and_apexes_are_ledger_lines_assume_can_move() -> None:
    day = load_scenario("back-to-school")[0]
    c = compute(day, CPS)
    ledger = {a.name: a for a in c.ledger}
    width, apex = ledger["window.teacher_morning.width_minutes"], \
        ledger["window.teacher_morning.apex_minutes"]
    assert (width.value, apex.value) == (45, 25)
    assert width.basis == "E" and width.source.startswith("[S] district-facts")  # mixed: [E]
    assert ledger["window.guardian_day_and_evening.2.apex_minutes"].value == 60
    assert ledger["window.hs_period_attendance.width_minutes"].value == 12
    # a wider storm: the end moves 15 minutes later, the sessions stay, the peak drops
    wide = compute(day, CPS, overrides=_assume("window.teacher_morning.width_minutes=60"))
    assert wide.activities["teacher_morning"] == pytest.approx(c.activities["teacher_morning"])
    assert wide.personas["teacher"].peak_rate < c.personas["teacher"].peak_rate
    row = next(a for a in wide.ledger if a.name == "window.teacher_morning.width_minutes")
    assert row.origin == "--assume" and row.value == 60
    from scenarios.model import ScenarioError
    with pytest.raises(ScenarioError, match="outside the window"):
        compute(day, CPS, overrides=_assume("window.teacher_morning.apex_minutes=50"))


def test_the_mode_of_the_day() -> None:
    """day.remote_share: back-to-school is in person (0) unless told; at 1 it is remote-day;
    at 0.5 (hybrid) half the students log in at the bell and half come to school."""
    back, remote = load_scenario("back-to-school")[0], load_scenario("remote-day")[0]
    in_person = compute(back, CPS)
    assert in_person.activities["remote_students_high"] == 0
    as_remote = compute(back, CPS, overrides=_assume("day.remote_share=1"))
    r = compute(remote, CPS)
    for name in ("remote_students_elementary", "remote_students_high", "guardians_at_the_bell"):
        assert as_remote.activities[name] == pytest.approx(r.activities[name]) and r.activities[
            name] > 0
    assert as_remote.activities["student_schedules"] == 0
    hybrid = compute(remote, CPS, overrides=_assume("day.remote_share=0.5"))
    assert hybrid.activities["remote_students_high"] == pytest.approx(
        r.activities["remote_students_high"] / 2)
    assert hybrid.activities["in_person_student_schedules"] == pytest.approx(
        in_person.activities["student_schedules"] / 2)
    ledger = {a.name: a for a in hybrid.ledger}
    assert ledger["day.in_person_share"].value == 0.5 and ledger["day.in_person_share"].basis == "E"
    from scenarios.ledger import LedgerError
    with pytest.raises(LedgerError, match="0-1"):
        compute(remote, CPS, overrides=_assume("day.remote_share=2"))


def test_grade_saves_per_cell_and_term_grades_at_the_deadline() -> None:
    """grade-deadline's teachers save each score as it is typed (ledger grade.per_cell_share 1,
    [E] on [S] Chalkbeat's 30-second single-grade saves) and half their sittings post a
    class's term grades. Per cell, a sitting sends one score write per student instead of one
    per class: cps class sizes 21 (elementary) and 24 (high) [S] NCES, weighted by the 15,083
    elementary and 6,251 high-school teachers: (15,083 x 21 + 6,251 x 24) / 21,334 = 21.88x
    the score writes; with the line item and the term-grade post, (1 + 21.88 + 0.5) /
    (1 + 1 + 0.5) = 9.35x all gradebook writes."""
    c = compute(load_scenario("grade-deadline")[0], CPS)
    assert c.plan.mix["teacher"]["per_cell_share"] == 1.0
    assert c.plan.mix["teacher"]["term_grade_share"] == 0.5
    ledger = {a.name: a for a in c.ledger}
    assert ledger["grade.per_cell_share"].basis == "E"
    from scenarios.district import populations
    people = {a.name: a.value for a in populations(CPS, "steady_state")}
    weights = {lv: (people[f"teachers.{lv}"], spec.class_size.target)
               for lv, spec in CPS.levels.items()}
    assert {lv: w[0] for lv, w in weights.items()} == {"elementary": 15_083, "high": 6_251}
    factor = sum(n * size for n, size in weights.values()) / sum(n for n, _ in weights.values())
    assert factor == pytest.approx(21.88, abs=0.01)
    assert (1 + factor + 0.5) / (1 + 1 + 0.5) == pytest.approx(9.35, abs=0.01)
