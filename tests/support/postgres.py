"""A throwaway PostgreSQL cluster for tests, on the staging SIS's embedded-server code.

The cluster lives in a fresh temporary directory, listens only on a Unix socket inside it, trusts
local connections (superuser ``postgres``) and runs with fsync off; it is stopped and deleted at
the end. Missing binaries fail loudly: CI installs them, nothing is skipped.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from staging.embedded import EmbeddedPostgres, PostgresUnavailable

__all__ = ["PostgresUnavailable", "temporary_cluster"]


@contextmanager
def temporary_cluster(settings: Mapping[str, str] | None = None) -> Iterator[str]:
    """Create and start a cluster; yield its conninfo string; stop it and delete it at the end.

    `settings` are extra server settings (``{"shared_buffers": "1GB"}``), passed as ``-c``.
    """
    # mkdtemp gives a short, private path (Unix socket paths are limited to ~100 bytes).
    root = Path(tempfile.mkdtemp(prefix="firstbell-pg-"))
    cluster = EmbeddedPostgres(root, socket_dir=root)
    try:
        conninfo = cluster.start(settings)
        try:
            yield conninfo
        finally:
            cluster.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)
