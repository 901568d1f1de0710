"""``up``, ``status`` and ``down`` for RosarioSIS: what runs is recorded in ``state.json``.

``up``: check PHP and the source, unpack it, start the embedded PostgreSQL, create the role and
database, write ``config.inc.php``, start the web server, install the schema with one GET of
``/InstallDatabase.php`` (the passwords hash meanwhile), seed the district with COPY, write the
user pool. A database already seeded with the same district is reused (no install, no seed).
``down`` stops exactly what ``up`` started, the server processes and the cluster.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg

from fake_data.district import District, generate
from fake_data.profile import load_profile
from kernel.clock import Phases
from kernel.errors import UserError
from kernel.files import open_private
from kernel.ports import LOOPBACK, free_port, port_free
from sis.rosariosis import database, passwords, php, server, source, userpool
from sis.rosariosis.calendar import Calendar, Shift, calendar_shift
from sis.rosariosis.layout import Layout
from sis.rosariosis.seed import seed as seed_district
from staging.embedded import EmbeddedPostgres

CREDENTIALS = "database.json"  # role password of the database we created (0600)


@dataclass(frozen=True)
class UpOptions:
    source: Path
    profile: str = "small"
    scale: float = 1.0
    seed: int = 42
    port: int = 8780
    workers: int = 4
    builtin: bool = False  # PHP's built-in server even when php-fpm and nginx are installed


@dataclass
class State:
    url: str
    server: str  # server.FPM_NGINX or server.BUILTIN
    workers: int
    pids: dict[str, int]
    pg_root: str
    database: str
    district: str
    userpool: str
    logs: list[str]


@dataclass
class UpResult:
    state: State
    started: bool  # False: it was already running
    seeded: bool  # False: the database already held this district
    rows: dict[str, int] = field(default_factory=dict)
    identities: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)


def load_state(layout: Layout) -> State | None:
    if not layout.state.is_file():
        return None
    return State(**json.loads(layout.state.read_text(encoding="utf-8")))


def _running(state: State) -> bool:
    return all(server.alive(pid) for pid in state.pids.values())


def _credentials(layout: Layout) -> dict[str, str] | None:
    path = layout.root / CREDENTIALS
    return json.loads(path.read_text()) if path.is_file() else None


def _save_credentials(layout: Layout, values: dict[str, str]) -> None:
    path = layout.root / CREDENTIALS
    with open_private(path) as out:  # also narrows a file left wider by an older version
        out.write(json.dumps(values).encode())


def up(options: UpOptions, layout: Layout | None = None,
       step: Callable[[str], None] = lambda _s: None) -> UpResult:
    layout = (layout or Layout()).resolved()
    current = load_state(layout)
    if current is not None and _running(current):
        return UpResult(current, started=False, seeded=False)
    if options.workers < 1:
        raise UserError(f"option --workers = {options.workers}: must be >= 1.")
    src = source.check_source(options.source)
    found = php.probe()
    php.check_extensions(found)
    kind = server.choose(found, prefer_builtin=options.builtin)
    if options.port and not port_free(LOOPBACK, options.port):
        raise UserError(f"option --port = {options.port}: 127.0.0.1:{options.port} is in use. "
                        "Choose another port (or --port 0 for any free one).")
    phases = Phases()
    lap, seconds = phases.lap, phases.times

    step("generating the district")
    district = generate(load_profile(options.profile), options.scale, options.seed)
    lap("generate district")
    layout.root.mkdir(parents=True, exist_ok=True)
    os.chmod(layout.root, 0o755)  # the postgres and www-data users pass through it
    step("unpacking RosarioSIS")
    source.unpack(src, layout.app)
    lap("unpack source")
    step("starting the embedded PostgreSQL")
    cluster, admin_url = database.start_cluster(layout.pg)
    lap("start PostgreSQL")
    served: server.Served | None = None
    try:
        # The calendar follows today's date (calendar.py): a database seeded for
        # another shift (a later school year, a weekend day) is seeded again.
        shift = calendar_shift(district)
        key = f"{database.district_key(options.profile, options.scale, options.seed)} " \
              f"{shift.key}"
        comment = database.existing(admin_url)
        saved = _credentials(layout)
        reuse = comment == database.seeded_comment(key) and saved is not None \
            and (layout.userpool / "manifest.json").is_file()
        if reuse and saved is not None:
            db = database.describe(admin_url, database.DATABASE, database.ROLE,
                                   saved["password"])
        else:
            db = database.create(admin_url, key)
            _save_credentials(layout, {"password": db.password})
        lap("create database")
        source.write_config(layout.app, source.DatabaseSettings(
            db.host, db.port, db.name, db.role, db.password), Calendar.of(district, shift).syear,
            server.web_group())
        port = options.port or free_port()
        step(f"starting {kind}")
        served = server.start(kind, found, layout.run, layout.app, port, free_port(),
                              options.workers)
        lap("start web server")
        result = UpResult(State(served.url, kind, options.workers, served.pids,
                                str(cluster.root), db.name, key, str(layout.userpool),
                                served.logs), started=True, seeded=not reuse, seconds=seconds)
        if not reuse:
            _install_and_seed(found, district, db, layout, served.url, result, step, lap,
                              shift, key)
        else:
            userpool.restamp(layout.userpool, served.url)
    except BaseException:
        if served is not None:
            server.stop(served.pids)
        cluster.stop()
        raise
    layout.state.write_text(json.dumps(asdict(result.state), indent=2) + "\n")
    return result


def _install_and_seed(found: php.Php, district: District, db: database.Database,
                      layout: Layout, url: str, result: UpResult,
                      step: Callable[[str], None], lap: Callable[[str], None],
                      shift: Shift, key: str) -> None:
    hashing = passwords.Hashing(found.binary, district["accounts"]["password"].combine_chunks(),
                                district.seed)
    try:
        step("installing the schema (GET /InstallDatabase.php)")
        database.install_schema(url)
        lap("install schema")
        step("seeding the district")
        with psycopg.connect(db.url, autocommit=True) as conn:
            seeded = seed_district(conn, district, hashing.result, shift=shift)
        lap("seed (COPY)")
        result.seconds.update({f"  {k}": v for k, v in seeded.seconds.items()})
    except BaseException:
        hashing.cancel()
        raise
    result.rows = seeded.rows
    step("writing the user pool")
    result.identities = userpool.write(district, seeded, layout.userpool, url)
    database.mark(db.admin_url, db.name, database.seeded_comment(key))
    lap("write user pool")


@dataclass(frozen=True)
class Status:
    state: State | None
    processes: dict[str, bool]  # name (pid) -> alive
    answers: bool
    database: bool


def status(layout: Layout | None = None) -> Status:
    layout = (layout or Layout()).resolved()
    state = load_state(layout)
    if state is None:
        return Status(None, {}, False, False)
    processes = {f"{name} (pid {pid})": server.alive(pid) for name, pid in state.pids.items()}
    cluster = EmbeddedPostgres(Path(state.pg_root), bundled=False)
    return Status(state, processes, server.answers(state.url), cluster.running())


def down(layout: Layout | None = None) -> list[str]:
    """Stop what `up` started; returns what was stopped."""
    layout = (layout or Layout()).resolved()
    state = load_state(layout)
    stopped: list[str] = []
    if state is not None:
        stopped += server.stop(state.pids)
    cluster = EmbeddedPostgres(Path(state.pg_root) if state else layout.pg, bundled=False)
    if cluster.running():
        cluster.stop()
        stopped.append("embedded PostgreSQL")
    layout.state.unlink(missing_ok=True)
    return stopped
