from __future__ import annotations

import datetime as dt
import types
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fake_data.district import District
from fake_data.history import HISTORY_TABLES, history_batches, write_history
from kernel.errors import UserError


def _np(batch: pa.RecordBatch, name: str) -> np.ndarray:
    col = batch.column(name)
    if pa.types.is_dictionary(col.type):
        col = col.cast(pa.string())
    return col.to_numpy(zero_copy_only=False)


def test_history_is_a_lazy_stream_of_one_batch_per_table_per_day(small: District) -> None:
    stream = history_batches(small, 4)
    assert isinstance(stream, types.GeneratorType)
    names = [name for name, _ in stream]
    assert names == list(HISTORY_TABLES) * 4


def test_history_days_are_school_days_before_the_cutover(small: District) -> None:
    cal = small.profile.calendar
    days = sorted({d for name, b in history_batches(small, 7) if name == "attendance_daily"
                   for d in b.column("date").to_pylist()})
    assert len(days) == 7 and max(days) < cal.cutover_date
    assert all(d.weekday() < 5 for d in days)
    assert not any(h.start <= d <= h.end for d in days for h in cal.holidays)
    # The cutover (Apr 22 2019) comes right after spring break: the last days are before it.
    assert max(days).isoformat() == "2019-04-12"


def test_attendance_and_scores_are_consistent(small: District) -> None:
    batches: dict[str, list[pa.RecordBatch]] = {n: [] for n in HISTORY_TABLES}
    for name, batch in history_batches(small, 3):
        batches[name].append(batch)
    n_students = small["students"].num_rows
    daily = pa.Table.from_batches(batches["attendance_daily"])
    assert daily.num_rows == 3 * n_students
    status = daily["status"].cast(pa.string()).to_numpy(zero_copy_only=False)
    assert 0.03 < np.isin(status, ["absent_excused", "absent_unexcused"]).mean() < 0.12

    # Period attendance: one row per high-school enrollment per day; absent all day = absent.
    period = batches["attendance_period"][0]
    grade = small["students"]["grade"].to_numpy()
    who = _np(period, "student_id")
    assert np.all(grade[who - 1] >= 9)
    assert period.num_rows == int((grade >= 9).sum()) * 7
    day_status = _np(batches["attendance_daily"][0], "status")
    absent = np.isin(day_status[who - 1], ["absent_excused", "absent_unexcused"])
    assert np.array_equal(_np(period, "status")[absent], day_status[who - 1][absent])

    # Scores: exactly the enrolled students of each line item's section, within the points.
    items = pa.Table.from_batches(batches["line_items"])
    scores = pa.Table.from_batches(batches["scores"])
    ids = items["line_item_id"].to_numpy()
    assert np.array_equal(ids, np.arange(1, len(ids) + 1))
    section_of_item = items["section_id"].to_numpy()[scores["line_item_id"].to_numpy() - 1]
    enrolled = set(zip(small["enrollments"]["section_id"].to_numpy().tolist(),
                       small["enrollments"]["student_id"].to_numpy().tolist(), strict=True))
    pairs = set(zip(section_of_item.tolist(), scores["student_id"].to_numpy().tolist(),
                    strict=True))
    assert pairs <= enrolled
    per_item = np.bincount(scores["line_item_id"].to_numpy())[1:]
    assert np.array_equal(per_item, small["sections"]["enrolled"].to_numpy()[section_of_item[
        np.r_[0, np.cumsum(per_item)[:-1]]] - 1])
    graded = scores.filter(pa.compute.equal(scores["score_status"].cast(pa.string()),
                                            "fully graded"))
    possible = items["points_possible"].to_numpy()[graded["line_item_id"].to_numpy() - 1]
    assert np.all((graded["score"].to_numpy() >= 0) & (graded["score"].to_numpy() <= possible))
    assert scores["score"].null_count == scores.num_rows - graded.num_rows


def test_write_history_streams_to_parquet_row_groups(small: District, tmp_path: Path) -> None:
    days_done: list[int] = []
    rows = write_history(small, 3, tmp_path, on_day=days_done.append)
    assert len(days_done) == 3
    for name in HISTORY_TABLES:
        meta = pq.ParquetFile(tmp_path / f"{name}.parquet").metadata
        assert meta.num_rows == rows[name] and meta.num_row_groups == 3
        assert meta.metadata[b"firstbell.synthetic"] == b"true"


def test_available_history_days_come_from_the_calendar(small: District) -> None:
    cal = small.profile.calendar
    day, count = cal.school_year.start, 0
    while day < cal.cutover_date:  # weekdays of the year before the cutover, not holidays
        count += day.weekday() < 5 and not any(h.start <= day <= h.end for h in cal.holidays)
        day += dt.timedelta(days=1)
    assert cal.history_days_available() == count == 146
    assert len(cal.school_days(before=cal.cutover_date, count=10_000)) == count


def test_more_history_days_than_the_calendar_holds_are_refused(small: District,
                                                               tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"--history-days = 147: .* only 146 school days"):
        next(history_batches(small, 147))
    with pytest.raises(UserError, match="Use --history-days 146 or fewer"):
        write_history(small, 100_000, tmp_path / "history")
    assert not (tmp_path / "history").exists()
