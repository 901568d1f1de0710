"""Synthetic training-sandbox activity for the weeks before go-live: who logged in, completed
training modules, set up a gradebook and practised attendance, and when.

This module owns the adoption model behind the log `firstbell readiness` is demonstrated and
tested on. Each school has its own adoption curve (a logistic in time: a midpoint and a
ceiling), each role its own lag and ceiling (leaders start first, aides last), one person in twelve
is a late adopter, and a few schools (3%, at least one) start late and stall low: the schools the
scorecard must find. People are the generated staff, named by their OneRoster sourcedId
(``stf-000123``), so the same log matches the Parquet tables and the OneRoster exports.

Everything is drawn as whole numpy arrays from one named stream, so the cps district's log
(~37,000 staff, ~400,000 events) is built in well under a second and is the same for the same
seed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from fake_data.district import District
from fake_data.export_oneroster import sourced_ids
from fake_data.rng import stream
from fake_data.students import EPOCH

LOGIN, TRAINING, GRADEBOOK, ATTENDANCE = ACTIONS = (
    "sandbox_login", "training_module_completed", "gradebook_setup", "attendance_practice")
TRAINING_MODULES = 4
FAR_BEHIND_SHARE = 0.03
LATE_SHARE = 0.08

# Per role: days the first login lags the school's midpoint, and the share who ever log in.
ROLE_LAG = {"teacher": 0.0, "principal": -14.0, "assistant_principal": -10.0, "clerk": 0.0,
            "counselor": 5.0, "aide": 7.0, "central_office": -7.0,
            "district_administrator": -21.0}
ROLE_CEILING = {"aide": 0.92, "central_office": 0.9}
GRADEBOOK_ROLES = ("teacher",)
ATTENDANCE_ROLES = ("teacher", "clerk")


@dataclass(frozen=True)
class Window:
    """The log's span, in days relative to go-live (day 0): from `start` to `end` (exclusive)."""

    go_live: dt.date
    weeks: int = 16         # the sandbox opens this many weeks before go-live
    end_days_before: int = 14  # the log is pulled this many days before go-live

    @property
    def start(self) -> int:
        return -7 * self.weeks

    @property
    def end(self) -> int:
        return -self.end_days_before


@dataclass(frozen=True)
class Adoption:
    """What was drawn per school: the midpoint (days before go-live) and ceiling of its curve,
    and whether it is one of the schools far behind (tests check these are found)."""

    school_id: np.ndarray
    midpoint: np.ndarray
    ceiling: np.ndarray
    far_behind: np.ndarray


def school_adoption(district: District, seed: int) -> Adoption:
    rng = stream(seed, "activity.schools")
    ids = district["schools"]["school_id"].to_numpy()
    n = len(ids)
    midpoint = -70.0 + rng.normal(0.0, 8.0, n)
    ceiling = np.clip(1.0 - np.abs(rng.normal(0.0, 0.015, n)), 0.80, 1.0)
    far = np.zeros(n, dtype=bool)
    far[rng.permutation(n)[: max(1, round(n * FAR_BEHIND_SHARE))]] = True
    midpoint[far] += rng.uniform(30.0, 45.0, int(far.sum()))
    ceiling[far] = rng.uniform(0.55, 0.75, int(far.sum()))
    return Adoption(ids, midpoint, ceiling, far)


