"""Where a RosarioSIS install lives: everything under ``.firstbell/rosariosis/``.

``app/`` the unpacked source (with the generated ``config.inc.php``), ``pg/`` the embedded
PostgreSQL cluster, ``run/`` the generated server configs, pid files, logs and PHP sessions,
``userpool/`` the personas' identities (owner-only), ``state.json`` what ``up`` started.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

ROOT = Path(".firstbell") / "rosariosis"


@dataclass(frozen=True)
class Layout:
    root: Path = ROOT

    @property
    def app(self) -> Path:
        return self.root / "app"

    @property
    def pg(self) -> Path:
        return self.root / "pg"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def sessions(self) -> Path:
        return self.run / "sessions"

    @property
    def userpool(self) -> Path:
        return self.root / "userpool"

    @property
    def state(self) -> Path:
        return self.root / "state.json"

    def resolved(self) -> Layout:
        return Layout(self.root.resolve())
