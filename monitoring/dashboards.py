"""Grafana dashboards as code: Launch overview, Endpoints, Capacity and saturation, District
data, People readiness. Built from the launch thresholds (threshold lines, one latency panel
per objective group) and the recording rules; stable uids, every panel with a description and a
unit, and JSON written with sorted keys so a regeneration diffs cleanly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import count
from typing import Any

from monitoring.config import MonitoringConfig
from thresholds import Thresholds, checks

DATASOURCE = {"type": "prometheus", "uid": "firstbell-prometheus"}


def prometheus_datasource(cfg: MonitoringConfig, *, default: bool,
                          editable: bool | None = None) -> dict[str, Any]:
    """The Prometheus datasource every dashboard points at (fixed uid), as the provisioning
    files (the default, not editable) and the Grafana API (not the default) take it."""
    source: dict[str, Any] = {"name": "Prometheus (firstbell)", "type": "prometheus",
                              "uid": DATASOURCE["uid"], "access": "proxy",
                              "url": cfg.prometheus_url, "isDefault": default}
    if editable is not None:
        source["editable"] = editable
    source["jsonData"] = {"timeInterval": cfg.scrape_interval}
    return source
SESSIONS = "suffix: sessions/s"


class _Panels:
    """Lays panels out on Grafana's 24-column grid, two per row by default."""

    def __init__(self) -> None:
        self.ids = count(1)
        self.x = self.y = 0
        self.row_height = 0
        self.items: list[dict[str, Any]] = []

    def add(self, kind: str, title: str, description: str, unit: str,
            targets: list[tuple[str, str]], *, width: int = 12, height: int = 8,
            thresholds: list[tuple[float, str]] | None = None,
            options: dict[str, Any] | None = None,
            mappings: list[dict[str, Any]] | None = None) -> None:
        if self.x + width > 24:
            self.x, self.y = 0, self.y + self.row_height
            self.row_height = 0
        steps = [{"color": "green", "value": None}] + [
            {"color": color, "value": value} for value, color in (thresholds or [])]
        custom = {"thresholdsStyle": {"mode": "line"}} if thresholds and kind == "timeseries" \
            else {}
        self.items.append({
            "id": next(self.ids), "type": kind, "title": title, "description": description,
            "datasource": DATASOURCE,
            "gridPos": {"x": self.x, "y": self.y, "w": width, "h": height},
            "fieldConfig": {"defaults": {"unit": unit, "custom": custom,
                                         "mappings": mappings or [],
                                         "thresholds": {"mode": "absolute", "steps": steps}},
                            "overrides": []},
            "options": options or {},
            "targets": [{"refId": chr(ord("A") + i), "datasource": DATASOURCE,
                         "expr": expr, "legendFormat": legend}
                        for i, (expr, legend) in enumerate(targets)],
        })
        self.x += width
        self.row_height = max(self.row_height, height)


def _dashboard(uid: str, title: str, description: str, panels: _Panels) -> dict[str, Any]:
    return {
        "uid": uid, "title": title, "description": description, "tags": ["firstbell"],
        "timezone": "browser", "schemaVersion": 39, "version": 1, "editable": True,
        "refresh": "5s", "time": {"from": "now-30m", "to": "now"},
        "annotations": {"list": [{
            "name": "firstbell runs", "datasource": {"type": "grafana", "uid": "-- Grafana --"},
            "enable": True, "iconColor": "blue",
            "target": {"type": "tags", "tags": ["firstbell"], "limit": 100, "matchAny": False}}]},
        "templating": {"list": []}, "panels": panels.items,
    }


