"""Several recordings, one target: a second recording adds its persona (or replaces its own)
and keeps target.yaml and the other personas."""

from __future__ import annotations

from pathlib import Path

from rec_helpers import PASSWORD, fixture, load_target

from recordings.convert import record


def test_two_recordings_merge(tmp_path: Path) -> None:
    out = tmp_path / "t"
    record(fixture("chromium"), "guardian", out, password=PASSWORD)
    first = (out / "target.yaml").read_text()
    report = record(fixture("firefox"), "night_clerk", out, password=PASSWORD, plays="clerk")
    assert (out / "target.yaml").read_text() == first
    target = load_target(out)
    assert sorted(target.personas) == ["guardian", "night_clerk"]
    assert target.personas["night_clerk"].plays == "clerk"
    assert any("kept the existing" in n for n in report.notes)
    assert [p.name for p in report.written] == ["night_clerk.yaml"]


def test_recording_again_replaces_its_persona(tmp_path: Path) -> None:
    out = tmp_path / "t"
    record(fixture("chromium"), "guardian", out, password=PASSWORD)
    record(fixture("bearer_api"), "teacher", out, password=PASSWORD)
    record(fixture("safari"), "teacher", out, password=PASSWORD)
    target = load_target(out)
    assert sorted(target.personas) == ["guardian", "teacher"]
    assert target.personas["teacher"].steps == target.personas["guardian"].steps
