"""firstbell's version, read once from the installed distribution's metadata so that
`pyproject.toml` is its only source."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def _installed() -> str:
    try:
        return version("firstbell")
    except PackageNotFoundError:  # a source tree on PYTHONPATH that was never installed
        return "0+unknown"


__version__ = _installed()
