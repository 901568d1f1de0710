"""The activity log of the training sandbox or LMS: one event per row, who (the roster's id),
when (ISO 8601 date or time) and what (an action name the metrics file maps). CSV with a
header, or JSON lines; the column names come from the metrics file's `log` section.

This module owns reading it, matching its people to the roster, and saying what did not match:
actions no metric counts are tallied, people the roster does not have are listed (how many and
the first few) and, above the metrics file's `max_unmatched_share`, stop the command: a log and
a roster that do not belong together would otherwise give a scorecard of zeros.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from kernel.errors import UserError
from readiness.metrics import LogColumns, Metrics
from readiness.roster import Roster

EPOCH = dt.date(1970, 1, 1)
SHOWN = 5  # unmatched ids named in a message


@dataclass(frozen=True)
class Activity:
    source: str
    person: np.ndarray   # index into the roster
    day: np.ndarray      # days since 1970-01-01 of the event's date as written
    action: np.ndarray   # index into the metrics file's actions
    rows: int
    log_people: int
    unmatched: list[str] = field(default_factory=list)   # first few ids not in the roster
    unmatched_people: int = 0
    unmatched_rows: int = 0
    ignored_actions: dict[str, int] = field(default_factory=dict)

    @property
    def last_day(self) -> int | None:
        return int(self.day.max()) if len(self.day) else None

    def warnings(self) -> list[str]:
        out = []
        if self.unmatched_people:
            out.append(f"{self.unmatched_people:,} of {self.log_people:,} people in the log "
                       f"({self.unmatched_rows:,} events) are not in the roster: "
                       f"{', '.join(self.unmatched)}"
                       f"{' …' if self.unmatched_people > SHOWN else ''}")
        if self.ignored_actions:
            top = ", ".join(f"{k} ({v:,})" for k, v in sorted(self.ignored_actions.items(),
                                                              key=lambda kv: -kv[1])[:SHOWN])
            out.append(f"actions no metric counts were left out: {top}")
        return out


def day_of(text: str) -> int:
    """Days since 1970-01-01 of an ISO 8601 date or date-time (its date as written)."""
    return (dt.datetime.fromisoformat(text.strip()).date() - EPOCH).days


def _csv_rows(path: Path, cols: LogColumns) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        header = [h.strip().lstrip("\ufeff") for h in (reader.fieldnames or [])]
        reader.fieldnames = header
        missing = [c for c in (cols.person, cols.time, cols.action) if c not in header]
        if missing:
            raise UserError(f"{path} line 1, field {missing[0]}: the header has no column "
                            f"{', '.join(missing)} (it has {', '.join(header) or 'nothing'}). "
                            "Name the log's columns in the metrics file's `log` section.")
        try:
            for row in reader:
                if None in row or any(v is None for v in row.values()):
                    fields = sum(v is not None for k, v in row.items() if k is not None) \
                        + len(row.get(None) or [])
                    raise UserError(f"{path} line {reader.line_num}: {fields} fields where "
                                    f"the header has {len(header)}; quote values holding"
                                    " commas.")
                yield reader.line_num, row
        except csv.Error as exc:
            raise UserError(f"{path} line {reader.line_num}: not CSV ({exc})") from None


def _json_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8") as fh:
        for line, text in enumerate(fh, 1):
            if not text.strip():
                continue
            try:
                row = json.loads(text)
            except ValueError as exc:
                raise UserError(f"{path} line {line}: not JSON ({exc}); a JSON lines log has "
                                "one object per line.") from None
            if not isinstance(row, dict):
                raise UserError(f"{path} line {line}: {type(row).__name__} where an object "
                                '{"person": …, "time": …, "action": …} belongs.')
            yield line, row


@dataclass(frozen=True)
class _Raw:
    """A parsed log before matching: distinct people and actions in order of first
    appearance, and per row their codes and the day."""

    rows: int
    people: list[str]
    person: np.ndarray
    day: np.ndarray
    actions: list[str]
    action: np.ndarray


ISO = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?$"


def _fast(path: Path, cols: LogColumns) -> _Raw | None:
    """A well-formed CSV log read whole with Arrow; None on anything unusual, and the slow
    reader then finds the line and field to name."""
    names = [cols.person, cols.time, cols.action]
    try:
        table = pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
            include_columns=names, column_types=dict.fromkeys(names, pa.string())))
    except (pa.ArrowInvalid, pa.ArrowKeyError, KeyError, OSError):
        return None
    trimmed = [pc.utf8_trim_whitespace(table[c]) for c in names]
    if any(c.null_count or pc.any(pc.equal(c, "")).as_py() for c in trimmed):
        return None
    person, time, action = trimmed
    if not pc.all(pc.match_substring_regex(time, ISO)).as_py():
        return None
    dates = pc.strptime(pc.utf8_slice_codeunits(time, 0, 10), format="%Y-%m-%d", unit="s",
                        error_is_null=True)
    if dates.null_count:
        return None
    days = pc.cast(pc.cast(dates, pa.date32()), pa.int32()).to_numpy().astype(np.int64)
    who = pc.dictionary_encode(person).combine_chunks()
    what = pc.dictionary_encode(action).combine_chunks()
    return _Raw(table.num_rows, who.dictionary.to_pylist(), who.indices.to_numpy(), days,
                what.dictionary.to_pylist(), what.indices.to_numpy())


def _slow(path: Path, cols: LogColumns) -> _Raw:
    people: dict[str, int] = {}
    actions: dict[str, int] = {}
    person: list[int] = []
    days: list[int] = []
    action: list[int] = []
    reader = _json_rows(path) if path.suffix in (".jsonl", ".json", ".ndjson") \
        else _csv_rows(path, cols)
    try:
        for line, row in reader:
            values = {}
            for name, col in (("person", cols.person), ("time", cols.time),
                              ("action", cols.action)):
                value = row.get(col)
                if value is None or not str(value).strip():
                    raise UserError(f"{path} line {line}, field {col}: "
                                    f"{'missing' if value is None else 'empty'}; every event "
                                    f"needs its {name}.")
                values[name] = str(value).strip()
            try:
                days.append(day_of(values["time"]))
            except ValueError:
                raise UserError(f"{path} line {line}, field {cols.time}: {values['time']!r} is "
                                "not an ISO 8601 date or time; write e.g. 2019-02-11 or "
                                "2019-02-11T08:14:03.") from None
            person.append(people.setdefault(values["person"], len(people)))
            action.append(actions.setdefault(values["action"], len(actions)))
    except OSError as exc:
        raise UserError(f"{path}: cannot read the activity log ({exc.strerror}).") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason}); export it as UTF-8.") \
            from None
    return _Raw(len(person), list(people), np.array(person, dtype=np.int64),
                np.array(days, dtype=np.int64), list(actions), np.array(action, dtype=np.int64))


def load_activity(path: Path, roster: Roster, metrics: Metrics) -> Activity:
    """Read the log and match it to the roster (the checks are in the module docstring)."""
    cols = metrics.log
    raw = (_fast(path, cols) if path.suffix not in (".jsonl", ".json", ".ndjson") else None) \
        or _slow(path, cols)
    if not raw.rows:
        raise UserError(f"{path}: the activity log has no events; give the sandbox's export "
                        "(person, time, action per row).")
    who = {p: i for i, p in enumerate(roster.person)}
    at = np.array([who.get(p, -1) for p in raw.people], dtype=np.int64)[raw.person]
    action_of = metrics.action_of()
    index = {a: i for i, a in enumerate(metrics.actions)}
    code = np.array([index[action_of[a]] if a in action_of else -1 for a in raw.actions],
                    dtype=np.int64)[raw.action]
    known = at >= 0
    keep = known & (code >= 0)
    unknown_rows = np.bincount(raw.person[~known], minlength=len(raw.people))
    unmatched = [p for p, n in zip(raw.people, unknown_rows, strict=True) if n]
    ignored = np.bincount(raw.action[known & (code < 0)], minlength=len(raw.actions))
    activity = Activity(str(path), at[keep], raw.day[keep], code[keep], raw.rows,
                        len(raw.people), unmatched[:SHOWN], len(unmatched),
                        int((~known).sum()),
                        {a: int(n) for a, n in zip(raw.actions, ignored, strict=True) if n})
    seen = raw.people
    share = len(unmatched) / len(seen)
    if share > cols.max_unmatched_share:
        raise UserError(
            f"{path}: {len(unmatched):,} of {len(seen):,} people in the log ({share:.0%}) are "
            f"not in the roster {roster.source} (first {min(SHOWN, len(unmatched))}: "
            f"{', '.join(activity.unmatched)}; the roster's ids look like "
            f"{', '.join(roster.person[:2])}). Above max_unmatched_share "
            f"{cols.max_unmatched_share:.0%}, the two do not belong together: give the log "
            "that names people by the roster's id, or the roster it came with.")
    return activity
