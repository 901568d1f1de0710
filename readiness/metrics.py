"""The metrics file (`readiness.yaml`): which log actions count as what, which roster roles
are judged as which readiness role, the metrics with their targets per role, and the rules
that combine the schools into one answer. This module owns its model, the built-in file
(`readiness/readiness.yaml`) and the loader, whose errors name the file, field and value."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kernel.errors import UserError

DEFAULT_FILE = Path(__file__).with_name("readiness.yaml")
NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogColumns(_Strict):
    person: str = "person"
    time: str = "time"
    action: str = "action"
    max_unmatched_share: float = Field(0.05, ge=0, le=1)


class Metric(_Strict):
    name: str
    description: str = ""
    kind: Literal["share_by", "median_days_before"]
    action: str
    # share_by: a person counts once they did the action this many times
    at_least: int = Field(1, ge=1)
    # the date the share is counted at, as days before go-live (0: go-live itself)
    days_before: int = Field(0, ge=0)
    targets: dict[str, float] = Field(min_length=1)

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not NAME.match(v):
            raise ValueError(f"{v!r} is not a metric name; use lower-case letters, digits and _")
        return v


class Decision(_Strict):
    # GO on people needs at least this share of schools at every target
    schools_at_target: float = Field(0.9, ge=0, le=1)
    # ... and, if set, at least this share of students in schools at every target
    students_at_target: float | None = Field(None, ge=0, le=1)
    # ... and, if set, no more than this many schools with a gap of `far_behind_gap` or more
    max_schools_far_behind: int | None = Field(None, ge=0)
    far_behind_gap: float = Field(0.25, gt=0, le=1)


class Metrics(_Strict):
    version: Literal[1]
    go_live: dt.date | None = None
    log: LogColumns = LogColumns()
    roles: dict[str, list[str]] = Field(min_length=1)
    actions: dict[str, list[str]] = Field(min_length=1)
    metrics: list[Metric] = Field(min_length=1)
    decision: Decision = Decision()
    projection_weeks: int = Field(3, ge=2)

    def role_of(self) -> dict[str, str]:
        """Roster role name -> readiness role."""
        return {name: group for group, names in self.roles.items() for name in names}

    def action_of(self) -> dict[str, str]:
        """Log action name -> metric action (a log name may count for several: first wins)."""
        out: dict[str, str] = {}
        for action, names in self.actions.items():
            for name in names:
                out.setdefault(name, action)
        return out


Problem = tuple[tuple[str | int, ...], str, object]


def _references(m: Metrics) -> list[Problem]:
    """What the model cannot see field by field: names used twice, actions and roles that do
    not exist, a roster role in two readiness roles."""
    out: list[Problem] = []
    seen: set[str] = set()
    for i, metric in enumerate(m.metrics):
        if metric.name in seen:
            out.append((("metrics", i, "name"), "used twice; metric names are unique",
                        metric.name))
        seen.add(metric.name)
        if metric.action not in m.actions:
            out.append((("metrics", i, "action"), "not one of the actions ("
                        + ", ".join(m.actions) + ")", metric.action))
        for role, target in metric.targets.items():
            where = ("metrics", i, "targets", role)
            if role not in m.roles:
                out.append((where, "not one of the roles (" + ", ".join(m.roles) + ")", role))
            elif metric.kind == "share_by" and not 0 <= target <= 1:
                out.append((where, "a share_by target is a share from 0 to 1 (0.9 = 90%)",
                            target))
            elif metric.kind == "median_days_before" and target < 0:
                out.append((where, "a median_days_before target is days, 0 or more", target))
        if metric.kind == "median_days_before" and metric.at_least != 1:
            out.append((("metrics", i, "at_least"), "applies to share_by metrics only",
                        metric.at_least))
    owner: dict[str, str] = {}
    for group, names in m.roles.items():
        for j, name in enumerate(names):
            if name in owner:
                out.append((("roles", group, j), f"already in roles.{owner[name]}; a roster"
                            " role counts once", name))
            owner.setdefault(name, group)
    return out


def _line(node: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the deepest node `loc` reaches in the composed YAML."""
    line = None
    for key in loc:
        if node is None:
            break
        line = node.start_mark.line + 1
        nxt = None
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if str(k.value) == str(key).replace("for_", "for"):
                    nxt, line = v, k.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) \
                and key < len(node.value):
            nxt = node.value[key]
            line = nxt.start_mark.line + 1
        node = nxt
    return line


def _message(path: Path, text: str, problems: list[Problem]) -> str:
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        root = None
    lines = [f"{path}: the readiness metrics are not valid:"]
    for loc, msg, value in problems:
        where = ".".join(str(p) for p in loc)
        line = _line(root, loc)
        at = f"line {line}, " if line else ""
        lines.append(f"  {at}field {where or '(top)'}: {msg} (value {value!r})")
    lines.append("  See readiness/readiness.yaml and docs/readiness.md for the format.")
    return "\n".join(lines)


def load_metrics(path: Path | None = None) -> Metrics:
    """The metrics file at `path` (None: the built-in one), or a UserError naming the field."""
    path = path or DEFAULT_FILE
    try:
        text = path.read_text(encoding="utf-8")
        raw = yaml.safe_load(text)
    except OSError as exc:
        raise UserError(f"{path}: cannot read the readiness metrics ({exc.strerror}). Pass"
                        " --metrics with a readable file, or leave it out for the built-in"
                        " one.") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise UserError(f"{path}: the readiness metrics are a mapping with 'version: 1',"
                        " 'roles', 'actions' and 'metrics'; see readiness/readiness.yaml.")
    try:
        metrics = Metrics.model_validate(raw)
    except ValidationError as exc:
        problems: list[Problem] = [
            (tuple(e["loc"]), e["msg"].removeprefix("Value error, "), e.get("input"))
            for e in exc.errors()]
        raise UserError(_message(path, text, problems)) from None
    problems = _references(metrics)
    if problems:
        raise UserError(_message(path, text, problems))
    return metrics
