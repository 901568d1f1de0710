"""Files the parts share a way of handling: built-in data files by name (``cps`` is
``<folder>/cps.yaml``, while anything that looks like a path is taken as it is; profiles and
scenario days are found this way), and files only their owner may read (credentials)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO


def resolve_named(name_or_path: str, folder: Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        return candidate
    return folder / f"{name_or_path}.yaml"


def builtin_names(folder: Path) -> list[str]:
    """The names of the built-in files in `folder`, sorted."""
    return sorted(p.stem for p in folder.glob("*.yaml"))


def private_dir(path: Path) -> Path:
    """A folder only its owner may enter (made, or narrowed if it exists): user pools and
    recordings hold passwords."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def open_private(path: Path) -> BinaryIO:
    """`path` opened for writing, readable by its owner only — also when it existed before
    with a wider mode (credentials: user pools, the staging admin token)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    return os.fdopen(fd, "wb")
