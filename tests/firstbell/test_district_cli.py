"""`firstbell district generate / describe` end to end: determinism, formats and bad input."""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console
from support.profiles import profile_variant

from fake_data.district import TABLES
from firstbell import district_cmd
from firstbell.cli import main

SMALL = ["district", "generate", "--profile", "small", "--seed", "42"]


def _plain(text: str) -> str:
    """Terminal text as one line: click's error box and line wrapping removed."""
    return " ".join(re.sub(r"[│╭╮╰╯─]", " ", text).split())


def _digests(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_gives_byte_identical_output_other_seed_differs(tmp_path: Path) -> None:
    args = [*SMALL, "--history-days", "2"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 0
    assert main([*args, "--out", str(tmp_path / "b")]) == 0
    assert main([*SMALL[:-1], "7", "--history-days", "2", "--out", str(tmp_path / "c")]) == 0
    a, b, c = (_digests(tmp_path / n) for n in "abc")
    assert set(a) >= {
        "district.json", "SYNTHETIC.txt", "parquet/students.parquet", "oneroster-1.1.zip",
        "oneroster-1.2.zip", "userpool/guardian.arrow", "history/scores.parquet",
    }
    assert a == b
    differing = {name for name in a if a[name] != c.get(name)}
    assert {"parquet/students.parquet", "oneroster-1.2.zip", "userpool/teacher.arrow",
            "history/attendance_daily.parquet"} <= differing
    manifest = json.loads((tmp_path / "a" / "district.json").read_text())
    assert manifest["synthetic"] is True and manifest["seed"] == 42
    assert manifest["files"]["parquet/students.parquet"] == a["parquet/students.parquet"]
    assert manifest["history_rows"]["attendance_daily"] == 2 * manifest["tables"]["students"]


def test_formats_subset_and_describe(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d"
    assert main([*SMALL, "--formats", "parquet", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["SYNTHETIC.txt", "district.json", "parquet"]
    capsys.readouterr()
    assert main(["district", "describe", str(out)]) == 0
    text = capsys.readouterr().out
    for expected in ("elementary schools", "grade PK", "students with a sibling",
                     "no-access guardian links", "teacher", "high scheduled max"):
        assert expected in text


def test_force_replaces_only_a_generated_district(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main([*SMALL, "--formats", "parquet", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    # --force does not delete a folder that is not a generated district.
    assert main([*SMALL, "--formats", "parquet", "--out", str(out), "--force"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"--out = '{out}'" in err and "does not look like a generated district" in err
    assert (out / "keep.txt").read_text() == "mine"
    # It does replace a district generated there before.
    done = tmp_path / "done"
    assert main([*SMALL, "--formats", "parquet", "--out", str(done)]) == 0
    (done / "parquet" / "stale.parquet").write_text("old")
    assert main([*SMALL, "--formats", "userpool", "--out", str(done)]) == 2
    assert main([*SMALL, "--formats", "userpool", "--out", str(done), "--force"]) == 0
    assert sorted(p.name for p in done.iterdir()) == ["SYNTHETIC.txt", "district.json",
                                                      "userpool"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d", "done"]  # no temp folders left


_bad_profile = profile_variant


@pytest.mark.parametrize(
    ("make_args", "expected"),
    [
        (lambda t: ["--profile", str(_bad_profile(t, lambda d: d.update(colour="red")))],
         ["bad.yaml", "colour", "'red'", "unknown field"]),
        (lambda t: ["--profile", str(_bad_profile(
            t, lambda d: d["staff"].update(teachers=-3)))], ["bad.yaml", "staff.teachers", "-3"]),
        (lambda t: ["--scale", "11"], ["--scale = 11.0", "0.001", "10"]),
        (lambda t: ["--formats", "parquet,csv"], ["--formats", "csv", "oneroster-1.2"]),
        (lambda t: ["--history-days", "-1"], ["--history-days = -1"]),
        (lambda t: ["--profile", str(_bad_profile(
            t, lambda d: d["levels"]["high"]["homeroom_grades"].append("13")))],
         ["bad.yaml", "levels.high.homeroom_grades", "'13'", "use PK, K, 1..12"]),
        (lambda t: ["--seed", "-1"], ["--seed", "-1 is out of range", "0 to 9223372036854775807"]),
    ],
)
def test_bad_input_exits_2_naming_the_problem(tmp_path: Path, make_args, expected) -> None:
    out = tmp_path / "out"
    args = [sys.executable, "-m", "firstbell.cli", "district", "generate", "--profile", "small",
            "--out", str(out), *make_args(tmp_path)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    message = _plain(proc.stderr)
    for fragment in expected:
        assert fragment in message, message
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir()] == (["bad.yaml"] if (tmp_path / "bad.yaml").exists()
                                                     else [])


@pytest.mark.parametrize("where", ["under_a_file", "proc"])
def test_unwritable_output_folder(tmp_path: Path, where: str,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    if where == "under_a_file":
        blocker = tmp_path / "file.txt"
        blocker.write_text("x")
        out = blocker / "district"
    else:
        out = Path("/proc/firstbell-district")
    assert main([*SMALL, "--out", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"--out = '{out}'" in err
    assert not out.exists()


def test_environment_spelling_of_options(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIRSTBELL_PROFILE", "small")
    monkeypatch.setenv("FIRSTBELL_FORMATS", "userpool")
    out = tmp_path / "env"
    assert main(["district", "generate", "--out", str(out)]) == 0
    manifest = json.loads((out / "district.json").read_text())
    assert manifest["profile"] == "small" and manifest["formats"] == ["userpool"]


@pytest.mark.parametrize("seed", ["-1", str(2**63)])
def test_seed_out_of_range_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      seed: str) -> None:
    assert main([*SMALL[:-1], seed, "--out", str(tmp_path / "d")]) == 2
    err = _plain(capsys.readouterr().err)
    assert "--seed" in err and f"{seed} is out of range" in err
    assert main([*SMALL[:-1], str(2**63 - 1), "--scale", "0.1", "--formats", "parquet",
                 "--out", str(tmp_path / "max")]) == 0
    assert list(tmp_path.iterdir()) == [tmp_path / "max"]


@pytest.mark.parametrize("out", [".", "..", "sub/..", "", "CWD_PARENT"])
def test_out_must_name_a_folder_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str], out: str) -> None:
    work = tmp_path / "work" / "here"
    work.mkdir(parents=True)
    (work / "mine.txt").write_text("keep")
    monkeypatch.chdir(work)
    if out == "CWD_PARENT":
        out = str(tmp_path / "work")
    assert main([*SMALL, "--formats", "parquet", "--out", out, "--force"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert f"--out = '{Path(out)}'" in err and "Name a new folder" in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["here", "mine.txt", "work"]


def test_history_beyond_the_calendar_is_refused(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d"
    assert main([*SMALL, "--history-days", "100000", "--out", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "--history-days = 100000" in err and "only 146 school days" in err
    assert "small.yaml" in err and "Use --history-days 146 or fewer" in err
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_deviations_from_the_profile_are_reported(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny"
    assert main([*SMALL, "--scale", "0.1", "--formats", "parquet", "--out", str(out)]) == 0
    printed = " ".join(capsys.readouterr().out.split())
    manifest = json.loads((out / "district.json").read_text())
    assert [w.split(":")[0] for w in manifest["warnings"]] == ["teachers"]
    summary, _, warnings = printed.partition("warning:")
    assert "Generated district 'small'" in summary
    assert " ".join(manifest["warnings"][0].split()) in warnings
    assert main(["district", "describe", str(out)]) == 0
    assert "warning: teachers" in capsys.readouterr().out
    full = tmp_path / "full"
    assert main([*SMALL, "--formats", "parquet", "--out", str(full)]) == 0
    assert "warning" not in capsys.readouterr().out
    assert json.loads((full / "district.json").read_text())["warnings"] == []


def test_progress_shows_a_bar_per_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    screen = io.StringIO()
    monkeypatch.setattr(district_cmd, "_stderr", lambda: Console(
        file=screen, force_terminal=True, width=120, color_system=None))
    out = tmp_path / "d"
    assert main([*SMALL, "--formats", "parquet", "--out", str(out)]) == 0
    rows = json.loads((out / "district.json").read_text())["tables"]
    text = screen.getvalue()
    for name in TABLES:  # on one line: the table, its (full) bar and its rows
        assert re.search(rf"table {name}\s[^\n]*━[^\n]*\s{rows[name]:,} rows?\b", text), name
