"""The one error a recording can cause: `RecordingError` names the file, the JSON field path
(``log.entries[3].request.url``), the value found and how to fix it (exit code 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kernel.errors import UserError


def shown(value: Any, limit: int = 80) -> str:
    """A value as an error quotes it: its repr, cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class RecordingError(UserError):
    """A recording (or an option given with it) that cannot be converted."""

    def __init__(self, path: Path | str, field: str, value: Any, problem: str, fix: str) -> None:
        where = f"{path}: {field}" if field else f"{path}"
        super().__init__(f"{where} is {shown(value)}: {problem}. {fix}")
        self.path = str(path)
        self.field = field
