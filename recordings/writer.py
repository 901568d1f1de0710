"""Writing the target folder the user edits: ``DIR/target.yaml`` (version, name, hosts,
session, login, logout) and ``DIR/personas/NAME.yaml`` (one persona mapping: plays, login,
steps), steps in recorded order with a ``# page: PATH`` comment before each page's steps and
the recorded think times. Everything is validated as one `TargetFile` before anything is
written; files are written owner-only (0600, folders 0700) through a temporary file and a
rename, so an error leaves nothing half-written. A folder that already holds a target keeps
its target.yaml and its other personas: a recording adds or replaces its own persona."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from kernel.fields import field_errors
from loadtests.targetfile.model import TargetFile
from recordings.drafts import Draft
from recordings.errors import RecordingError

TARGET_FILE = "target.yaml"
PERSONAS_DIR = "personas"


def step_data(d: Draft) -> dict[str, Any]:
    """A draft as a step mapping of the target file, keys in a fixed order."""
    request: dict[str, Any] = {"method": d.entry.method, "url": d.url}
    if d.query:
        request["query"] = d.query
    if d.form is not None:
        request["form"] = d.form
    elif d.json_body is not None:
        request["json"] = d.json_body
    elif d.body is not None:
        request["body"] = d.body
    if d.headers:
        request["headers"] = d.headers
    step: dict[str, Any] = {"name": d.name, "request": request, "group": d.group}
    if d.extract:
        step["extract"] = d.extract
    step["check"] = {"status": [d.entry.status]}
    if d.think is not None:
        step["think"] = {"recorded": d.think}
    return step


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True,
                          width=100)


def _steps_yaml(steps: list[tuple[str, dict[str, Any]]], indent: str) -> str:
    """A YAML list of steps with a ``# page:`` comment wherever the page changes."""
    lines: list[str] = []
    page = None
    for step_page, step in steps:
        if step_page != page:
            lines.append(f"{indent}# page: {step_page}")
            page = step_page
        lines += [indent + line for line in _dump([step]).splitlines()]
    return "\n".join(lines) + "\n"


def render_target(head: dict[str, Any], login: list[tuple[str, dict[str, Any]]],
                  success: dict[str, Any] | None, logout: list[tuple[str, dict[str, Any]]],
                  source: str) -> str:
    text = (f"# firstbell target file, format 1: converted from {source} by"
            " `firstbell target record`.\n# Edit freely; docs/targets.md explains every key.\n")
    text += _dump(head)
    if login:
        text += "login:\n  steps:\n" + _steps_yaml(login, "  ")
        text += "  " + _dump({"success": success}).replace("\n", "\n  ").rstrip() + "\n"
    if logout:
        text += "logout:\n" + _steps_yaml(logout, "")
    return text


def render_persona(name: str, head: dict[str, Any], steps: list[tuple[str, dict[str, Any]]],
                   source: str) -> str:
    text = (f"# Persona {name!r}: converted from {source} by `firstbell target record`.\n"
            "# One step per recorded request, grouped by the page it belongs to.\n")
    return text + _dump(head) + "steps:\n" + _steps_yaml(steps, "")


def read_existing(into: Path) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """The target.yaml and the personas already in `into` (as plain data), if any."""
    target = _read(into / TARGET_FILE) if (into / TARGET_FILE).exists() else None
    personas = {}
    folder = into / PERSONAS_DIR
    if folder.is_dir():
        for path in sorted(folder.glob("*.yaml")):
            personas[path.stem] = _read(path)
    return target, personas


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RecordingError(path, "", path.name, f"the existing file cannot be read ({exc})",
                             "Repair it, or convert into another folder with --into") from None
    if not isinstance(data, dict):
        raise RecordingError(path, "", data, "the existing file is not a mapping",
                             "Repair it, or convert into another folder with --into")
    return data


def validate(into: Path, target: dict[str, Any], personas: dict[str, dict[str, Any]]
             ) -> TargetFile:
    try:
        return TargetFile.model_validate({**target, "personas": personas})
    except ValidationError as exc:
        raise RecordingError(into / TARGET_FILE, "", into.name,
                             "the converted target does not validate:\n"
                             + "\n".join(field_errors(exc)),
                             "Repair the existing files named, or convert into a new folder"
                             " with --into") from None


def write_files(into: Path, files: dict[Path, str]) -> None:
    """Write every file owner-only through a temporary file; rename them all at the end."""
    for folder in (into, into / PERSONAS_DIR):
        if not folder.exists():
            try:
                folder.mkdir(mode=0o700, parents=True)
            except OSError as exc:
                raise RecordingError(folder, "--into", str(into),
                                     f"the folder cannot be made ({exc.strerror})",
                                     "Choose a folder you can write") from None
            folder.chmod(0o700)
    temps: dict[Path, Path] = {}
    try:
        for path, text in files.items():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            temps[path] = tmp
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
        for path, tmp in temps.items():
            os.replace(tmp, path)
    except OSError as exc:
        for tmp in temps.values():
            with contextlib.suppress(OSError):
                tmp.unlink()
        raise RecordingError(into, "--into", str(into),
                             f"the target cannot be written ({exc.strerror})",
                             "Choose a folder you can write") from None
