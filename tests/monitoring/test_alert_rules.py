"""`promtool test rules` for every generated alert: each fires when it should and stays silent
when it should not, with its exact labels and annotations (runbook_url included). The input
series are the raw metrics the load generator and the SIS export; the recording rules are
evaluated on the way, so the tests check them too."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitoring.config import DEFAULT
from monitoring.generate import render
from monitoring.rules import build
from thresholds import load_thresholds

GEN = {"job": "firstbell", "instance": "127.0.0.1:9646"}
RULES = build(load_thresholds(), DEFAULT)


def rule(alert: str, **labels: str) -> dict[str, Any]:
    """The generated rule of `alert` whose labels include `labels`."""
    return next(r for g in RULES.alerts["groups"] for r in g["rules"]
                if r["alert"] == alert and all(r["labels"].get(k) == v
                                               for k, v in labels.items()))


def expected(alert: str, output_labels: dict[str, str], value: str,
             **rule_labels: str) -> dict[str, Any]:
    """What promtool must see firing: the rule's labels plus the expression's output
    labels; the annotations with the value rendered as Prometheus renders it."""
    r = rule(alert, **rule_labels)
    annotations = {k: v.replace("{{ $value | humanizePercentage }}", value)
                   .replace("{{ $value }}", value)
                   .replace("{{ $labels.job }}", output_labels.get("job", ""))
                   .replace("{{ $labels.instance }}", output_labels.get("instance", ""))
                   for k, v in r["annotations"].items()}
    return {"exp_labels": {**r["labels"], **output_labels}, "exp_annotations": annotations}


def series(name: str, values: str, **labels: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in {**GEN, **labels}.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def auth_requests(per_min_ok: int, per_min_5xx: int = 0, minutes: int = 20) -> list[Any]:
    out = [series("firstbell_requests_total", f"0+{per_min_ok}x{minutes}", persona="teacher",
                  endpoint="auth.login", method="POST", status_class="2xx")]
    if per_min_5xx:
        out.append(series("firstbell_requests_total", f"0+{per_min_5xx}x{minutes}",
                          persona="teacher", endpoint="auth.login", method="POST",
                          status_class="5xx"))
    return out


def auth_latency(within_1s: int, total: int, minutes: int = 20,
                 within_3s: int | None = None) -> list[Any]:
    """Per minute: `within_1s` requests at or under 1 s (and 0.5 s), `within_3s` at or under
    3 s (default: all), `total` in all. auth's p95 threshold is 1 s, its p99 3 s."""
    edges = {"0.5": within_1s, "1": within_1s,
             "3": total if within_3s is None else within_3s, "+Inf": total}
    return [series("firstbell_request_latency_seconds_bucket", f"0+{n}x{minutes}",
                   persona="teacher", endpoint="auth.login", le=le)
            for le, n in edges.items()]


def case(series_: list[Any], eval_time: str, alert: str,
         firing: list[dict[str, Any]], interval: str = "1m") -> dict[str, Any]:
    return {"interval": interval, "input_series": series_,
            "alert_rule_test": [{"eval_time": eval_time, "alertname": alert,
                                 "exp_alerts": firing}]}


def auth_group(measure: str) -> dict[str, str]:
    return {"group": "auth", "objective": f"auth.{measure}"}


