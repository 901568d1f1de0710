"""What a report says, computed from a run directory alone (run.json, scenario.json, verdict.json,
summary.json, intervals.jsonl, exposures.jsonl, capacity.json when a capacity search ran; a run
whose master died has no summary or verdict: they are rebuilt from its intervals, partial):
the verdict and its reasons, what was rehearsed, the assumption ledger, per-interval latency
per objective group (merged exactly from the intervals' HDR histograms), planned vs achieved
arrivals, errors by endpoint, exposures, capacity and headroom, differences from a baseline
run, and the recommended actions with their runbooks; page one (`page_one.py`) on top.
`report.json` is this, as JSON (its schema: report.schema.json beside this module)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from firstbell.capacity import headroom as capacity_headroom
from firstbell.report import page_one
from firstbell.report.compare import baseline_diff, changes
from firstbell.report.moment import worst_moment
from firstbell.report.people import gate as people_gate
from firstbell.report.people import section as people_section
from kernel.clock import hhmm
from kernel.errors import UserError
from loadtests.hdr import PERCENTILES, decode, new_histogram, percentile_value
from loadtests.recover import reconstruct
from loadtests.rundir import read_jsonl

RUNBOOKS = "runbooks/alerts"
ACTIONS = {
    "p95": ("FirstbellLatencyHigh", "firstbell-latency-high.md"),
    "p99": ("FirstbellLatencyHigh", "firstbell-latency-high.md"),
    "error_ratio": ("FirstbellErrorRatioHigh", "firstbell-error-ratio-high.md"),
    "arrival_ratio": ("FirstbellArrivalShortfall", "firstbell-arrival-shortfall.md"),
}


def _read(path: Path, required: bool = True) -> Any:
    if not path.is_file():
        if required:
            raise UserError(f"{path.parent}: no {path.name} there: not a finished firstbell run"
                            " directory (a run writes it when it ends; an interrupted run"
                            " writes a partial one)")
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None


def _lines(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        return read_jsonl(path)
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: a line is not valid JSON ({exc.msg}); the run directory was"
                        " damaged: rerun, or report on a copy without that line") from None


def _timing(measured: dict[str, Any]) -> dict[str, Any]:
    """A run's overall timing with every figure present: None where no request was timed (a
    run stopped before its first answer), so the templates show n/a instead of failing."""
    empty = {"mean": None, "max": None, **{f"p{p:g}": None for p in PERCENTILES}}
    return {**empty, **measured}


def _group(endpoint: str) -> str | None:
    head, dot, _ = endpoint.partition(".")
    return head if dot else None


def latency_series(intervals: list[dict[str, Any]], groups: list[str]) -> dict[str, Any]:
    """Per interval: the simulated clock and, per objective group, the corrected p95/p99 of
    that interval (its histograms merged, so exact to the HDR's 3 digits)."""
    clock: list[str] = []
    at: list[float] = []
    series: dict[str, dict[str, list[float | None]]] = {g: {"p95": [], "p99": []}
                                                         for g in groups}
    for line in intervals:
        clock.append(hhmm(float(line.get("clock", 0.0)) % 86400))
        at.append(float(line.get("clock", 0.0)))
        merged = {g: new_histogram() for g in groups}
        for key, kinds in line.get("histograms", {}).items():
            group = _group(key.split("|", 1)[-1])
            if group in merged:
                merged[group].add(decode(kinds["corrected"]["hdr"]))
        for g, h in merged.items():
            empty = h.get_total_count() == 0
            for q in ("p95", "p99"):
                series[g][q].append(None if empty else
                                    percentile_value(h, 95.0 if q == "p95" else 99.0))
    return {"clock": clock, "at": at, "groups": series}


def _per_second(line: dict[str, Any], family: str, outcome: str) -> float:
    """A counter family's events with `outcome` (``family|persona|outcome``) per real second."""
    n = sum(v for k, v in line.get("counters", {}).items()
            if k.startswith(family + "|") and k.endswith("|" + outcome))
    return round(n / max(float(line.get("seconds") or 0.0), 1e-9), 4)


def arrival_series(intervals: list[dict[str, Any]]) -> dict[str, Any]:
    """Per interval, sessions/s: planned and achieved arrivals, people coming back after a
    failed login (``returns|persona|started``: sessions, not arrivals) and login attempts
    retried after a 5xx or no answer (``logins|persona|retried``)."""
    return {"clock": [hhmm(float(x.get("clock", 0.0)) % 86400) for x in intervals],
            "at": [float(x.get("clock", 0.0)) for x in intervals],
            "planned": [round(sum(x.get("target_rate", {}).values()), 4) for x in intervals],
            "achieved": [round(sum(x.get("achieved_rate", {}).values()), 4) for x in intervals],
            "returns": [_per_second(x, "returns", "started") for x in intervals],
            "retries": [_per_second(x, "logins", "retried") for x in intervals]}


def errors_by_endpoint(counters: dict[str, float]) -> list[dict[str, Any]]:
    """Requests and errors (5xx, no answer, failed checks) per endpoint, worst first."""
    table: dict[str, dict[str, float]] = {}
    for key, n in counters.items():
        family, _, rest = key.partition("|")
        parts = rest.split("|")
        if family == "requests" and len(parts) == 4:
            row = table.setdefault(parts[1], {"requests": 0, "errors": 0})
            row["requests"] += n
            if parts[3] in ("5xx", "error"):
                row["errors"] += n
        elif family == "checks_failed" and len(parts) == 2:
            table.setdefault(parts[1], {"requests": 0, "errors": 0})["errors"] += n
    rows = [{"endpoint": e, "requests": int(r["requests"]), "errors": int(r["errors"]),
             "error_ratio": r["errors"] / r["requests"] if r["requests"] else 0.0}
            for e, r in table.items()]
    return sorted(rows, key=lambda r: (-r["error_ratio"], -r["requests"], r["endpoint"]))


def actions(verdict: dict[str, Any]) -> list[dict[str, str]]:
    """One recommended action per failed objective or gate, with its runbook."""
    out = []
    if verdict["gates"]["data_exposures"]["measured"] > \
            verdict["gates"]["data_exposures"]["allowed"]:
        out.append({"action": "Stop: a security probe read data it must not. Fix the access"
                              " rule before any go-live, then rehearse again.",
                    "alert": "FirstbellDataExposure",
                    "runbook": f"{RUNBOOKS}/firstbell-data-exposure.md"})
    for o in verdict["objectives"]:
        if o["passed"]:
            continue
        alert, file = ACTIONS[o["measure"]]
        what = {"p95": "latency", "p99": "tail latency", "error_ratio": "errors",
                "arrival_ratio": "the load generator's arrival rate"}[o["measure"]]
        out.append({"action": f"{o['name']}: bring {what} of {o['group']} within"
                              f" {o['threshold']:g}{' s' if o['measure'] in ('p95', 'p99') else ''}"
                              " and rehearse again.",
                    "alert": alert, "runbook": f"{RUNBOOKS}/{file}"})
    return out


def system_rehearsed(plan: dict[str, Any]) -> str:
    """Which system the run drove, as leadership reads it: the product a target file declares
    (``RosarioSIS 12.0``), else the target file's name, else firstbell's reference SIS."""
    target_file = plan.get("target_file")
    if not target_file:
        target = plan.get("target", "staging")
        return "firstbell's reference staging SIS" if target == "staging" else f"target {target}"
    product = target_file.get("product") or {}
    name = " ".join(x for x in (product.get("name"), product.get("version")) if x)
    return f"{name} (target file {target_file.get('name')})" if name \
        else f"target file {target_file.get('name')}"


def load(run_dir: Path, baseline: Path | None = None,
         capacity_file: Path | None = None,
         readiness_file: Path | None = None) -> dict[str, Any]:
    """The report's data, from a run directory (and a baseline run directory, the
    capacity.json of a `firstbell capacity` search and the readiness.json of
    `firstbell readiness` when they are not in the run directory)."""
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    run = _read(run_dir / "run.json")
    intervals = _lines(run_dir / "intervals.jsonl")
    exposures = _lines(run_dir / "exposures.jsonl")
    if (run_dir / "summary.json").is_file() and (run_dir / "verdict.json").is_file():
        verdict = _read(run_dir / "verdict.json")
        summary = _read(run_dir / "summary.json")
    else:  # the master died before its end: what the intervals on disk say, marked partial
        summary, verdict = reconstruct(run_dir, run, intervals, exposures)
    scenario = _read(run_dir / "scenario.json", required=False) or {}
    if capacity_file is not None and not capacity_file.is_file():
        raise UserError(f"option --capacity: {capacity_file}: no such file; give the"
                        " capacity.json a `firstbell capacity` search wrote")
    capacity = (_read(capacity_file) if capacity_file is not None
                else _read(run_dir / "capacity.json", required=False))
    saturation = _read(run_dir / "saturation.json", required=False)
    if readiness_file is not None and not readiness_file.is_file():
        raise UserError(f"option --readiness: {readiness_file}: no such file; give the"
                        " readiness.json `firstbell readiness` wrote")
    readiness = (_read(readiness_file) if readiness_file is not None
                 else _read(run_dir / "readiness.json", required=False))
    people = None
    if readiness is not None:
        if "summary" not in readiness or "schools" not in readiness:
            raise UserError(f"{readiness_file or run_dir / 'readiness.json'}: not a"
                            " readiness.json of `firstbell readiness` (no summary/schools)")
        people = people_section(readiness)
        verdict = people_gate(verdict, people)
    plan = run.get("plan", {})
    groups = sorted({o["group"] for o in verdict["objectives"]
                     if o["measure"] in ("p95", "p99") and o["group"] != "*"})
    forecast = scenario.get("total_peak_rate")
    headroom = None
    if capacity and forecast:
        headroom = capacity_headroom(float(capacity.get("sustainable_rate", 0.0)), forecast)
    data: dict[str, Any] = {
        "run_id": run.get("run_id"), "run_dir": run_dir.name, "verdict": verdict,
        "rehearsed": {
            "scenario": plan.get("scenario"), "title": plan.get("title") or plan.get("scenario"),
            "rehearses": scenario.get("rehearses", ""), "profile": plan.get("profile", ""),
            "date": plan.get("date", ""), "speed": plan.get("speed"),
            "scale": scenario.get("scale", 1.0), "target": run.get("target"),
            "started_at": run.get("started_at"), "duration": summary.get("duration"),
            "window": scenario.get("window"), "workers": run.get("workers"),
            "system": system_rehearsed(plan),
            # the plan's two concurrency figures, each named for what it is
            "peak_rate": scenario.get("total_peak_rate"),
            "peak_at": scenario.get("total_peak_at"),
            "in_flight": scenario.get("peak_concurrency"),
            "logged_in": scenario.get("peak_logged_in"),
            "session_lifetime": scenario.get("session_lifetime_seconds"),
            "not_rehearsed": list(plan.get("not_rehearsed", [])),
        },
        "assumptions": plan.get("assumptions", []),
        "totals": {"requests": summary["requests"], "exposures": summary["exposures"],
                   "sessions_started": sum(a["started"] for a in summary["arrivals"].values()),
                   "sessions_due": round(sum(a["expected"]
                                             for a in summary["arrivals"].values()), 1),
                   "corrected": _timing(summary["overall"]["corrected"]),
                   "service": _timing(summary["overall"]["service"]),
                   "partial": summary["partial"]},
        # people, sessions and login attempts per person beside the plan's (older runs: none)
        "amplification": summary.get("amplification") or {},
        "thresholds": {o["name"]: o["threshold"] for o in verdict["objectives"]},
        "latency": latency_series(intervals, groups),
        "arrivals": arrival_series(intervals),
        "errors": errors_by_endpoint(summary["counters"]),
        "exposures": exposures,
        "capacity": capacity, "forecast_peak": forecast, "headroom": headroom,
        "headroom_required": verdict["gates"]["capacity_headroom"]["required"],
        "actions": actions(verdict), "baseline": None, "saturation": saturation,
        # load processes lost mid-run (when, how much load went with them), and why the run is
        # partial when its master died before writing its summary
        "lost_workers": summary.get("lost_workers") or [],
        "partial_note": (summary.get("reconstructed") or {}).get("note")
        or ("interrupted: the numbers cover the part that ran" if summary["partial"] else None),
        "people": people,
    }
    personas = sorted(p for p, a in summary["arrivals"].items()
                      if a.get("started") or a.get("expected"))
    data["page_one"] = page_one.build(
        data, worst_moment(scenario, intervals, plan.get("speed") or scenario.get("speed"),
                           data["thresholds"], groups), personas)
    data["headroom_steps"] = headroom_steps(capacity)
    data["changes"] = None
    if baseline is not None:
        if not (baseline / "run.json").is_file():
            raise UserError(f"option --baseline: {baseline}: no run.json there: give an"
                            " earlier run directory (or `last`)")
        before = load(baseline)
        data["baseline"] = {"run_id": before["run_id"], "diff": baseline_diff(data, before)}
        data["changes"] = changes(data, before)
    return data


def headroom_steps(capacity: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The measured steps with their multiple of the forecast peak (a `firstbell capacity`
    search's steps have none: computed from its own forecast peak)."""
    if not capacity or not capacity.get("steps") or not capacity.get("forecast_peak"):
        return []
    peak = float(capacity["forecast_peak"])
    return [{**s, "multiple": round(float(s["multiple"]) if s.get("multiple") is not None
                                    else float(s["rate"]) / peak, 4)}
            for s in capacity["steps"]]
