"""docs/targets.md's full example is a valid target file: it loads (every template defined
where it is used, the CSV pool beside it) and builds the engine's target."""

from __future__ import annotations

import re
from pathlib import Path

from loadtests.targetfile.loader import load_target_file
from loadtests.targetfile.target import build_target

DOC = Path(__file__).resolve().parents[2] / "docs" / "targets.md"
MARK = "<!-- the example target: tests/loadtests/test_targets_doc.py validates it -->"


def test_the_full_example_loads(tmp_path: Path) -> None:
    text = DOC.read_text()
    block = re.search(r"```yaml\n(.*?)```", text[text.index(MARK):], re.S)
    assert block is not None
    (tmp_path / "target.yaml").write_text(block.group(1))
    (tmp_path / "accounts.csv").write_text("email,password,other_family_student\n"
                                           "bo.parent@example.org,pw,6930\n")
    target = load_target_file(tmp_path / "target.yaml")
    assert set(target.personas) == {"guardian", "teacher", "guardian_unregistered"}
    assert set(target.probes) == {"foreign_student", "anonymous_student", "teacher_gradebook"}
    built = build_target(target)
    assert set(built.click_paths) == {"guardian", "teacher", "guardian_unregistered"}
