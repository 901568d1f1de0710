"""Session-wide fixtures: a real PostgreSQL cluster, and a fresh empty database per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from support.postgres import temporary_cluster


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """Conninfo of a throwaway cluster for the whole session (superuser, Unix socket only)."""
    with temporary_cluster() as conninfo:
        yield conninfo


@pytest.fixture
def pg_conn(postgres_url: str) -> Iterator[psycopg.Connection]:
    """An autocommit connection to a new empty database, dropped after the test."""
    name = f"test_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        with psycopg.connect(make_conninfo(postgres_url, dbname=name), autocommit=True) as conn:
            yield conn
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
