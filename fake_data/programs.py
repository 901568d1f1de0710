"""Summer school and evening school: academic sessions with sections of their own.

The old systems kept these in separate SIMs (SIM Summer School, SIM Evening School); the new SIS
holds them as terms of the school year. A share of the students of the program's grades take
its subjects at a site school that hosts every `schools_per_site` schools of the same level (as
districts consolidate summer sites), in teams no larger than the class-size maximum, each team
taking subject s in period (t + s) mod P of that session. Their teachers are the site's own, each
in distinct periods within the session (a teacher can teach days and evenings).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fake_data.catalog import GRADE_LABELS
from fake_data.profile import GRADE_CODES, Profile
from fake_data.rng import stream


@dataclass(frozen=True)
class Programs:
    courses: pa.Table
    sections: pa.Table
    enrollments: pa.Table


def _session_ids(sessions: pa.Table, profile: Profile) -> dict[str, int]:
    by_title = dict(zip(sessions["title"].to_pylist(), sessions["session_id"].to_pylist(),
                        strict=True))
    cal = profile.calendar
    return {"summer_school": by_title[cal.summer_session.name],
            "evening_school": by_title[cal.evening_school.name]}


def program_course_title(program: str, subject: str, grade: int) -> str:
    label = "Summer School" if program == "summer_school" else "Evening School"
    return f"{label} {subject} (Grade {GRADE_LABELS[grade]})"


def _sites(schools: pa.Table, every: int) -> np.ndarray:
    """Site school per school id (index = school id): the first of each run of `every` schools
    of the same level."""
    ids = schools["school_id"].to_numpy()
    level = schools["level"].cast(pa.string()).to_numpy(zero_copy_only=False)
    site = np.zeros(int(ids.max(initial=0)) + 1, dtype=np.int64)
    for lv in dict.fromkeys(level.tolist()):
        members = ids[level == lv]
        site[members] = members[(np.arange(len(members)) // every) * every]
    return site


def build_programs(profile: Profile, students: pa.Table, schools: pa.Table, sections: pa.Table,
                   sessions: pa.Table, first_course_id: int, seed: int) -> Programs:
    """Courses, sections and enrollments of every program, with ids after the regular ones."""
    session_of = _session_ids(sessions, profile)
    home_school = students["school_id"].to_numpy()
    st_grade = students["grade"].to_numpy()
    # A school's own active teachers (with regular sections), and the room each teaches in.
    sec_teacher = sections["teacher_id"].to_numpy()
    sec_school = sections["school_id"].to_numpy()
    room_of = dict(zip(sec_teacher.tolist(), sections["room"].to_pylist(), strict=True))
    teachers_of: dict[int, list[int]] = {}
    for school, teacher in sorted(set(zip(sec_school.tolist(), sec_teacher.tolist(),
                                          strict=True))):
        teachers_of.setdefault(school, []).append(teacher)

    courses: list[tuple[int, str, str, str, int, str]] = []
    rows: dict[str, list[object]] = {k: [] for k in (
        "school_id", "course_id", "teacher_id", "grade", "subject", "period", "team", "room",
        "capacity", "enrolled", "session_id")}
    e_section: list[np.ndarray] = []
    e_student: list[np.ndarray] = []
    next_section = sections.num_rows + 1
    for program, spec in sorted(profile.programs.items()):
        rng = stream(seed, f"programs.{program}")
        st_school = _sites(schools, spec.schools_per_site)[home_school]
        grades = [GRADE_CODES[g] for g in spec.grades]
        takes = np.isin(st_grade, grades) & (rng.random(len(st_grade)) < spec.share)
        course_ids = {}
        for grade in sorted(grades):
            for subject in spec.subjects:
                course_ids[(grade, subject)] = first_course_id + len(courses)
                courses.append((course_ids[(grade, subject)], _code(program, subject, grade),
                                program_course_title(program, subject, grade), subject, grade,
                                program))
        busy: dict[int, set[int]] = {}  # teacher -> periods taken in this session
        for school in np.unique(st_school[takes]).tolist():
            pool = teachers_of.get(school, [])
            if not pool:
                continue
            turn = 0
            for grade in sorted(grades):
                ids = np.flatnonzero(takes & (st_school == school) & (st_grade == grade)) + 1
                if not len(ids):
                    continue
                k = max(1, -(-len(ids) // spec.class_size.max),
                        round(len(ids) / spec.class_size.target))
                team = np.arange(len(ids)) % k
                for t in range(k):
                    members = ids[team == t]
                    team_busy: set[int] = set()
                    for s, subject in enumerate(spec.subjects):
                        teacher, period, turn = _place(pool, turn, (t + s) % spec.periods + 1,
                                                       team_busy, busy)
                        rows["school_id"].append(school)
                        rows["course_id"].append(course_ids[(grade, subject)])
                        rows["teacher_id"].append(teacher)
                        rows["grade"].append(grade)
                        rows["subject"].append(subject)
                        rows["period"].append(period)
                        rows["team"].append(t + 1)
                        rows["room"].append(room_of.get(teacher))
                        rows["capacity"].append(spec.class_size.max)
                        rows["enrolled"].append(len(members))
                        rows["session_id"].append(session_of[program])
                        e_section.append(np.full(len(members), next_section, dtype=np.int32))
                        e_student.append(members.astype(np.int32))
                        next_section += 1

    n = len(rows["school_id"])
    section_table = pa.table({
        "section_id": pa.array(np.arange(sections.num_rows + 1, next_section, dtype=np.int32)),
        "school_id": pa.array(rows["school_id"], pa.int32()),
        "course_id": pa.array(rows["course_id"], pa.int32()),
        "teacher_id": pa.array(rows["teacher_id"], pa.int32()),
        "grade": pa.array(rows["grade"], pa.int8()),
        "subject": pa.array(rows["subject"], pa.string()).dictionary_encode(),
        "class_type": pa.array(["scheduled"] * n, pa.string()).dictionary_encode(),
        "period": pa.array(rows["period"], pa.int8()),
        "team": pa.array(rows["team"], pa.int16()),
        "room": pa.array(rows["room"], pa.string()),
        "capacity": pa.array(rows["capacity"], pa.int16()),
        "enrolled": pa.array(rows["enrolled"], pa.int16()),
        "session_id": pa.array(rows["session_id"], pa.int32()),
    })
    section_ids = np.concatenate(e_section) if e_section else np.empty(0, np.int32)
    student_ids = np.concatenate(e_student) if e_student else np.empty(0, np.int32)
    enrollments = pa.table({
        "section_id": pa.array(section_ids),
        "student_id": pa.array(student_ids),
        "school_id": pa.array(np.asarray(rows["school_id"], dtype=np.int32)[
            section_ids - sections.num_rows - 1] if len(section_ids) else np.empty(0, np.int32)),
    })
    course_table = pa.table({
        "course_id": pa.array([c[0] for c in courses], pa.int32()),
        "course_code": pa.array([c[1] for c in courses], pa.string()),
        "title": pa.array([c[2] for c in courses], pa.string()),
        "subject": pa.array([c[3] for c in courses], pa.string()).dictionary_encode(),
        "grade": pa.array([c[4] for c in courses], pa.int8()),
        "level": pa.array([c[5] for c in courses], pa.string()).dictionary_encode(),
    })
    return Programs(course_table, section_table, enrollments)


def _place(pool: list[int], turn: int, preferred: int, team_busy: set[int],
           busy: dict[int, set[int]]) -> tuple[int, int, int]:
    """A teacher and a period for one section: the preferred period with the next teacher in
    turn who is free then; when every teacher of a small school is taken, the earliest period
    that both the team and some teacher still have free (a later slot of that session)."""
    period = preferred
    while True:
        if period not in team_busy:
            for step in range(len(pool)):
                teacher = pool[(turn + step) % len(pool)]
                if period not in busy.setdefault(teacher, set()):
                    busy[teacher].add(period)
                    team_busy.add(period)
                    return teacher, period, turn + step + 1
        period = period + 1 if period >= preferred else preferred + 1


def _code(program: str, subject: str, grade: int) -> str:
    prefix = "SUM" if program == "summer_school" else "EVE"
    initials = "".join(w[0] for w in subject.split()).upper()
    return f"{prefix}-{initials}-{GRADE_LABELS[grade]}"