def launch_overview(t: Thresholds) -> dict[str, Any]:
    p = _Panels()
    go = [{"type": "value", "options": {"0": {"text": "NO-GO", "color": "red"},
                                        "1": {"text": "GO", "color": "green"}}}]
    p.add("stat", "Verdict so far", "GO while no objective has failed and no probe read data"
          " it must not (firstbell_verdict_go).", "none", [("firstbell_verdict_go", "")],
          width=6, mappings=go)
    p.add("stat", "Simulated school-day clock", "The time of day the run is replaying"
          " (--speed compresses the day; rates stay real).", "dthms",
          [("firstbell_school_day_clock_seconds", "")], width=6)
    p.add("stat", "Data exposures", "Security probes that got a 2xx for data their identity"
          " must not read. Any exposure is NO-GO.", "none",
          [("job:firstbell_data_exposures:sum", "")], width=6, thresholds=[(1, "red")])
    p.add("stat", "Load processes", "Load-generator processes reporting to the master.",
          "none", [("firstbell_workers_connected", "")], width=6)
    p.add("state-timeline", "Objectives", "Each launch objective over time: 1 while it has"
          " been breached for its `for` duration (firstbell_objective_failing).", "none",
          [("firstbell_objective_failing", "{{objective}}")], width=24, height=10,
          thresholds=[(1, "red")])
    p.add("timeseries", "Arrivals: planned vs achieved", "Sessions per second the plan asks"
          " for and the generator started; a gap means the run is not testing what it"
          " claims.", SESSIONS,
          [("job:firstbell_arrival_rate_target:sum", "planned"),
           ("job:firstbell_arrival_rate_achieved:sum", "achieved")])
    p.add("alertlist", "Active alerts", "Firing firstbell alerts (from the generated rules).",
          "none", [], options={"alertName": "Firstbell", "stateFilter": {"firing": True,
                                                                         "pending": True}})
    return _dashboard("firstbell-launch-overview", "firstbell · Launch overview",
                      "GO / NO-GO live: objectives, the simulated clock, arrivals, exposures.",
                      p)


def endpoints(t: Thresholds) -> dict[str, Any]:
    p = _Panels()
    by_group: dict[str, dict[str, float]] = {}
    for c in checks(t):
        if c.group not in ("arrivals", "*"):
            by_group.setdefault(c.group, {})[c.measure] = c.threshold
    for group, limits in by_group.items():
        lines = sorted((v, "orange" if m == "p95" else "red") for m, v in limits.items()
                       if m in ("p95", "p99"))
        p.add("timeseries", f"{group}: corrected latency p95 / p99",
              f"Latency of {group} requests from the moment each was meant to start, over 5"
              " minutes; the lines are the launch thresholds.", "s",
              [(f'group:firstbell_request_latency_seconds:p95_rate5m{{group="{group}"}}',
                "p95"),
               (f'group:firstbell_request_latency_seconds:p99_rate5m{{group="{group}"}}',
                "p99")], thresholds=lines)
    service = ('histogram_quantile(0.95, sum by (group, le) (label_replace(rate('
               'firstbell_request_service_seconds_bucket[5m]), "group", "$1", "endpoint",'
               ' "([^.]+)[.].+")))')
    p.add("timeseries", "Service time p95 by group", "From sending each request to its last"
          " byte (what most tools report); compare with the corrected latency.", "s",
          [(service, "{{group}}")])
    p.add("timeseries", "Error ratio by group", "5xx, no answer and failed content checks over"
          " requests, 5 minutes.", "percentunit",
          [("group:firstbell_request_error_ratio:ratio_rate5m", "{{group}}")])
    p.add("timeseries", "Requests per persona", "Requests sent per second by persona.",
          "reqps", [("sum by (persona) (rate(firstbell_requests_total[1m]))", "{{persona}}")])
    p.add("timeseries", "Sessions in progress per persona", "Locust users running a session.",
          "none", [("firstbell_users", "{{persona}}")])
    return _dashboard("firstbell-endpoints", "firstbell · Endpoints",
                      "Corrected and service-time percentiles against the launch thresholds,"
                      " error ratios, traffic per persona.", p)


def capacity(t: Thresholds) -> dict[str, Any]:
    p = _Panels()
    p.add("timeseries", "SIS requests per second", "Requests the staging SIS served.",
          "reqps", [("job:sis_http_requests:rate1m", "{{job}}")])
    p.add("timeseries", "SIS requests in flight", "Requests being served at once.", "none",
          [("sum(sis_http_requests_in_flight)", "in flight")])
    p.add("timeseries", "Database pool", "Connections in use, pool size and requests waiting"
          " for a connection (waiting > 0: the pool is the bottleneck).", "none",
          [("sum(sis_db_pool_in_use)", "in use"), ("sum(sis_db_pool_size)", "size"),
           ("sum(sis_db_pool_waiting)", "waiting")])
    p.add("timeseries", "SIS p95 by route", "Server-side p95 per route template.", "s",
          [("route:sis_http_request_duration_seconds:p95_rate5m", "{{route}}")])
    p.add("timeseries", "SIS CPU", "CPU seconds per second of the SIS process(es).",
          "percentunit", [('sum(rate(process_cpu_seconds_total{job="sis"}[1m]))', "sis")])
    p.add("timeseries", "Load-generator CPU", "CPU of each load process; above its limit its"
          " own delays falsify the latency.", "percent",
          [("firstbell_generator_cpu_percent", "worker {{worker}}")])
    p.add("timeseries", "Load-generator event-loop lag", "How late the generator's event loop"
          " wakes (any blocking shows up in every corrected latency).", "s",
          [("firstbell_generator_loop_lag_seconds", "worker {{worker}}")])
    p.add("timeseries", "Generator users and queue", "Locust users provisioned and arrivals"
          " waiting for one.", "none",
          [("firstbell_users_total", "users"), ("firstbell_sessions_queued", "queued")])
    return _dashboard("firstbell-capacity", "firstbell · Capacity and saturation",
                      "Staging SIS throughput, in-flight requests, database pool and CPU; the"
                      " load generator's CPU, loop lag and users.", p)


