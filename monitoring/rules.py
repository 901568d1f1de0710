"""Prometheus recording and alert rules generated from the launch thresholds: one alert per
objective measure (the share of requests slower than the threshold, or the error ratio, over
the objective's window, for its `for`), data exposure, arrival shortfall, load-generator
saturation, target down, and multiwindow burn-rate alerts per endpoint group. Recording rules
are named ``level:metric:operations``. Nothing here states a threshold: each comes from
`thresholds/launch-thresholds.yaml` through `thresholds.checks`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kernel.durations import prometheus_duration as duration
from kernel.durations import prometheus_seconds
from monitoring.config import MonitoringConfig
from thresholds import Check, Thresholds, checks

# The endpoint label's group is the part before the dot (auth.login -> auth).
GROUP_REGEX = "([^.]+)[.].+"  # [.] rather than an escaped dot, which PromQL strings want doubled
ERROR_CLASSES = "5xx|error"   # no answer at all counts as an error, as in the live verdict
TAIL = {"p95": 0.05, "p99": 0.01}  # a p95 over T means more than 5% of requests slower than T


def kebab(alert: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", alert).lower()


def _by_group(expr: str) -> str:
    return f'sum by (group) (label_replace({expr}, "group", "$1", "endpoint", "{GROUP_REGEX}"))'


def _le(threshold: float) -> str:
    return f"{round(threshold, 6):g}"  # the exporter's bucket label for this edge


@dataclass(frozen=True)
class Rules:
    recording: dict[str, Any]
    alerts: dict[str, Any]
    alert_names: tuple[str, ...]


def _windows(t: Thresholds, cfg: MonitoringConfig) -> list[str]:
    found = {"1m"} | {duration(c.window) for c in checks(t) if c.group != "arrivals"}
    for w in cfg.burn_windows:
        found |= {w.long, w.short}
    return sorted(found, key=lambda d: prometheus_seconds(d))


def recording_rules(t: Thresholds, cfg: MonitoringConfig) -> dict[str, Any]:
    rules: list[dict[str, str]] = []
    for w in _windows(t, cfg):
        requests = _by_group(f"rate(firstbell_requests_total[{w}])")
        errors = _by_group(f'rate(firstbell_requests_total{{status_class=~"{ERROR_CLASSES}"}}'
                           f"[{w}])")
        failed_checks = _by_group(f"rate(firstbell_check_failures_total[{w}])")
        rules += [
            {"record": f"group:firstbell_requests:rate{w}", "expr": requests},
            # a group without errors has 0, not no series: its ratio and alerts stay defined
            {"record": f"group:firstbell_request_errors:rate{w}",
             "expr": f"({errors} or {requests} * 0) + ({failed_checks} or {requests} * 0)"},
            # `>= 0` drops the 0/0 of a group idle over the window instead of recording NaN
            {"record": f"group:firstbell_request_error_ratio:ratio_rate{w}",
             "expr": f"group:firstbell_request_errors:rate{w}"
                     f" / group:firstbell_requests:rate{w} >= 0"},
            {"record": f"group_le:firstbell_request_latency_seconds_bucket:rate{w}",
             "expr": 'sum by (group, le) (label_replace(rate('
                     f'firstbell_request_latency_seconds_bucket[{w}]), "group", "$1",'
                     f' "endpoint", "{GROUP_REGEX}"))'},
        ]
        for q in ("p95", "p99"):
            rules.append({
                "record": f"group:firstbell_request_latency_seconds:{q}_rate{w}",
                "expr": f"histogram_quantile(0.{q[1:]}, "
                        f"group_le:firstbell_request_latency_seconds_bucket:rate{w})"})
    rules += [
        {"record": "job:firstbell_arrival_rate_target:sum",
         "expr": "sum by (job) (firstbell_arrival_rate_target)"},
        {"record": "job:firstbell_arrival_rate_achieved:sum",
         "expr": "sum by (job) (firstbell_arrival_rate_achieved)"},
        {"record": "job:firstbell_data_exposures:sum",
         "expr": "sum by (job) (firstbell_data_exposures_total)"},
        {"record": "job:sis_http_requests:rate1m",
         "expr": "sum by (job) (rate(sis_http_request_duration_seconds_count[1m]))"},
        {"record": "route:sis_http_request_duration_seconds:p95_rate5m",
         "expr": "histogram_quantile(0.95, sum by (route, le) "
                 "(rate(sis_http_request_duration_seconds_bucket[5m])))"},
    ]
    return {"groups": [{"name": "firstbell-recording", "rules": rules}]}


def _labels(c: Check, **extra: str) -> str:
    """A selector's braces: this objective's group (none for "*") and `extra`."""
    pairs = ([("group", c.group)] if c.group != "*" else []) + list(extra.items())
    return "{" + ", ".join(f'{k}="{v}"' for k, v in pairs) + "}"


def _alert(cfg: MonitoringConfig, name: str, expr: str, for_: str, severity: str,
           summary: str, description: str, **labels: str) -> dict[str, Any]:
    return {"alert": name, "expr": expr, "for": for_,
            "labels": {"severity": severity, **labels},
            "annotations": {"summary": summary, "description": description,
                            "runbook_url": cfg.runbook_url(f"{kebab(name)}.md")}}


def _objective_alert(c: Check, cfg: MonitoringConfig) -> dict[str, Any]:
    w = duration(c.window)
    severity = cfg.abortable_severity if c.abortable else cfg.other_severity
    sel = "" if c.group == "*" else f'{{group="{c.group}"}}'
    agg = (lambda e: f"sum({e})") if c.group == "*" else (lambda e: e)
    on = "on (group)" if c.group != "*" else "on ()"
    traffic = f"{on} {agg(f'group:firstbell_requests:rate{w}{sel}')} * {int(c.window)}" \
              f" >= {c.min_requests}"
    if c.measure == "error_ratio":
        name = "FirstbellErrorRatioHigh"
        ratio = (f"{agg(f'group:firstbell_request_errors:rate{w}{sel}')}"
                 f" / {agg(f'group:firstbell_requests:rate{w}{sel}')}")
        expr = f"({ratio}) > {c.threshold:g} and {traffic}"
        return _alert(cfg, name, expr, duration(c.for_), severity,
                      f"{c.group} error ratio above {c.threshold:g}",
                      f"{{{{ $value | humanizePercentage }}}} of {c.group} requests failed"
                      f" (5xx, no answer or a failed content check) over {w}; the launch"
                      f" threshold is {c.threshold:g}. {c.description}",
                      objective=c.name, group=c.group)
    name = "FirstbellLatencyHigh"
    bucket = f"group_le:firstbell_request_latency_seconds_bucket:rate{w}"
    within = f"{agg(bucket + _labels(c, le=_le(c.threshold)))}"
    everything = f"{agg(bucket + _labels(c, le='+Inf'))}"
    expr = f"(1 - {within} / {on} {everything}) > {TAIL[c.measure]:g} and {traffic}"
    return _alert(cfg, name, expr, duration(c.for_), severity,
                  f"{c.group} {c.measure} latency above {c.threshold:g} s",
                  f"{{{{ $value | humanizePercentage }}}} of {c.group} requests took longer than"
                  f" {c.threshold:g} s (corrected latency, over {w}); more than"
                  f" {TAIL[c.measure]:.0%} breaks the {c.measure} launch threshold."
                  f" {c.description}", objective=c.name, group=c.group)


def alert_rules(t: Thresholds, cfg: MonitoringConfig) -> dict[str, Any]:
    objective_alerts = [_objective_alert(c, cfg) for c in checks(t) if c.group != "arrivals"]
    a = t.arrivals
    gate = t.gates.data_exposures
    run_alerts = [
        _alert(cfg, "FirstbellDataExposure",
               f"job:firstbell_data_exposures:sum > {gate}", "0s", "page",
               "a security probe read data it must not",
               "{{ $value }} data exposure(s): a probe got a 2xx for a record its identity must"
               " not read. The verdict is NO-GO whatever the latency; see exposures.jsonl in"
               " the run directory for who asked for what."),
        _alert(cfg, "FirstbellArrivalShortfall",
               "job:firstbell_arrival_rate_achieved:sum / job:firstbell_arrival_rate_target:sum"
               f" < {a.min_ratio:g} and job:firstbell_arrival_rate_target:sum > 0",
               duration(a.for_), "warning",
               "the load generator is not keeping the planned arrival rate",
               "Sessions start at {{ $value | humanizePercentage }} of the planned rate (the"
               f" launch thresholds ask for at least {a.min_ratio:.0%}): the run is not"
               f" testing what it claims. {a.description}"),
        _alert(cfg, "FirstbellGeneratorSaturated",
               "max by (job) (firstbell_generator_cpu_saturated) == 1", cfg.saturation_for,
               "warning", "a load process is CPU-saturated",
               "A load process is above its CPU limit: its own delays now show up as target"
               " latency. Add load processes (--workers) or machines."),
        # The SIS must always answer; the generator's exporter lives only while a run does, so
        # it is "down" only when it vanished before its plan's end (a lost run), not between
        # runs.
        _alert(cfg, "FirstbellTargetDown",
               f'up{{job="{cfg.sis_job}"}} == 0 or (up{{job="{cfg.generator_job}"}} == 0'
               " and on (instance) max_over_time(firstbell_run_elapsed_seconds[10m])"
               " < on (instance) max_over_time(firstbell_run_planned_seconds[10m]))",
               cfg.target_down_for,
               "page", "{{ $labels.job }} at {{ $labels.instance }} is down",
               "Prometheus cannot scrape {{ $labels.job }} at {{ $labels.instance }}"
               " (for the load generator: it stopped before its plan's end)."),
    ]
    burn = []
    for c in checks(t):
        if c.measure != "error_ratio" or c.group == "*":
            continue
        for bw in cfg.burn_windows:
            budget = c.threshold
            sel = f'{{group="{c.group}"}}'
            # as the objective alerts: no judgement on a handful of requests
            expr = (f"group:firstbell_request_error_ratio:ratio_rate{bw.long}{sel}"
                    f" > {bw.factor:g} * {budget:g}"
                    f" and on (group) group:firstbell_request_error_ratio:ratio_rate{bw.short}"
                    f"{sel} > {bw.factor:g} * {budget:g}"
                    f" and on (group) group:firstbell_requests:rate{bw.short}{sel}"
                    f" * {prometheus_seconds(bw.short)} >= {c.min_requests}")
            burn.append(_alert(
                cfg, "FirstbellErrorBudgetBurn", expr, "0s", bw.severity,
                f"{c.group} burns its error budget {bw.factor:g}x too fast",
                f"The {c.group} error ratio is above {bw.factor:g} x its budget"
                f" ({c.threshold:g}) over both {bw.long} and {bw.short}: at this rate the"
                f" launch week's ({cfg.slo_period}) budget is gone in"
                f" {prometheus_seconds(cfg.slo_period) / bw.factor / 3600:.1f} h.",
                group=c.group, window=bw.long))
    return {"groups": [
        {"name": "firstbell-objectives", "rules": objective_alerts},
        {"name": "firstbell-run", "rules": run_alerts},
        {"name": "firstbell-burn-rate", "rules": burn},
    ]}


def build(t: Thresholds, cfg: MonitoringConfig) -> Rules:
    alerts = alert_rules(t, cfg)
    names = tuple(dict.fromkeys(r["alert"] for g in alerts["groups"] for r in g["rules"]))
    return Rules(recording_rules(t, cfg), alerts, names)
