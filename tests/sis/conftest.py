"""Where the RosarioSIS source is: FIRSTBELL_ROSARIOSIS_SOURCE, or ../shared/targets/rosariosis/
next to the repository; tests that need it are skipped (with that reason) where neither exists."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "targets" / "rosariosis"


def rosariosis_source() -> Path | None:
    given = os.environ.get("FIRSTBELL_ROSARIOSIS_SOURCE")
    if given:
        return Path(given) if Path(given).exists() else None
    tarballs = sorted(SHARED.glob("rosariosis-*.tar.gz")) if SHARED.is_dir() else []
    return tarballs[-1] if tarballs else None


@pytest.fixture(scope="session")
def ros_source() -> Path:
    found = rosariosis_source()
    if found is None:
        pytest.skip(f"no RosarioSIS source: FIRSTBELL_ROSARIOSIS_SOURCE is unset or missing and "
                    f"{SHARED} holds no rosariosis-*.tar.gz")
    return found
