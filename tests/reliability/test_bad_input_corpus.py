"""The bad-input corpus (tests/reliability/corpus/): malformed district profiles, launch
thresholds, target files, target URLs, OneRoster CSV files and command-line arguments, one file
(or folder) per case, each run through the real command line (`firstbell.cli.main`, as the
console script runs it): exit 2, a message naming the file (or option) and what is wrong in it
(corpus/expected.yaml), never a traceback, and nothing written. The broken scenario files have
their own corpus (tests/scenarios/test_broken_scenarios.py), as do cell-level OneRoster errors
(tests/staging/test_oneroster_import.py)."""

from __future__ import annotations

import shlex
import zipfile
from pathlib import Path

import pytest
import yaml

from fake_data.district import generate
from fake_data.export_oneroster import write_oneroster
from fake_data.profile import load_profile
from firstbell.cli import main

CORPUS = Path(__file__).with_name("corpus")
EXPECTED: dict[str, list[str]] = yaml.safe_load((CORPUS / "expected.yaml").read_text())
KINDS = ("profiles", "thresholds", "targets", "urls", "oneroster", "cli")


def cases() -> list[str]:
    return sorted(f"{kind}/{p.name}" for kind in KINDS for p in (CORPUS / kind).iterdir())


@pytest.fixture(scope="module")
def valid_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A valid OneRoster 1.2 export of a tiny district: each OneRoster case replaces files in
    it with its own."""
    folder = tmp_path_factory.mktemp("oneroster")
    return write_oneroster(generate(load_profile("small"), 0.01, 5), folder / "ok.zip", "1.2")


def argv(case: str, tmp: Path, valid_zip: Path) -> tuple[list[str], str]:
    """The command line of a case, and the name its message must show."""
    kind, path = case.split("/", 1)[0], CORPUS / case
    if kind == "profiles":
        return ["plan", "smoke", "--profile", str(path)], str(path)
    if kind == "thresholds":
        return ["monitoring", "generate", "--check", "--thresholds", str(path)], str(path)
    if kind == "targets":
        return ["target", "check", str(path), "--target", "http://127.0.0.1:9"], str(path)
    if kind == "urls":
        return ["run", "smoke", "--target", path.read_text().strip(), "--out",
                str(tmp / "run")], "--target"
    if kind == "oneroster":
        out = tmp / f"{path.name}.zip"
        with zipfile.ZipFile(valid_zip) as base, zipfile.ZipFile(out, "w") as zf:
            for name in base.namelist():
                own = path / name
                zf.writestr(name, own.read_bytes() if own.exists() else base.read(name))
        return ["staging", "import", str(out), "--database-url",
                f"host={tmp} dbname=none"], out.name
    # an argument's case names its option or path in corpus/expected.yaml
    return shlex.split(path.read_text().strip().format(tmp=tmp)), ""


@pytest.mark.parametrize("case", cases())
def test_bad_input_exits_2_naming_the_problem(case: str, tmp_path: Path, valid_zip: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    args, name = argv(case, tmp_path, valid_zip)
    before = sorted(tmp_path.rglob("*"))
    code = main(args)
    captured = capsys.readouterr()
    output = captured.out + captured.err
    message = " ".join(output.split())  # Rich wraps long lines
    assert code == 2, output
    assert "Traceback" not in output
    assert name in message, message
    for fragment in EXPECTED[case]:
        assert fragment in message, (fragment, message)
    assert sorted(tmp_path.rglob("*")) == before  # nothing written


def test_the_corpus_is_whole() -> None:
    assert len(cases()) >= 40
    assert sorted(EXPECTED) == cases()  # every case has its expectation, and only those
    assert {c.split("/")[0] for c in cases()} == set(KINDS)
