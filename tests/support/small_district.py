"""The small district (seed 42, 5 days of history) as session fixtures, imported by the staging
and loadtests conftests. Each conftest that imports them gets its own instances, so each test
folder has its own seeded database: the load tests' writes never reach the staging tests'."""

from __future__ import annotations

from typing import Any

import pytest

from fake_data.district import District, generate
from fake_data.profile import load_profile
from fake_data.userpool import build_userpool
from staging.seed import SeedRequest, seed_database
from support.sisdb import new_database


@pytest.fixture(scope="session")
def district() -> District:
    return generate(load_profile("small"), 1.0, 42)


@pytest.fixture(scope="session")
def seeded_url(postgres_url: str) -> str:
    url = new_database(postgres_url)
    seed_database(url, SeedRequest("small", 1.0, 42, history_days=5))
    return url


@pytest.fixture(scope="session")
def identities(district: District) -> dict[str, list[dict[str, Any]]]:
    """The user pool per persona, as rows; tests take distinct identities from it."""
    return {persona: table.to_pylist() for persona, table in build_userpool(district).items()}
