"""Staff: teachers for every teaching slot the schedule needs, school and central roles, and a
few terminated employees still on file (the accounts that security probes must find refused).

Teachers come first so that staff id = teacher slot + 1. The total of active employees equals
the profile's (scaled); aides take whatever the named roles leave, as the profile's numbers imply.
When the profile's numbers cannot all hold (at small scales the schedule may need more teachers
than the scaled teacher count, or the named roles more people than the scaled employee count),
the schedule and the roles win and each such deviation is returned as a warning.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from fake_data import contact, words
from fake_data.profile import Profile
from fake_data.rng import stream
from fake_data.schedule import Schedule
from fake_data.schools import SchoolPlan, scaled
from fake_data.students import EPOCH

ROLES = (
    "teacher", "principal", "assistant_principal", "clerk", "counselor", "aide",
    "central_office", "district_administrator",
)
STAFF_FEMALE_SHARE = 0.7
STALE_LOGIN_SHARE = 0.01
NO_SCHOOL = 0  # central roles: school id 0 means the district office


def _spread(rng: np.random.Generator, total: int, school_ids: np.ndarray,
            weights: np.ndarray) -> np.ndarray:
    if total <= 0:
        return np.empty(0, dtype=np.int32)
    per_school = rng.multinomial(total, weights / weights.sum())
    return np.repeat(school_ids, per_school).astype(np.int32)


def _more_than(what: str, made: int, target: int, spec_value: int, scale: float,
               why: str) -> str:
    return (f"{what}: generated {made:,}, {made - target:,} more than the profile's "
            f"{spec_value:,} x scale {scale:g} = {target:,}, because {why}.")


def build_staff(profile: Profile, scale: float, plan: SchoolPlan, schedule: Schedule,
                seed: int) -> tuple[pa.Table, list[str]]:
    """Staff table, and the ways it departs from the profile's (scaled) numbers."""
    rng = stream(seed, "staff")
    warnings: list[str] = []
    spec = profile.staff
    schools = plan.table
    school_ids = schools["school_id"].to_numpy()
    students = schools["students"].to_numpy().astype(float) + 1.0
    is_high = plan.level == "high"
    governance = schools["governance"].to_numpy(zero_copy_only=False)

    slots = schedule.teacher_slot_school
    teacher_target = scaled(spec.teachers, scale)
    if len(slots) > teacher_target:
        warnings.append(_more_than(
            "teachers", len(slots), teacher_target, spec.teachers, scale,
            f"the schedule has {len(slots):,} teaching slots and each needs a teacher"))
    resource = _spread(rng, teacher_target - len(slots), school_ids, students)
    by_district_first = np.argsort(governance != "district", kind="stable")
    principal_target = scaled(spec.principals, scale)
    n_principals = min(len(school_ids), principal_target)
    if principal_target > n_principals:
        warnings.append(
            f"principals: generated {n_principals:,}, {principal_target - n_principals:,} fewer "
            f"than the profile's {spec.principals:,} x scale {scale:g} = {principal_target:,}, "
            f"because there are {len(school_ids):,} schools and each has one principal at most.")
    principals = school_ids[by_district_first[:n_principals]]
    aps = np.repeat(school_ids, rng.integers(
        spec.assistant_principals_per_school.min, spec.assistant_principals_per_school.max + 1,
        len(school_ids)))
    clerks = np.repeat(school_ids, rng.integers(
        spec.clerks_per_school.min, spec.clerks_per_school.max + 1, len(school_ids)))
    counselors_per = np.where(
        is_high,
        np.maximum(1, np.round(students / spec.high_school_students_per_counselor)),
        spec.counselors_per_elementary,
    ).astype(np.int64)
    counselors = np.repeat(school_ids, counselors_per)
    central = np.full(scaled(spec.central_office, scale), NO_SCHOOL)
    admins = np.full(scaled(spec.district_administrators, scale, minimum=1), NO_SCHOOL)
    named = [slots, resource, principals, aps, clerks, counselors, central, admins]
    employee_target = scaled(spec.employees, scale)
    n_named = sum(len(a) for a in named)
    if n_named > employee_target:
        warnings.append(_more_than(
            "employees (active)", n_named, employee_target, spec.employees, scale,
            f"the named roles (teachers, principals, assistant principals, clerks, counselors, "
            f"central office, district administrators) need {n_named:,} people, so there are "
            "no aides"))
    aides = _spread(rng, employee_target - n_named, school_ids, students)
    by_role = [np.concatenate([slots, resource]), principals, aps, clerks, counselors, aides,
               central, admins]
    school = np.concatenate(by_role).astype(np.int32)
    role = np.repeat(np.arange(len(ROLES), dtype=np.int32), [len(a) for a in by_role])
    room = np.full(len(school), None, dtype=object)
    room[: len(slots)] = np.char.add("Room ", schedule.teacher_slot_room.astype("U4"))

    # Terminated employees on file: drawn from the active mix, no sections, no current room.
    n_term = scaled(round(spec.employees * spec.terminated_share), scale)
    pick = (rng.integers(len(slots), len(school), n_term) if len(school) > len(slots)
            else np.empty(0, dtype=np.int64))
    school = np.concatenate([school, school[pick]])
    role = np.concatenate([role, role[pick]])
    room = np.concatenate([room, np.full(n_term, None, dtype=object)])
    terminated = np.r_[np.zeros(len(school) - n_term, bool), np.ones(n_term, bool)]

    n = len(school)
    ids = np.arange(1, n + 1, dtype=np.int32)
    female = rng.random(n) < STAFF_FEMALE_SHARE
    first = words.first_names(rng, female)
    last = words.last_names().sample(rng, n)
    year_start = (profile.calendar.school_year.start - EPOCH).days
    cutover = (profile.calendar.cutover_date - EPOCH).days
    hire = year_start - rng.integers(30, 30 * 365, n)
    term_day = cutover - rng.integers(1, 120, n)
    last_login = np.where(terminated, term_day - rng.integers(0, 5, n),
                          cutover - rng.integers(1, 15, n))
    stale = ~terminated & (rng.random(n) < STALE_LOGIN_SHARE)
    last_login[stale] = cutover - rng.integers(200, 400, int(stale.sum()))
    table = pa.table(
        {
            "staff_id": pa.array(ids),
            "employee_number": pa.array(ids + 700_000).cast(pa.string()),
            "school_id": pa.array(school),
            "role": pa.DictionaryArray.from_arrays(pa.array(role), pa.array(ROLES)),
            "first_name": first,
            "last_name": last,
            "sex": pa.DictionaryArray.from_arrays(
                pa.array(np.where(female, 0, 1).astype(np.int32)), pa.array(["female", "male"])
            ),
            "email": contact.emails(first, last, ids, contact.STAFF_DOMAIN),
            "room": pa.array(room, pa.string()),
            "hire_date": pa.array(hire.astype(np.int32)).cast(pa.date32()),
            "status": pa.array(np.where(terminated, "terminated", "active")).dictionary_encode(),
            "termination_date": pa.array(
                np.where(terminated, term_day, 0).astype(np.int32), mask=~terminated
            ).cast(pa.date32()),
            "last_login_date": pa.array(last_login.astype(np.int32)).cast(pa.date32()),
        }
    )
    return table, warnings
