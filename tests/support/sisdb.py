"""Direct SQL on a seeded staging database, for tests that check what the API wrote."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

# A test's login helper: log an identity in, get a client carrying its session token.
Login = Callable[[dict[str, Any]], httpx.Client]

ADMIN_TOKEN = "test-admin-token"
# A cheap KDF and a quick fault refresh keep the tests fast; everything else is the default.
TEST_SETTINGS: dict[str, Any] = dict(kdf_iterations=1_000, admin_token=ADMIN_TOKEN,
                                     fault_refresh_seconds=0.1, pool_min=1, pool_max=8)


def new_database(postgres_url: str) -> str:
    """A new empty database on the test cluster; returns its conninfo."""
    name = f"sis_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(postgres_url, dbname=name)


def query(url: str, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql, params).fetchall()


def enrolled(url: str, section_id: int) -> list[int]:
    """The active students of a section, by id."""
    rows = query(url, "SELECT e.student_id FROM sis.enrollments e JOIN sis.students s"
                      " USING (student_id) WHERE e.section_id = %s"
                      " AND s.enrollment_status = 'active' ORDER BY 1", [section_id])
    return [r[0] for r in rows]


def outsider(url: str, section_id: int, school_id: int, *, last: bool = False) -> int:
    """A student of the same school who is not in this section (the lowest id, or highest)."""
    order = "DESC" if last else "ASC"
    row = query(url, "SELECT student_id FROM sis.students s WHERE school_id = %s AND NOT EXISTS"
                     " (SELECT 1 FROM sis.enrollments e WHERE e.section_id = %s"
                     f"  AND e.student_id = s.student_id) ORDER BY student_id {order} LIMIT 1",
                [school_id, section_id])
    return int(row[0][0])


def assert_error(r: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is a JSON error with this status (and code); returns the error object."""
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


# Signed links that expire within seconds, so the expired-link probe runs inside a short test.
LINK_SECONDS = 2


def staging_settings(**overrides: Any) -> Any:
    """The test settings with short-lived signed links (the load-engine tests' staging)."""
    from staging.config import Settings
    return Settings(**{**TEST_SETTINGS, "signed_link_seconds": LINK_SECONDS, **overrides})