TESTS: dict[str, list[dict[str, Any]]] = {
    # Half of the logins slower than 1 s (p95 threshold: more than 5% is a breach) and 10%
    # slower than 3 s (p99 threshold: more than 1%): both fire.
    "latency fires": [case(
        auth_requests(100) + auth_latency(50, 100, within_3s=90), "10m",
        "FirstbellLatencyHigh",
        [expected("FirstbellLatencyHigh", {"group": "auth"}, "50%", **auth_group("p95")),
         expected("FirstbellLatencyHigh", {"group": "auth"}, "10%", **auth_group("p99"))])],
    # Half slower than 1 s, none slower than 3 s: only p95 fires.
    "latency p95 only": [case(
        auth_requests(100) + auth_latency(50, 100), "10m", "FirstbellLatencyHigh",
        [expected("FirstbellLatencyHigh", {"group": "auth"}, "50%", **auth_group("p95"))])],
    # 1% slower than 1 s: not above 5%, none above 3 s: silent.
    "latency silent": [case(auth_requests(100) + auth_latency(99, 100), "10m",
                            "FirstbellLatencyHigh", [])],
    # Too little traffic to judge (min_requests 20 per 5-minute window): silent however slow.
    "latency without traffic": [case(auth_requests(1) + auth_latency(0, 1), "10m",
                                     "FirstbellLatencyHigh", [])],
    # 10 of 100 logins answer 5xx: the 1% error ratio of auth fires.
    "errors fire": [case(auth_requests(90, 10) + auth_latency(100, 100), "10m",
                         "FirstbellErrorRatioHigh",
                         [expected("FirstbellErrorRatioHigh", {"group": "auth"}, "10%",
                                   **auth_group("error_ratio"))])],
    "errors silent": [case(auth_requests(100) + auth_latency(100, 100), "10m",
                           "FirstbellErrorRatioHigh", [])],
    # 20% errors for 7 hours: over both burn windows of both severities (14.4 x 1% and 6 x 1%).
    "burn fires": [case(auth_requests(80, 20, 420), "7h", "FirstbellErrorBudgetBurn",
                        [expected("FirstbellErrorBudgetBurn", {"group": "auth"}, "",
                                  group="auth", severity="page"),
                         expected("FirstbellErrorBudgetBurn", {"group": "auth"}, "",
                                  group="auth", severity="ticket")])],
    # 10% errors: above 6x the budget (ticket) but not 14.4x (page).
    "burn tickets only": [case(auth_requests(90, 10, 420), "7h", "FirstbellErrorBudgetBurn",
                               [expected("FirstbellErrorBudgetBurn", {"group": "auth"}, "",
                                         group="auth", severity="ticket")])],
    "burn silent": [case(auth_requests(100, 0, 420), "7h", "FirstbellErrorBudgetBurn", [])],
    # Half of two requests a minute fail: the 5-minute window's 10 requests are too few to
    # page (min_requests 20); the 30-minute window's 60 are enough for the ticket.
    "burn without traffic": [case(auth_requests(1, 1, 420), "7h", "FirstbellErrorBudgetBurn",
                                  [expected("FirstbellErrorBudgetBurn", {"group": "auth"}, "",
                                            group="auth", severity="ticket")])],
    # The first exposure fires at once (no `for`): exposed in the first minute, seen at 2m
    # (one evaluation later, so that the recording rule it reads has run).
    "exposure fires": [case(
        [series("firstbell_data_exposures_total", "0 1 1 1", probe="foreign_student")], "2m",
        "FirstbellDataExposure",
        [expected("FirstbellDataExposure", {"job": "firstbell"}, "1")])],
    "exposure silent": [case(
        [series("firstbell_data_exposures_total", "0 0 0 0", probe="foreign_student")], "3m",
        "FirstbellDataExposure", [])],
    # Half the planned rate for 3 minutes (the arrivals objective wants 95% for 1 minute).
    "shortfall fires": [case(
        [series("firstbell_arrival_rate_target", "10x5", persona="teacher"),
         series("firstbell_arrival_rate_achieved", "5x5", persona="teacher")], "3m",
        "FirstbellArrivalShortfall",
        [expected("FirstbellArrivalShortfall", {"job": "firstbell"}, "50%")])],
    "shortfall silent": [case(
        [series("firstbell_arrival_rate_target", "10x5", persona="teacher"),
         series("firstbell_arrival_rate_achieved", "9.8x5", persona="teacher")], "3m",
        "FirstbellArrivalShortfall", [])],
    # Nothing planned (between stages) is no shortfall.
    "shortfall idle": [case(
        [series("firstbell_arrival_rate_target", "0x5", persona="teacher"),
         series("firstbell_arrival_rate_achieved", "0x5", persona="teacher")], "3m",
        "FirstbellArrivalShortfall", [])],
    "saturation fires": [case(
        [series("firstbell_generator_cpu_saturated", "1x5")], "2m",
        "FirstbellGeneratorSaturated",
        [expected("FirstbellGeneratorSaturated", {"job": "firstbell"}, "1")])],
    "saturation silent": [case(
        [series("firstbell_generator_cpu_saturated", "0x5")], "2m",
        "FirstbellGeneratorSaturated", [])],
    # The SIS down for 2 minutes pages; a missing postgres_exporter does not.
    "target down fires": [case(
        [{"series": 'up{job="sis", instance="127.0.0.1:8700"}', "values": "0x5"},
         {"series": 'up{job="postgres", instance="127.0.0.1:9187"}', "values": "0x5"}],
        "2m", "FirstbellTargetDown",
        [expected("FirstbellTargetDown", {"job": "sis", "instance": "127.0.0.1:8700"}, "0")])],
    # The generator's exporter gone at 20 s of a 60 s plan: a lost run pages.
    "generator lost fires": [case(
        [{"series": 'up{job="firstbell", instance="127.0.0.1:9646"}', "values": "1 1 0 0 0 0"},
         series("firstbell_run_elapsed_seconds", "10 20 _ _ _ _"),
         series("firstbell_run_planned_seconds", "60 60 _ _ _ _")], "4m", "FirstbellTargetDown",
        [expected("FirstbellTargetDown", {"job": "firstbell", "instance": "127.0.0.1:9646"},
                  "0")])],
    # ...but gone after its plan ended (a finished run, or between runs): silent.
    "generator finished silent": [case(
        [{"series": 'up{job="firstbell", instance="127.0.0.1:9646"}', "values": "1 1 0 0 0 0"},
         series("firstbell_run_elapsed_seconds", "30 60 _ _ _ _"),
         series("firstbell_run_planned_seconds", "60 60 _ _ _ _")], "4m", "FirstbellTargetDown",
        [])],
    "target up silent": [case(
        [{"series": 'up{job="sis", instance="127.0.0.1:8700"}', "values": "1x5"}], "2m",
        "FirstbellTargetDown", [])],
}


