"""Database access for the API: an async psycopg pool and named, timed queries.

Every query has a name (``"portal.home.children"``): its duration goes to
``sis_db_query_duration_seconds{query=…}``, so a slow page is traced to its query.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from staging.metrics import Metrics

Row = dict[str, Any]


class Database:
    def __init__(self, pool: AsyncConnectionPool, metrics: Metrics) -> None:
        self.pool = pool
        self.metrics = metrics
        # pools replaced by a smaller one (the shrunken-pool fault), closing once drained
        self.retiring: set[asyncio.Task[None]] = set()
        self._checking: asyncio.Task[None] | None = None

    def recheck(self) -> None:
        """Check the pool's idle connections in the background (one check at a time): after a
        database restart every pooled connection is broken, and without this each would fail
        one more request before the pool replaced it."""
        if self._checking is None or self._checking.done():
            self._checking = asyncio.create_task(self._check())

    async def _check(self) -> None:
        with contextlib.suppress(Exception):  # the database still down: the next error retries
            await self.pool.check()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        async with self.pool.connection() as conn:
            yield conn

    async def run(self, conn: AsyncConnection[Any], name: str, query: str,
                  params: Sequence[Any] | dict[str, Any] | None = None) -> list[Row]:
        start = time.perf_counter()
        try:
            async with conn.cursor(row_factory=dict_row) as cur:
                await cur.execute(query.encode(), params)
                return await cur.fetchall() if cur.description else []
        finally:
            self.metrics.query_duration.labels(name).observe(time.perf_counter() - start)

    async def fetch(self, name: str, query: str,
                    params: Sequence[Any] | dict[str, Any] | None = None) -> list[Row]:
        async with self.pool.connection() as conn:
            return await self.run(conn, name, query, params)

    async def fetchrow(self, name: str, query: str,
                       params: Sequence[Any] | dict[str, Any] | None = None) -> Row | None:
        rows = await self.fetch(name, query, params)
        return rows[0] if rows else None

    def refresh_pool_metrics(self) -> None:
        stats = self.pool.get_stats()
        self.metrics.pool_size.set(stats.get("pool_size", 0))
        self.metrics.pool_in_use.set(stats.get("pool_size", 0) - stats.get("pool_available", 0))
        self.metrics.pool_waiting.set(stats.get("requests_waiting", 0))
        self.metrics.pool_max.set(self.pool.max_size)
