"""`firstbell staging up / seed / status / fault / down` end to end, with a real PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from support.sisdb import new_database, query

from fake_data.district import generate
from fake_data.export_oneroster import write_oneroster
from fake_data.profile import load_profile
from staging.embedded import EmbeddedPostgres


def _cli(cwd: Path, *args: str, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "firstbell.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A working folder the unprivileged PostgreSQL user can enter (pytest's tmp is 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="firstbell-cli-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_up_status_faults_down(workdir: Path) -> None:
    tmp_path = workdir
    up = _cli(tmp_path, "staging", "up", "--profile", "small", "--scale", "0.2", "--port", "0",
              "--kdf-iterations", "1000")
    assert up.returncode == 0, up.stderr
    base = up.stdout.strip().splitlines()[-1]
    assert base.startswith("http://127.0.0.1:")
    try:
        # the district's user pool is written and remembered: a run against this SIS finds it
        pool = Path(json.loads((tmp_path / ".firstbell" / "staging.json").read_text())
                    ["userpool"])
        assert "User pool:" in up.stderr and (pool / "teacher.arrow").is_file()
        # the state holds the admin token; the pool every password: owner-only
        assert (tmp_path / ".firstbell" / "staging.json").stat().st_mode & 0o777 == 0o600
        assert (pool / "teacher.arrow").stat().st_mode & 0o777 == 0o600
        run = _cli(tmp_path, "run", "smoke", "--profile", "small", "--scale", "0.2",
                   "--target", base, "--exporter-port", "-1", "--out", "runs/smoke")
        assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
        assert f"user pool: {pool}" in run.stderr.replace("\n", "")
        ready = httpx.get(f"{base}/readyz").json()
        assert ready["status"] == "ready" and ready["district"]["scale"] == "0.2"
        assert _cli(tmp_path, "staging", "status").returncode == 0
        again = _cli(tmp_path, "staging", "up", "--profile", "small", "--scale", "0.2")
        assert again.returncode == 0 and again.stdout.strip() == base  # idempotent
        fault = _cli(tmp_path, "staging", "fault", "set", "--error-rate", "auth=1")
        assert fault.returncode == 0 and "error_rate" in fault.stdout
        assert httpx.get(f"{base}/api/auth/session").status_code == 503
        bad = _cli(tmp_path, "staging", "fault", "set", "--latency", "lunch=1s")
        assert bad.returncode == 2 and "unknown route group 'lunch'" in bad.stderr
        assert "Traceback" not in bad.stderr
        assert _cli(tmp_path, "staging", "fault", "clear").returncode == 0
        assert httpx.get(f"{base}/api/auth/session").status_code == 401
    finally:
        down = _cli(tmp_path, "staging", "down")
    assert down.returncode == 0 and "embedded PostgreSQL" in down.stdout
    assert not EmbeddedPostgres(tmp_path / ".firstbell" / "pg").running()
    try:
        httpx.get(f"{base}/healthz", timeout=1)
        raise AssertionError("the server still answers after down")
    except httpx.HTTPError:
        pass
    assert "Nothing was running" in _cli(tmp_path, "staging", "down").stdout
    assert _cli(tmp_path, "staging", "status").returncode == 1


def test_external_database_url(tmp_path: Path, postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS cli_external")
        conn.execute("CREATE DATABASE cli_external")
    url = psycopg.conninfo.make_conninfo(postgres_url, dbname="cli_external")
    up = _cli(tmp_path, "staging", "up", "--profile", "small", "--scale", "0.1", "--port", "0",
              "--kdf-iterations", "1000", env={"FIRSTBELL_DATABASE_URL": url})
    assert up.returncode == 0, up.stderr
    try:
        assert httpx.get(f"{up.stdout.strip()}/readyz").status_code == 200
    finally:
        down = _cli(tmp_path, "staging", "down")
    assert "embedded" not in down.stdout  # an external database is never stopped
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM sis.firstbell_meta").fetchone()[0] > 0  # type: ignore[index]


def test_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    bogus = _cli(tmp_path, "staging", "up", "--database-url",
                 "host=127.0.0.1 port=1 user=nobody dbname=nothing")
    assert bogus.returncode == 2 and "cannot connect" in bogus.stderr
    assert "Traceback" not in bogus.stderr
    # A password in the connection string never reaches the terminal (or a CI log).
    for url in ("postgresql://sis:hunter2@127.0.0.1:1/staging",
                "host=127.0.0.1 port=1 user=sis password=hunter2 dbname=staging"):
        for command in ("up", "seed"):
            secret = _cli(tmp_path, "staging", command, "--database-url", url)
            assert secret.returncode == 2 and "cannot connect" in secret.stderr
            assert "hunter2" not in secret.stderr + secret.stdout and "***" in secret.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        busy = _cli(tmp_path, "staging", "up", "--profile", "small", "--port", port)
    assert busy.returncode == 2 and f"--port = {port}" in busy.stderr
    no_state = _cli(tmp_path, "staging", "fault", "show")
    assert no_state.returncode == 2 and "not running" in no_state.stderr
    if os.geteuid() == 0:  # the server user cannot enter pytest's private tmp folder
        private = _cli(tmp_path, "staging", "up", "--profile", "small", "--port", "0")
        assert private.returncode == 2 and "cannot enter" in private.stderr
        assert "chmod o+x" in private.stderr


def test_an_imported_district_is_kept_by_up(workdir: Path) -> None:
    zip_path = write_oneroster(generate(load_profile("small"), 0.1, 5), workdir / "d.zip", "1.2")
    up = _cli(workdir, "staging", "up", "--profile", "small", "--scale", "0.1", "--port", "0",
              "--kdf-iterations", "1000")
    assert up.returncode == 0, up.stderr
    try:
        imported = _cli(workdir, "staging", "import", str(zip_path), "--reset")
        assert imported.returncode == 0, imported.stderr
        assert _cli(workdir, "staging", "down").returncode == 0
        again = _cli(workdir, "staging", "up", "--port", "0", "--kdf-iterations", "1000")
        assert again.returncode == 0, again.stderr
        assert "import:d.zip" in again.stderr and "reused" in again.stderr
        ready = httpx.get(f"{again.stdout.strip()}/readyz").json()
        assert ready["district"]["profile"] == "import:d.zip"
    finally:
        _cli(workdir, "staging", "down")


def test_oauth_client_create_prints_credentials_that_work(tmp_path: Path, seeded_url: str,
                                                          base_url: str) -> None:
    made = _cli(tmp_path, "staging", "oauth-client", "create", "--name", "LMS nightly sync",
                "--scopes", "roster-core.readonly", "--database-url", seeded_url)
    assert made.returncode == 0, made.stderr
    lines = dict(line.split(": ", 1) for line in made.stdout.strip().splitlines())
    token = httpx.post(f"{base_url}/oauth/token", data={"grant_type": "client_credentials"},
                       auth=(lines["client_id"], lines["client_secret"]))
    assert token.status_code == 200 and "roster-core.readonly" in token.json()["scope"]
    bad = _cli(tmp_path, "staging", "oauth-client", "create", "--name", "x", "--scopes",
               "gradebook.everything", "--database-url", seeded_url)
    assert bad.returncode == 2 and "unknown OneRoster scopes" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_seed_seeds_an_existing_database_and_starts_nothing(tmp_path: Path,
                                                            postgres_url: str) -> None:
    url = new_database(postgres_url)
    first = _cli(tmp_path, "staging", "seed", "--profile", "small", "--scale", "0.1",
                 env={"FIRSTBELL_DATABASE_URL": url})  # the URL from the environment
    assert first.returncode == 0, first.stderr
    assert "Seeded district small (scale 0.1, seed 42)" in first.stdout
    assert not (tmp_path / ".firstbell").exists()  # no server, no state: it only seeds
    meta = dict(query(url, "SELECT key, value FROM sis.firstbell_meta"))
    assert (meta["profile"], meta["scale"], meta["seed"]) == ("small", "0.1", "42")
    assert query(url, "SELECT count(*) FROM sis.students")[0][0] > 0
    again = _cli(tmp_path, "staging", "seed", "--database-url", url, "--profile", "small",
                 "--scale", "0.1")
    assert again.returncode == 0 and "reused" in again.stdout, again.stderr
    other = _cli(tmp_path, "staging", "seed", "--database-url", url, "--profile", "small",
                 "--scale", "0.1", "--seed", "7")
    assert other.returncode == 2 and "already seeded" in other.stderr
    assert "--reset" in other.stderr and "Traceback" not in other.stderr
    reset = _cli(tmp_path, "staging", "seed", "--database-url", url, "--profile", "small",
                 "--scale", "0.1", "--seed", "7", "--reset")
    assert reset.returncode == 0 and "Seeded district small" in reset.stdout, reset.stderr
    assert dict(query(url, "SELECT key, value FROM sis.firstbell_meta"))["seed"] == "7"


def test_seed_refuses_what_it_cannot_or_must_not_seed(tmp_path: Path, postgres_url: str) -> None:
    theirs = new_database(postgres_url)
    with psycopg.connect(theirs, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.grades (id int)")
    foreign = _cli(tmp_path, "staging", "seed", "--database-url", theirs, "--profile", "small",
                   "--scale", "0.1")
    assert foreign.returncode == 2 and "public.grades" in foreign.stderr
    assert "refusing" in foreign.stderr and "Traceback" not in foreign.stderr
    bogus = _cli(tmp_path, "staging", "seed", "--database-url",
                 "host=127.0.0.1 port=1 user=nobody dbname=nothing")
    assert bogus.returncode == 2 and "cannot connect" in bogus.stderr
    assert "Traceback" not in bogus.stderr
    missing = _cli(tmp_path, "staging", "seed", "--profile", "small",
                   env={"FIRSTBELL_DATABASE_URL": ""})
    assert missing.returncode == 2 and "--database-url" in missing.stderr
    unknown = _cli(tmp_path, "staging", "seed", "--database-url", new_database(postgres_url),
                   "--profile", "nowhere")
    assert unknown.returncode == 2 and "nowhere" in unknown.stderr
    assert "Traceback" not in unknown.stderr
