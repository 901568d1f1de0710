"""The small district for the live Prometheus test (its own seeded database and user pool)."""

from __future__ import annotations

from support.small_district import district, seeded_url  # noqa: F401 (fixtures)