@pytest.fixture(scope="module")
def rule_files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    folder = tmp_path_factory.mktemp("rules")
    files = render(load_thresholds(), DEFAULT)
    out = []
    for rel in ("prometheus/rules/firstbell-recording.yml",
                "prometheus/rules/firstbell-alerts.yml"):
        path = folder / Path(rel).name
        path.write_text(files[rel], encoding="utf-8")
        out.append(str(path))
    return out


def test_every_alert_has_a_firing_and_a_silent_case() -> None:
    fired = {t["alert_rule_test"][0]["alertname"] for cases in TESTS.values() for t in cases
             if t["alert_rule_test"][0]["exp_alerts"]}
    silent = {t["alert_rule_test"][0]["alertname"] for cases in TESTS.values() for t in cases
              if not t["alert_rule_test"][0]["exp_alerts"]}
    assert fired == silent == set(RULES.alert_names)


@pytest.mark.parametrize("name", list(TESTS))
def test_promtool(name: str, rule_files: list[str], tmp_path: Path) -> None:
    test_file = tmp_path / "test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": rule_files, "evaluation_interval": "1m",
                                         "tests": TESTS[name]}, sort_keys=False))
    result = subprocess.run(["promtool", "test", "rules", str(test_file)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_wrong_expectation_fails(rule_files: list[str], tmp_path: Path) -> None:
    """The harness can fail: slow logins expected to stay silent are reported by promtool."""
    wrong = case(auth_requests(100) + auth_latency(50, 100), "10m", "FirstbellLatencyHigh", [])
    test_file = tmp_path / "test.yml"
    test_file.write_text(yaml.safe_dump({"rule_files": rule_files, "evaluation_interval": "1m",
                                         "tests": [wrong]}, sort_keys=False))
    result = subprocess.run(["promtool", "test", "rules", str(test_file)], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode != 0 and "FirstbellLatencyHigh" in result.stdout + result.stderr
