"""The generated Grafana dashboards and provisioning: stable uids, a description and a unit on
every panel, threshold lines equal to the launch thresholds, sorted keys, one datasource uid,
and every panel's PromQL accepted by promtool."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from monitoring import dashboards
from monitoring.generate import DASHBOARDS, DATASOURCES, PROVIDERS
from thresholds import checks, load_thresholds

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"
UIDS = {"launch-overview.json": "firstbell-launch-overview",
        "endpoints.json": "firstbell-endpoints", "capacity.json": "firstbell-capacity",
        "district.json": "firstbell-district"}


def load(name: str) -> dict:
    return json.loads((MONITORING / DASHBOARDS / name).read_text())


def test_four_dashboards_with_stable_uids_and_sorted_keys() -> None:
    for name, uid in UIDS.items():
        text = (MONITORING / DASHBOARDS / name).read_text()
        board = json.loads(text)
        assert board["uid"] == uid and board["title"].startswith("firstbell · ")
        assert text == json.dumps(board, indent=2, sort_keys=True) + "\n"


def test_every_panel_has_a_description_a_unit_and_the_datasource() -> None:
    uid = yaml.safe_load((MONITORING / DATASOURCES).read_text())["datasources"][0]["uid"]
    for name in UIDS:
        for panel in load(name)["panels"]:
            assert panel["description"].strip(), (name, panel["title"])
            assert panel["fieldConfig"]["defaults"]["unit"], (name, panel["title"])
            assert panel["datasource"]["uid"] == uid
            assert all(t["datasource"]["uid"] == uid for t in panel["targets"])
    ids = [p["id"] for p in load("endpoints.json")["panels"]]
    assert len(ids) == len(set(ids))


def test_threshold_lines_are_the_launch_thresholds() -> None:
    t = load_thresholds()
    panels = {p["title"]: p for p in load("endpoints.json")["panels"]}
    for c in checks(t):
        if c.measure not in ("p95", "p99"):
            continue
        steps = panels[f"{c.group}: corrected latency p95 / p99"]["fieldConfig"]["defaults"][
            "thresholds"]["steps"]
        assert c.threshold in [s["value"] for s in steps], c.name


def test_provisioning_points_at_the_dashboards() -> None:
    providers = yaml.safe_load((MONITORING / PROVIDERS).read_text())["providers"]
    assert providers[0]["type"] == "file" and providers[0]["options"]["path"]
    datasource = yaml.safe_load((MONITORING / DATASOURCES).read_text())["datasources"][0]
    assert datasource["type"] == "prometheus" and datasource["uid"] == "firstbell-prometheus"


def test_every_panel_query_parses(tmp_path: Path) -> None:
    exprs = [e for name in UIDS for _, e in dashboards.expressions(load(name))]
    assert len(exprs) >= 25
    rules = {"groups": [{"name": "panels", "rules": [
        {"record": f"panel:check:expr{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(["promtool", "check", "rules", str(path)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
