"""A district's own Python target module, outside the package, for what a target file cannot
say: loaded from its file or as an importable module, through the same `Browser` protocol."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from loadtests.targets import load_target

MODULE = '''
from loadtests.browser import Browser, LoginSpec

NAME = "district_sis"
LOGIN = LoginSpec(path="/api/login", body=lambda u, p: {"username": u, "password": p},
                  token=lambda r: r.json()["token"])


def guardian(browser: Browser) -> None:
    browser.get("portal.home", "/api/me")


CLICK_PATHS = {"guardian": guardian}
POOL_PERSONAS = ("guardian",)
SESSION_SECONDS = {"guardian": 20.0}
'''


def test_a_module_file_outside_the_package(tmp_path: Path) -> None:
    path = tmp_path / "district.py"
    path.write_text(MODULE)
    target = load_target(str(path))
    assert target.name == "district_sis" and set(target.click_paths) == {"guardian"}
    assert target.pools_for(["guardian"]) == ["guardian"]
    assert target.session_seconds == {"guardian": 20.0}


def test_an_importable_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "district_paths.py").write_text(MODULE.replace('NAME = "district_sis"\n', ""))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="unknown target"):  # a bare name is a built-in's
        load_target("district_paths")
    (tmp_path / "district").mkdir()
    (tmp_path / "district" / "__init__.py").write_text("")
    (tmp_path / "district" / "paths.py").write_text(MODULE)
    assert load_target("district.paths").name == "district_sis"
    sys.modules.pop("district.paths", None)
    sys.modules.pop("district", None)


@pytest.mark.parametrize(("name", "message"), [
    ("nowhere.py", "no such file"),
    ("no_such_package.paths", "cannot be imported"),
    ("stagin", "unknown target 'stagin'"),
])
def test_a_target_that_cannot_be_loaded_is_named(name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_target(name)


def test_a_module_without_click_paths_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "empty.py"
    path.write_text("LOGIN = None\n")
    with pytest.raises(ValueError, match="declares no CLICK_PATHS"):
        load_target(str(path))
