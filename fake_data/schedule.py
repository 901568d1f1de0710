"""Courses, sections, student enrollments and teaching loads, with no period conflicts.

Each (school, grade) is split into teams no larger than the class-size maximum. Homeroom grades
get one self-contained section per team. In departmentalized grades each team takes every
subject, subject s of team t meeting in period (t + s) mod P (teams numbered across the school's
grades): a Latin square, so a student is in
exactly one section per period. Teachers of a department take up to `sections_per_teacher`
sections, always in distinct periods (greedy from the fullest periods), so no teacher is in two
places at once either. Students are handled as whole arrays; only sections are looped over.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fake_data.catalog import course_code, course_title
from fake_data.profile import GRADE_CODES, Profile
from fake_data.schools import SchoolPlan
from fake_data.sessions import SCHOOL_YEAR_ID

HOMEROOM = "Homeroom"


@dataclass(frozen=True)
class Schedule:
    courses: pa.Table
    sections: pa.Table  # teacher as a slot number; staff ids are given to slots later
    enrollments: pa.Table
    teacher_slot_school: np.ndarray  # school id per teacher slot
    teacher_slot_room: np.ndarray  # room number per teacher slot


def _catalog(profile: Profile) -> tuple[pa.Table, dict[tuple[str, int], int]]:
    keys: list[tuple[str, int, str]] = []
    for level, spec in profile.levels.items():
        for g in spec.homeroom_grades:
            keys.append((HOMEROOM, GRADE_CODES[g], level))
        for g in spec.departmentalized_grades:
            keys += [(s, GRADE_CODES[g], level) for s in spec.subjects]
    keys.sort(key=lambda k: (k[1], k[0]))
    ids = {(s, g): i + 1 for i, (s, g, _) in enumerate(keys)}
    table = pa.table(
        {
            "course_id": pa.array(list(ids.values()), pa.int32()),
            "course_code": pa.array([course_code(s, g) for s, g, _ in keys]),
            "title": pa.array([course_title(s, g) for s, g, _ in keys]),
            "subject": pa.array([s for s, _, _ in keys]).dictionary_encode(),
            "grade": pa.array([g for _, g, _ in keys], pa.int8()),
            "level": pa.array([lv for _, _, lv in keys]).dictionary_encode(),
        }
    )
    return table, ids


def _assign_teachers(periods: np.ndarray, per_teacher: int) -> np.ndarray:
    """Local teacher number per section; each teacher's sections are in distinct periods."""
    buckets: dict[int, list[int]] = {}
    for i, p in enumerate(periods.tolist()):
        buckets.setdefault(p, []).append(i)
    teacher = np.empty(len(periods), dtype=np.int32)
    t = 0
    while buckets:
        fullest = sorted(buckets, key=lambda p: (-len(buckets[p]), p))[:per_teacher]
        for p in fullest:
            teacher[buckets[p].pop()] = t
            if not buckets[p]:
                del buckets[p]
        t += 1
    return teacher


