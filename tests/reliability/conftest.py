"""Fixtures of the reliability tests: the small district (seed 42) seeded in its own database of
the session's throwaway PostgreSQL, and its user pool; each test serves the staging SIS itself
when it has to stop it mid-run."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from support.small_district import district, identities, seeded_url  # noqa: F401 (fixtures)

from fake_data.district import District
from fake_data.userpool import write_userpool


@pytest.fixture(scope="session")
def userpool_dir(district: District) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="firstbell-pool-"))
    write_userpool(district, folder)
    return folder
