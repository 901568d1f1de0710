"""Broken rosters, logs, metrics files and options: each one exits 2 with one paragraph
naming the file, the line and the field (or the option), no traceback, and no output folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import COLUMNS, LOG, METRICS, ROSTER

from firstbell.cli import main

USERS_11 = "sourcedId,status,enabledUser,orgSourcedIds,role\n"
ORGS = "sourcedId,name,type\norg-district,D,district\nsch-0001,One,school\n"

# (name, {file: text}, extra args (default: the generic roster), expected in the message)
CASES: list[tuple[str, dict[str, str], list[str], list[str]]] = [
    # rosters
    ("roster header lacks a mapped column", {"staff.csv": "id,title\nt1,teacher\n"}, [],
     ["staff.csv line 1, field building"]),
    ("roster person empty", {"staff.csv": ROSTER.replace("t2,S1", ",S1")}, [],
     ["staff.csv line 3, field id", "is empty"]),
    ("roster person twice", {"staff.csv": ROSTER.replace("t3,S1", "t1,S1")}, [],
     ["staff.csv line 4, field id", "'t1' is already on line 2"]),
    ("roster students not a number", {"staff.csv": ROSTER.replace("t1,S1,teacher,100",
                                                                   "t1,S1,teacher,many")}, [],
     ["staff.csv line 2, field enrolled", "'many'"]),
    ("roster active flag", {"staff.csv": ROSTER.replace("t1,S1,teacher,100,active",
                                                        "t1,S1,teacher,100,maybe")}, [],
     ["staff.csv line 2, field status", "'maybe'"]),
    ("roster role empty", {"staff.csv": ROSTER.replace("t4,S1,teacher", "t4,S1,")}, [],
     ["staff.csv line 5, field title", "is empty"]),
    ("roster ragged row", {"staff.csv": ROSTER.replace("t2,S1,teacher,100,active",
                                                       "t2,S1,teacher")}, [],
     ["staff.csv line 3", "3 fields where the header has 5"]),
    ("roster empty file", {"staff.csv": ""}, [], ["staff.csv line 1", "empty"]),
    ("columns not FIELD=COLUMN", {}, ["--columns", "person=id,school"],
     ["option --columns", "'school' is not FIELD=COLUMN"]),
    ("columns without role", {}, ["--columns", "person=id,school=building"],
     ["option --columns", "no column for role"]),
    ("oneroster 1.2 users without roles", {
        "users.csv": "sourcedId,enabledUser,primaryOrgSourcedId\nu1,true,sch-0001\n",
        "orgs.csv": ORGS}, ["--roster", "users.csv", "--orgs", "orgs.csv"],
     ["users.csv line 1, field role", "roles.csv"]),
    ("oneroster user of an unknown org", {
        "users.csv": USERS_11 + "u1,active,true,sch-0009,teacher\n", "orgs.csv": ORGS},
     ["--roster", "users.csv", "--orgs", "orgs.csv"],
     ["users.csv line 2, field orgSourcedIds", "'sch-0009' is not an org of"]),
    ("oneroster orgs without type", {
        "users.csv": USERS_11, "orgs.csv": "sourcedId,name\nsch-0001,One\n"},
     ["--roster", "users.csv", "--orgs", "orgs.csv"], ["orgs.csv line 1, field type"]),
    ("oneroster user without sourcedId", {
        "users.csv": USERS_11 + ",active,true,sch-0001,teacher\n", "orgs.csv": ORGS},
     ["--roster", "users.csv", "--orgs", "orgs.csv"],
     ["users.csv line 2, field sourcedId", "is empty"]),
    ("oneroster users.csv without --orgs", {"users.csv": USERS_11},
     ["--roster", "users.csv"], ["option --roster", "--orgs"]),
    ("not a zip", {"export.zip": "not a zip"}, ["--roster", "export.zip"],
     ["export.zip", "not a readable zip"]),
    # logs
    ("log header lacks action", {"log.csv": "who,when\nt1,2019-04-01\n"}, [],
     ["log.csv line 1, field what"]),
    ("log time not a date", {"log.csv": LOG.replace("2019-03-26,module", "26/03/2019,module")},
     [], ["log.csv line 3, field when", "'26/03/2019' is not an ISO 8601"]),
    ("log person empty", {"log.csv": LOG.replace("t5,2019-03-25T08", ",2019-03-25T08")}, [],
     ["log.csv line 2, field who", "empty"]),
    ("log ragged row", {"log.csv": LOG.replace("t5,2019-03-26,module", "t5,2019-03-26")}, [],
     ["log.csv line 3", "2 fields where the header has 3"]),
    ("log has no events", {"log.csv": "who,when,what\n"}, [], ["log.csv", "no events"]),
    ("jsonl line not JSON", {"log.jsonl": '{"who": "t1", "when": "2019-04-01", "what": '
                                          '"login"}\n{"who": \n'},
     ["--activity", "log.jsonl"], ["log.jsonl line 2: not JSON"]),
    ("jsonl event without action", {"log.jsonl": '{"who": "t1", "when": "2019-04-01"}\n'},
     ["--activity", "log.jsonl"], ["log.jsonl line 1, field what: missing"]),
    ("jsonl line not an object", {"log.jsonl": '["t1", "2019-04-01", "login"]\n'},
     ["--activity", "log.jsonl"], ["log.jsonl line 1: list where an object"]),
    ("log missing file", {}, ["--activity", "nowhere.csv"], ["nowhere.csv: cannot read"]),
    # metrics files
    ("metrics not YAML", {"readiness.yaml": "version: 1\nroles: [teacher\n"}, [],
     ["readiness.yaml: not YAML", "line 3"]),
    ("metrics unknown action", {"readiness.yaml": METRICS.replace("action: training,",
                                                                 "action: train,")}, [],
     ["readiness.yaml", "line 11, field metrics.1.action", "'train'"]),
    ("metrics target above 1", {"readiness.yaml": METRICS.replace("teacher: 0.75",
                                                                 "teacher: 75")}, [],
     ["line 10, field metrics.0.targets.teacher", "share from 0 to 1", "75"]),
    ("metrics target of an unknown role", {"readiness.yaml": METRICS.replace(
        "targets: {teacher: 0.5}", "targets: {teachers: 0.5}")}, [],
     ["line 11, field metrics.1.targets.teachers", "not one of the roles"]),
    ("metrics unknown kind", {"readiness.yaml": METRICS.replace("kind: median_days_before",
                                                               "kind: median")}, [],
     ["line 12, field metrics.2.kind", "'median'"]),
    ("metrics version", {"readiness.yaml": METRICS.replace("version: 1", "version: 2")}, [],
     ["line 1, field version", "2"]),
    ("metrics role counted twice", {"readiness.yaml": METRICS.replace(
        "office: [clerk]", "office: [clerk, teacher]")}, [],
     ["line 5, field roles.office.1", "already in roles.teacher"]),
    ("metrics unknown key", {"readiness.yaml": METRICS.replace(
        "kind: share_by, action: login,", "kind: share_by, colour: red, action: login,")}, [],
     ["line 10, field metrics.0.colour", "Extra inputs are not permitted"]),
    ("metrics roles match no roster role", {"readiness.yaml": METRICS.replace(
        "teacher: [teacher]", "teacher: [Teacher]").replace("office: [clerk]", "office: [Clerk]")},
     [], ["staff.csv: no active staff at a school has a role",
          "the roster's roles at schools are teacher (6), clerk (2)"]),
    ("metrics not a mapping", {"readiness.yaml": "- 1\n"}, [],
     ["readiness.yaml: the readiness metrics are a mapping"]),
    # options
    ("go-live not a date", {}, ["--go-live", "22/04/2019"],
     ["option --go-live = '22/04/2019'", "YYYY-MM-DD"]),
    ("two rosters", {}, ["--generate"], ["give the roster one way"]),
    ("a log with --generate", {}, ["--generate", "--roster", "-"],
     ["option --activity = 'log.csv'", "--generate scores the log it generates"]),
]


def arguments(extra: list[str]) -> list[str]:
    """The generic roster, the log, the metrics file and the go-live, with the case's options
    in place of the same ones (a --roster of its own drops --columns; `-` leaves it out)."""
    options: dict[str, str | None] = {
        "--roster": "staff.csv", "--columns": COLUMNS, "--activity": "log.csv",
        "--metrics": "readiness.yaml", "--go-live": "2019-04-22", "--out": "out"}
    i = 0
    while i < len(extra):
        value = extra[i + 1] if i + 1 < len(extra) and not extra[i + 1].startswith("--") \
            else None
        if extra[i] == "--roster":
            options.pop("--columns")
        options[extra[i]] = value
        if value == "-":  # the option left out
            options.pop(extra[i])
        i += 2 if value is not None else 1
    return [part for flag, value in options.items()
            for part in ([flag] if value is None else [flag, value])]


@pytest.mark.parametrize(("files", "extra", "expected"),
                         [pytest.param(f, a, e, id=name) for name, f, a, e in CASES])
def test_bad_input_exits_2_naming_file_line_and_field(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        files: dict[str, str], extra: list[str], expected: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    base = {"staff.csv": ROSTER, "log.csv": LOG, "readiness.yaml": METRICS}
    for name, text in {**base, **files}.items():
        Path(name).write_text(text)
    code = main(["readiness", *arguments(extra)])
    err = capsys.readouterr().err
    text = " ".join(err.split())
    assert code == 2, err
    assert "Traceback" not in err
    for part in expected:
        assert " ".join(part.split()) in text, err
    assert not Path("out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.partial")]


def test_there_are_twenty_or_more_cases() -> None:
    assert len(CASES) >= 20


def test_out_folder_that_is_not_ours_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    Path("staff.csv").write_text(ROSTER)
    Path("log.csv").write_text(LOG)
    Path("readiness.yaml").write_text(METRICS)
    Path("out").mkdir()
    Path("out/keep.txt").write_text("mine")
    code = main(["readiness", "--roster", "staff.csv", "--columns", COLUMNS, "--activity",
                 "log.csv", "--metrics", "readiness.yaml", "--out", "out"])
    assert code == 2 and "option --out = 'out'" in capsys.readouterr().err
    assert Path("out/keep.txt").read_text() == "mine"