def build_schedule(profile: Profile, plan: SchoolPlan, students: pa.Table) -> Schedule:
    courses, course_ids = _catalog(profile)
    school_ids = plan.table["school_id"].to_numpy()
    n_grades = len(plan.grades)
    g_n = plan.counts.ravel()
    present = np.flatnonzero(g_n > 0)
    g_school_idx = present // n_grades
    g_grade = plan.grades[present % n_grades].astype(np.int64)
    g_n = g_n[present]
    n_groups = len(present)

    g_k = np.empty(n_groups, dtype=np.int64)  # teams per group
    g_subjects: list[list[str]] = []
    g_periods = np.empty(n_groups, dtype=np.int64)
    g_capacity = np.empty(n_groups, dtype=np.int64)
    g_spt = np.empty(n_groups, dtype=np.int64)
    for i in range(n_groups):
        spec = profile.levels[plan.level[g_school_idx[i]]]
        size = spec.class_size
        n = int(g_n[i])
        g_k[i] = max(1, -(-n // size.max), round(n / size.target))
        homeroom = any(GRADE_CODES[g] == g_grade[i] for g in spec.homeroom_grades)
        g_subjects.append([HOMEROOM] if homeroom else list(spec.subjects))
        g_periods[i] = spec.periods
        g_capacity[i] = size.max
        g_spt[i] = spec.sections_per_teacher
    g_s = np.array([len(s) for s in g_subjects], dtype=np.int64)
    g_homeroom = np.array([s == [HOMEROOM] for s in g_subjects])
    g_sections = g_k * g_s
    g_first = np.cumsum(g_sections) - g_sections

    # Sections, one row per (group, team, subject).
    n_sections = int(g_sections.sum())
    sec_group = np.repeat(np.arange(n_groups), g_sections)
    local = np.arange(n_sections) - g_first[sec_group]
    team = local // g_s[sec_group]
    subj = local % g_s[sec_group]
    # Teams are numbered across a school's grades before the rotation, so one department's
    # sections spread over all periods and its teachers can fill their days.
    k_before = np.cumsum(g_k) - g_k
    school_start = np.r_[0, np.flatnonzero(np.diff(g_school_idx)) + 1]
    g_offset = k_before - np.repeat(k_before[school_start], np.diff(np.r_[school_start, n_groups]))
    period = np.where(
        g_homeroom[sec_group], 0, (g_offset[sec_group] + team + subj) % g_periods[sec_group] + 1
    ).astype(np.int8)
    subject_name = np.array([g_subjects[g][s] for g, s in zip(sec_group, subj, strict=True)])
    course = np.array(
        [course_ids[(s, int(g))] for s, g in zip(subject_name, g_grade[sec_group], strict=True)],
        dtype=np.int32,
    )
    sec_school = school_ids[g_school_idx[sec_group]]
    team_size = g_n[sec_group] // g_k[sec_group] + (team < g_n[sec_group] % g_k[sec_group])

    # Teachers: homerooms one each; departments (school, subject) share out their sections.
    slot = np.empty(n_sections, dtype=np.int64)
    slot_school: list[np.ndarray] = []
    next_slot = 0
    dept_key = sec_school.astype(np.int64) * 1000 + np.unique(subject_name, return_inverse=True)[1]
    hr = np.flatnonzero(g_homeroom[sec_group])
    dept_key[hr] = -1 - hr  # every homeroom is a department of its own
    order = np.lexsort((period, dept_key))
    starts = np.flatnonzero(np.r_[True, dept_key[order][1:] != dept_key[order][:-1]])
    bounds = np.r_[starts, n_sections]
    for a, b in itertools.pairwise(bounds):
        members = order[a:b]
        local_teacher = _assign_teachers(period[members], int(g_spt[sec_group[members[0]]]))
        slot[members] = next_slot + local_teacher
        count = int(local_teacher.max()) + 1
        slot_school.append(np.full(count, sec_school[members[0]], dtype=np.int32))
        next_slot += count
    teacher_slot_school = np.concatenate(slot_school) if slot_school else np.empty(0, np.int32)
    # Rooms: a teacher teaches in one room, numbered per school in slot order.
    first_of_school = np.searchsorted(
        np.sort(teacher_slot_school), teacher_slot_school, side="left"
    )
    room_number = 101 + (
        np.argsort(np.argsort(teacher_slot_school, kind="stable"), kind="stable")
        - first_of_school
    )
    room = np.char.add("Room ", room_number[slot].astype("U4"))

    sections = pa.table(
        {
            "section_id": pa.array(np.arange(1, n_sections + 1, dtype=np.int32)),
            "school_id": pa.array(sec_school.astype(np.int32)),
            "course_id": pa.array(course),
            "grade": pa.array(g_grade[sec_group].astype(np.int8)),
            "subject": pa.array(subject_name).dictionary_encode(),
            "class_type": pa.array(
                np.where(g_homeroom[sec_group], "homeroom", "scheduled")
            ).dictionary_encode(),
            "period": pa.array(period),
            "team": pa.array((team + 1).astype(np.int16)),
            "room": pa.array(room),
            "capacity": pa.array(g_capacity[sec_group].astype(np.int16)),
            "enrolled": pa.array(team_size.astype(np.int16)),
            "session_id": pa.array(np.full(n_sections, SCHOOL_YEAR_ID, dtype=np.int32)),
            "teacher_slot": pa.array(slot.astype(np.int32)),
        }
    )

    # Enrollments: students are ordered by (school, grade), so each group is a contiguous slice.
    st_group = np.repeat(np.arange(n_groups), g_n)
    st_pos = np.arange(len(st_group)) - np.repeat(np.cumsum(g_n) - g_n, g_n)
    st_team = st_pos % g_k[st_group]
    rows = g_s[st_group]
    e_student = np.repeat(students["student_id"].to_numpy(), rows)
    e_group = np.repeat(st_group, rows)
    e_subj = np.arange(int(rows.sum())) - np.repeat(np.cumsum(rows) - rows, rows)
    e_section = g_first[e_group] + np.repeat(st_team, rows) * g_s[e_group] + e_subj + 1
    enrollments = pa.table(
        {
            "section_id": pa.array(e_section.astype(np.int32)),
            "student_id": pa.array(e_student.astype(np.int32)),
            "school_id": pa.array(np.repeat(students["school_id"].to_numpy(), rows)),
        }
    )
    return Schedule(
        courses=courses,
        sections=sections,
        enrollments=enrollments,
        teacher_slot_school=teacher_slot_school,
        teacher_slot_room=room_number,
    )
