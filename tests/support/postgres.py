"""A throwaway PostgreSQL cluster: initdb into a temporary directory, start it, stop and delete it.

The server listens only on a Unix socket inside the cluster's own directory, trusts local
connections (superuser ``postgres``) and runs with fsync off: test data, never real data.
PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` system user
(created if missing) and the directory belongs to that user.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from psycopg.conninfo import make_conninfo

SERVER_USER = "postgres"
SUPERUSER = "postgres"
BINARIES = ("initdb", "pg_ctl", "postgres")


class PostgresUnavailable(RuntimeError):
    """The cluster could not be created or started; the message says why and what to install."""


def check_binaries() -> None:
    missing = [name for name in BINARIES if shutil.which(name) is None]
    if missing:
        raise PostgresUnavailable(
            f"PostgreSQL server binaries not found on PATH: {', '.join(missing)}. Install the "
            "server (Debian/Ubuntu: apt-get install postgresql, then put "
            "/usr/lib/postgresql/<version>/bin on PATH)."
        )


def _server_account() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", SERVER_USER], check=True)
        return pwd.getpwnam(SERVER_USER)


def _run(args: list[str], account: pwd.struct_passwd | None, cwd: Path) -> None:
    if account is not None:
        args = ["runuser", "-u", account.pw_name, "--", *args]
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        log = cwd / "server.log"
        raise PostgresUnavailable(
            f"{shlex.join(args)} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
            + (f"\nserver log:\n{log.read_text()}" if log.exists() else "")
        )


@contextmanager
def temporary_cluster(settings: Mapping[str, str] | None = None) -> Iterator[str]:
    """Create and start a cluster; yield its conninfo string; stop it and delete it at the end.

    `settings` are extra server settings (``{"shared_buffers": "1GB"}``), passed as ``-c``.
    """
    check_binaries()
    account = _server_account()
    # mkdtemp gives a short, private path (Unix socket paths are limited to ~100 bytes).
    root = Path(tempfile.mkdtemp(prefix="firstbell-pg-"))
    data = root / "data"
    try:
        if account is not None:
            os.chown(root, account.pw_uid, account.pw_gid)
        _run(["initdb", "-D", str(data), "--auth=trust", "-U", SUPERUSER, "-E", "UTF8",
              "--locale=C.UTF-8", "--no-sync", "--no-instructions"], account, root)
        server = {"listen_addresses": "", "unix_socket_directories": str(root), "fsync": "off",
                  **(settings or {})}
        options = " ".join(f"-c {name}={shlex.quote(value)}" for name, value in server.items())
        _run(["pg_ctl", "-D", str(data), "-l", str(root / "server.log"), "-w", "-o", options,
              "start"], account, root)
        try:
            yield make_conninfo(host=str(root), user=SUPERUSER, dbname="postgres")
        finally:
            _run(["pg_ctl", "-D", str(data), "-m", "immediate", "stop"], account, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)
