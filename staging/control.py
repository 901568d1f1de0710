"""Bringing the staging SIS up and down: embedded database, seeding, the server process, state.

``up`` starts (or reuses) what it needs and records it in ``.firstbell/staging.json``; ``down``
stops exactly what ``up`` started (an external database is never stopped) and nothing is left
running. The server runs as its own process group, so one signal stops every worker.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from kernel.errors import UserError
from kernel.files import open_private
from kernel.ports import free_port, port_free
from kernel.processes import alive
from staging.config import default
from staging.embedded import EmbeddedPostgres
from staging.seed import Progress, SeedRequest, SeedResult, read_meta, seed_database

STATE_DIR = Path(".firstbell")
STATE_FILE = STATE_DIR / "staging.json"
EMBEDDED_ROOT = STATE_DIR / "pg"
DATABASE = "firstbell_staging"
READY_TIMEOUT = 90.0


@dataclass
class StagingState:
    base_url: str
    server_pid: int
    database_url: str
    embedded_root: str | None
    admin_token: str
    log: str
    # The user pool whose accounts log into this SIS's district (written by the CLI after
    # seeding), so a run against it needs no --userpool.
    userpool: str | None = None


@dataclass(frozen=True)
class UpOptions:
    seed: SeedRequest
    database_url: str = default("database_url")
    port: int = default("port")
    workers: int = default("workers")
    pool_max: int = default("pool_max")
    kdf_iterations: int = default("kdf_iterations")
    admin_token: str = default("admin_token")
    reset: bool = False
    host: str = default("host")
    # The database on the embedded cluster (firstbell's own): `firstbell rehearse` keeps one
    # per district there, so a district seeded earlier never stands in its way.
    database: str = DATABASE
    # Who may read /metrics, and which reverse proxies' forwarded headers are believed.
    metrics_token: str = default("metrics_token")
    metrics_loopback_only: bool = default("metrics_loopback_only")
    trusted_proxies: str = default("trusted_proxies")


def load_state() -> StagingState | None:
    if not STATE_FILE.is_file():
        return None
    return StagingState(**json.loads(STATE_FILE.read_text(encoding="utf-8")))


def save_state(state: StagingState) -> None:
    """The state, owner-only: it holds the admin token of the fault switches."""
    STATE_FILE.parent.mkdir(exist_ok=True)
    with open_private(STATE_FILE) as out:
        out.write((json.dumps(asdict(state), indent=2) + "\n").encode())


def _ensure_database(admin_url: str, name: str = DATABASE) -> str:
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(admin_url, dbname=name)


def redacted(url: str) -> str:
    """The connection string as an error message may show it: any password replaced by ***
    (URL form `postgresql://user:secret@host/db` and keyword form `password=secret`)."""
    url = re.sub(r"(://[^:/@?#]*:)[^@/?#]*@", r"\1***@", url)
    return re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", url)


def check_url(url: str) -> None:
    """A clear error (exit 2) when `url` cannot be connected to."""
    try:
        with psycopg.connect(url, connect_timeout=5):
            pass
    except psycopg.Error as exc:
        raise UserError(f"option --database-url = '{redacted(url)}': cannot connect ({exc})."
                        " Check the host, port, user and database name.") from exc


def up(options: UpOptions, step: Callable[[str], None] = lambda _: None,
       progress: Progress | None = None) -> tuple[StagingState, SeedResult | None]:
    current = load_state()
    if current is not None and alive(current.server_pid):
        return current, None
    if not port_free(options.host, options.port):
        raise UserError(f"option --port = {options.port}: {options.host}:{options.port} is in "
                        "use. Choose another port (or --port 0 for any free one).")
    embedded = None
    if options.database_url:
        check_url(options.database_url)
        database_url = options.database_url
    else:
        step("starting the embedded PostgreSQL")
        embedded = EmbeddedPostgres(EMBEDDED_ROOT.resolve())
        database_url = _ensure_database(embedded.start(), options.database)
    try:
        step("seeding")
        result = seed(database_url, options.seed, reset=options.reset, progress=progress)
        step("starting the SIS")
        state = _start_server(options, database_url, embedded)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    save_state(state)
    return state, result


def seed(database_url: str, request: SeedRequest, *, reset: bool = False,
         progress: Progress | None = None) -> SeedResult:
    """Seed the database as `up` does, and nothing more: a database already holding this
    district is reused, a district imported from OneRoster is kept, and a database holding
    another district or tables that are not firstbell's is refused (unless `reset`)."""
    result = _imported(database_url) if not reset else None
    if result is None:
        result = seed_database(database_url, request, reset=reset, progress=progress)
    return result


def _imported(database_url: str) -> SeedResult | None:
    """A district imported from OneRoster CSV is kept as it is (only --reset replaces it)."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        meta = read_meta(conn)
    if meta and meta.get("profile", "").startswith("import:"):
        return SeedResult(False, meta, {})
    return None


def _start_server(options: UpOptions, database_url: str,
                  embedded: EmbeddedPostgres | None) -> StagingState:
    port = options.port or free_port(options.host)
    token = options.admin_token or secrets.token_urlsafe(18)
    env = {**os.environ, "FIRSTBELL_DATABASE_URL": database_url, "FIRSTBELL_PORT": str(port),
           "FIRSTBELL_HOST": options.host, "FIRSTBELL_WORKERS": str(options.workers),
           "FIRSTBELL_POOL_MAX": str(options.pool_max),
           "FIRSTBELL_KDF_ITERATIONS": str(options.kdf_iterations),
           "FIRSTBELL_ADMIN_TOKEN": token, "FIRSTBELL_METRICS_TOKEN": options.metrics_token,
           "FIRSTBELL_METRICS_LOOPBACK_ONLY": str(options.metrics_loopback_only).lower(),
           "FIRSTBELL_TRUSTED_PROXIES": options.trusted_proxies}
    STATE_DIR.mkdir(exist_ok=True)
    log = STATE_DIR / "staging.log"
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "staging.server"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    base = f"http://{options.host}:{port}"
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        if proc.poll() is not None:
            raise UserError(f"the staging SIS exited (code {proc.returncode}) before it was "
                            f"ready; see {log}:\n{log.read_text(errors='replace')[-1500:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=2.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            _stop_process(proc.pid)
            raise UserError(f"the staging SIS was not ready within {READY_TIMEOUT:.0f} s; "
                            f"see {log}.")
        time.sleep(0.2)
    return StagingState(base, proc.pid, database_url,
                        str(embedded.root) if embedded else None, token, str(log))


def _stop_process(pid: int, timeout: float = 15.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if alive(pid):
        os.killpg(pid, signal.SIGKILL)


def down() -> list[str]:
    """Stop what `up` started; returns what was stopped."""
    state = load_state()
    if state is None:
        return []
    stopped = []
    if alive(state.server_pid):
        _stop_process(state.server_pid)
        stopped.append(f"staging SIS (pid {state.server_pid})")
    if state.embedded_root:
        cluster = EmbeddedPostgres(Path(state.embedded_root))
        if cluster.running():
            cluster.stop()
            stopped.append("embedded PostgreSQL")
    STATE_FILE.unlink(missing_ok=True)
    return stopped
