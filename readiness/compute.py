"""The scorecard's arithmetic: from the roster, the matched log and the metrics file to a
`Result` (per school, role and metric the value, target and verdict; the weekly trend; the
projection to the metric's date; the ranking).

Who counts: active staff at a school whose roster role the metrics file maps to a readiness
role. A share_by metric counts a person once they did its action `at_least` times before its
date (go-live minus `days_before`; the date itself is too late) and on or before the as-of
date; median_days_before takes, per cell, the median of days between a person's first action
and the date, counting 0 for those who have not done it. Cells are judged on the projection
while the date is ahead (share_by, with `projection_weeks` of trend), else on the value.
The ranking is gap x students: gap is the mean over a school's cells of
max(0, target - judged value) / target.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import numpy as np

from kernel.errors import UserError
from readiness import projection
from readiness.activity import EPOCH, Activity
from readiness.metrics import Metric, Metrics
from readiness.result import Cell, DistrictCell, Projection, Result, School
from readiness.roster import Roster

NEVER = 10**9
MAX_WEEKS = 26
REPLICATES = 30


def _day(d: dt.date) -> int:
    return (d - EPOCH).days


def _date(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


def reach_days(activity: Activity, action: int, at_least: int, n: int, as_of: int) -> np.ndarray:
    """Per roster person, the day of their `at_least`-th `action` (NEVER if not yet)."""
    keep = (activity.action == action) & (activity.day <= as_of)
    person, day = activity.person[keep], activity.day[keep]
    order = np.lexsort((day, person))
    person, day = person[order], day[order]
    out = np.full(n, NEVER, dtype=np.int64)
    if not len(person):
        return out
    starts = np.r_[0, np.flatnonzero(person[1:] != person[:-1]) + 1]
    rank = np.arange(len(person)) - np.repeat(starts, np.diff(np.r_[starts, len(person)]))
    hit = rank == at_least - 1
    out[person[hit]] = day[hit]
    return out


def _grouped_median(keys: np.ndarray, values: np.ndarray, n_keys: int) -> np.ndarray:
    out = np.full(n_keys, np.nan)
    if not len(keys):
        return out
    order = np.lexsort((values, keys))
    k, v = keys[order], values[order].astype(float)
    starts = np.r_[0, np.flatnonzero(k[1:] != k[:-1]) + 1]
    counts = np.diff(np.r_[starts, len(k)])
    out[k[starts]] = (v[starts + (counts - 1) // 2] + v[starts + counts // 2]) / 2
    return out


class _Scope:
    """The people who count, their cell key (school x readiness role) and bootstrap weights."""

    def __init__(self, roster: Roster, metrics: Metrics, replicates: int, seed: int) -> None:
        role_of = metrics.role_of()
        self.roles = list(metrics.roles)
        role_idx = np.array([self.roles.index(role_of[r]) if r in role_of else -1
                             for r in roster.role], dtype=np.int64)
        in_role = role_idx >= 0
        at_school = roster.school >= 0
        self.mask = roster.active & at_school & in_role
        self.out = {"inactive": int((~roster.active).sum()),
                    "not at a school": int((roster.active & ~at_school).sum()),
                    "role not in the metrics": int((roster.active & at_school & ~in_role).sum())}
        self.index = np.flatnonzero(self.mask)
        if not len(self.index):
            seen = Counter(r for r, a, s in zip(roster.role, roster.active, roster.school,
                                                strict=True) if a and s >= 0)
            raise UserError(
                f"{roster.source}: no active staff at a school has a role the metrics file's "
                f"`roles` covers ({', '.join(f'{k}: {v}' for k, v in metrics.roles.items())});"
                f" the roster's roles at schools are "
                f"{', '.join(f'{r} ({n:,})' for r, n in seen.most_common(6)) or 'none'}. "
                "Map them in the metrics file's `roles`.")
        self.n_schools = len(roster.school_ids)
        self.key = roster.school[self.index] * len(self.roles) + role_idx[self.index]
        self.n_keys = self.n_schools * len(self.roles)
        self.staff = np.bincount(self.key, minlength=self.n_keys)
        rng = np.random.default_rng(seed)
        self.weights = np.c_[np.ones(len(self.index)),
                             rng.poisson(1.0, (len(self.index), replicates))].astype(np.float64)


def _share_counts(scope: _Scope, reach: np.ndarray, week_ends: np.ndarray) -> np.ndarray:
    """Weighted people per cell who met it by each week end: (keys, weeks, replicates + 1)."""
    weeks = len(week_ends)
    step = np.searchsorted(week_ends, reach, side="left")       # first week end at or after
    key = scope.key * (weeks + 1) + step
    order = np.argsort(key, kind="stable")
    uniq, starts = np.unique(key[order], return_index=True)
    sums = np.add.reduceat(scope.weights[order], starts, axis=0) if len(uniq) else \
        np.zeros((0, scope.weights.shape[1]))
    out = np.zeros((scope.n_keys * (weeks + 1), scope.weights.shape[1]))
    out[uniq] = sums
    return np.cumsum(out.reshape(scope.n_keys, weeks + 1, -1), axis=1)[:, :weeks, :]


def _metric(m: Metric, scope: _Scope, reach_all: np.ndarray, go_live: int,
            as_of: int, week_ends: np.ndarray, min_weeks: int) -> dict[str, Any]:
    """Per cell key of one metric: value, weekly values, projection and replicate values."""
    deadline = go_live - m.days_before
    reach = reach_all[scope.index]
    reach = np.where(reach < deadline, reach, NEVER)
    final = as_of >= deadline - 1
    if m.kind == "share_by":
        counts = _share_counts(scope, reach, week_ends)          # (K, W, B+1)
        den = np.stack([np.bincount(scope.key, weights=scope.weights[:, b],
                                    minlength=scope.n_keys)
                        for b in range(scope.weights.shape[1])], axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = counts / den[:, None, :]
        weekly = shares[:, :, 0]
        value = weekly[:, -1]
        reps = shares[:, -1, 1:]
        done = counts[:, -1, 0].round().astype(np.int64)
        proj = low = high = None
        if not final and len(week_ends) >= min_weeks:
            proj, low, high, reps = _project(m, scope, shares, week_ends, deadline)
        return {"value": value, "weekly": weekly, "done": done, "final": final,
                "proj": proj, "low": low, "high": high, "reps": reps}
    days = np.where(reach <= as_of, deadline - reach, 0)
    weekly = np.stack([_grouped_median(scope.key, np.where(reach <= e, deadline - reach, 0),
                                       scope.n_keys) for e in week_ends], axis=1)
    value = _grouped_median(scope.key, days, scope.n_keys)
    done = np.bincount(scope.key, weights=reach <= as_of, minlength=scope.n_keys)
    return {"value": value, "weekly": weekly, "done": done.astype(np.int64), "final": final,
            "proj": None, "low": None, "high": None, "reps": None}


def _project(m: Metric, scope: _Scope, shares: np.ndarray, week_ends: np.ndarray,
             deadline: int) -> tuple[np.ndarray, ...]:
    """Projection, interval and replicate values per cell key. Every cell with staff gets a
    point fit; the bootstrap refits only cells still under target: for a cell already there
    the projection cannot fall below the value, so its replicates are the observed shares
    (a lower bound) and its interval theirs, moved to the projection."""
    n_roles = len(scope.roles)
    targets = np.array([m.targets.get(r, np.nan) for r in scope.roles])[
        np.arange(scope.n_keys) % n_roles]
    live = np.flatnonzero((scope.staff > 0) & ~np.isnan(targets))
    t = (week_ends - deadline) / 7.0
    point = np.full(scope.n_keys, np.nan)
    point[live] = projection.project(t, np.nan_to_num(shares[live, :, 0]), 0.0)
    reps = shares[:, -1, 1:].copy()
    under = live[shares[live, -1, 0] < targets[live]]
    if len(under):
        curves = shares[under][:, :, 1:].transpose(0, 2, 1).reshape(-1, len(t))
        reps[under] = projection.project(t, np.nan_to_num(curves), 0.0).reshape(len(under), -1)
    shift = np.where(np.isin(np.arange(scope.n_keys), under), 0.0,
                     point - shares[:, -1, 0])
    # The people already counted stay counted: no replicate, and no bound, below the share
    # reached so far (the interval is about the people still to come).
    now = np.nan_to_num(shares[:, -1, 0])[:, None]
    reps = np.maximum(np.nan_to_num(reps) + shift[:, None], now)
    low, high = np.full(scope.n_keys, np.nan), np.full(scope.n_keys, np.nan)
    if len(live):
        low[live], high[live] = projection.interval(point[live], reps[live])
        low[live] = np.maximum(low[live], now[live, 0])
    return point, low, high, reps


def _num(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def evaluate(roster: Roster, activity: Activity, metrics: Metrics, go_live: dt.date,
             as_of: dt.date | None = None, *, replicates: int = REPLICATES,
             seed: int = 0) -> Result:
    """The scorecard (see the module docstring for what is counted how)."""
    last = activity.last_day
    as_of_day = _day(as_of) if as_of else (last if last is not None else _day(go_live))
    first = int(activity.day.min()) if len(activity.day) else as_of_day
    n_weeks = min(MAX_WEEKS, max(1, (as_of_day - first) // 7 + 1))
    week_ends = np.array([as_of_day - 7 * i for i in range(n_weeks)][::-1], dtype=np.int64)
    scope = _Scope(roster, metrics, replicates, seed)
    go = _day(go_live)
    action_index = {a: i for i, a in enumerate(metrics.actions)}
    per_metric = []
    for m in metrics.metrics:
        at_least = m.at_least if m.kind == "share_by" else 1
        reach = reach_days(activity, action_index[m.action], at_least, len(roster.person),
                           as_of_day)
        per_metric.append(_metric(m, scope, reach, go, as_of_day, week_ends,
                                  metrics.projection_weeks))
    return _assemble(roster, activity, metrics, scope, per_metric, go_live, as_of_day,
                     week_ends)


def _assemble(roster: Roster, activity: Activity, metrics: Metrics, scope: _Scope,
              per_metric: list[dict[str, Any]], go_live: dt.date, as_of: int,
              week_ends: np.ndarray) -> Result:
    n_roles = len(scope.roles)
    n_reps = scope.weights.shape[1] - 1
    schools: list[School] = []
    ok_reps = np.ones((scope.n_schools, n_reps), dtype=bool)
    cells_of: list[list[Cell]] = [[] for _ in range(scope.n_schools)]
    for m, data in zip(metrics.metrics, per_metric, strict=True):
        for role, target in m.targets.items():
            ri = scope.roles.index(role)
            for s in range(scope.n_schools):
                k = s * n_roles + ri
                staff = int(scope.staff[k])
                if not staff:
                    continue
                value = _num(data["value"][k])
                proj = _num(data["proj"][k]) if data["proj"] is not None else None
                judged = proj if proj is not None else value
                cells_of[s].append(Cell(
                    m.name, role, staff, int(data["done"][k]), value, target, data["final"],
                    proj, _num(data["low"][k]) if proj is not None else None,
                    _num(data["high"][k]) if proj is not None else None,
                    judged is not None and judged >= target,
                    [_num(v) for v in data["weekly"][k]]))
                if data["reps"] is not None:
                    ok_reps[s] &= np.nan_to_num(data["reps"][k], nan=0.0) >= target
                elif not cells_of[s][-1].passed:
                    ok_reps[s] = False
    empty = 0
    for s in range(scope.n_schools):
        cells = cells_of[s]
        if not cells:
            empty += 1
            continue
        shortfall = [max(0.0, c.target - (c.judged or 0.0)) / c.target if c.target else 0.0
                     for c in cells]
        gap = float(np.mean(shortfall))
        staff = int(scope.staff[s * n_roles:(s + 1) * n_roles].sum())
        weight = int(roster.students[s]) if roster.has_students else staff
        weekly_ok = [all(c.weekly[i] is not None and c.weekly[i] >= c.target  # type: ignore[operator]
                         for c in cells) for i in range(len(week_ends))]
        schools.append(School(
            roster.school_ids[s], roster.school_names[s], int(roster.students[s]), staff, cells,
            all(c.passed for c in cells),
            all(c.value is not None and c.value >= c.target for c in cells),
            float(ok_reps[s].mean()) if n_reps else None, gap, gap * weight, weekly_ok))
    schools.sort(key=lambda x: (-x.priority, -x.gap, x.name))
    kept = np.array([any(cells_of[s]) for s in range(scope.n_schools)], dtype=bool)
    counts = ok_reps[kept].sum(axis=0) if n_reps else np.zeros(1)
    warnings = activity.warnings()
    if empty:
        warnings.append(f"{empty} of {scope.n_schools} schools have no staff the metrics count;"
                        " they are left out")
    return Result(
        go_live=go_live, as_of=_date(as_of), week_ends=[_date(d) for d in week_ends],
        roster=roster.source, log=activity.source,
        metrics=[m.model_dump() for m in metrics.metrics],
        schools=schools, district=_district(metrics, scope, per_metric),
        projection=Projection(sum(s.at_target for s in schools), float(counts.mean()),
                              int(np.percentile(counts, projection.LOW)),
                              int(np.percentile(counts, projection.HIGH))),
        has_students=roster.has_students, staff_in_scope=len(scope.index),
        staff_out_of_scope=scope.out, warnings=warnings)


def _district(metrics: Metrics, scope: _Scope,
              per_metric: list[dict[str, Any]]) -> list[DistrictCell]:
    out = []
    n_roles = len(scope.roles)
    for m, data in zip(metrics.metrics, per_metric, strict=True):
        for role, target in m.targets.items():
            keys = np.arange(scope.roles.index(role), scope.n_keys, n_roles)
            staff = scope.staff[keys]
            total = int(staff.sum())
            if m.kind == "share_by":
                weekly = [float((data["weekly"][keys, i] * staff)[staff > 0].sum() / total)
                          if total else None for i in range(data["weekly"].shape[1])]
            else:  # the median of the schools' medians: each school one voice
                weekly = [_num(float(np.nanmedian(data["weekly"][keys, i])))
                          if total else None for i in range(data["weekly"].shape[1])]
            out.append(DistrictCell(m.name, role, total, weekly[-1] if weekly else None,
                                    target, weekly))
    return out
