"""The launch thresholds as a validated model, flattened into the individual checks everything
else evaluates or generates from (``auth.p95``, ``gradebook.error_ratio``,
``arrivals.min_ratio``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from kernel.durations import seconds

GROUP = re.compile(r"^(\*|[a-z][a-z0-9_]*)$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Defaults(_Strict):
    window: float = 300.0
    for_: float = Field(60.0, alias="for")
    min_requests: int = Field(20, ge=1)

    @field_validator("window", "for_", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return seconds(v)


class Objective(_Strict):
    description: str
    p95: float | None = None
    p99: float | None = None
    error_ratio: float | None = Field(None, ge=0, le=1)
    window: float | None = None
    for_: float | None = Field(None, alias="for")
    abortable: bool = False

    @field_validator("p95", "p99", "window", "for_", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float | None:
        return None if v is None else seconds(v)


class Arrivals(_Strict):
    description: str
    min_ratio: float = Field(gt=0, le=1)
    window: float = 60.0
    for_: float = Field(60.0, alias="for")
    abortable: bool = False

    @field_validator("window", "for_", mode="before")
    @classmethod
    def _duration(cls, v: Any) -> float:
        return seconds(v)


class Gates(_Strict):
    data_exposures: int = Field(0, ge=0)
    capacity_headroom: float = Field(1.5, ge=1)


class Thresholds(_Strict):
    version: Literal[1]
    defaults: Defaults = Defaults()
    objectives: dict[str, Objective] = Field(min_length=1)
    arrivals: Arrivals
    gates: Gates = Gates()

    @field_validator("objectives")
    @classmethod
    def _groups(cls, objectives: dict[str, Objective]) -> dict[str, Objective]:
        for group, objective in objectives.items():
            if not GROUP.match(group):
                raise ValueError(f"{group!r} is not an endpoint group; use the part of an"
                                 " endpoint label before the dot (auth, portal, …) or '*'")
            if objective.p95 is None and objective.p99 is None and objective.error_ratio is None:
                raise ValueError(f"objective {group!r} sets none of p95, p99, error_ratio")
        return objectives


Measure = Literal["p95", "p99", "error_ratio", "arrival_ratio"]


@dataclass(frozen=True)
class Check:
    """One threshold on one measure: ``name`` = ``<group>.<measure>``."""

    name: str
    group: str           # endpoint group, "*" for all, "arrivals" for the arrival ratio
    measure: Measure
    threshold: float
    window: float
    for_: float
    abortable: bool
    description: str
    min_requests: int

    @property
    def upper(self) -> bool:
        """True when the measure must stay at or under the threshold (latency, errors)."""
        return self.measure != "arrival_ratio"

    def breached(self, value: float) -> bool:
        return value > self.threshold if self.upper else value < self.threshold


def checks(t: Thresholds) -> list[Check]:
    out = []
    d = t.defaults
    for group, o in t.objectives.items():
        window = o.window if o.window is not None else d.window
        for_ = o.for_ if o.for_ is not None else d.for_
        for measure in ("p95", "p99", "error_ratio"):
            value = getattr(o, measure)
            if value is not None:
                out.append(Check(f"{group}.{measure}", group, measure, value, window, for_,
                                 o.abortable, o.description, d.min_requests))
    a = t.arrivals
    out.append(Check("arrivals.min_ratio", "arrivals", "arrival_ratio", a.min_ratio, a.window,
                     a.for_, a.abortable, a.description, 1))
    return out


def latency_thresholds(t: Thresholds) -> list[float]:
    """Every latency threshold, for histogram bucket edges."""
    return sorted({c.threshold for c in checks(t) if c.measure in ("p95", "p99")})
