"""The day's worst moment in people's terms, from a run directory's files: the busiest simulated
hour (the forecast's, from scenario.json's slots), the logins the forecast puts in it beside the
logins the run achieved there, sessions starting per second, sessions in flight, requests per
second, and the corrected latency per objective group in that hour against its thresholds.

How the clocks relate (loadtests/hub_loop.py, scenarios/compute.py): an interval line of
intervals.jsonl covers `seconds` real seconds ending at simulated clock `clock`; the run is
compressed by `speed` (simulated seconds per real second) while every rate stays true, so an
interval stands for `seconds × speed` simulated seconds and its counts for `× speed` as many
people in the simulated day."""

from __future__ import annotations

from typing import Any

import numpy as np

from kernel.clock import hhmm
from loadtests.hdr import decode, new_histogram, percentile_value

HOUR = 3600.0


def clock_seconds(text: str) -> float:
    hours, _, minutes = text.partition(":")
    return int(hours) * 3600.0 + int(minutes) * 60.0


def _slots(scenario: dict[str, Any]) -> list[tuple[float, float, float]]:
    """(start, end, sessions/s) of every forecast slot, on one clock past midnight."""
    out: list[tuple[float, float, float]] = []
    for slot in scenario.get("slots", []):
        start, end = clock_seconds(slot["start"]), clock_seconds(slot["end"])
        while out and start < out[-1][0]:
            start += 86400
        while end <= start:
            end += 86400
        out.append((start, end, float(sum(slot.get("rates", {}).values()))))
    return out


def busiest_hour(scenario: dict[str, Any]) -> tuple[float, float, float] | None:
    """(start, end, sessions) of the forecast's busiest hour (the whole window when it is
    shorter). The cumulative sessions are piecewise linear, so the best window starts at a
    slot boundary or ends at one."""
    slots = _slots(scenario)
    if not slots:
        return None
    edges = np.array([slots[0][0]] + [s[1] for s in slots])
    cumulative = np.concatenate([[0.0], np.cumsum([(e - s) * r for s, e, r in slots])])
    span = min(HOUR, float(edges[-1] - edges[0]))
    starts = np.clip(np.concatenate([edges, edges - span]), edges[0], edges[-1] - span)
    sessions = np.interp(starts + span, edges, cumulative) - np.interp(starts, edges, cumulative)
    best = int(np.argmax(sessions))
    return float(starts[best]), float(starts[best] + span), float(sessions[best])


def _span(line: dict[str, Any], speed: float) -> tuple[float, float]:
    end = float(line.get("clock", 0.0))
    return end - float(line.get("seconds", 0.0)) * speed, end


def _overlap(line: dict[str, Any], speed: float, lo: float, hi: float) -> float:
    """The share of an interval's simulated span inside [lo, hi)."""
    start, end = _span(line, speed)
    if end <= start:
        return 1.0 if lo <= end < hi else 0.0
    return max(0.0, min(end, hi) - max(start, lo)) / (end - start)


def _family(line: dict[str, Any], family: str, label: int | None = None,
            value: str | None = None) -> float:
    total = 0.0
    for key, n in line.get("counters", {}).items():
        parts = key.split("|")
        if parts[0] == family and (label is None or (len(parts) > label
                                                     and parts[label] == value)):
            total += n
    return total


def logins(line: dict[str, Any]) -> float:
    """Successful logins in an interval (sessions started, for targets that count none)."""
    ok = _family(line, "logins", 2, "ok")
    return ok if ok or "logins" in {k.split("|")[0] for k in line.get("counters", {})} \
        else _family(line, "sessions", 2, "started")


def hour_intervals(intervals: list[dict[str, Any]], speed: float, lo: float,
                   hi: float) -> list[tuple[dict[str, Any], float]]:
    return [(x, share) for x in intervals if (share := _overlap(x, speed, lo, hi)) > 0]


def group_latency(lines: list[dict[str, Any]], groups: list[str]) -> dict[str, dict[str, Any]]:
    """Per objective group (and ``*`` for every request): corrected p95/p99 and the request
    count over `lines`, their histograms merged exactly."""
    merged = {g: new_histogram() for g in [*groups, "*"]}
    for line in lines:
        for key, kinds in line.get("histograms", {}).items():
            endpoint = key.split("|", 1)[-1]
            head, dot, _ = endpoint.partition(".")
            h = decode(kinds["corrected"]["hdr"])
            merged["*"].add(h)
            if dot and head in merged:
                merged[head].add(h)
    out = {}
    for g, h in merged.items():
        n = h.get_total_count()
        out[g] = {"requests": n, "p95": round(percentile_value(h, 95.0), 6) if n else None,
                  "p99": round(percentile_value(h, 99.0), 6) if n else None}
    return out


def worst_moment(scenario: dict[str, Any], intervals: list[dict[str, Any]], speed: float | None,
                 thresholds: dict[str, float], groups: list[str]) -> dict[str, Any]:
    """The busiest hour's people, forecast beside achieved, and its latency per group."""
    hour = busiest_hour(scenario)
    out: dict[str, Any] = {
        "hour": None, "hour_minutes": None, "peak_at": scenario.get("total_peak_at"),
        "logins": {"forecast": None, "achieved": None},
        "arrival_rate": {"forecast": scenario.get("total_peak_rate"), "achieved": None},
        "in_flight": {"forecast": scenario.get("peak_concurrency"), "achieved": None},
        "logged_in": {"forecast": scenario.get("peak_logged_in"), "achieved": None},
        "requests_per_second": {"forecast": None, "achieved": None},
        "latency": [], "intervals": 0}
    if hour is None or not intervals or not speed:
        return out
    lo, hi, forecast = hour
    out["hour"] = [hhmm(lo % 86400), hhmm(hi % 86400)]
    out["hour_minutes"] = round((hi - lo) / 60)
    out["logins"]["forecast"] = round(forecast)
    inside = hour_intervals(intervals, speed, lo, hi)
    out["intervals"] = len(inside)
    if not inside:
        return out
    out["logins"]["achieved"] = round(sum(logins(x) * share * speed for x, share in inside))
    out["arrival_rate"]["achieved"] = round(max(
        sum(x.get("achieved_rate", {}).values()) for x, _ in inside), 3)
    out["in_flight"]["achieved"] = max(sum(x.get("busy", {}).values()) for x, _ in inside)
    out["requests_per_second"]["achieved"] = round(max(
        _family(x, "requests") / max(float(x.get("seconds") or 0.0), 1e-9)
        for x, _ in inside), 2)
    measured = group_latency([x for x, _ in inside], groups)
    rows = []
    for g in [*groups, "*"]:
        m = measured[g]
        if not m["requests"]:
            continue
        row: dict[str, Any] = {"group": g, "requests": m["requests"]}
        within = True
        for q in ("p95", "p99"):
            limit = thresholds.get(f"{g}.{q}")
            row[q], row[f"{q}_threshold"] = m[q], limit
            if limit is not None and m[q] is not None and m[q] > limit:
                within = False
        row["within"] = within
        rows.append(row)
    out["latency"] = rows
    return out
