"""One district read three ways gives one roster: the generated folder's Parquet, its
OneRoster 1.1 zip and its OneRoster 1.2 files (users, orgs, roles); the same scorecard comes
out of each; a JSON lines log reads as its CSV; and a log whose people the roster does not
have says how many and which."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from fake_data.activity import Window, build_activity, write_activity
from fake_data.district import District
from fake_data.output import Request, write_district
from kernel.errors import UserError
from readiness import (
    evaluate,
    load_activity,
    load_district_folder,
    load_metrics,
    load_oneroster,
    load_oneroster_zip,
)
from readiness.activity import _fast, _slow


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("district") / "small"
    write_district(Request("small", 1.0, 42, ("parquet", "oneroster-1.1", "oneroster-1.2",
                                               "activity")), out)
    with zipfile.ZipFile(out / "oneroster-1.2.zip") as zf:
        zf.extractall(out / "v12")
    return out


def test_three_sources_one_roster(folder: Path) -> None:
    parquet = load_district_folder(folder)
    v11 = load_oneroster_zip(folder / "oneroster-1.1.zip")
    v12 = load_oneroster(folder / "v12/users.csv", folder / "v12/orgs.csv",
                         folder / "v12/roles.csv")
    assert parquet.go_live is not None and parquet.go_live.isoformat() == "2019-04-22"
    for other in (v11, v12):
        assert other.person == parquet.person
        assert other.school_ids == parquet.school_ids
        assert other.school.tolist() == parquet.school.tolist()
        assert other.active.tolist() == parquet.active.tolist()
        assert other.students.tolist() == parquet.students.tolist()
    # the teacher role is spelled alike in all three; 1.1 folds clerks into administrator
    assert [r == "teacher" for r in v11.role] == [r == "teacher" for r in parquet.role]
    assert "clerk" in parquet.role and "administrator" in v11.role


def test_same_scorecard_from_parquet_and_oneroster(folder: Path) -> None:
    metrics = load_metrics()
    parquet = load_district_folder(folder)
    v12 = load_oneroster(folder / "v12/users.csv", folder / "v12/orgs.csv",
                         folder / "v12/roles.csv")
    a = evaluate(parquet, load_activity(folder / "activity.csv", parquet, metrics), metrics,
                 parquet.go_live)
    b = evaluate(v12, load_activity(folder / "activity.csv", v12, metrics), metrics,
                 parquet.go_live)
    assert a.as_json() == {**b.as_json(), "roster": a.roster}


def test_jsonl_log_reads_as_csv(folder: Path, small: District, tmp_path: Path) -> None:
    metrics = load_metrics()
    roster = load_district_folder(folder)
    log = build_activity(small, Window(small.profile.calendar.cutover_date), 42)
    write_activity(log, tmp_path / "log.jsonl")
    write_activity(log, tmp_path / "log.csv")
    a = load_activity(tmp_path / "log.jsonl", roster, metrics)
    b = load_activity(tmp_path / "log.csv", roster, metrics)
    assert a.rows == b.rows == log.num_rows
    assert (a.person == b.person).all() and (a.day == b.day).all()


def test_ids_that_do_not_match_say_how_many_and_which(folder: Path, tmp_path: Path) -> None:
    roster = load_district_folder(folder)
    metrics = load_metrics()
    text = (folder / "activity.csv").read_text()
    # the log names people by employee number instead of sourcedId
    renamed = text.replace('"stf-', '"emp-')
    (tmp_path / "log.csv").write_text(renamed)
    with pytest.raises(UserError) as err:
        load_activity(tmp_path / "log.csv", roster, metrics)
    message = str(err.value)
    people = len({line.split(",")[0] for line in renamed.splitlines()[1:]})
    assert f"{people:,} of {people:,} people in the log (100%) are not in the roster" in message
    assert "first 5: emp-" in message and message.count("emp-") == 5
    assert "stf-000001, stf-000002" in message  # what the roster's ids look like
    # a few unknown people are a warning that still names them
    lines = text.splitlines()
    (tmp_path / "few.csv").write_text("\n".join([*lines, '"stf-999998","2019-03-01T09:00:00",'
                                                 '"sandbox_login"', '"stf-999999","2019-03-01'
                                                 'T09:00:00","sandbox_login"']) + "\n")
    few = load_activity(tmp_path / "few.csv", roster, metrics)
    assert few.unmatched == ["stf-999998", "stf-999999"] and few.unmatched_people == 2
    assert few.warnings()[0].startswith("2 of ")
    assert few.warnings()[0].endswith("are not in the roster: stf-999998, stf-999999")


def test_fast_and_line_by_line_readers_agree(hand: dict[str, Path]) -> None:
    """A well-formed CSV is read whole with Arrow; anything unusual goes line by line (to name
    the line): both give the same events, unknown people and ignored actions."""
    cols = load_metrics(hand["metrics"]).log
    fast, slow = _fast(hand["log"], cols), _slow(hand["log"], cols)
    assert fast is not None
    assert fast.people == slow.people and fast.actions == slow.actions
    assert fast.rows == slow.rows == 17
    for a, b in ((fast.person, slow.person), (fast.day, slow.day), (fast.action, slow.action)):
        assert a.tolist() == b.tolist()
    odd = hand["log"].read_text().replace("2019-03-26,module", "20190326,module")
    hand["log"].write_text(odd)
    assert _fast(hand["log"], cols) is None  # fromisoformat's basic format: line by line
    assert _slow(hand["log"], cols).day.tolist() == slow.day.tolist()
