"""What the scorecard found, as typed values: per school, per role and per metric the value,
target and whether it passed; the ranking; the weekly trend; the projection with its
interval; and the one answer the metrics file's combine rules give (`decision`). `as_json` is
the shape `readiness.json` has (docs/readiness.md)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from readiness.metrics import Decision

FORMAT = 1


def _r(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


@dataclass(frozen=True)
class Cell:
    """One metric for one role at one school."""

    metric: str
    role: str
    staff: int
    done: int                   # staff who met it so far (share_by) / who did the action
    value: float | None         # share so far, or median days; None with no staff
    target: float
    final: bool                 # the metric's date has passed: the value will not change
    projected: float | None     # share_by before its date: the fitted share at the date
    low: float | None           # ... and its 90% interval
    high: float | None
    passed: bool                # judged on `value` when final (or not projected), else `projected`
    weekly: list[float | None]  # the value at each week end of the trend

    @property
    def judged(self) -> float | None:
        return self.projected if self.projected is not None and not self.final else self.value

    def as_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "role": self.role, "staff": self.staff,
                "done": self.done, "value": _r(self.value), "target": self.target,
                "final": self.final, "projected": _r(self.projected), "low": _r(self.low),
                "high": _r(self.high), "passed": self.passed,
                "weekly": [_r(v) for v in self.weekly]}


@dataclass(frozen=True)
class School:
    id: str
    name: str
    students: int
    staff: int                  # staff in scope (active, a readiness role)
    cells: list[Cell]
    at_target: bool             # every cell passed (judged at go-live)
    at_target_now: bool         # every cell's value so far meets its target
    chance: float | None        # share of bootstrap replicates in which every cell passed
    gap: float                  # mean relative shortfall of the cells, 0 to 1
    priority: float             # gap x students (x staff when the roster has no students)
    weekly_at_target: list[bool]

    def failing(self) -> list[Cell]:
        return [c for c in self.cells if not c.passed]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "students": self.students,
                "staff": self.staff, "at_target": self.at_target,
                "at_target_now": self.at_target_now, "chance": _r(self.chance, 3),
                "gap": _r(self.gap), "priority": _r(self.priority, 1),
                "weekly_at_target": self.weekly_at_target,
                "cells": [c.as_json() for c in self.cells]}


@dataclass(frozen=True)
class DistrictCell:
    """One metric for one role over every school."""

    metric: str
    role: str
    staff: int
    value: float | None
    target: float
    weekly: list[float | None]

    def as_json(self) -> dict[str, Any]:
        return {"metric": self.metric, "role": self.role, "staff": self.staff,
                "value": _r(self.value), "target": self.target,
                "weekly": [_r(v) for v in self.weekly]}


@dataclass(frozen=True)
class Projection:
    """Schools at every target at go-live: judged on the point projections (`schools`), and
    over the bootstrap replicates their mean (`expected`, the sum of the schools' chances) and
    90% interval. Borderline cells fail in some replicates, so `expected` is often below
    `schools`: a school needs every cell at once."""

    schools: int
    expected: float
    low: int
    high: int


@dataclass(frozen=True)
class Result:
    go_live: dt.date
    as_of: dt.date
    week_ends: list[dt.date]
    roster: str
    log: str
    metrics: list[dict[str, Any]]
    schools: list[School]                 # ranked: the school most in need first
    district: list[DistrictCell]
    projection: Projection
    has_students: bool
    staff_in_scope: int
    staff_out_of_scope: dict[str, int]    # why not counted: role, no school, inactive
    warnings: list[str] = field(default_factory=list)

    @property
    def at_target(self) -> int:
        return sum(s.at_target for s in self.schools)

    @property
    def at_target_now(self) -> int:
        return sum(s.at_target_now for s in self.schools)

    @property
    def students(self) -> int:
        return sum(s.students for s in self.schools)

    @property
    def students_at_target(self) -> int:
        return sum(s.students for s in self.schools if s.at_target)

    def weekly_at_target(self) -> list[int]:
        return [sum(s.weekly_at_target[i] for s in self.schools)
                for i in range(len(self.week_ends))]

    def as_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT, "go_live": self.go_live.isoformat(),
            "as_of": self.as_of.isoformat(), "roster": self.roster, "log": self.log,
            "week_ends": [d.isoformat() for d in self.week_ends],
            "metrics": self.metrics,
            "summary": {"schools": len(self.schools), "at_target": self.at_target,
                        "at_target_now": self.at_target_now,
                        "projected": {"schools": self.projection.schools,
                                      "expected": _r(self.projection.expected, 1),
                                      "low": self.projection.low,
                                      "high": self.projection.high},
                        "students": self.students,
                        "students_at_target": self.students_at_target,
                        "staff_in_scope": self.staff_in_scope,
                        "staff_out_of_scope": self.staff_out_of_scope,
                        "weekly_at_target": self.weekly_at_target()},
            "district": [d.as_json() for d in self.district],
            "schools": [s.as_json() for s in self.schools],
            "warnings": self.warnings,
        }


def decision(result: Result, rules: Decision) -> tuple[bool, list[str]]:
    """Whether people readiness says GO under the metrics file's combine rules, and one line
    per rule saying what it asked, what was found and whether it was met."""
    n = len(result.schools)
    reasons: list[str] = []
    passed = True

    def rule(ok: bool, text: str) -> None:
        nonlocal passed
        passed &= ok
        reasons.append(f"{text}: {'met' if ok else 'NOT met'}")

    if n == 0:
        return False, ["no school has staff in scope: nothing says the people are ready"]
    share = result.at_target / n
    rule(share >= rules.schools_at_target,
         f"{result.at_target} of {n} schools ({share:.1%}) at every target by "
         f"{result.go_live}; the rule asks {rules.schools_at_target:.0%}")
    if rules.students_at_target is not None:
        students = result.students
        got = result.students_at_target / students if students else 0.0
        rule(got >= rules.students_at_target,
             f"{result.students_at_target:,} of {students:,} students ({got:.1%}) in schools at"
             f" every target; the rule asks {rules.students_at_target:.0%}")
    if rules.max_schools_far_behind is not None:
        far = sum(s.gap >= rules.far_behind_gap for s in result.schools)
        rule(far <= rules.max_schools_far_behind,
             f"{far} schools far behind (gap {rules.far_behind_gap:.0%} or more); the rule "
             f"allows {rules.max_schools_far_behind}")
    return passed, reasons
