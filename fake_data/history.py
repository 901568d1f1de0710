"""History before a mid-year cutover: daily attendance, high-school period attendance, gradebook
line items and scores, for the N school days before the profile's cutover date.

At the full district this is tens of millions of rows, so it is a stream: one Arrow batch per
table per school day, written as it comes (Parquet row groups, or PostgreSQL COPY) and never
held whole. Each student has a steady absence and tardy propensity and an ability, so the same
children are chronically absent or strong in every subject, as in real data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fake_data.district import District
from fake_data.export_parquet import COMPRESSION, stamp, synthetic_metadata
from fake_data.profile import Profile
from fake_data.rng import stream
from fake_data.sessions import SCHOOL_YEAR_ID
from fake_data.students import EPOCH
from kernel.errors import UserError

HISTORY_TABLES = ("attendance_daily", "attendance_period", "line_items", "scores")
ATTENDANCE = pa.array(["present", "tardy", "absent_excused", "absent_unexcused"])
PRESENT, TARDY, EXCUSED, UNEXCUSED = range(4)
SCORE_STATUS = pa.array(["fully graded", "not submitted", "exempt"])
CATEGORIES = pa.array(["homework", "classwork", "quiz", "test"])
POINTS = np.array([10, 20, 25, 100], dtype=np.float32)  # by category
MEAN_ABSENCE, ABSENCE_CONCENTRATION = 0.07, 3.0  # beta-distributed: a few chronically absent
MEAN_TARDY = 0.03
EXCUSED_SHARE = 0.4
PERIOD_CUT, PERIOD_TARDY = 0.02, 0.03
ITEM_CHANCE = {"homeroom": 0.6, "scheduled": 0.35}  # line items per section per day
NOT_SUBMITTED, EXEMPT = 0.06, 0.01


def _date_array(day: int, n: int) -> pa.Array:
    return pa.array(np.full(n, day, dtype=np.int32)).cast(pa.date32())


def _status(codes: np.ndarray, dictionary: pa.Array) -> pa.DictionaryArray:
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), dictionary)


@dataclass(frozen=True)
class _Roster:
    """Enrollments grouped by section, so a section's students are one slice."""

    section_first: np.ndarray
    section_size: np.ndarray
    student: np.ndarray  # student id (1-based) per enrollment, section-major

    def rows(self, sections: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Enrollment positions and their section index for the given 0-based sections."""
        size = self.section_size[sections]
        start = np.repeat(self.section_first[sections] - (np.cumsum(size) - size), size)
        return start + np.arange(int(size.sum())), np.repeat(sections, size)


def check_history_days(profile: Profile, days: int, source: str | None = None) -> None:
    """Refuse a history longer than the school days the calendar has before the cutover."""
    if days < 0:
        raise UserError(f"option --history-days = {days}: must be 0 or more.")
    available = profile.calendar.history_days_available()
    if days > available:
        calendar = profile.calendar
        raise UserError(
            f"option --history-days = {days}: profile '{profile.name}'"
            + (f" ({source})" if source else "")
            + f" has only {available} school days before its cutover date "
            f"(calendar.cutover_date = {calendar.cutover_date}; the school year starts "
            f"{calendar.school_year.start}; weekends and calendar.holidays are skipped). "
            f"Use --history-days {available} or fewer."
        )


def history_batches(district: District, days: int) -> Iterator[tuple[str, pa.RecordBatch]]:
    """Yield ``(table, batch)`` for each school day before the cutover, oldest day first."""
    check_history_days(district.profile, days)
    rng = stream(district.seed, "history")
    students = district["students"]
    sections = district["sections"]
    enrollments = district["enrollments"]
    n = students.num_rows
    absence = rng.beta(ABSENCE_CONCENTRATION * MEAN_ABSENCE,
                       ABSENCE_CONCENTRATION * (1 - MEAN_ABSENCE), n)
    tardy = rng.beta(1.0, (1 - MEAN_TARDY) / MEAN_TARDY, n)
    ability = np.clip(rng.normal(0.8, 0.1, n), 0.3, 1.0).astype(np.float32)
    school = students["school_id"].to_numpy()

    e_section = enrollments["section_id"].to_numpy() - 1
    order = np.argsort(e_section, kind="stable")
    size = np.bincount(e_section, minlength=sections.num_rows)
    roster = _Roster(np.cumsum(size) - size, size, enrollments["student_id"].to_numpy()[order])
    period = sections["period"].to_numpy()
    high = sections["grade"].to_numpy() >= 9
    # The regular school day only: summer and evening school sections meet in their own terms.
    day_school = sections["session_id"].to_numpy() == SCHOOL_YEAR_ID
    hs_rows, hs_sec = roster.rows(np.flatnonzero(high & (period > 0) & day_school))
    hs_student = roster.student[hs_rows]
    item_chance = np.where(
        sections["class_type"].cast(pa.string()).to_numpy(zero_copy_only=False) == "homeroom",
        ITEM_CHANCE["homeroom"], ITEM_CHANCE["scheduled"],
    ) * day_school
    next_item = 1
    calendar = district.profile.calendar
    for date in calendar.school_days(before=calendar.cutover_date, count=days):
        day = (date - EPOCH).days
        u = rng.random(n)
        status = np.full(n, PRESENT, dtype=np.int8)
        absent = u < absence
        status[(u >= absence) & (u < absence + tardy)] = TARDY
        status[absent] = np.where(rng.random(int(absent.sum())) < EXCUSED_SHARE,
                                  EXCUSED, UNEXCUSED)
        yield "attendance_daily", pa.record_batch({
            "date": _date_array(day, n),
            "student_id": students["student_id"].combine_chunks(),
            "school_id": pa.array(school),
            "status": _status(status, ATTENDANCE),
        })

        v = rng.random(len(hs_student))
        p_status = np.where(v < PERIOD_CUT, UNEXCUSED,
                            np.where(v < PERIOD_CUT + PERIOD_TARDY, TARDY, PRESENT))
        p_status = np.where(absent[hs_student - 1], status[hs_student - 1], p_status)
        yield "attendance_period", pa.record_batch({
            "date": _date_array(day, len(hs_student)),
            "section_id": pa.array((hs_sec + 1).astype(np.int32)),
            "period": pa.array(period[hs_sec]),
            "student_id": pa.array(hs_student),
            "status": _status(p_status, ATTENDANCE),
        })

        with_item = np.flatnonzero(rng.random(len(item_chance)) < item_chance)
        category = rng.integers(0, len(CATEGORIES), len(with_item))
        item_ids = np.arange(next_item, next_item + len(with_item), dtype=np.int32)
        next_item += len(with_item)
        yield "line_items", pa.record_batch({
            "line_item_id": pa.array(item_ids),
            "section_id": pa.array((with_item + 1).astype(np.int32)),
            "category": _status(category, CATEGORIES),
            "assigned_date": _date_array(day, len(with_item)),
            "due_date": _date_array(day + 1, len(with_item)),
            "points_possible": pa.array(POINTS[category]),
        })

        rows, _ = roster.rows(with_item)
        item_of_row = np.repeat(item_ids, roster.section_size[with_item])
        points = np.repeat(POINTS[category], roster.section_size[with_item])
        who = roster.student[rows]
        w = rng.random(len(rows))
        score_status = np.where(w < EXEMPT, 2, np.where(w < EXEMPT + NOT_SUBMITTED, 1, 0))
        noise = rng.normal(0.0, 0.12, len(rows)).astype(np.float32)
        score = np.round(points * np.clip(ability[who - 1] + noise, 0.0, 1.0))
        yield "scores", pa.record_batch({
            "line_item_id": pa.array(item_of_row),
            "student_id": pa.array(who),
            "score": pa.array(score, mask=score_status != 0),
            "score_status": _status(score_status, SCORE_STATUS),
        })


def write_history(district: District, days: int, folder: Path,
                  on_day: Callable[[int], None] | None = None) -> dict[str, int]:
    """Stream the history into ``folder/<table>.parquet``, one row group per day and table."""
    check_history_days(district.profile, days)
    folder.mkdir(parents=True, exist_ok=True)
    meta = synthetic_metadata(district.profile.name, district.scale, district.seed)
    writers: dict[str, pq.ParquetWriter] = {}
    rows = dict.fromkeys(HISTORY_TABLES, 0)
    try:
        for name, batch in history_batches(district, days):
            if name not in writers:
                writers[name] = pq.ParquetWriter(
                    folder / f"{name}.parquet", stamp(batch.schema, meta), compression=COMPRESSION
                )
            writers[name].write_batch(batch)
            rows[name] += batch.num_rows
            if on_day and name == HISTORY_TABLES[-1]:
                on_day(1)
    finally:
        for writer in writers.values():
            writer.close()
    return rows
