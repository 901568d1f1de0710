"""`firstbell run SCENARIO --target URL` end to end, as users run it (the console script in a
subprocess; Locust under it), against the real staging SIS on 127.0.0.1 seeded with the small
district: the 30-second `smoke` day ends GO; the same run with portal pages slowed ends NO-GO
naming portal.p95; against deliberately vulnerable routes it ends with exit 4."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
from support.grafana_contract import GrafanaState, grafana_app
from support.locust_run import ROOT, environment
from support.sis_server import free_port, serve
from support.sisdb import ADMIN_TOKEN, new_database, query, staging_settings

from staging.app import create_app
from staging.seed import SeedRequest, seed_database


def firstbell_run(url: str, userpool: Path, *args: str, scenario: str = "smoke",
                  env: dict[str, str] | None = None) -> tuple[int, str, Path]:
    out = Path("/tmp") / f"firstbell-run-{uuid.uuid4().hex[:10]}"
    cmd = [sys.executable, "-m", "firstbell.cli", "run", scenario, "--profile", "small",
           "--target", url, "--userpool", str(userpool), "--out", str(out / "run"),
           "--exporter-port", "-1", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, cwd=ROOT,
                          env=environment(env))
    return proc.returncode, proc.stdout + proc.stderr, out / "run"


def read(run: Path, name: str) -> Any:
    return json.loads((run / name).read_text(encoding="utf-8"))


def test_smoke_ends_go(staging_url: str, userpool_dir: Path) -> None:
    code, output, run = firstbell_run(staging_url, userpool_dir)
    assert code == 0, output[-3000:]
    verdict = read(run, "verdict.json")
    assert verdict["verdict"] == "GO" and verdict["reasons"] == []
    judged = {o["name"]: o for o in verdict["objectives"]}
    assert judged["auth.p95"]["judged"] == "whole run" and judged["auth.p95"]["whole_run"] < 1
    assert judged["arrivals.min_ratio"]["whole_run"] >= 0.95
    plan = read(run, "plan.json")
    assert plan["scenario"] == "smoke" and plan["profile"] == "small"
    # the ledger travels with the run
    recorded = read(run, "run.json")["plan"]["assumptions"]
    names = {a["name"] for a in recorded}
    assert {"teachers", "guardians", "portal.activation", "probe.rate"} <= names
    summary = read(run, "summary.json")
    started = sum(a["started"] for a in summary["arrivals"].values())
    assert 80 <= started <= 170  # 4 sessions/s for 30 s
    assert set(summary["arrivals"]) == {"teacher", "student", "guardian", "clerk",
                                        "district_admin"}
    assert summary["exposures"] == 0
    assert "smoke: Smoke test (30 seconds) · profile small" in output


def test_injected_latency_ends_no_go_naming_the_objective(seeded_url: str,
                                                          userpool_dir: Path) -> None:
    """Portal pages 1.5 s slower against the built-in thresholds (portal p95 1 s, p99 2 s):
    the smoke is shorter than the 1-minute `for`, so it is judged on the whole run."""
    with serve(create_app(staging_settings(fault_latency="portal=1500ms"), seeded_url)) as url:
        try:
            code, output, run = firstbell_run(url, userpool_dir)
        finally:  # the switch lives in the shared database: later tests must not inherit it
            httpx.delete(f"{url}/admin/faults", headers={"X-Admin-Token": ADMIN_TOKEN})
    assert code == 3, output[-3000:]
    verdict = read(run, "verdict.json")
    assert verdict["verdict"] == "NO-GO"
    failed = {o["name"] for o in verdict["objectives"] if not o["passed"]}
    assert failed == {"portal.p95"}
    assert verdict["reasons"][0].startswith("portal.p95 breached its threshold over the whole"
                                            " run")
    portal = next(o for o in verdict["objectives"] if o["name"] == "portal.p95")
    assert portal["judged"] == "whole run" and portal["whole_run"] >= 1.5


def test_vulnerable_routes_end_with_exit_4(seeded_url: str, userpool_dir: Path) -> None:
    with serve(create_app(staging_settings(insecure_probe_targets=True), seeded_url)) as url:
        code, output, run = firstbell_run(url, userpool_dir, "--assume", "probe.rate=1")
    assert code == 4, output[-3000:]
    verdict = read(run, "verdict.json")
    assert verdict["verdict"] == "NO-GO" and verdict["gates"]["data_exposures"]["measured"] > 0
    assert "data exposure" in verdict["reasons"][0]
    assert "DATA EXPOSURE: probe" in output
    recorded = {a["name"]: a for a in read(run, "run.json")["plan"]["assumptions"]}
    assert recorded["probe.rate"]["value"] == 1 and recorded["probe.rate"]["origin"] == "--assume"


def test_cutover_day_evening_registers_parents(postgres_url: str, userpool_dir: Path) -> None:
    """Twenty simulated minutes of the cutover evening (x20, the small district's parents are
    few): parents register through the whole flow (code by email, password, confirmation,
    children linked), on a database of its own since registration is for good."""
    url_db = new_database(postgres_url)
    seed_database(url_db, SeedRequest("small", 1.0, 42))
    active = "SELECT count(*) FROM sis.accounts WHERE person_type = 'guardian'" \
             " AND status = 'active'"
    before = query(url_db, active)[0][0]
    settings = staging_settings(dev_mailbox=True, registration_per_ip_per_hour=100_000)
    with serve(create_app(settings, url_db)) as url:
        code, output, run = firstbell_run(url, userpool_dir, "--window", "19:20-19:40",
                                          "--speed", "120", "--scale", "20",
                                          "--assume", "think.scale=0.1",
                                          scenario="cutover-day")
    assert code == 0, output[-3000:]
    summary = read(run, "summary.json")
    registering = summary["arrivals"]["guardian_unregistered"]
    assert registering["started"] >= 10 and registering["completed"] == registering["started"]
    assert query(url_db, active)[0][0] - before >= registering["completed"]
    plan = read(run, "plan.json")
    assert plan["clock_start"] == "19:20" and plan["speed"] == 120
    ledger = {a["name"]: a for a in plan["assumptions"]}
    assert ledger["think.scale"]["origin"] == "--assume"
    assert {"guardians", "guardian.cutover_registration_share"} <= set(ledger)
    verdict = read(run, "verdict.json")
    measured = {o["name"]: o for o in verdict["objectives"]}
    assert measured["registration.p95"]["whole_run"] is not None


CLOSED = """name: closed-loop-check
title: Closed-loop stages
rehearses: a tiny capacity probe, one stepped rate then two closed-loop points
day: "07:00-08:00"
peak_rate: 1
assumptions:
  think.scale: {value: 0.02, source: "[E] sessions back to back"}
  probe.rate: {value: 0, source: "[E] throughput only"}
