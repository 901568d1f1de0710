"""The run directory, written as the run goes so a crash loses at most one interval:
``run.json`` at the start, ``intervals.jsonl`` every interval (counters and encoded HDR
histograms of that interval, so any window or the whole run is their sum), ``exposures.jsonl``
as exposures arrive, ``summary.json`` at the end, and ``worker-N.json`` (each load process's
own totals, to check the merge)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from kernel.errors import UserError


def default_run_dir(scenario: str, root: Path = Path("runs")) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    return root / f"{stamp}-{scenario}"


class RunDirError(UserError):
    """The run directory cannot be written (the disk full, the folder gone or read-only)."""


def _unwritable(path: Path, exc: OSError) -> RunDirError:
    return RunDirError(f"{path}: cannot write it ({exc.strerror or exc}): the run directory"
                       f" {path.parent} is incomplete; free space there or choose another"
                       " --out, and run again")


def write_json(path: Path, data: Any) -> None:
    """Whole-file writes go through a temporary file and a rename: never half-written (a
    failed write leaves the file as it was, and no temporary file; the OSError is raised)."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True, default=str) + "\n",
                       encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, data: Any) -> None:
        try:
            write_json(self.path / name, data)
        except OSError as exc:
            raise _unwritable(self.path / name, exc) from None

    def append(self, name: str, record: dict[str, Any]) -> None:
        """One JSON line, flushed and synced: the line is on disk when this returns. A line
        that cannot be written whole is cut off again (RunDirError): no torn line is left."""
        path = self.path / name
        line = (json.dumps(record, sort_keys=True, default=str) + "\n").encode("utf-8")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError as exc:
            raise _unwritable(path, exc) from None
        try:
            size = os.fstat(fd).st_size
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, size)
                raise _unwritable(path, exc) from None
        finally:
            os.close(fd)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The lines of a JSON-lines file. A last line without its newline that does not parse was
    being written when the process died (SIGKILL between two writes of a long line): it is left
    out, as the run directory promises; any other bad line is an error (ValueError)."""
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    if lines and not text.endswith("\n"):
        try:
            json.loads(lines[-1])
        except json.JSONDecodeError:
            lines.pop()
    return [json.loads(line) for line in lines if line]
