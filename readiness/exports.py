"""What the scorecard writes for the people who act on it: `readiness.json` (the Result's
shape), `schools.csv` (the ranking), one CSV per school for the training team (each counted
person, the date they met each metric, what is left to do), and the readiness gauges for
Prometheus: `readiness.prom` (now, for node_exporter's textfile collector) and
`readiness-history.om` (the weekly trend with timestamps, OpenMetrics, for
`promtool tsdb create-blocks-from openmetrics`). The Grafana panels that read them are in
monitoring/dashboards.py."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from readiness.activity import Activity
from readiness.compute import NEVER, reach_days
from readiness.metrics import Metrics
from readiness.result import Result
from readiness.roster import Roster

SCHOOL_COLUMNS = ("rank", "school_id", "school", "students", "staff", "at_target", "chance",
                  "gap", "priority", "below_target")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.4f}"


def write_json(result: Result, path: Path,
               decision: tuple[bool, list[str]] | None = None) -> None:
    """readiness.json: the result, and the combine rules' outcome when given (what the
    leadership report reads as the people half of the decision)."""
    data = result.as_json()
    if decision is not None:
        data["decision"] = {"passed": decision[0], "reasons": decision[1]}
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def write_schools(result: Result, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(SCHOOL_COLUMNS)
        for rank, s in enumerate(result.schools, 1):
            out.writerow([rank, s.id, s.name, s.students, s.staff, s.at_target,
                          _pct(s.chance), _pct(s.gap), f"{s.priority:.1f}",
                          "; ".join(f"{c.metric}/{c.role}" for c in s.failing())])


def safe_name(school_id: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in school_id)


def write_people(result: Result, roster: Roster, activity: Activity, metrics: Metrics,
                 folder: Path) -> int:
    """One CSV per school: person, roster role, readiness role, per metric the date it was met
    (empty: not yet), and `to_do`, the metrics whose target covers the role and are not met."""
    folder.mkdir(parents=True, exist_ok=True)
    role_of = metrics.role_of()
    index = {a: i for i, a in enumerate(metrics.actions)}
    as_of = (result.as_of - dt.date(1970, 1, 1)).days
    go = (result.go_live - dt.date(1970, 1, 1)).days
    reach = {}
    for m in metrics.metrics:
        days = reach_days(activity, index[m.action], m.at_least, len(roster.person), as_of)
        reach[m.name] = np.where(days < go - m.days_before, days, NEVER)
    rows: dict[int, list[list[str]]] = {}
    for p, (role, school, active) in enumerate(zip(roster.role, roster.school, roster.active,
                                                   strict=True)):
        group = role_of.get(role)
        if not active or school < 0 or group is None:
            continue
        dates, to_do = [], []
        for m in metrics.metrics:
            day = int(reach[m.name][p])
            dates.append("" if day == NEVER else str(dt.date(1970, 1, 1) + dt.timedelta(day)))
            if day == NEVER and group in m.targets:
                to_do.append(m.name)
        rows.setdefault(int(school), []).append([roster.person[p], role, group, *dates,
                                                 " ".join(to_do)])
    header = ["person", "roster_role", "role", *(m.name for m in metrics.metrics), "to_do"]
    for s, people in rows.items():
        with (folder / f"{safe_name(roster.school_ids[s])}.csv").open(
                "w", encoding="utf-8", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(header)
            # who still has something to do first, then by role and id
            ordered: list[list[str]] = sorted(people, key=_to_do_first)
            out.writerows(ordered)
    return len(rows)


def _to_do_first(row: list[str]) -> tuple[bool, str, str]:
    return (row[-1] == "", row[2], row[0])


# --- Prometheus ---------------------------------------------------------------------------------

def _labels(**labels: str) -> str:
    def esc(v: str) -> str:
        return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return "{" + ",".join(f'{k}="{esc(v)}"' for k, v in labels.items()) + "}" if labels else ""


HELP = {
    "firstbell_readiness_schools": "Schools the readiness metrics count.",
    "firstbell_readiness_schools_at_target": "Schools at every readiness target; basis=now "
                                             "(values so far) or projected (at go-live).",
    "firstbell_readiness_schools_projected": "Schools at every target at go-live over the "
                                             "bootstrap: expected, low and high (90%).",
    "firstbell_readiness_district_share": "Share of counted staff who met a share_by metric, "
                                          "district-wide.",
    "firstbell_readiness_target": "A metric's target for a role.",
    "firstbell_readiness_school_value": "A metric's value at a school for a role (share, or "
                                        "median days).",
    "firstbell_readiness_school_chance": "Share of bootstrap replicates in which the school "
                                         "meets every target at go-live.",
}


def _now_samples(result: Result) -> Iterator[tuple[str, str, float]]:
    yield "firstbell_readiness_schools", "", len(result.schools)
    yield "firstbell_readiness_schools_at_target", _labels(basis="now"), result.at_target_now
    yield "firstbell_readiness_schools_at_target", _labels(basis="projected"), result.at_target
    p = result.projection
    for bound, v in (("expected", p.expected), ("low", p.low), ("high", p.high)):
        yield "firstbell_readiness_schools_projected", _labels(bound=bound), v
    kinds = {m["name"]: m["kind"] for m in result.metrics}
    for d in result.district:
        yield "firstbell_readiness_target", _labels(metric=d.metric, role=d.role), d.target
        if kinds[d.metric] == "share_by" and d.value is not None:
            yield ("firstbell_readiness_district_share", _labels(metric=d.metric, role=d.role),
                   d.value)
    for s in result.schools:
        if s.chance is not None:
            yield ("firstbell_readiness_school_chance", _labels(school=s.id, name=s.name),
                   s.chance)
        for c in s.cells:
            if c.value is not None:
                yield ("firstbell_readiness_school_value",
                       _labels(school=s.id, name=s.name, metric=c.metric, role=c.role),
                       c.value)


def _families(samples: Iterator[tuple[str, str, float, int | None]]) -> list[str]:
    by_name: dict[str, list[str]] = {}
    for name, labels, value, ts in samples:
        stamp = f" {ts}" if ts is not None else ""
        by_name.setdefault(name, []).append(f"{name}{labels} {value:.6g}{stamp}")
    lines = []
    for name, rows in by_name.items():
        lines += [f"# HELP {name} {HELP[name]}", f"# TYPE {name} gauge", *rows]
    return lines


def write_prometheus(result: Result, path: Path) -> None:
    """The current values, Prometheus text format (a textfile collector's .prom file)."""
    lines = _families((n, lab, v, None) for n, lab, v in _now_samples(result))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_history(result: Result, path: Path) -> None:
    """The weekly trend as OpenMetrics with a timestamp per week end (end of that day, UTC),
    for backfilling with promtool; the last week also carries the projection."""
    stamps = [int(dt.datetime.combine(d, dt.time(23, 59), dt.UTC).timestamp())
              for d in result.week_ends]
    kinds = {m["name"]: m["kind"] for m in result.metrics}

    def samples() -> Iterator[tuple[str, str, float, int | None]]:
        total = len(result.schools)
        for ts in stamps:
            yield "firstbell_readiness_schools", "", total, ts
        for ts, n in zip(stamps, result.weekly_at_target(), strict=True):
            yield "firstbell_readiness_schools_at_target", _labels(basis="now"), n, ts
        yield ("firstbell_readiness_schools_at_target", _labels(basis="projected"),
               result.at_target, stamps[-1])
        for d in result.district:
            for ts in stamps:
                yield ("firstbell_readiness_target", _labels(metric=d.metric, role=d.role),
                       d.target, ts)
        for d in result.district:
            if kinds[d.metric] != "share_by":
                continue
            for ts, v in zip(stamps, d.weekly, strict=True):
                if v is not None:
                    yield ("firstbell_readiness_district_share",
                           _labels(metric=d.metric, role=d.role), v, ts)
        for s in result.schools:
            for c in s.cells:
                for ts, v in zip(stamps, c.weekly, strict=True):
                    if v is not None:
                        yield ("firstbell_readiness_school_value",
                               _labels(school=s.id, name=s.name, metric=c.metric,
                                       role=c.role), v, ts)

    path.write_text("\n".join([*_families(samples()), "# EOF"]) + "\n", encoding="utf-8")
