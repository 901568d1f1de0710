"""A real Prometheus (Debian's) with the generated config and rules scrapes a real short run
of every persona against the staging SIS: every recording rule and every PromQL expression of
every dashboard panel returns data."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import yaml
from support.locust_run import ROOT, environment
from support.sis_server import free_port, serve
from support.sisdb import staging_settings

from fake_data.district import District
from fake_data.userpool import write_userpool
from monitoring import dashboards
from monitoring.config import DEFAULT
from monitoring.local import start, stop
from monitoring.rules import build
from staging.app import create_app
from staging.oauth import ROSTER_CORE, create_client
from thresholds import load_thresholds

PERSONAS = ("teacher", "student", "guardian", "clerk", "district_admin", "integration",
            "guardian_unregistered")
EVERYONE = {
    "name": "every-group", "title": "Every endpoint group",
    "rehearses": "every persona for half a minute, so that every panel has data to show",
    "day": "07:00-07:30", "speed": 60, "peak_rate": 7, "resolution": "1m",
    "assumptions": {"demo.sessions": {"value": 100, "source": "[E] equal shares"},
                    "think.scale": {"value": 0.05, "source": "[E] short sessions"},
                    "probe.rate": {"value": 0.3, "source": "[E] probes too"}},
    "plan": {"drain_seconds": 15},
    "activities": [{"name": p, "persona": p, "population": "demo.sessions",
                    "windows": [{"from": "07:00", "to": "07:30"}]} for p in PERSONAS],
}


def test_every_panel_and_recording_rule_returns_data(seeded_url: str, district: District,
                                                     tmp_path: Path) -> None:
    pool = Path(tempfile.mkdtemp(prefix="firstbell-pool-"))
    write_userpool(district, pool)
    client_id, secret = create_client(seeded_url, "LMS nightly sync", [ROSTER_CORE])
    scenario = tmp_path / "every.yaml"
    scenario.write_text(yaml.safe_dump(EVERYONE))
    settings = staging_settings(dev_mailbox=True, registration_per_ip_per_hour=100_000,
                                fault_refresh_seconds=0.5)
    exporter = free_port()
    with serve(create_app(settings, seeded_url)) as sis:
        cfg = dataclasses.replace(DEFAULT, generator_targets=(f"127.0.0.1:{exporter}",),
                                  sis_targets=(sis.removeprefix("http://"),),
                                  scrape_interval="1s", evaluation_interval="1s")
        prom = start(load_thresholds(), cfg, tmp_path / "prometheus", free_port())
        try:
            run = subprocess.run(
                [sys.executable, "-m", "firstbell.cli", "run", str(scenario), "--profile",
                 "small", "--target", sis, "--userpool", str(pool), "--out",
                 str(tmp_path / "run"), "--exporter-port", str(exporter),
                 "--oneroster-client", f"{client_id}:{secret}"],
                capture_output=True, text=True, timeout=240, cwd=ROOT, env=environment())
            ended = time.time()
            assert run.returncode in (0, 3), run.stdout[-3000:] + run.stderr[-3000:]
            at = ended - 3  # the exporter's last scrapes: afterwards its series go stale
            time.sleep(2)   # the last rule evaluations land
            empty = []
            records = [r["record"] for g in build(load_thresholds(), cfg).recording["groups"]
                       for r in g["rules"]]
            for record in records:
                if not prom.query(record, at):
                    empty.append(("recording rule", record))
            for name, text in dashboards.render(load_thresholds()).items():
                if name == "readiness.json":  # people readiness is no run's: its gauges come
                    continue  # from `firstbell readiness` (tests/readiness checks that board)
                for title, expr in dashboards.expressions(json.loads(text)):
                    if not prom.query(expr, at):
                        empty.append((f"{name}: {title}", expr))
            assert not empty, "\n".join(f"{where}: {expr}" for where, expr in empty)
            up = {r["metric"]["job"]: r["value"][1] for r in prom.query("up", at)}  # type: ignore[index]
            assert up["firstbell"] == "1" and up["sis"] == "1"
            assert len(records) >= 30 and len(empty) == 0
        finally:
            stop(prom)


@pytest.fixture(autouse=True)
def _prometheus_installed() -> None:
    import shutil
    assert shutil.which("prometheus"), "install Debian's prometheus (.ci/run does)"
