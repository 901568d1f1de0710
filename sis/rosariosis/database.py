"""RosarioSIS's database: its own embedded PostgreSQL cluster, a role, a database, the schema.

The cluster lives in ``.firstbell/rosariosis/pg`` (``staging.embedded``: as root it runs as the
``postgres`` user, on a free loopback port). The database carries a comment saying firstbell
created it and for which district; a database of that name without the comment is never touched.
The schema is installed the way RosarioSIS documents it: one GET of ``/InstallDatabase.php``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from kernel.errors import UserError
from staging.embedded import EmbeddedPostgres

DATABASE = "rosariosis"
ROLE = "rosariosis"
MARK = "firstbell sis rosariosis"
INSTALL_TIMEOUT = 300.0


@dataclass(frozen=True)
class Database:
    admin_url: str  # superuser, the postgres database
    url: str  # superuser, the RosarioSIS database (seeding runs as superuser)
    host: str
    port: int
    name: str
    role: str
    password: str


def start_cluster(root: Path) -> tuple[EmbeddedPostgres, str]:
    cluster = EmbeddedPostgres(root.resolve(), bundled=False)
    return cluster, cluster.start()


def district_key(profile: str, scale: float, seed: int) -> str:
    return f"profile={profile} scale={scale:g} seed={seed}"


def _comment(conn: psycopg.Connection, name: str) -> str | None:
    row = conn.execute("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                       "WHERE datname = %s", [name]).fetchone()
    if row is None:
        return None
    return str(row[0] or "")


def existing(admin_url: str, name: str = DATABASE) -> str | None:
    """The comment of our database (None: there is none). A database we did not create: error."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        comment = _comment(conn, name)
    if comment is not None and not comment.startswith(MARK):
        raise UserError(f"database '{name}' in the cluster at {admin_url} was not created by "
                        "firstbell; it is left alone. Remove .firstbell/rosariosis/pg to start "
                        "over.")
    return comment


def seeded_comment(key: str) -> str:
    return f"{MARK}: seeded {key}"


def create(admin_url: str, key: str, name: str = DATABASE, role: str = ROLE) -> Database:
    """(Re)create the role and an empty database owned by it; drops only a database we made."""
    password = secrets.token_urlsafe(18)
    existing(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                     .format(sql.Identifier(name)))
        if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
            conn.execute(sql.SQL("ALTER ROLE {} LOGIN PASSWORD {}")
                         .format(sql.Identifier(role), sql.Literal(password)))
        else:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}")
                         .format(sql.Identifier(role), sql.Literal(password)))
        conn.execute(sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0")
                     .format(sql.Identifier(name), sql.Identifier(role)))
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(f"{MARK}: installing {key}")))
    return describe(admin_url, name, role, password)


def describe(admin_url: str, name: str, role: str, password: str) -> Database:
    params = psycopg.conninfo.conninfo_to_dict(admin_url)
    return Database(admin_url, make_conninfo(admin_url, dbname=name),
                    str(params.get("host", "127.0.0.1")), int(params.get("port", 5432) or 5432),
                    name, role, password)


def mark(admin_url: str, name: str, comment: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(
            sql.Identifier(name), sql.Literal(comment)))


def install_schema(base_url: str) -> str:
    """GET /InstallDatabase.php and check RosarioSIS says it succeeded; returns its answer."""
    try:
        answer = httpx.get(f"{base_url}/InstallDatabase.php", timeout=INSTALL_TIMEOUT)
    except httpx.HTTPError as exc:
        raise UserError(f"GET {base_url}/InstallDatabase.php failed ({exc}); see the server "
                        "logs under .firstbell/rosariosis/run/.") from exc
    text = answer.text.strip()
    if answer.status_code != 200 or "Success" not in text:
        raise UserError(f"GET {base_url}/InstallDatabase.php answered {answer.status_code} "
                        f"without 'Success': {text[:800]}")
    return text
