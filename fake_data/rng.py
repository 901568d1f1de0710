"""Deterministic random streams: one independent numpy Generator per (seed, purpose).

Each table draws from its own named stream, so adding a column to one table never shifts the
values of another, and the same seed always gives the same district.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, purpose: str) -> np.random.Generator:
    """A PCG64 generator for `purpose` (a stable name such as ``"students.names"``)."""
    return np.random.default_rng([seed, zlib.crc32(purpose.encode("utf-8"))])
