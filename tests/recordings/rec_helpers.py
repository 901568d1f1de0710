"""Shared helpers of the recording tests: fixture paths, reading a converted target back, and
every file under a folder as one text (to look for leaked secrets)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from loadtests.targetfile.model import TargetFile

FIXTURES = Path(__file__).parent / "fixtures"
PASSWORD = "Fake-Passw0rd-123"       # the fixtures' fake credentials and session values
USERNAME = "ada.parent@example.test"
SECRETS = (PASSWORD, USERNAME, "anonS3ss10nV4lue0001", "L0gg3dInS3ss10nV4lue99",
           "eyJhbGciOiJIUzI1NiJ9.ZmFrZXRva2VuZm9ydGVzdHM.c2lnbmF0dXJlMDAx")


def fixture(name: str) -> Path:
    return FIXTURES / f"{name}.har.fixture.json"


def load_target(folder: Path) -> TargetFile:
    """The target folder as one validated TargetFile (target.yaml + personas/*.yaml)."""
    data: dict[str, Any] = yaml.safe_load((folder / "target.yaml").read_text())
    data["personas"] = {p.stem: yaml.safe_load(p.read_text())
                        for p in sorted((folder / "personas").glob("*.yaml"))}
    return TargetFile.model_validate(data)


def all_text(folder: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(folder.rglob("*")) if p.is_file())
