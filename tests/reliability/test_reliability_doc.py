"""docs/reliability.md cites a test for every fault, input class and security property: each
cited file exists, and each cited test function is defined in it (so the table cannot point at
a test that was renamed or removed)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "reliability.md"
CITED = re.compile(r"`(tests/[\w/]+\.py)(?:::(\w+))?`")


def test_every_cited_test_exists() -> None:
    cited = CITED.findall(DOC.read_text(encoding="utf-8"))
    assert len(cited) >= 20  # the table is there
    missing = [f"{path}::{name}" if name else path for path, name in cited
               if not (ROOT / path).is_file()
               or (name and f"def {name}(" not in (ROOT / path).read_text(encoding="utf-8"))]
    assert missing == []


def test_the_checker_catches_a_renamed_test(tmp_path: Path) -> None:
    text = "`tests/reliability/test_reliability_doc.py::test_that_was_renamed`"
    path, name = CITED.findall(text)[0]
    assert (ROOT / path).is_file() and f"def {name}(" not in (ROOT / path).read_text()
