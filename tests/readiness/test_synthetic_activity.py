"""The synthetic sandbox log (fake_data/activity.py): its people are the generated active
staff, it is the same for the same seed and differs for another, it stays inside its window
on weekdays in working hours, adoption differs by role, and the schools drawn far behind are
the ones the scorecard ranks first."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow.compute as pc

from fake_data.activity import (
    ACTIONS,
    LOGIN,
    Window,
    build_activity,
    school_adoption,
    write_activity,
)
from fake_data.district import District
from fake_data.export_oneroster import sourced_ids
from readiness import evaluate, from_district, load_activity, load_metrics


def window(small: District) -> Window:
    return Window(small.profile.calendar.cutover_date)


def test_ids_are_the_active_staff_and_the_window_holds(small: District) -> None:
    log = build_activity(small, window(small), 42)
    staff = small["staff"]
    active = staff.filter(pc.equal(staff["status"].cast("string"), "active"))
    ids = set(sourced_ids("staff", active["staff_id"]).to_pylist())
    people = set(log["person"].to_pylist())
    assert people <= ids
    assert len(people) > 0.85 * len(ids)
    assert set(log["action"].cast("string").to_pylist()) == set(ACTIONS)
    times = log["time"].to_pylist()
    go_live = small.profile.calendar.cutover_date
    assert min(times).date() >= go_live - dt.timedelta(weeks=16)
    assert max(times).date() < go_live - dt.timedelta(days=14)
    assert all(t.weekday() < 5 and 7 <= t.hour < 18 for t in times)
    assert times == sorted(times)


def test_deterministic_by_seed(small: District) -> None:
    a = build_activity(small, window(small), 42)
    b = build_activity(small, window(small), 42)
    c = build_activity(small, window(small), 43)
    assert a.equals(b)
    assert not a.equals(c)


def test_roles_adopt_differently(small: District) -> None:
    log = build_activity(small, window(small), 42)
    staff = small["staff"]
    role_of = dict(zip(sourced_ids("staff", staff["staff_id"]).to_pylist(),
                       staff["role"].cast("string").to_pylist(), strict=True))
    first: dict[str, dt.datetime] = {}
    for person, time, action in zip(log["person"].to_pylist(), log["time"].to_pylist(),
                                    log["action"].cast("string").to_pylist(), strict=True):
        if action == LOGIN:
            first.setdefault(person, time)
    by_role: dict[str, list[float]] = {}
    for person, time in first.items():
        by_role.setdefault(role_of[person], []).append(time.timestamp())
    # leaders start about two weeks before teachers, aides a week after
    lead = np.median(by_role["teacher"]) - np.median(by_role["principal"])
    assert 5 * 86400 < lead < 30 * 86400
    assert np.median(by_role["aide"]) > np.median(by_role["teacher"])
    gradebook = {p for p, a in zip(log["person"].to_pylist(),
                                   log["action"].cast("string").to_pylist(), strict=True)
                 if a == "gradebook_setup"}
    assert {role_of[p] for p in gradebook} == {"teacher"}


def test_schools_far_behind_exist_and_rank_first(small: District, tmp_path: Path) -> None:
    adoption = school_adoption(small, 42)
    far = set(adoption.school_id[adoption.far_behind].tolist())
    assert len(far) >= 1 and len(far) < len(adoption.school_id) / 2
    path = tmp_path / "activity.csv"
    write_activity(build_activity(small, window(small), 42), path)
    roster = from_district(small)
    metrics = load_metrics()
    result = evaluate(roster, load_activity(path, roster, metrics), metrics, roster.go_live)
    ranked = [int(s.id.removeprefix("sch-")) for s in result.schools]
    assert set(ranked[:len(far)]) == far
    worst = {s.id: s for s in result.schools}
    assert all(not worst[f"sch-{i:04d}"].at_target for i in far)
    assert all(worst[f"sch-{i:04d}"].gap > 0.2 for i in far)
