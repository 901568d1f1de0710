"""The teachers' gradebooks in RosarioSIS's tables: what the Gradebook's Grades page needs
before a teacher can enter a grade.

RosarioSIS's Grades page (``Grades/Grades.php``) lists the assignments of the teacher's
course period (or course) in the session's quarter (``UserMP()``, today's quarter at login),
each a column of cells to fill; without assignments it lists the students with nothing to
enter. So every course period gets, in each quarter of its school, ``PER_QUARTER``
assignments, of two assignment types per teacher and course (RosarioSIS keeps the types per
teacher and course, as its Assignments program creates them). No grades are seeded: the
rehearsal's teachers enter them.

Ids follow the install's largest (it seeds none); the caller moves the sequences after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import psycopg
import pyarrow as pa

# (title, share of the final grade, points of each assignment of the type)
TYPES = (("Homework", 0.4, 10), ("Tests", 0.6, 100))
PER_QUARTER = 2   # assignments per course period and quarter: one of each type

Copy = Callable[[str, pa.Table], None]


def seed_gradebook(conn: psycopg.Connection, copy: Copy, quarters: list[tuple[dt.date, dt.date]],
                   quarter_mp: np.ndarray, cp_ids: np.ndarray, cp_teacher: np.ndarray,
                   cp_course: np.ndarray, cp_school: np.ndarray) -> None:
    """Assignment types per (teacher, course) and assignments per course period and quarter.

    `quarters`: each quarter's (start, end); `quarter_mp[school, q]`: the school's QTR
    marking period id of quarter q; the ``cp_*`` arrays: each course period's id, teacher
    (staff id), course id and school index (into `quarter_mp`).
    """
    def top(table: str, column: str) -> int:
        row = conn.execute(f"SELECT coalesce(max({column}), 0) FROM {table}").fetchone()
        return int(row[0]) if row else 0

    pairs, pair_of_cp = np.unique(np.c_[cp_teacher, cp_course], axis=0, return_inverse=True)
    pair_of_cp = pair_of_cp.reshape(-1)
    n_types = len(TYPES)
    type_base = top("gradebook_assignment_types", "assignment_type_id")
    type_ids = type_base + 1 + np.arange(len(pairs) * n_types).reshape(len(pairs), n_types)
    copy("gradebook_assignment_types", pa.table({
        "assignment_type_id": pa.array(type_ids.reshape(-1)),
        "staff_id": pa.array(np.repeat(pairs[:, 0], n_types)),
        "course_id": pa.array(np.repeat(pairs[:, 1], n_types)),
        "title": pa.array([t[0] for t in TYPES] * len(pairs)),
        "final_grade_percent": pa.array([t[1] for t in TYPES] * len(pairs)),
        "sort_order": pa.array(list(range(1, n_types + 1)) * len(pairs)),
    }))

    # One assignment per type per quarter: assigned in the quarter's first week, due a week
    # later (Homework) or two weeks before its end (Tests), so the gradebook has both past
    # and coming assignments whatever today is.
    n, q = len(cp_ids), len(quarters)
    per_cp = q * PER_QUARTER
    cp_rep = np.repeat(np.arange(n), per_cp)
    q_of = np.tile(np.repeat(np.arange(q), PER_QUARTER), n)
    t_of = np.tile(np.arange(PER_QUARTER) % n_types, n * q)
    assigned = [s + dt.timedelta(days=7) for s, _ in quarters]
    due = [[s + dt.timedelta(days=14), e - dt.timedelta(days=14)] for s, e in quarters]
    number = q_of + 1
    copy("gradebook_assignments", pa.table({
        "assignment_id": pa.array(top("gradebook_assignments", "assignment_id") + 1
                                  + np.arange(n * per_cp)),
        "staff_id": pa.array(cp_teacher[cp_rep]),
        "marking_period_id": pa.array(quarter_mp[cp_school[cp_rep], q_of]),
        "course_period_id": pa.array(cp_ids[cp_rep]),
        "assignment_type_id": pa.array(type_ids[pair_of_cp[cp_rep], t_of]),
        "title": pa.array([f"{TYPES[t][0]} Q{k}" for t, k in zip(t_of, number, strict=True)]),
        "assigned_date": pa.array([assigned[k] for k in q_of], pa.date32()),
        "due_date": pa.array([due[k][t % 2] for k, t in zip(q_of, t_of, strict=True)],
                             pa.date32()),
        "points": pa.array(np.array([TYPES[t][2] for t in range(n_types)])[t_of]),
    }))
