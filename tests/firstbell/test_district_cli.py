"""`firstbell district generate / describe` end to end: determinism, formats and bad input."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from support.profiles import profile_variant

from firstbell.cli import main

SMALL = ["district", "generate", "--profile", "small", "--seed", "42"]


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


def test_existing_folder_needs_force(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "d"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main([*SMALL, "--formats", "parquet", "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"
    assert main([*SMALL, "--formats", "parquet", "--out", str(out), "--force"]) == 0
    assert not (out / "keep.txt").exists() and (out / "district.json").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["d"]  # no temp folders left behind


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
    ],
)
def test_bad_input_exits_2_naming_the_problem(tmp_path: Path, make_args, expected) -> None:
    out = tmp_path / "out"
    args = [sys.executable, "-m", "firstbell.cli", "district", "generate", "--profile", "small",
            "--out", str(out), *make_args(tmp_path)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    message = " ".join(proc.stderr.split())
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
