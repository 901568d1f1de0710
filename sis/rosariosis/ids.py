"""The id space of a RosarioSIS seed: where the district's ids start in each table (after
what the install left), the serial columns whose sequences are moved past them, and the record
of what a seed wrote (rows, seconds, the id maps the user pool is built from)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import psycopg

# Serial columns written explicitly: their sequences are moved past the seeded ids.
SERIALS = (("schools", "id"), ("staff", "staff_id"), ("students", "student_id"),
           ("school_marking_periods", "marking_period_id"),
           ("attendance_calendars", "calendar_id"), ("school_gradelevels", "id"),
           ("school_periods", "period_id"), ("course_subjects", "subject_id"),
           ("courses", "course_id"), ("course_periods", "course_period_id"),
           ("course_period_school_periods", "course_period_school_periods_id"),
           ("student_enrollment", "id"), ("student_enrollment_codes", "id"),
           ("attendance_codes", "id"), ("report_card_grade_scales", "id"),
           ("report_card_grades", "id"),
           ("gradebook_assignment_types", "assignment_type_id"),
           ("gradebook_assignments", "assignment_id"))

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class Bases:
    """The largest id of each table after the install (the district's ids follow them)."""

    school: int
    staff: int
    student: int
    marking_period: int
    calendar: int
    gradelevel: int
    period: int
    subject: int
    course: int
    course_period: int
    enrollment: int
    template_school: int
    template_syear: int


@dataclass
class Seeded:
    """What was written: rows per RosarioSIS table, the id maps, and seconds per step."""

    syear: int
    rows: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    student_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    staff_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    guardian_staff_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    school_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    course_period_ids: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # per course period: its term has begun by the day the calendar was moved for (summer
    # school's have not in December: their teachers have no class to take attendance for)
    course_period_begun: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))


def read_bases(conn: psycopg.Connection) -> Bases:
    def top(table: str, column: str) -> int:
        row = conn.execute(f"SELECT coalesce(max({column}), 0) FROM {table}").fetchone()
        return int(row[0]) if row else 0

    template = conn.execute("SELECT id, syear FROM schools ORDER BY syear DESC, id LIMIT 1"
                            ).fetchone()
    if template is None:
        raise RuntimeError("RosarioSIS's install left no school to copy settings from")
    return Bases(top("schools", "id"), top("staff", "staff_id"), top("students", "student_id"),
                 top("school_marking_periods", "marking_period_id"),
                 top("attendance_calendars", "calendar_id"), top("school_gradelevels", "id"),
                 top("school_periods", "period_id"), top("course_subjects", "subject_id"),
                 top("courses", "course_id"), top("course_periods", "course_period_id"),
                 top("student_enrollment", "id"), int(template[0]), int(template[1]))
