"""Built-in data files by name: ``cps`` is ``<folder>/cps.yaml``, while anything that looks
like a path (a ``.yaml``/``.yml`` suffix, or an existing file) is taken as it is. Profiles and
scenario days are both found this way."""

from __future__ import annotations

from pathlib import Path


def resolve_named(name_or_path: str, folder: Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix in {".yaml", ".yml"} or candidate.exists():
        return candidate
    return folder / f"{name_or_path}.yaml"


def builtin_names(folder: Path) -> list[str]:
    """The names of the built-in files in `folder`, sorted."""
    return sorted(p.stem for p in folder.glob("*.yaml"))
