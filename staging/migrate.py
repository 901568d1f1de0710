"""SQL migrations applied in order, each once, recorded in ``sis.schema_migrations``.

Files are ``migrations/NNNN_name.sql``. Seeding applies them around the district load:
``0001`` before it (bookkeeping), the rest after it (the SIS's tables on top of the district's).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import psycopg

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Migration:
    version: str
    path: Path

    @property
    def sql(self) -> str:
        return self.path.read_text(encoding="utf-8")


def migrations() -> list[Migration]:
    return [Migration(p.stem.split("_", 1)[0], p) for p in sorted(MIGRATIONS_DIR.glob("*.sql"))]


def latest_version() -> str:
    return migrations()[-1].version


def applied(conn: psycopg.Connection) -> set[str]:
    exists = conn.execute("SELECT to_regclass('sis.schema_migrations')").fetchone()
    if not exists or exists[0] is None:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM sis.schema_migrations")}


def apply(conn: psycopg.Connection, upto: str | None = None) -> list[str]:
    """Apply pending migrations up to and including `upto` (all when None); returns versions."""
    done = applied(conn)
    ran = []
    for migration in migrations():
        if upto is not None and migration.version > upto:
            break
        if migration.version in done:
            continue
        conn.execute(migration.sql.encode())
        conn.execute("INSERT INTO sis.schema_migrations (version) VALUES (%s)",
                     [migration.version])
        ran.append(migration.version)
    return ran
