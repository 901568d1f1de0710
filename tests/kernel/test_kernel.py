"""The shared kernel: one duration parser and formatter, clock times, validation messages, the
version from the installed metadata, and the exit codes every command shares."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

from kernel import errors
from kernel.clock import hhmm
from kernel.durations import prometheus_duration, prometheus_seconds, seconds
from kernel.fields import field_errors
from kernel.version import __version__

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("text", "expected"), [
    ("300ms", 0.3), ("1.5s", 1.5), ("5m", 300.0), ("1h", 3600.0),
    (12, 12.0), (0.25, 0.25), (" 2 s ", 2.0)])
def test_durations_people_write(text: object, expected: float) -> None:
    assert seconds(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["300", "5 minutes", "1d", "-1s", "1.s", "", "ms"])
def test_a_duration_needs_a_unit_unless_bare_numbers_are_allowed(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        seconds(text)


def test_options_may_give_bare_seconds() -> None:
    assert seconds("0.2", bare_numbers=True) == 0.2
    assert seconds("200MS", bare_numbers=True) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        seconds("-0.2", bare_numbers=True)


@pytest.mark.parametrize("bad", [True, -1, -0.5])
def test_booleans_and_negatives_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        seconds(bad)


@pytest.mark.parametrize(("value", "text"), [(300, "5m"), (90, "90s"), (3600, "1h"),
                                             (7200, "2h"), (0, "0s"), (59.6, "1m")])
def test_prometheus_durations(value: float, text: str) -> None:
    assert prometheus_duration(value) == text
    assert prometheus_seconds(text) == round(value)
    assert prometheus_seconds("7d") == 7 * 86400


@pytest.mark.parametrize(("clock", "text"), [(0, "00:00"), (8 * 3600 + 59, "08:00"),
                                             (8 * 3600 + 60, "08:01"), (86400, "24:00")])
def test_clock_times(clock: float, text: str) -> None:
    assert hhmm(clock) == text


def test_validation_messages_name_field_and_value() -> None:
    class Window(BaseModel):
        for_: int
        size: int

    with pytest.raises(ValidationError) as caught:
        Window.model_validate({"for_": "soon", "size": 3})
    [line] = field_errors(caught.value)
    assert line.startswith("  field for: ") and line.endswith("(value 'soon')")


def test_the_version_comes_from_pyproject_only() -> None:
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert __version__ == declared
    hard_coded = [str(p.relative_to(ROOT)) for part in ("kernel", "firstbell", "fake_data",
                                                        "staging", "loadtests")
                  for p in (ROOT / part).rglob("*.py")
                  if f'"{declared}"' in p.read_text(encoding="utf-8")]
    assert hard_coded == []


def test_exit_codes() -> None:
    assert (errors.EXIT_GO, errors.USAGE_ERROR_EXIT, errors.EXIT_NO_GO, errors.EXIT_EXPOSURE,
            errors.EXIT_INTERRUPTED) == (0, 2, 3, 4, 130)
    assert errors.UserError("x").exit_code == 2
