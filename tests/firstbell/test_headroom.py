"""The headroom's reading of its steps without a load: which resource a failed step names, what
the headroom says in words for each way a search ends, how the verdict's capacity gate is
filled, and that the CPU sampler measures a real busy process by its kind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firstbell.capacity import Step
from firstbell.capacity.resources import TargetGauges, Usage, kind_of, sampled, saturated
from firstbell.capacity_cmd import Search
from firstbell.headroom import Headroom, HeadroomSettings, judge

PEAK = 10.0


def _usage(machine: float = 0.2, cores: dict[str, float] | None = None,
           gauges: TargetGauges | None = None) -> Usage:
    return Usage(seconds=20, machine=machine, cores=cores or {},
                 gauges=gauges or TargetGauges())


@pytest.mark.parametrize(("cmdline", "kind"), [
    ("/usr/bin/python3 -m locust -f loadtests/locustfile.py --headless", "load generator"),
    ("postgres: firstbell firstbell 127.0.0.1(5432) SELECT", "PostgreSQL"),
    ("php-fpm: pool www", "PHP workers"),
    ("nginx: worker process", "web server"),
    ("/usr/bin/python3 -m staging.server", "SIS server"),
    ("/usr/bin/python3 -m firstbell.cli rehearse", None),
])
def test_processes_are_grouped_by_kind(cmdline: str, kind: str | None) -> None:
    assert kind_of(cmdline) == kind


def test_the_first_rule_that_holds_names_the_resource() -> None:
    pool = TargetGauges(pool_in_use=10, pool_max=10, pool_waiting=4)
    limited = TargetGauges(rate_limited=True)
    busy_sis = _usage(0.95, {"SIS server": 1.7, "PostgreSQL": 0.2})
    dropping = (" (it dropped clerk arrivals: no free user or identity in time; add load"
                " processes with --workers, or a larger user pool)")
    assert saturated(["auth.p95 breached"], 0.0, 97, 0.0, busy_sis) == \
        "load generator (its CPU)"
    assert saturated(["arrivals.min_ratio breached"], 0.10, 20, 0.0, _usage(), ("clerk",)) == \
        "load generator" + dropping
    assert saturated(["arrivals.min_ratio breached"], 0.0, 20, 0.0, _usage()) == \
        "load generator"
    # a slow target makes the generator drop arrivals: the target's limit is named
    assert saturated(["auth.p95 breached"], 0.10, 20, 0.0, busy_sis, ("clerk",)) == \
        "login KDF (CPU of the SIS server)"
    assert saturated(["portal.p95 breached"], 0.10, 20, 0.0, _usage(0.4), ("clerk",)) == \
        "load generator" + dropping
    assert saturated(["auth.error_ratio"], 0.0, 20, 0.05, _usage(gauges=limited)) == \
        "rate limit (an injected fault)"
    assert saturated(["portal.p95"], 0.0, 20, 0.0, _usage(0.5, gauges=pool)) == "database pool"
    assert saturated(["portal.p95 breached"], 0.0, 20, 0.0,
                     _usage(0.9, {"PostgreSQL": 1.2, "SIS server": 0.5})) == "CPU (PostgreSQL)"
    one = _usage(0.55, {"SIS server": 0.97, "PostgreSQL": 0.1})
    one.one_process = {"SIS server": 0.96, "PostgreSQL": 0.05}
    assert saturated(["auth.p95 breached"], 0.0, 20, 0.0, one) == \
        "login KDF (one SIS server process at a full core)"
    assert saturated(["portal.p95 breached"], 0.0, 20, 0.0, one) == \
        "CPU (SIS server: one process at a full core)"
    assert saturated(["portal.p95 breached"], 0.0, 20, 0.0, _usage(0.4)) == "none identified"


def _headroom(passes: list[tuple[float, bool]], limited_by: str = "server") -> Headroom:
    found = Headroom(Search(header={}, forecast_peak=PEAK, required=1.5), HeadroomSettings())
    for multiple, passed in passes:
        found.search.steps.append(Step(multiple * PEAK, multiple * PEAK, 0.1, 0.0, passed))
        found.search.step_info.append({"run_dir": "x", "reasons": []})
        if not passed and found.first_failure is None:
            found.first_failure = {"multiple": multiple, "objective": "auth.p95",
                                   "reason": "", "resource": "CPU (SIS server)"}
    found.limited_by = limited_by
    return found


def test_each_way_a_search_ends_says_what_it_measured() -> None:
    server = _headroom([(1.0, True), (1.5, True), (2.25, False), (1.875, True), (2.06, False)])
    assert server.held == 1.875 and server.passed
    assert server.statement() == ("held 1.88× the forecast peak; 2.25× broke auth.p95"
                                  " (CPU (SIS server))")
    # a pass above a lower failure does not count: capacity is below the lowest failure
    lucky = _headroom([(1.0, True), (1.5, False), (2.0, True)])
    assert lucky.held == 1.0 and not lucky.passed
    generator = _headroom([(1.0, True), (1.5, True), (2.25, False)], "generator")
    generator.first_failure["resource"] = "load generator"  # type: ignore[index]
    assert generator.statement() == "at least 1.50×, limited by the load generator"
    assert _headroom([(1.0, True), (2.0, True)], "ceiling").statement() == \
        "at least 2.00×: it held every step up to the ceiling set"
    assert _headroom([(1.0, True)], "budget").statement() == \
        "at least 1.00×: the time budget ended the search"
    assert _headroom([(1.0, True), (1.5, True), (2.25, False)], "budget").statement() == (
        "held 1.50× the forecast peak; 2.25× broke auth.p95 (CPU (SIS server)); the time"
        " budget ended the search before it narrowed the gap")
    broken = _headroom([(1.0, False), (0.67, False)])
    assert broken.held is None and not broken.passed
    assert broken.statement().startswith("the forecast peak itself did not hold: 1.00× broke")
    data = server.as_json()
    assert [s["multiple"] for s in data["steps"]] == [1.0, 1.5, 2.25, 1.875, 2.06]
    assert data["kind"] == "headroom" and data["held"] == 1.875 and data["headroom"] == 1.875


def _verdict(tmp_path: Path, verdict: str = "GO") -> Path:
    (tmp_path / "verdict.json").write_text(json.dumps({
        "verdict": verdict, "exit_code": 0 if verdict == "GO" else 3, "reasons": [],
        "objectives": [], "gates": {"capacity_headroom": {"required": 1.5, "measured": None,
                                                          "passed": None}}}))
    return tmp_path


def test_the_gate_is_filled_and_a_short_headroom_turns_go_into_no_go(tmp_path: Path) -> None:
    run = _verdict(tmp_path)
    short = _headroom([(1.0, True), (1.5, False), (1.25, True), (1.375, False)]).as_json()
    assert judge(run, short, 0) == 3
    verdict = json.loads((run / "verdict.json").read_text())
    assert verdict["verdict"] == "NO-GO" and verdict["exit_code"] == 3
    gate = verdict["gates"]["capacity_headroom"]
    assert gate["measured"] == 1.25 and gate["passed"] is False
    assert verdict["reasons"] == ["headroom held 1.25× the forecast peak; 1.50× broke auth.p95"
                                  " (CPU (SIS server)); required 1.5× the forecast peak"]
    run = _verdict(tmp_path)
    assert judge(run, _headroom([(1.0, True), (1.5, True)], "ceiling").as_json(), 0) == 0
    assert json.loads((run / "verdict.json").read_text())["gates"]["capacity_headroom"][
        "passed"] is True
    run = _verdict(tmp_path)
    generator = _headroom([(1.0, True), (1.5, False)], "generator").as_json()
    assert judge(run, generator, 0) == 3
    assert "not demonstrated: add load processes" in json.loads(
        (run / "verdict.json").read_text())["reasons"][0]


def test_the_sampler_measures_a_busy_process_by_its_kind() -> None:
    burn = "import time\nt=time.time()\nwhile time.time()-t<3: pass"
    # a kind of its own: the machine's real PostgreSQL processes must not count
    kinds = (("PostgreSQL", ("firstbell-test-burner",)),)
    proc = subprocess.Popen([sys.executable, "-c", burn, "firstbell-test-burner"])
    try:
        with sampled(interval=0.5, kinds=kinds) as usage:
            _, _, rusage = os.wait4(proc.pid, 0)
    finally:
        proc.kill()
    used = rusage.ru_utime + rusage.ru_stime  # what the kernel says the child spent
    measured = usage.cores["PostgreSQL"] * usage.seconds
    # the sampler misses at most the interval in which the process ended (0.5 s of one core)
    # and what it spent before the first reading
    assert used - 0.7 <= measured <= used + 0.05, (used, measured)
    assert used > 0.3 and usage.peak_cores["PostgreSQL"] > 0
    assert usage.one_process["PostgreSQL"] == pytest.approx(usage.cores["PostgreSQL"])