def build_activity(district: District, window: Window, seed: int) -> pa.Table:
    """The log as a table (person, time, action), sorted by time, then person."""
    rng = stream(seed, "activity")
    staff = district["staff"]
    active = pc.equal(staff["status"].cast(pa.string()), "active").to_numpy(zero_copy_only=False)
    staff_ids = staff["staff_id"].to_numpy()[active]
    school = staff["school_id"].to_numpy()[active]
    role = np.asarray(staff["role"].cast(pa.string()).to_numpy(zero_copy_only=False))[active]
    n = len(staff_ids)

    adoption = school_adoption(district, seed)
    last = max(len(adoption.school_id) - 1, 0)
    at = np.clip(np.searchsorted(adoption.school_id, school), 0, last)
    at_school = school != 0  # the district office keeps a district-wide curve
    midpoint = np.where(at_school, adoption.midpoint[at], -60.0)
    ceiling = np.where(at_school, adoption.ceiling[at], 0.95)
    names, code = np.unique(role, return_inverse=True)
    lag = np.array([ROLE_LAG.get(str(r), 0.0) for r in names])[code]
    role_ceiling = np.array([ROLE_CEILING.get(str(r), 1.0) for r in names])[code]

    adopts = rng.random(n) < ceiling * role_ceiling
    late = rng.random(n) < LATE_SHARE
    # A logistic draw: the time of first login follows the school's logistic adoption curve.
    u = rng.random(n).clip(1e-9, 1 - 1e-9)
    first = midpoint + lag + 6.0 * np.log(u / (1 - u)) + late * rng.normal(28, 7, n)
    first = np.maximum(first, window.start)

    person: list[np.ndarray] = []
    day: list[np.ndarray] = []
    action: list[np.ndarray] = []

    def emit(who: np.ndarray, when: np.ndarray, what: int) -> None:
        keep = when < window.end
        person.append(who[keep])
        day.append(when[keep])
        action.append(np.full(int(keep.sum()), what, dtype=np.int8))

    idx = np.flatnonzero(adopts)
    emit(idx, first[idx], 0)
    # Return visits: about one login a week after the first, until the log is pulled.
    span = np.maximum(window.end - first[idx], 0)
    visits = rng.poisson(span * 0.15)
    who = np.repeat(idx, visits)
    emit(who, first[who] + rng.uniform(0, 1, len(who)) * np.repeat(span, visits), 0)
    # Training modules one after another; each person may stop early.
    t = first[idx].copy()
    going = np.ones(len(idx), dtype=bool)
    for _ in range(TRAINING_MODULES):
        t = t + rng.exponential(3.0, len(idx))
        going &= rng.random(len(idx)) < 0.99
        emit(idx[going], t[going], 1)
    for what, roles, p, mean in ((2, GRADEBOOK_ROLES, 0.97, 7.0),
                                 (3, ATTENDANCE_ROLES, 0.97, 6.0)):
        sel = idx[np.isin(role[idx], roles)]
        sel = sel[rng.random(len(sel)) < p]
        emit(sel, first[sel] + rng.exponential(mean, len(sel)), what)

    who = np.concatenate(person)
    when = np.concatenate(day)
    kind = np.concatenate(action)
    whole = np.floor(when).astype(np.int64)
    # Sandbox work happens on weekdays, in working hours: a weekend day moves to Monday.
    go_live = (window.go_live - EPOCH).days
    weekday = (go_live + whole + 3) % 7  # 1970-01-01 was a Thursday (3)
    whole += np.where(weekday == 5, 2, np.where(weekday == 6, 1, 0))
    keep = whole < window.end
    who, whole, kind = who[keep], whole[keep], kind[keep]
    seconds = (go_live + whole) * 86400 + rng.integers(7 * 3600, 18 * 3600, len(whole))
    order = np.lexsort((staff_ids[who], seconds))
    return pa.table({
        "person": sourced_ids("staff", staff_ids[who][order]),
        "time": pa.array(seconds[order], pa.timestamp("s")),
        "action": pa.DictionaryArray.from_arrays(pa.array(kind[order].astype(np.int32)),
                                                 pa.array(ACTIONS)),
    })


def write_activity(table: pa.Table, path: Path) -> int:
    """Write the log as CSV (``.csv``) or JSON lines (``.jsonl``); returns the rows written.
    Times are written as ISO 8601 local times (``2019-02-11T08:14:03``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # numpy formats ISO times several times faster than Arrow's strftime
    times = pa.array(np.datetime_as_string(table["time"].to_numpy(), unit="s"))
    plain = pa.table({"person": table["person"], "time": times,
                      "action": table["action"].cast(pa.string())})
    tmp = path.with_name(path.name + ".partial")
    if path.suffix == ".jsonl":
        with tmp.open("w", encoding="utf-8") as fh:
            for row in plain.to_pylist():
                fh.write(json.dumps(row) + "\n")
    else:
        pacsv.write_csv(plain, tmp, pacsv.WriteOptions(quoting_style="needed"))
    tmp.replace(path)
    return plain.num_rows
