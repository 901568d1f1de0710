"""Seeding the staging database from a district (generated, or imported from OneRoster), safely.

Never touches data that is not ours: a database with tables but no firstbell marker is refused,
and ``reset`` drops only schema ``sis``, which firstbell created. A database already seeded with
the same district (profile, scale, seed and history; for an import, the file's digest) is reused
as it is. Everything happens in one transaction, so a failed seed leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
import pyarrow as pa
from psycopg import sql

from fake_data.district import District, generate
from fake_data.history import history_batches
from fake_data.pgload import copy_batches, load_district
from fake_data.profile import load_profile
from kernel.errors import UserError
from kernel.version import __version__
from staging import migrate
from staging.config import SCHEMA
from staging.passwords import seed_hashes

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema", "pg_toast")
Progress = Callable[[str, int], None]
Finish = Callable[[psycopg.Connection], dict[str, int]]


@dataclass(frozen=True)
class SeedRequest:
    profile: str = "cps"
    scale: float = 1.0
    seed: int = 42
    history_days: int = 0

    def meta(self) -> dict[str, str]:
        return {"profile": self.profile, "scale": repr(float(self.scale)),
                "seed": str(self.seed), "history_days": str(self.history_days)}


@dataclass(frozen=True)
class SeedResult:
    seeded: bool  # False: the database already held this district
    meta: dict[str, str]
    rows: dict[str, int]


def read_meta(conn: psycopg.Connection) -> dict[str, str] | None:
    """The firstbell marker of this database, or None when there is none."""
    row = conn.execute("SELECT to_regclass('sis.firstbell_meta')").fetchone()
    if not row or row[0] is None:
        return None
    return dict(conn.execute("SELECT key, value FROM sis.firstbell_meta").fetchall())


def foreign_tables(conn: psycopg.Connection) -> list[str]:
    """Tables in this database that firstbell did not create."""
    rows = conn.execute(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables "
        "WHERE table_schema <> ALL(%s) AND table_schema <> %s ORDER BY 1",
        [list(SYSTEM_SCHEMAS), SCHEMA],
    ).fetchall()
    return [r[0] for r in rows]


def _describe_target(conn: psycopg.Connection) -> str:
    info = conn.info
    return f"database '{info.dbname}' on {info.host or 'localhost'}"


def check_ours(conn: psycopg.Connection) -> dict[str, str] | None:
    """Refuse a database holding tables that are not firstbell's; return our marker if any."""
    meta = read_meta(conn)
    others = foreign_tables(conn)
    schema_exists = conn.execute(
        "SELECT 1 FROM pg_namespace WHERE nspname = %s", [SCHEMA]).fetchone()
    if others or (schema_exists and meta is None):
        listed = ", ".join(others[:5]) or f"schema {SCHEMA} without a firstbell marker"
        raise UserError(
            f"{_describe_target(conn)} holds tables firstbell did not create ({listed}"
            f"{', …' if len(others) > 5 else ''}); refusing to seed it so no data is lost. "
            "Point --database-url at an empty database (CREATE DATABASE firstbell_staging)."
        )
    return meta


def _reusable(conn: psycopg.Connection, wanted: dict[str, str],
              reset: bool) -> SeedResult | None:
    """The database's seed when it already holds `wanted` (and no reset); refuses a database
    that is not ours, or holds another district and `reset` was not asked for."""
    meta = check_ours(conn)
    if meta is None or reset:
        return None
    if all(meta.get(k) == v for k, v in wanted.items()):
        return SeedResult(False, meta, {})
    if meta.get("profile", "").startswith("import:"):
        raise UserError(
            f"{_describe_target(conn)} is already seeded with the district imported from "
            f"{meta['profile'].removeprefix('import:')} (sha256 {meta.get('sha256', '?')[:12]}…, "
            f"seed {meta.get('seed')}); pass --reset to drop it and seed again."
        )
    raise UserError(
        f"{_describe_target(conn)} is already seeded with profile "
        f"{meta.get('profile')}, scale {meta.get('scale')}, seed {meta.get('seed')}, "
        f"history {meta.get('history_days')} days, schema {meta.get('schema_version')}"
        "; pass --reset to drop firstbell's schema and seed again."
    )


def seed_database(conninfo: str, request: SeedRequest, *, reset: bool = False,
                  progress: Progress | None = None) -> SeedResult:
    """Seed a generated district (reusing the database when it already holds that one)."""
    meta = {**request.meta(), "synthetic": "true"}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        found = _reusable(conn, {**meta, "schema_version": migrate.latest_version()}, reset)
    if found is not None:  # generating is the slow part: not for a district already there
        return found
    district = generate(load_profile(request.profile), request.scale, request.seed)
    return seed_district(conninfo, district, meta, reset=reset, progress=progress,
                         history_days=request.history_days)


def seed_district(conninfo: str, district: District, meta: dict[str, str], *,
                  reset: bool = False, progress: Progress | None = None, history_days: int = 0,
                  finish: Finish | None = None) -> SeedResult:
    """Load `district` into schema sis: tables, keys, migrations and the marker, in one
    transaction (a reset's DROP included, so a failed seed leaves the previous one in place).

    `meta` identifies the district (a database already holding it is reused unless `reset`);
    `finish(conn)` adds tables of the caller's in the same transaction and returns their rows.
    """
    wanted = {**meta, "schema_version": migrate.latest_version()}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        found = _reusable(conn, wanted, reset)
        if found is not None:
            return found
        with conn.transaction():
            if reset:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(SCHEMA)))
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
            migrate.apply(conn, upto="0001")
            rows = load_district(conn, with_password_hashes(district), SCHEMA, progress)
            migrate.apply(conn)
            if history_days:
                rows.update(_load_history(conn, district, history_days, progress))
            if finish is not None:
                rows.update(finish(conn))
            stored = {**wanted, "generator": f"firstbell {__version__}",
                      "seeded_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO sis.firstbell_meta (key, value) VALUES (%s, %s)",
                                list(stored.items()))
        return SeedResult(True, stored, rows)


def with_password_hashes(district: District) -> District:
    """The district with account passwords replaced by seed-cost hashes (no plaintext stored)."""
    accounts = district["accounts"]
    hashes = seed_hashes(accounts["password"].to_pylist(), salt_seed=str(district.seed).encode())
    index = accounts.schema.get_field_index("password")
    accounts = accounts.set_column(index, "password_hash", pa.array(hashes, pa.string()))
    return District(district.profile, district.scale, district.seed,
                    {**district.tables, "accounts": accounts})


def _load_history(conn: psycopg.Connection, district: District, days: int,
                  progress: Progress | None) -> dict[str, int]:
    rows: dict[str, int] = {}
    for name, batch in history_batches(district, days):
        rows[name] = rows.get(name, 0) + copy_batches(conn, name, [batch], SCHEMA)
    conn.execute("SELECT setval('sis.line_items_line_item_id_seq', "
                 "(SELECT coalesce(max(line_item_id), 0) + 1 FROM sis.line_items), false)")
    for name, count in rows.items():
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(SCHEMA, name)))
        if progress:
            progress(name, count)
    return rows