plan: {drain_seconds: 10}
activities:
  - name: students
    persona: student
    population: students.high
    factors: [student.login_share]
    windows: [{from: "07:00", to: "08:00"}]
steps:
  - {factor: 2, seconds: 6}
sweep:
  personas: {guardian: 1}
  users: [1, 4]
  seconds: 8
"""


def test_closed_loop_stages_keep_their_users_in_sessions(staging_url: str,
                                                         userpool_dir: Path,
                                                         tmp_path: Path) -> None:
    """A stepped open stage (2 student sessions/s for 6 s), then closed-loop points of 1 and 4
    guardian sessions always in flight: guardians arrive only through the closed loop, and
    never more of them at once than the point's users."""
    scenario = tmp_path / "closed.yaml"
    scenario.write_text(CLOSED, encoding="utf-8")
    code, output, run = firstbell_run(staging_url, userpool_dir, scenario=str(scenario))
    assert code == 0, output[-3000:]
    plan = read(run, "plan.json")
    assert [s["users"] for s in plan["stages"]] == [{}, {"guardian": 1}, {"guardian": 4}]
    summary = read(run, "summary.json")
    guardians = summary["arrivals"]["guardian"]
    # back to back for 16 s; started by the loop, so none of them counts as an arrival
    assert guardians["closed_loop"] >= 10 and guardians["started"] == 0
    assert 4 <= summary["arrivals"]["student"]["started"] <= 24  # 12 expected
    lines = [json.loads(x) for x in (run / "intervals.jsonl").read_text().splitlines()]
    busy = [line["busy"].get("guardian", 0) for line in lines]
    assert max(busy) <= 4 and any(b >= 1 for b in busy)


