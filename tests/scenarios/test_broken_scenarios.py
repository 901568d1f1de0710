"""A corpus of broken scenario files: `firstbell plan FILE` exits 2 with one message that names
the file, the field and the value, without a traceback; so do bad --assume, --assumptions,
--window, --speed, --scale values and bad threshold files given to `firstbell run`."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from firstbell.cli import main
from scenarios.model import DAYS_DIR

BASE: dict[str, Any] = yaml.safe_load((DAYS_DIR / "back-to-school.yaml").read_text())
Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = d
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return edit


def _drop(path: str) -> Edit:
    def edit(d: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        node: Any = d
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        del node[last]
    return edit


# (name, edit, fragments the message must contain: field and value)
CASES: list[tuple[str, Edit, tuple[str, ...]]] = [
    ("no-title", _drop("title"), ("field title", "Field required")),
    ("bad-name", _set("name", "Back To School"), ("field name", "'Back To School'")),
    ("short-header", _set("rehearses", "a day"), ("field rehearses", "'a day'")),
    ("bad-day", _set("day", "6am-11pm"), ("field day", "'6am-11pm'")),
    ("backwards-day", _set("day", "22:00-06:00"), ("field day", "'22:00-06:00'")),
    ("bad-phase", _set("phase", "summer"), ("field phase", "'summer'")),
    ("bad-speed", _set("speed", 0), ("field speed", "0")),
    ("bad-resolution", _set("resolution", "2s"), ("field resolution", "'2s'")),
    ("unknown-key", _set("weather", "rain"), ("field weather", "'rain'")),
    ("no-activities", _set("activities", []), ("field activities", "[]")),
    ("unknown-persona", _set("activities/0/persona", "janitor"),
     ("field activities.0.persona", "'janitor'")),
    ("unknown-population", _set("activities/0/population", "parents"),
     ("field activities.0.population", "'parents'")),
    ("unknown-factor", _set("activities/0/factors", ["teacher.loginshare"]),
     ("field activities.0.factor", "'teacher.loginshare'")),
    ("bad-activity-name", _set("activities/1/name", "HS Periods"),
     ("field activities.1.name", "'HS Periods'")),
    ("duplicate-activity", _set("activities/1/name", "teacher_morning"),
     ("field activities", "teacher_morning repeats")),
    ("shares-do-not-add-up", _set("activities/2/windows/0/share", 0.7),
     ("field activities.2.windows", "add up to 1.3")),
    ("bad-moment", _set("activities/3/windows/0/from", "half past seven"),
     ("field activities.3.windows.0.from", "'half past seven'")),
    ("unknown-bell", _set("activities/0/windows/0/from", "middle.first_bell - 30m"),
     ("field activities.0.windows.0.from", "'middle.first_bell'")),
    ("repeating-bell-without-every", _set("activities/1/windows/0", {
        "from": "high.period_start", "to": "high.period_start + 10m"}),
     ("field activities.1.windows.0.from", "'high.period_start'", "every")),
    ("unknown-every", _set("activities/1/windows/0/every", "high.lunch"),
     ("field activities.1.windows.0.every", "'high.lunch'")),
    ("absolute-in-every", _set("activities/1/windows/0/from", "08:00"),
     ("field activities.1.windows.0", "'08:00'")),
    ("window-backwards", _set("activities/3/windows/0/to", "07:00"),
     ("field activities.3.windows.0", "from 07:30 to 07:00 is empty or backwards")),
    ("peak-outside", _set("activities/3/windows/0/peak", "18:00"),
     ("field activities.3.windows.0.peak", "18:00")),
    ("flat-with-peak", _set("activities/5/windows/0/peak", "08:00"),
     ("field activities.5.windows.0", "flat window has no peak")),
    ("window-outside-day", _set("activities/5/windows/0/to", "23:30"),
     ("field activities.5.windows.0", "outside the scenario's day")),
    ("unknown-mix-knob", _set("personas/teacher/mix", {"grades": 0.5}),
     ("field personas.teacher", "'grades'")),
    ("negative-mix", _set("personas/guardian/mix/report_card_share", -1),
     ("field personas.guardian", "-1")),
    ("assumption-without-source", _set("assumptions/clerk.first_day_sessions",
                                       {"value": 20}),
     ("field assumptions.clerk.first_day_sessions.source", "Field required")),
    ("assumption-bad-source", _set("assumptions/clerk.first_day_sessions/source", "a guess"),
     ("field assumptions.clerk.first_day_sessions.source", "'a guess'", "[E]")),
    ("assumption-bad-value", _set("assumptions/clerk.first_day_sessions/value", "many"),
     ("field assumptions.clerk.first_day_sessions.value", "'many'")),
    ("bad-target", _set("target", "peoplesoft"), ("field target", "'peoplesoft'")),
    ("bad-plan-knob", _set("plan", {"probe_rate": 2}), ("field plan.probe_rate", "2")),
    ("bad-step", _set("steps", [{"factor": -1, "seconds": 60}]),
     ("field steps.0.factor", "-1")),
    ("saturday", _set("date", "2018-09-08"), ("field date", "2018-09-08 is a Saturday")),
    ("holiday", _set("date", "2018-11-22"), ("field date", "Thanksgiving, a holiday")),
    ("summer", _set("date", "2019-07-15"), ("field date", "outside school year 2018-2019")),
    ("unknown-period", _set("date", "end:Quarter 9"), ("field date", "'Quarter 9'")),
    ("not-a-date", _set("date", "tomorrow"), ("field date", "'tomorrow'")),
    ("infinite-peak", _set("peak_rate", float("inf")), ("field peak_rate", "inf")),
    ("negative-assumption", _set("assumptions/clerk.first_day_sessions/value", -5),
     ("field assumptions.clerk.first_day_sessions.value", "-5")),
    ("sweep-without-shares", _set("sweep", {"personas": {"teacher": 0}, "users": [1],
                                            "seconds": 10}),
     ("field sweep.personas", "add up to more than 0")),
    ("sweep-unknown-persona", _set("sweep", {"personas": {"ghost": 1}, "users": [1],
                                             "seconds": "1m"}),
     ("field sweep.personas", "'ghost'")),
    ("unquoted-time", _set("activities/3/windows/0/to", 510),
     ("field activities.3.windows.0.to", "quote clock times")),
    ("share-above-one", _set("personas/guardian/mix/report_card_share", 7),
     ("field personas.guardian", "a share is between 0 and 1")),
    ("mix-names-missing-assumption", _set("personas/teacher/mix/grade_share", "no.such"),
     ("field personas.teacher.mix.grade_share", "'no.such'")),
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.parametrize(("name", "edit", "hints"), CASES, ids=[c[0] for c in CASES])
def test_a_broken_scenario_exits_2_naming_file_field_and_value(
        name: str, edit: Edit, hints: tuple[str, ...], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    day = copy.deepcopy(BASE)
    edit(day)
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(day, sort_keys=False), encoding="utf-8")
    code, output = _run(["plan", str(path)], capsys)
    message = " ".join(output.split())  # Rich wraps long lines
    assert code == 2, output
    assert "Traceback" not in output
    assert str(path) in message, message
    for hint in hints:
        assert hint in message, (hint, message)


def test_the_corpus_is_big_enough() -> None:
    assert len(CASES) >= 20


@pytest.mark.parametrize(("text", "hints"), [
    ("not: [valid", ("not YAML",)),
    ("- a list\n", ("is a YAML mapping",)),
])
def test_unreadable_scenarios(text: str, hints: tuple[str, ...], tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "day.yaml"
    path.write_text(text)
    code, output = _run(["plan", str(path)], capsys)
    assert code == 2 and str(path) in " ".join(output.split())
    assert all(h in output for h in hints), output


@pytest.mark.parametrize(("args", "hints"), [
    (["--assume", "teacher.login_share"], ("--assume", "NAME=VALUE")),
    (["--assume", "teacher.login_share=most"], ("'most' is not a number",)),
    (["--assume", "teachers.login_share=0.5"], ("no assumption 'teachers.login_share'",)),
    (["--window", "7:30-9"], ("--window", "'7:30'")),
    (["--window", "05:00-07:00"], ("--window 05:00-07:00", "outside the scenario's day")),
    (["--speed", "0"], ("--speed 0",)),
    (["--scale", "-1"], ("--scale -1",)),
    (["--profile", "atlantis"], ("profile 'atlantis' not found",)),
    (["--every", "soon"], ("--every", "'soon'")),
    (["--scale", "inf"], ("--scale inf",)),
    (["--speed", "nan"], ("--speed nan",)),
    (["--assume", "teacher.login_share=nan"], ("must be a finite number",)),
    (["--assume", "teacher.login_share=-1"], ("must be a finite number",)),
    (["--assume", "students=1"], ("students is not used by scenario 'back-to-school'",
                                  "would change nothing")),
    (["--out", "/nonexistent-folder/plan.json"], ("option --out", "cannot write")),
])
def test_bad_options_exit_2(args: list[str], hints: tuple[str, ...],
                            capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _run(["plan", "back-to-school", *args], capsys)
    message = " ".join(output.split())
    assert code == 2, output
    assert all(h in message for h in hints), message


def test_a_binary_file_is_not_a_traceback(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "day.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")
    code, output = _run(["plan", str(path)], capsys)
    assert code == 2 and "not a text file" in output and "Traceback" not in output
    code, output = _run(["plan", "smoke", "--assumptions", str(path)], capsys)
    assert code == 2 and "not a text file" in output


def test_a_bad_assumptions_file_names_file_field_and_value(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "ours.yaml"
    path.write_text("teacher.login_share: {value: high, source: '[E]'}\n")
    code, output = _run(["plan", "back-to-school", "--assumptions", str(path)], capsys)
    message = " ".join(output.split())
    assert code == 2 and f"{path}: field teacher.login_share" in message
    assert "'high' is not a number" in message


def test_a_bad_thresholds_file_stops_a_run_before_any_request(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "thresholds.yaml"
    path.write_text("version: 1\nobjectives:\n  auth: {description: a, p95: fast}\n"
                    "arrivals: {description: a, min_ratio: 0.9}\n")
    code, output = _run(["run", "smoke", "--target", "http://127.0.0.1:9",
                         "--thresholds", str(path), "--out", str(tmp_path / "run")], capsys)
    message = " ".join(output.split())
    assert code == 2 and str(path) in message and "objectives.auth.p95" in message
    assert "'fast'" in message and not (tmp_path / "run").exists()


def test_a_target_outside_loopback_is_refused_before_any_request(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = _run(["run", "smoke", "--target", "https://sis.district.example.org",
                         "--out", str(tmp_path / "run")], capsys)
    message = " ".join(output.split())
    assert code == 2 and "refusing to send load to 'sis.district.example.org'" in message
    assert "--staging-hosts" in message and not (tmp_path / "run").exists()


@pytest.mark.parametrize(("args", "hints"), [
    ([], ("--userpool is required",)),
    (["--userpool", "/nonexistent-pool"], ("--userpool /nonexistent-pool",
                                           "teacher.arrow")),
    (["--userpool", ".", "--oneroster-client", "abc"], ("--oneroster-client 'abc'",)),
])
def test_run_refuses_unusable_inputs_before_writing_anything(
        args: list[str], hints: tuple[str, ...], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    if "--oneroster-client" in args:  # a pool that is complete, so the client is what fails
        pool = tmp_path / "pool"
        pool.mkdir()
        for name in ("teacher", "student", "guardian", "clerk", "district_admin",
                     "terminated_staff"):
            (pool / f"{name}.arrow").write_bytes(b"")
        args = ["--userpool", str(pool), *args[2:]]
    out = tmp_path / "run"
    code, output = _run(["run", "smoke", "--target", "http://127.0.0.1:9", "--out", str(out),
                         *args], capsys)
    message = " ".join(output.split())
    assert code == 2 and all(h in message for h in hints), message
    assert not out.exists()


def test_run_refuses_an_out_that_is_a_file(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    pool = tmp_path / "pool"
    pool.mkdir()
    for name in ("teacher", "student", "guardian", "clerk", "district_admin",
                 "terminated_staff"):
        (pool / f"{name}.arrow").write_bytes(b"")
    taken = tmp_path / "taken"
    taken.write_text("x")
    code, output = _run(["run", "smoke", "--target", "http://127.0.0.1:9", "--userpool",
                         str(pool), "--out", str(taken)], capsys)
    assert code == 2 and "is not an empty folder" in " ".join(output.split())
    assert taken.read_text() == "x"
