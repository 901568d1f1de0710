"""HDR recording, exact merging of worker deltas, and the exporter's view of the merged run."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from loadtests.exporter import BASE_EDGES, Live, RunCollector, bucket_edges
from loadtests.hdr import Timings, counts_at_or_below, new_histogram, summary, to_us
from loadtests.stats import Delta, Hub, Recorder, key, status_class


def test_three_significant_digits() -> None:
    h = new_histogram()
    for value in (0.0012345, 0.5, 1.2345, 12.345):
        h.record_value(to_us(value))
    s = summary(h)
    assert s["count"] == 4
    assert s["max"] == pytest.approx(12.345, rel=1e-3)
    assert s["p50"] == pytest.approx(0.5, rel=1e-3)


def test_numpy_summary_equals_hdrh_own_percentiles() -> None:
    h = new_histogram()
    for v in np.random.default_rng(9).lognormal(-3, 1.5, 5_000):
        h.record_value(to_us(float(v)))
    s = summary(h)
    for p in (50.0, 90.0, 95.0, 99.0, 99.9):
        assert s[f"p{p:g}"] == round(h.get_value_at_percentile(p) / 1e6, 6)
    assert s["mean"] == pytest.approx(h.get_mean_value() / 1e6, abs=1e-6)


def test_counts_at_edges_are_cumulative_and_exact() -> None:
    h = new_histogram()
    values = np.random.default_rng(5).lognormal(-3, 1.2, 20_000)
    for v in values:
        h.record_value(to_us(float(v)))
    edges = [0.01, 0.05, 0.1, 0.5, 1.0, 3.0]
    got = counts_at_or_below(h, edges)
    recorded = np.array([to_us(float(v)) for v in values])
    # exact up to the edge's HDR bucket (values within 3 significant digits of it)
    truth = [int(np.count_nonzero(recorded <= h.get_highest_equivalent_value(to_us(e))))
             for e in edges]
    assert got == truth
    assert got == sorted(got)
    for g, e in zip(got, edges, strict=True):
        assert g >= np.count_nonzero(values <= e)


def test_corrected_never_below_service() -> None:
    t = Timings()
    t.record("guardian|portal.home", 0.2, 0.1)  # a clock skew must not undercount
    assert summary(t.histograms["guardian|portal.home"]["corrected"])["max"] >= 0.2


def test_status_classes() -> None:
    assert [status_class(s) for s in (200, 302, 404, 503, 0)] == ["2xx", "3xx", "4xx", "5xx",
                                                                   "error"]


def _worker(index: int, n: int, seed: int) -> Recorder:
    rng = np.random.default_rng(seed)
    rec = Recorder(index)
    for _ in range(n):
        service = float(rng.exponential(0.05))
        rec.time("teacher", "gradebook.roster", "GET", 200, service, service + 0.01)
        rec.count(key("sessions", "teacher", "started"))
    rec.exposure({"probe": "foreign_student", "by": f"w{index}"})
    return rec


def test_hub_merge_is_exactly_the_sum_of_the_workers() -> None:
    hub = Hub()
    recorders = [_worker(i, 1000 + 37 * i, i) for i in range(3)]
    for rec in recorders:
        for final in (False, True):  # two hand-overs each, through JSON as on the wire
            hub.absorb(Delta.from_json(rec.take({"cpu": 10.0 * rec.worker}, final=final)
                                       .to_json()))
    assert hub.finals == {0, 1, 2}
    assert hub.timings.count() == sum(r.totals.timings.count() for r in recorders) == 3111
    assert hub.counters[key("sessions", "teacher", "started")] == 3111
    assert len(hub.exposures) == 3
    merged = hub.timings.histograms["teacher|gradebook.roster"]["service"]
    each = Timings()
    for rec in recorders:
        each.add(rec.totals.timings)
    alone = each.histograms["teacher|gradebook.roster"]["service"]
    assert merged.get_value_at_percentile(99) == alone.get_value_at_percentile(99)
    assert hub.gauge("cpu") == 30.0


def test_a_closed_recorder_records_nothing_more() -> None:
    rec = _worker(0, 10, 1)
    rec.take({}, final=True)
    rec.time("teacher", "x.y", "GET", 200, 0.1, 0.1)
    rec.count("sessions|teacher|started")
    assert rec.take({}).timings.count() == 0


def test_exporter_families_from_the_hub() -> None:
    hub = Hub()
    rec = _worker(0, 500, 2)
    rec.count(key("probes", "foreign_student", "exposed"))
    hub.absorb(rec.take({"cpu": 95.0, "users": 12.0, "busy|teacher": 3.0}))
    live = Live(run_id="r1", scenario="smoke", target="http://127.0.0.1:1",
                personas=("teacher", "guardian"), probes=("foreign_student", "no_access_child"),
                target_rate={"teacher": 2.0}, achieved_rate={"teacher": 1.9}, workers=1,
                clock_seconds=27000.0)
    registry = CollectorRegistry()
    registry.register(RunCollector(hub, lambda: live, bucket_edges([0.8])))
    get = registry.get_sample_value
    labels = {"persona": "teacher", "endpoint": "gradebook.roster"}
    assert get("firstbell_request_latency_seconds_count", labels) == 500
    assert get("firstbell_request_latency_seconds_bucket", {**labels, "le": "0.8"}) is not None
    assert get("firstbell_request_service_seconds_bucket", {**labels, "le": "+Inf"}) == 500
    assert get("firstbell_requests_total", {**labels, "method": "GET", "status_class": "2xx"}) \
        == 500
    assert get("firstbell_sessions_started_total", {"persona": "teacher"}) == 500
    assert get("firstbell_sessions_started_total", {"persona": "guardian"}) == 0
    assert get("firstbell_data_exposures_total", {"probe": "foreign_student"}) == 1
    assert get("firstbell_data_exposures_total", {"probe": "no_access_child"}) == 0
    assert get("firstbell_generator_cpu_saturated") == 1
    assert get("firstbell_users", {"persona": "teacher"}) == 3
    assert get("firstbell_arrival_rate_target", {"persona": "teacher"}) == 2.0
    assert get("firstbell_school_day_clock_seconds") == 27000.0
    assert get("firstbell_run_info", {"run_id": "r1", "scenario": "smoke",
                                      "target": "http://127.0.0.1:1"}) == 1
    assert b"firstbell_request_latency_seconds_bucket" in generate_latest(registry)


def test_bucket_edges_include_thresholds() -> None:
    edges = bucket_edges([0.8, 2.0, 0.35])
    assert 0.8 in edges and 0.35 in edges and set(BASE_EDGES) <= set(edges)
    assert list(edges) == sorted(set(edges))
