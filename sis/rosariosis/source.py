"""The RosarioSIS source: check what ``--source`` names, unpack it, write ``config.inc.php``.

``--source`` is the release tarball (``.tar.gz``) or an unpacked checkout: a folder holding
``index.php``, ``InstallDatabase.php`` and ``rosariosis.sql``, directly or in its one subfolder.
It is unpacked into ``app/`` once; a marker file records what was unpacked, so ``up`` with the
same source reuses it. The files are the vendor's, unmodified: only ``config.inc.php`` is added.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kernel.errors import UserError

MARKERS = ("index.php", "InstallDatabase.php", "rosariosis.sql", "config.inc.sample.php")
UNPACKED = ".firstbell-source.json"


@dataclass(frozen=True)
class Source:
    path: Path  # as given, resolved
    kind: str  # "tarball" or "folder"
    top: str  # the folder inside holding index.php ("" when at the top)


def _bad(path: Path, why: str) -> UserError:
    return UserError(f"option --source = '{path}': {why}. Give the RosarioSIS release tarball "
                     "(rosariosis-<version>.tar.gz) or the folder it unpacks to (holding "
                     "index.php and rosariosis.sql).")


def check_source(path: Path) -> Source:
    """What `path` is, or a UserError (exit 2) naming it."""
    if not path.exists():
        raise _bad(path, "no such file or folder")
    resolved = path.resolve()
    if resolved.is_dir():
        for top in ("", *sorted(p.name for p in resolved.iterdir() if p.is_dir())):
            if all((resolved / top / m).is_file() for m in MARKERS):
                return Source(resolved, "folder", top)
        raise _bad(path, f"is a folder without {', '.join(MARKERS)}")
    if not tarfile.is_tarfile(resolved):
        raise _bad(path, "is neither a folder nor a tar archive")
    with tarfile.open(resolved) as archive:
        names = {PurePosixPath(n) for n in archive.getnames()}
    for candidate in sorted({p.parent for p in names if p.name == "index.php"}, key=str):
        if all(candidate / m in names for m in MARKERS):
            top = str(candidate)
            return Source(resolved, "tarball", "" if top == "." else top)
    raise _bad(path, f"is an archive without {', '.join(MARKERS)}")


def _fingerprint(source: Source) -> dict[str, object]:
    info = source.path.stat()
    return {"path": str(source.path), "kind": source.kind, "size": info.st_size,
            "mtime": info.st_mtime_ns}


def unpack(source: Source, app: Path) -> bool:
    """Unpack `source` into `app` (replacing an older unpack); False when it was already there."""
    marker = app / UNPACKED
    wanted = _fingerprint(source)
    if marker.is_file() and json.loads(marker.read_text()) == wanted:
        return False
    if app.exists():
        shutil.rmtree(app)
    work = app.with_name(app.name + ".partial")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        if source.kind == "folder":
            shutil.copytree(source.path / source.top, work, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(".git", "config.inc.php"))
        else:
            _extract(source, work)
        _readable(work)
        (work / UNPACKED).write_text(json.dumps(wanted) + "\n")
        work.rename(app)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return True


def _extract(source: Source, dest: Path) -> None:
    prefix = f"{source.top}/" if source.top else ""
    with tarfile.open(source.path) as archive:
        members = []
        for member in archive.getmembers():
            if not member.name.startswith(prefix) or not (member.isfile() or member.isdir()):
                continue
            member.name = member.name[len(prefix):]
            if member.name:
                members.append(member)
        archive.extractall(dest, members=members, filter="data")


def _readable(folder: Path) -> None:
    """The web server's workers run as another user when we are root: let them read the app."""
    for path in (folder, *folder.rglob("*")):
        mode = path.stat().st_mode
        extra = stat.S_IROTH | (stat.S_IXOTH if stat.S_ISDIR(mode) else 0)
        os.chmod(path, stat.S_IMODE(mode) | extra | (stat.S_IRGRP | stat.S_IRUSR))


@dataclass(frozen=True)
class DatabaseSettings:
    host: str
    port: int
    name: str
    user: str
    password: str


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def render_config(sample: str, db: DatabaseSettings, syear: int) -> str:
    """`config.inc.sample.php` with the database settings, a `$DatabasePort` line after
    `$DatabaseName`, and the school year the seeded district uses."""
    values = {"DatabaseType": "postgresql", "DatabaseServer": db.host,
              "DatabaseUsername": db.user, "DatabasePassword": db.password,
              "DatabaseName": db.name, "DefaultSyear": str(syear)}
    text = sample
    for name, value in values.items():
        pattern = re.compile(rf"^\${name}\s*=.*?;", re.M)
        if not pattern.search(text):
            raise UserError(f"config.inc.sample.php: no ${name} line to set; is this "
                            "RosarioSIS 12? Give a RosarioSIS 12 source with --source.")
        line = f"${name} = {_php_string(value)};"
        text = pattern.sub(line.replace("\\", "\\\\"), text, count=1)  # a literal line
    port_line = f"$DatabasePort = {_php_string(str(db.port))};"
    if re.search(r"^\$DatabasePort\s*=", text, re.M):
        text = re.sub(r"^\$DatabasePort\s*=.*?;", port_line, text, count=1, flags=re.M)
    else:
        text = re.sub(r"^(\$DatabaseName\s*=.*?;)", lambda m: f"{m.group(1)}\n\n{port_line}",
                      text, count=1, flags=re.M)
    return text


def write_config(app: Path, db: DatabaseSettings, syear: int, group: int | None) -> Path:
    """Write `app/config.inc.php` readable by its owner (and by `group`, the PHP workers')."""
    path = app / "config.inc.php"
    text = render_config((app / "config.inc.sample.php").read_text(encoding="utf-8"), db, syear)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    if group is not None:
        os.chown(tmp, -1, group)
        os.chmod(tmp, 0o640)
    tmp.replace(path)
    return path
