"""The hub loop on its own, through `RunSetup` and `LoadHooks` (no engine, no Locust): it writes
the run directory (never a credential in run.json), asks its load process for its own deltas
and final, judges the run, and tells its observers of the start, each phase change, an abort
and the end — an observer that raises is a warning, never the end of the run's bookkeeping."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import gevent
import pytest

from loadtests.exporter import Live
from loadtests.hub_loop import HubLoop, LoadHooks, RunSetup
from loadtests.observers import RunInfo, RunOutcome
from loadtests.plan import constant_plan
from loadtests.stats import Delta, Recorder
from thresholds import load_thresholds


class Clock:
    """The load process as the hub loop sees it, driven by the test."""

    def __init__(self) -> None:
        self.elapsed = 0.0
        self.own: list[Delta] = []
        self.finals = 0

    def take_own(self) -> Delta | None:
        return self.own.pop(0) if self.own else None

    def final_own(self) -> None:
        self.finals += 1


class Heard:
    """A run observer that writes down what it hears."""

    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []

    def run_started(self, run: RunInfo) -> None:
        self.events.append(("started", run))

    def phase_changed(self, run: RunInfo, phase: str, at: float) -> None:
        self.events.append(("phase", phase))

    def run_aborted(self, run: RunInfo, reasons: tuple[str, ...], at: float) -> None:
        self.events.append(("aborted", reasons))

    def run_finished(self, run: RunInfo, outcome: RunOutcome) -> None:
        self.events.append(("finished", outcome))


class Broken:
    """A run observer whose every call fails, as a dashboard that is away."""

    def run_started(self, run: RunInfo) -> None:
        raise ConnectionError("dashboard away")

    phase_changed = run_aborted = run_finished = run_started  # type: ignore[assignment]


def hub_loop(tmp_path: Path, **options: Any) -> tuple[HubLoop, Clock]:
    plan = constant_plan({"teacher": 2.0}, 20.0)
    clock = Clock()
    setup = RunSetup(plan=plan, thresholds=load_thresholds(), run_dir=tmp_path / "run",
                     run_id="run-1", role="local", target_paths="staging",
                     options={"firstbell_seed": 42, "locust_option": 1, **options},
                     abort_on_fail=True)
    hooks = LoadHooks(
        elapsed=lambda: clock.elapsed,
        live=lambda: Live(run_id="run-1", scenario=plan.scenario, stage=plan.stage_label(
            clock.elapsed), target_rate={"teacher": 2.0}),
        host=lambda: "http://127.0.0.1:8700", take_own=clock.take_own,
        final_own=clock.final_own)
    return HubLoop(setup, hooks), clock


def delta(started: int, *, final: bool = False) -> Delta:
    recorder = Recorder()
    recorder.count("sessions|teacher|started", started)
    recorder.count("scheduled|teacher", started)
    return recorder.take({"cpu": 5.0}, final=final)


def read(tmp_path: Path, name: str) -> Any:
    return json.loads((tmp_path / "run" / name).read_text(encoding="utf-8"))


def test_a_run_told_to_its_observers_from_start_to_verdict(tmp_path: Path) -> None:
    loop, clock = hub_loop(tmp_path, firstbell_grafana_url="http://grafana:3000",
                           firstbell_grafana_token="glsa_secret")
    heard = Heard()
    loop.add_observer(heard)
    t0 = time.time()
    loop.start(t0, workers=1)
    run = RunInfo("run-1", "constant", "http://127.0.0.1:8700", t0)
    recorded = read(tmp_path, "run.json")
    assert recorded["options"] == {"firstbell_seed": 42,
                                   "firstbell_grafana_url": "http://grafana:3000"}
    assert recorded["workers"] == 1 and recorded["paths"] == "staging"
    clock.elapsed = 5.0
    loop.absorb(delta(10))
    loop.write_interval()
    clock.elapsed = 6.0
    loop.write_interval()  # same phase: nothing to tell
    clock.elapsed = 21.0
    assert not loop.finished()  # the final is not in yet
    loop.absorb(delta(30, final=True))
    assert loop.finished()
    loop.close()
    loop.close()  # once only
    verdict = read(tmp_path, "verdict.json")
    assert clock.finals == 1
    assert heard.events[:3] == [("started", run), ("phase", "constant"), ("phase", "draining")]
    kind, outcome = heard.events[3]
    assert kind == "finished" and len(heard.events) == 4
    assert (outcome.verdict, list(outcome.reasons), outcome.exit_code) == \
        (verdict["verdict"], verdict["reasons"], loop.exit_code)
    assert read(tmp_path, "summary.json")["arrivals"]["teacher"]["started"] == 40


def test_the_local_process_own_deltas_are_taken_as_the_run_goes(tmp_path: Path) -> None:
    loop, clock = hub_loop(tmp_path)
    clock.own.append(delta(3))
    loop.start(time.time(), workers=1)
    gevent.sleep(1.2)
    loop.closed = True  # stops the loop; close() is not the point here
    assert loop.hub.counters["sessions|teacher|started"] == 3 and not clock.own


def test_an_abort_is_told_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    loop, clock = hub_loop(tmp_path)
    heard = Heard()
    loop.add_observer(heard)
    loop.start(time.time(), workers=1)
    monkeypatch.setattr(loop.evaluator, "abort_due", lambda: ["auth.p95"])
    clock.elapsed = 5.0
    loop.write_interval()
    loop.write_interval()
    gevent.sleep(0.01)  # observers hear of the run from a greenlet of their own
    assert [e for e in heard.events if e[0] == "aborted"] == [("aborted", ("auth.p95",))]
    assert loop.aborted == ["auth.p95"]


def test_a_failing_observer_never_breaks_the_run(tmp_path: Path,
                                                 caplog: pytest.LogCaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    loop, clock = hub_loop(tmp_path)
    heard = Heard()
    loop.add_observer(Broken())
    loop.add_observer(heard)
    with caplog.at_level(logging.WARNING, logger="firstbell"):
        loop.start(time.time(), workers=1)
        monkeypatch.setattr(loop.evaluator, "abort_due", lambda: ["auth.p95"])
        clock.elapsed = 5.0
        loop.absorb(delta(10, final=True))
        loop.write_interval()
        clock.elapsed = 21.0
        loop.close()
    assert [e[0] for e in heard.events] == ["started", "phase", "aborted", "phase", "finished"]
    failures = [r.getMessage() for r in caplog.records if "run observer Broken" in r.getMessage()]
    assert len(failures) == 5 and "ConnectionError: dashboard away" in failures[0]
    assert read(tmp_path, "verdict.json")["verdict"] == heard.events[-1][1].verdict
    assert (tmp_path / "run" / "summary.json").is_file()
    assert len((tmp_path / "run" / "intervals.jsonl").read_text().splitlines()) == 2


def test_observers_hear_nothing_of_a_run_that_never_started(tmp_path: Path) -> None:
    loop, clock = hub_loop(tmp_path)
    heard = Heard()
    loop.add_observer(heard)
    loop.close()  # Ctrl-C before the start
    assert heard.events == [] and clock.finals == 1
    assert (tmp_path / "run" / "verdict.json").is_file()


def test_oneroster_clients_are_recorded_without_secrets_and_the_sync_is_summed(
        tmp_path: Path) -> None:
    from loadtests.hub_loop import report_lines
    loop, _ = hub_loop(tmp_path, firstbell_oneroster_client="lms:topsecret")
    loop.plan = loop.plan.model_copy(update={"oneroster_clients": [
        "lms:topsecret", "v:pw2@http://127.0.0.1:9/ims/oneroster/v1p1?version=1.1&auth=oauth1"]})
    loop.start(time.time(), workers=1)
    text = (tmp_path / "run" / "run.json").read_text(encoding="utf-8")
    assert "topsecret" not in text and "pw2" not in text
    assert read(tmp_path, "run.json")["plan"]["oneroster_clients"] == [
        "lms:***", "v:***@http://127.0.0.1:9/ims/oneroster/v1p1?version=1.1&auth=oauth1"]
    recorder = Recorder()
    for name, amount in (("oneroster|pages|users", 3), ("oneroster|rows|users", 1500),
                         ("oneroster|passes", 1), ("oneroster|slot_waits", 2)):
        recorder.count(name, amount)
    loop.absorb(recorder.take({}, final=True))
    summary = loop.summary()
    assert summary["oneroster"] == {"pages|users": 3, "rows|users": 1500, "passes": 1,
                                    "slot_waits": 2}
    assert "  oneroster sync: 3 pages, 1,500 rows, 1 full passes, 0 refused, 2 waited for a" \
        " slot" in report_lines(summary, tmp_path)
    loop.close()


def test_run_json_masks_credential_headers_of_a_target_file() -> None:
    """A static API key written into a target file's headers is not copied into run.json."""
    from loadtests.hub_loop import recorded_plan
    from loadtests.plan import build_plan

    plan = build_plan({"stages": [{"seconds": 1, "rates": {"guardian": 1}}], "target_file": {
        "personas": {"guardian": {"steps": [{"request": {"url": "/", "headers": {
            "X-Api-Key": "k-123", "Authorization": "Basic abc", "Accept": "text/html"}}}]}}}})
    headers = recorded_plan(plan)["target_file"]["personas"]["guardian"]["steps"][0][
        "request"]["headers"]
    assert headers == {"X-Api-Key": "***", "Authorization": "***", "Accept": "text/html"}
