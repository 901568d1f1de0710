"""PostgreSQL restarts under a running staging SIS: while the database is down every request
that needs it is answered 503 (with Retry-After) within the pool's timeout — never a 500, never
a dropped connection — and once the database is back the same server answers again by itself,
without a restart. A cluster of its own (stopped and started here), the real server."""

from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from pathlib import Path

import httpx
from support.sis_server import serve
from support.sisdb import TEST_SETTINGS

from staging.app import create_app
from staging.config import Settings
from staging.embedded import EmbeddedPostgres
from staging.seed import SeedRequest, seed_database

POOL_TIMEOUT = 2.0


def test_the_sis_answers_503_while_postgres_is_down_and_recovers_by_itself() -> None:
    root = Path(tempfile.mkdtemp(prefix="firstbell-pgr-"))
    cluster = EmbeddedPostgres(root, socket_dir=root)
    try:
        conninfo = cluster.start()
        seed_database(conninfo, SeedRequest("small", 0.01, 42))  # a few schools: seconds
        settings = Settings(**{**TEST_SETTINGS, "pool_timeout_seconds": POOL_TIMEOUT,
                               "pool_min": 2})
        with serve(create_app(settings, conninfo)) as url, \
                httpx.Client(base_url=url, timeout=30) as client:
            tries = itertools.count()

            def login() -> httpx.Response:
                # a new unknown name each time: the login throttle locks a name after five
                # refusals from one address, and this test is about the database, not that
                return client.post("/api/auth/login",
                                   json={"username": f"nobody{next(tries)}@example.org",
                                         "password": "x"})

            assert login().status_code == 401  # the database answers: an unknown user
            cluster.stop("fast")
            down_at = time.monotonic()
            answers = []
            for _ in range(4):
                started = time.monotonic()
                r = login()
                answers.append((r.status_code, time.monotonic() - started))
                assert r.status_code == 503, r.text
                assert r.json()["error"]["code"] == "database_unavailable"
                assert int(r.headers["retry-after"]) >= 1
            assert max(s for _, s in answers) <= POOL_TIMEOUT + 1.0
            assert client.get("/readyz").status_code == 503
            assert client.get("/healthz").status_code == 200  # the process itself is fine

            cluster.start()
            up_at = time.monotonic()
            statuses = []
            while time.monotonic() - up_at < 30:
                r = login()
                statuses.append(r.status_code)
                if r.status_code == 401:
                    break
                assert r.status_code == 503, r.text
                time.sleep(0.2)
            recovered = time.monotonic() - up_at
            assert statuses[-1] == 401, statuses
            assert client.get("/readyz").status_code == 200
            for _ in range(5):  # and stays up: no stale connection left in the pool
                assert login().status_code == 401
        print(f"MEASURED postgres down {up_at - down_at:.1f} s: {len(answers)} x 503 in at most"
              f" {max(s for _, s in answers):.2f} s each; recovered {recovered:.2f} s after"
              f" the restart ({len(statuses) - 1} x 503 meanwhile)")
    finally:
        cluster.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