def test_smoke_on_two_load_processes(staging_url: str, userpool_dir: Path) -> None:
    """`--workers 2`: a Locust master and two local workers; the merged totals are the sum of
    what each worker recorded, and the verdict is the same kind of GO."""
    code, output, run = firstbell_run(staging_url, userpool_dir, "--workers", "2",
                                      "--master-port", str(free_port()), "--speed", "120")
    assert code == 0, output[-3000:]
    workers = [read(run, f"worker-{i}.json") for i in (0, 1)]
    summary = read(run, "summary.json")
    assert summary["requests"] == sum(w["requests"] for w in workers) > 0
    started = sum(a["started"] for a in summary["arrivals"].values())
    assert started == sum(v for w in workers for k, v in w["counters"].items()
                          if k.startswith("sessions|") and k.endswith("|started"))
    assert read(run, "verdict.json")["verdict"] == "GO"


def test_a_run_annotates_grafana(staging_url: str, userpool_dir: Path) -> None:
    """`--grafana-url` (token from the environment): a region over the run tagged with the
    run and scenario, a point per phase, the verdict in the text, a dashboard link printed;
    the token is never written to the run directory. The Grafana is the contract test double
    (tests/support/grafana_contract.py)."""
    state = GrafanaState("glsa_run_token")
    with serve(grafana_app(state)) as grafana:
        code, output, run = firstbell_run(staging_url, userpool_dir, "--grafana-url", grafana,
                                          env={"FIRSTBELL_GRAFANA_TOKEN": "glsa_run_token"})
    assert code == 0, output[-3000:]
    assert state.violations == []
    region = state.annotations[1]
    assert region["tags"][:3] == ["firstbell", f"run:{run.name}", "scenario:smoke"]
    assert region["timeEnd"] - region["time"] >= 30_000 and "smoke" in region["text"]
    assert "GO" in region["text"]
    phases = [a for a in state.annotations.values() if "phase" in a["tags"]]
    assert [a["text"] for a in phases][:1] == ["phase: guardians"]
    assert f"Grafana: {grafana}/d/firstbell-launch-overview/?from=" in output
    assert "glsa_run_token" not in (run / "run.json").read_text()


def test_sigterm_ends_the_run_with_a_partial_verdict(staging_url: str,
                                                    userpool_dir: Path) -> None:
    """A container stop or a Job deadline sends SIGTERM to firstbell: it reaches Locust as the
    SIGINT that writes the partial summary and verdict, and no Locust is left behind."""
    import signal
    import time

    out = Path("/tmp") / f"firstbell-run-{uuid.uuid4().hex[:10]}" / "run"
    proc = subprocess.Popen(
        [sys.executable, "-m", "firstbell.cli", "run", "smoke", "--profile", "small",
         "--target", staging_url, "--userpool", str(userpool_dir), "--out", str(out),
         "--exporter-port", "-1"], cwd=ROOT, env=environment(), stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not (out / "run.json").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)  # the run has started once run.json is written
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=90)
    assert proc.returncode in (0, 3), output[-3000:]
    summary = read(out, "summary.json")
    assert summary["partial"] is True and summary["duration"] < 29
    assert read(out, "verdict.json")["partial"] is True
