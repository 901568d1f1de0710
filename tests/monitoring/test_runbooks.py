"""Every alert's runbook_url is a runbook in the repo with Meaning, Impact, Diagnosis and
Mitigation, and every relative link and anchor inside the alert runbooks resolves."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ["## Meaning", "## Impact", "## Diagnosis", "## Mitigation"]
LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(markdown: str) -> set[str]:
    """GitHub-style heading anchors."""
    out = set()
    for line in markdown.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            out.add(re.sub(r"[^a-z0-9 _-]", "", title).replace(" ", "-"))
    return out


def test_every_alert_has_its_runbook_with_the_four_sections() -> None:
    groups = yaml.safe_load((ROOT / "monitoring/prometheus/rules/firstbell-alerts.yml")
                           .read_text())["groups"]
    urls = {r["annotations"]["runbook_url"] for g in groups for r in g["rules"]}
    assert len(urls) == 7
    for url in urls:
        path = ROOT / url
        assert path.is_file(), url
        headings = [line for line in path.read_text().splitlines() if line.startswith("## ")]
        assert headings == SECTIONS, (url, headings)


def test_links_in_the_runbooks_resolve() -> None:
    checked = 0
    for page in sorted((ROOT / "runbooks/alerts").glob("*.md")):
        for target in LINK.findall(page.read_text()):
            if target.startswith(("http://", "https://", "mailto:")):
                continue
            file, _, anchor = target.partition("#")
            dest = (page.parent / file).resolve() if file else page
            assert dest.is_file(), (page.name, target)
            if anchor:
                assert anchor in anchors(dest.read_text()), (page.name, target)
            checked += 1
    assert checked >= 10
