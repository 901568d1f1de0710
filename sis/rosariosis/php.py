"""PHP on this machine: the extensions RosarioSIS needs, and which web servers are installed.

A missing extension is named with the Debian package that provides it (exit 2), e.g. ``pgsql``
from ``php8.2-pgsql``. php-fpm behind nginx is used when both are installed; otherwise PHP's
built-in server with worker processes.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass

from kernel.errors import UserError

# `php -m` name -> Debian package suffix (php<version>-<suffix>). RosarioSIS's diagnostic.php
# and INSTALL.md ask for these; session, gettext, json and iconv come with php<version>-common.
REQUIRED = {
    "pgsql": "pgsql", "gd": "gd", "intl": "intl", "mbstring": "mbstring", "xml": "xml",
    "dom": "xml", "SimpleXML": "xml", "zip": "zip", "curl": "curl", "gettext": "common",
    "session": "common", "json": "common", "iconv": "common",
}
DEFAULT_VERSION = "8.2"  # Debian 12's PHP, named when PHP itself is missing


@dataclass(frozen=True)
class Php:
    binary: str
    version: str  # major.minor
    modules: frozenset[str]
    fpm: str | None  # the php-fpm binary of the same version, if installed
    nginx: str | None


def parse_modules(text: str) -> frozenset[str]:
    """Module names from `php -m` output (the [PHP Modules] and [Zend Modules] sections)."""
    return frozenset(line.strip() for line in text.splitlines()
                     if line.strip() and not line.startswith("["))


def missing(modules: frozenset[str], version: str) -> dict[str, str]:
    """Required extensions not in `modules`, each with its Debian package."""
    lower = {m.lower() for m in modules}
    return {name: f"php{version}-{suffix}" for name, suffix in REQUIRED.items()
            if name.lower() not in lower}


def _packages_hint(packages: list[str]) -> str:
    return f"apt-get install {' '.join(dict.fromkeys(packages))}"


def probe(binary: str = "php") -> Php:
    """Find PHP and its modules, or a UserError naming what to install."""
    found = shutil.which(binary)
    if found is None:
        raise UserError(f"PHP is not installed (no '{binary}' on PATH). RosarioSIS needs PHP "
                        f"with these extensions; on Debian: {_packages_hint(_all_packages())}.")
    version = subprocess.run(
        [found, "-r", "echo PHP_MAJOR_VERSION, '.', PHP_MINOR_VERSION;"],
        capture_output=True, text=True, check=False).stdout.strip() or DEFAULT_VERSION
    listing = subprocess.run([found, "-m"], capture_output=True, text=True, check=False)
    modules = parse_modules(listing.stdout)
    fpm = shutil.which(f"php-fpm{version}") or shutil.which("php-fpm")
    return Php(found, version, modules, fpm, shutil.which("nginx"))


def _all_packages(version: str = DEFAULT_VERSION) -> list[str]:
    return [f"php{version}-cli", *(f"php{version}-{s}" for s in REQUIRED.values())]


def check_extensions(php: Php) -> None:
    """A UserError (exit 2) naming each missing extension and its Debian package."""
    absent = missing(php.modules, php.version)
    if absent:
        listed = ", ".join(f"{name} ({package})" for name, package in absent.items())
        raise UserError(
            f"PHP {php.version} at {php.binary} lacks extensions RosarioSIS needs: {listed}. "
            f"On Debian: {_packages_hint(list(absent.values()))}; check with 'php -m'.")
