"""The generated Prometheus files: current with the thresholds, valid for promtool and amtool,
every alert with its severity, summary, description and runbook_url, and every threshold
taken from the launch thresholds file (change the file, the rules change)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from monitoring.config import DEFAULT
from monitoring.generate import (
    ALERTS,
    COMPOSE_DATASOURCES,
    COMPOSE_PROMETHEUS,
    DATASOURCES,
    PROMETHEUS,
    RECORDING,
    render,
)
from monitoring.rules import build
from thresholds import Thresholds, checks, load_thresholds

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "monitoring"
RECORDING_NAME = r"^[a-z_]+:[a-z_]+:[a-z0-9_]+$"


def run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def test_the_committed_files_are_what_the_thresholds_generate() -> None:
    for rel, text in render(load_thresholds(), DEFAULT).items():
        committed = (MONITORING / rel).read_text(encoding="utf-8")
        assert committed == text, f"{rel} is stale: run `firstbell monitoring generate`"


def test_promtool_and_amtool_accept_them() -> None:
    for cmd in (("promtool", "check", "config", str(MONITORING / PROMETHEUS)),
                ("promtool", "check", "rules", str(MONITORING / RECORDING),
                 str(MONITORING / ALERTS)),
                ("amtool", "check-config", str(MONITORING / "alertmanager/alertmanager.yml"))):
        result = run(*cmd)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "SUCCESS" in result.stdout + result.stderr


def test_the_compose_variant_targets_the_compose_services(tmp_path: Path) -> None:
    """docker-compose.yml's Prometheus scrapes the services by name and alerts its
    Alertmanager; its Grafana reaches Prometheus by name; the rest is the default config."""
    default = yaml.safe_load((MONITORING / PROMETHEUS).read_text())
    text = (MONITORING / COMPOSE_PROMETHEUS).read_text()
    config = yaml.safe_load(text)
    assert "127.0.0.1" not in text and "localhost" not in text
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in config["scrape_configs"]}
    assert jobs == {"firstbell": ["locust-master:9646"], "sis": ["staging:8700"]}
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == [
        "alertmanager:9093"]
    assert config["rule_files"] == default["rule_files"] and config["global"] == default["global"]
    # As the container sees it: the config in /etc/prometheus, the rules in rules/ beside it.
    (tmp_path / "rules").mkdir()
    shutil.copy(MONITORING / COMPOSE_PROMETHEUS, tmp_path / "prometheus.yml")
    for rel in (RECORDING, ALERTS):
        shutil.copy(MONITORING / rel, tmp_path / "rules" / Path(rel).name)
    result = run("promtool", "check", "config", str(tmp_path / "prometheus.yml"))
    assert result.returncode == 0 and "SUCCESS" in result.stdout + result.stderr, result.stderr
    source = yaml.safe_load((MONITORING / COMPOSE_DATASOURCES).read_text())["datasources"][0]
    local = yaml.safe_load((MONITORING / DATASOURCES).read_text())["datasources"][0]
    assert source["url"] == "http://prometheus:9090"
    assert {**source, "url": local["url"]} == local


def test_recording_rules_are_named_level_metric_operations() -> None:
    import re
    rules = yaml.safe_load((MONITORING / RECORDING).read_text())["groups"][0]["rules"]
    assert len(rules) >= 20
    assert all(re.match(RECORDING_NAME, r["record"]) for r in rules), \
        [r["record"] for r in rules if not re.match(RECORDING_NAME, r["record"])]


def test_every_alert_has_severity_summary_description_and_runbook() -> None:
    groups = yaml.safe_load((MONITORING / ALERTS).read_text())["groups"]
    alerts = [r for g in groups for r in g["rules"]]
    t = load_thresholds()
    objective_checks = [c for c in checks(t) if c.group != "arrivals"]
    assert len([a for a in alerts if a["labels"].get("objective")]) == len(objective_checks)
    for a in alerts:
        assert a["labels"]["severity"] in ("page", "ticket", "warning")
        assert a["annotations"]["summary"] and a["annotations"]["description"]
        name = a["alert"]
        kebab = "".join(f"-{ch.lower()}" if ch.isupper() else ch for ch in name).lstrip("-")
        assert a["annotations"]["runbook_url"] == f"runbooks/alerts/{kebab}.md"
    assert {a["alert"] for a in alerts} == {
        "FirstbellLatencyHigh", "FirstbellErrorRatioHigh", "FirstbellDataExposure",
        "FirstbellArrivalShortfall", "FirstbellGeneratorSaturated", "FirstbellTargetDown",
        "FirstbellErrorBudgetBurn"}


def test_thresholds_come_only_from_the_thresholds_file() -> None:
    """Every objective's rule uses its threshold, window and `for`; a changed file changes
    the rule."""
    t = load_thresholds()
    alerts = {a["labels"]["objective"]: a for g in build(t, DEFAULT).alerts["groups"]
              for a in g["rules"] if "objective" in a["labels"]}
    for c in checks(t):
        if c.group == "arrivals":
            continue
        a = alerts[c.name]
        if c.measure == "error_ratio":
            assert f") > {c.threshold:g} and" in a["expr"]
        else:
            assert f'le="{c.threshold:g}"' in a["expr"]
        assert f"[{int(c.window // 60)}m]" in "".join(  # the window's recording rules
            r["expr"] for g in build(t, DEFAULT).recording["groups"] for r in g["rules"])
    changed = Thresholds.model_validate({
        **t.model_dump(by_alias=True),
        "objectives": {**t.model_dump(by_alias=True)["objectives"],
                       "auth": {"description": "logins", "p95": 2.5, "for": "3m",
                                "window": "10m"}}})
    auth = next(a for g in build(changed, DEFAULT).alerts["groups"] for a in g["rules"]
                if a["labels"].get("objective") == "auth.p95")
    assert 'le="2.5"' in auth["expr"] and "rate10m" in auth["expr"] and auth["for"] == "3m"


def test_generate_check_and_write(tmp_path: Path) -> None:
    from firstbell.cli import main
    assert main(["monitoring", "generate", "--check"]) == 0
    assert main(["monitoring", "generate", "--out", str(tmp_path)]) == 0
    assert (tmp_path / ALERTS).read_text() == (MONITORING / ALERTS).read_text()
    (tmp_path / ALERTS).write_text("stale")
    assert main(["monitoring", "generate", "--check", "--out", str(tmp_path)]) == 1


@pytest.mark.parametrize("bad", ["version: 2\n", "objectives: []\n"])
def test_bad_thresholds_exit_2(bad: str, tmp_path: Path) -> None:
    from firstbell.cli import main
    path = tmp_path / "t.yaml"
    path.write_text(bad)
    assert main(["monitoring", "generate", "--thresholds", str(path), "--out",
                 str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
