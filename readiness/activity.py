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
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

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


def load_activity(path: Path, roster: Roster, metrics: Metrics) -> Activity:
    """Read the log and match it to the roster (the checks are in the module docstring)."""
    cols = metrics.log
    action_of = metrics.action_of()
    action_index = {a: i for i, a in enumerate(metrics.actions)}
    who = {p: i for i, p in enumerate(roster.person)}
    people: list[int] = []
    days: list[int] = []
    actions: list[int] = []
    ignored: Counter[str] = Counter()
    unmatched: dict[str, int] = {}
    seen: set[str] = set()
    rows = 0
    reader = _json_rows(path) if path.suffix in (".jsonl", ".json", ".ndjson") \
        else _csv_rows(path, cols)
    try:
        for line, row in reader:
            rows += 1
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
                day = day_of(values["time"])
            except ValueError:
                raise UserError(f"{path} line {line}, field {cols.time}: {values['time']!r} is "
                                "not an ISO 8601 date or time; write e.g. 2019-02-11 or "
                                "2019-02-11T08:14:03.") from None
            pid = values["person"]
            seen.add(pid)
            action = action_of.get(values["action"])
            at = who.get(pid)
            if at is None:
                unmatched[pid] = unmatched.get(pid, 0) + 1
                continue
            if action is None:
                ignored[values["action"]] += 1
                continue
            people.append(at)
            days.append(day)
            actions.append(action_index[action])
    except OSError as exc:
        raise UserError(f"{path}: cannot read the activity log ({exc.strerror}).") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason}); export it as UTF-8.") \
            from None
    if not rows:
        raise UserError(f"{path}: the activity log has no events; give the sandbox's export "
                        "(person, time, action per row).")
    activity = Activity(str(path), np.array(people, dtype=np.int64),
                        np.array(days, dtype=np.int64), np.array(actions, dtype=np.int64),
                        rows, len(seen), list(unmatched)[:SHOWN], len(unmatched),
                        sum(unmatched.values()), dict(ignored))
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