def district(t: Thresholds) -> dict[str, Any]:
    p = _Panels()
    p.add("table", "Seeded district", "Profile, scale and seed of the district in the staging"
          " SIS.", "none", [("sis_district_info", "")], width=8,
          options={"showHeader": True})
    p.add("bargauge", "Rows per table", "Rows the seed loaded, per table.", "short",
          [("sis_district_rows", "{{table}}")], width=16, height=10,
          options={"orientation": "horizontal", "displayMode": "basic"})
    p.add("stat", "Active sessions", "SIS sessions seen within the idle timeout.", "none",
          [("sum(sis_active_sessions)", "")], width=8)
    return _dashboard("firstbell-district", "firstbell · District data",
                      "What the staging SIS holds: the seeded district's tables.", p)


def readiness(t: Thresholds) -> dict[str, Any]:
    """People readiness over the weeks before go-live, from the gauges `firstbell readiness`
    writes (readiness.prom for a textfile collector; readiness-history.om backfilled with
    promtool for the weeks before). Names only: monitoring does not import readiness/."""
    p = _Panels()
    p.add("stat", "Schools at every target (now)", "Schools whose every readiness metric"
          " already meets its target (firstbell_readiness_schools_at_target, basis now).",
          "none", [('firstbell_readiness_schools_at_target{basis="now"}', "")], width=6)
    p.add("stat", "Projected at go-live", "Schools at every target when each cell is judged"
          " on its projection to go-live.", "none",
          [('firstbell_readiness_schools_at_target{basis="projected"}', "")], width=6)
    p.add("stat", "Projected, 90% interval", "Bootstrap over people: low and high of the"
          " schools at every target at go-live.", "none",
          [('firstbell_readiness_schools_projected{bound="low"}', "low"),
           ('firstbell_readiness_schools_projected{bound="high"}', "high")], width=6)
    p.add("stat", "Schools counted", "Schools with staff the readiness metrics count.",
          "none", [("firstbell_readiness_schools", "")], width=6)
    p.add("timeseries", "Share of schools at every target, week by week", "Schools at every"
          " target over schools counted, at each week's end.", "percentunit",
          [('firstbell_readiness_schools_at_target{basis="now"}'
            " / ignoring(basis) firstbell_readiness_schools", "at target")],
          width=24, thresholds=[(0.9, "green")])
    p.add("timeseries", "District share per metric and role", "Share of counted staff who"
          " met each share_by metric, district-wide; compare with its target.", "percentunit",
          [("firstbell_readiness_district_share", "{{metric}} · {{role}}"),
           ("firstbell_readiness_target", "target {{metric}} · {{role}}")], width=24,
          height=10)
    p.add("table", "Schools least likely to be ready", "The 15 schools with the lowest chance"
          " of meeting every target at go-live (bootstrap share).", "percentunit",
          [("bottomk(15, firstbell_readiness_school_chance)", "{{name}}")], width=24,
          height=10, options={"showHeader": True})
    board = _dashboard("firstbell-readiness", "firstbell · People readiness",
                       "Staff readiness per school before go-live: at target now, projected,"
                       " the trend, the schools least likely to be ready.", p)
    board.update(refresh="1h", time={"from": "now-120d", "to": "now"})
    return board


BUILDERS = {"launch-overview": launch_overview, "endpoints": endpoints,
            "capacity": capacity, "district": district, "readiness": readiness}


def render(t: Thresholds) -> dict[str, str]:
    """File name -> dashboard JSON (sorted keys, stable)."""
    return {f"{name}.json": json.dumps(build(t), indent=2, sort_keys=True) + "\n"
            for name, build in BUILDERS.items()}


def expressions(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(panel title, PromQL) of every target of every panel."""
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            yield panel["title"], target["expr"]
