"""`firstbell rehearse`: its district cache is keyed by the profile file's bytes, scale and seed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from rich.console import Console
from support.profiles import SMALL_PROFILE, profile_variant

from firstbell.cli import main
from firstbell.districts import district_cache
from firstbell.rehearse_cmd import STATE_DIR, _district


def test_cache_key_follows_the_profile_content(tmp_path: Path) -> None:
    builtin = district_cache("small", 1.0, 42)
    assert builtin.parent == STATE_DIR / "districts"
    assert builtin.name.startswith("small-") and builtin.name.endswith("-scale1-seed42")
    # A custom file named small.yaml is another district, unless its bytes are the built-in's.
    custom = profile_variant(tmp_path, lambda d: d["staff"].update(teachers=310),
                             name="small.yaml")
    assert district_cache(str(custom), 1.0, 42) != builtin
    copy = tmp_path / "copy" / "small.yaml"
    copy.parent.mkdir()
    shutil.copyfile(SMALL_PROFILE, copy)
    assert district_cache(str(copy), 1.0, 42) == builtin
    # An edit is a new key; scale and seed are part of it.
    before = district_cache(str(custom), 1.0, 42)
    custom.write_text(custom.read_text() + "\n# edited\n")
    assert district_cache(str(custom), 1.0, 42) != before
    assert len({district_cache("small", 1.0, 42), district_cache("small", 0.5, 42),
                district_cache("small", 1.0, 7)}) == 3


def test_rehearse_reuses_the_cache_only_for_the_same_profile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The district step of `firstbell rehearse` (the whole rehearsal is tested in
    tests/firstbell/test_rehearse_run.py)."""
    monkeypatch.chdir(tmp_path)
    console = Console(width=200, record=True)

    def step(profile: str) -> str:
        _district(profile, 0.1, 3, console)
        return " ".join(console.export_text(clear=True).split())

    assert "district: generating 'small'" in step("small")
    assert "district: cached" in step("small")
    (tmp_path / "mine").mkdir()
    custom = profile_variant(tmp_path / "mine", lambda d: d["staff"].update(employees=600),
                             name="small.yaml")
    assert "district: generating" in step(str(custom))  # not the built-in small's cache
    custom.write_text(custom.read_text().replace("employees: 600", "employees: 640"))
    out = step(str(custom))
    assert "district: generating" in out  # the edit is picked up
    assert "employees (active) │ 64 │ 64" in out
    assert len(list((tmp_path / STATE_DIR / "districts").iterdir())) == 3


def test_rehearse_refuses_a_bad_seed_and_an_unknown_profile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["rehearse", "--profile", "small", "--seed", "-5"]) == 2
    assert "-5 is out of range" in " ".join(re.sub("[│╭╮╰╯─]", " ",
                                                   capsys.readouterr().err).split())
    assert main(["rehearse", "--profile", "nope"]) == 2
    assert "profile 'nope' not found" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
