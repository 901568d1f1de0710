"""Seeded districts shared by the fake_data tests (generated once per test module)."""

from __future__ import annotations

import pytest

from fake_data.district import District, generate
from fake_data.profile import load_profile


@pytest.fixture(scope="session")
def small() -> District:
    return generate(load_profile("small"), scale=1.0, seed=42)


@pytest.fixture(scope="session")
def cps() -> District:
    """The full default district: the counts it must hit are the profile's own."""
    return generate(load_profile("cps"), scale=1.0, seed=42)
