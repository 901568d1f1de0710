"""Profile variants for bad-input tests: the small profile with one change, written to a file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

SMALL_PROFILE = Path(__file__).resolve().parents[2] / "fake_data" / "profiles" / "small.yaml"


def profile_variant(folder: Path, change: Callable[[dict[str, Any]], object],
                    name: str = "bad.yaml") -> Path:
    data = yaml.safe_load(SMALL_PROFILE.read_text(encoding="utf-8"))
    change(data)
    path = folder / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path
