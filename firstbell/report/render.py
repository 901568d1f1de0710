"""The report's three files from its data: `report.html` (one self-contained page: inline
SVG charts, each with a caption, no scripts, no network, printable), `report.md` (page one and
the objectives, for email or chat) and `report.json` (the data itself); and a folder's
history (`history.md`, `history.html`). Written through temporary files, renamed at the end."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from firstbell.report import charts
from firstbell.report.moment import clock_seconds
from kernel.errors import UserError

FILES = ("report.html", "report.md", "report.json")


def fmt(value: float | None, measure: str) -> str:
    if value is None:
        return "n/a"
    if measure in ("p95", "p99"):
        return charts.seconds_label(value)
    if measure in ("error_ratio", "arrival_ratio"):
        return f"{value:.2%}"
    return f"{value:.4g}"


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("firstbell.report", "templates"),
                      autoescape=lambda name: bool(name and name.endswith(".html.j2")),
                      undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals["fmt"] = fmt
    env.globals["when"] = lambda t: dt.datetime.fromtimestamp(t, dt.UTC).strftime(
        "%Y-%m-%d %H:%M UTC") if t else "n/a"
    env.globals["ms"] = lambda v: "n/a" if v is None else charts.seconds_label(float(v))
    return env


def _capacity_chart(data: dict[str, Any]) -> str:
    cap = data.get("capacity")
    if not cap or not cap.get("points"):
        return ""
    points = [(float(n), float(x)) for n, x in cap["points"]]
    fitted = [(float(n), float(x)) for n, x in cap.get("fitted", [])]
    return charts.capacity(points, fitted, cap.get("knee"))


def _peak(data: dict[str, Any]) -> float | None:
    """The forecast peak on the run's clock (the interval clocks may run past midnight)."""
    at, clock = data["rehearsed"].get("peak_at"), data["latency"].get("at") or []
    if not at or not clock:
        return None
    peak = clock_seconds(at)
    while peak < clock[0] - 43200:
        peak += 86400
    return peak if clock[0] - 3600 <= peak <= clock[-1] + 3600 else None


def figures(data: dict[str, Any]) -> list[dict[str, str]]:
    """Every chart with its one-line caption saying what to look at."""
    out = []
    lat, peak = data["latency"], _peak(data)
    for g, s in lat["groups"].items():
        if not any(v is not None for v in s["p95"]):
            continue
        limits = {q: data["thresholds"][f"{g}.{q}"] for q in ("p95", "p99")
                  if f"{g}.{q}" in data["thresholds"]}
        worst = max(v for v in s["p95"] if v is not None)
        out.append({"id": f"latency-{g}", "svg": charts.latency(g, lat["at"], s, limits, peak),
                    "caption": f"{g}: the solid lines must stay under their dashed thresholds,"
                               " above all at the peak; the worst interval's p95 was"
                               f" {charts.seconds_label(worst)}."})
    arr = data["arrivals"]
    if arr["at"]:
        out.append({"id": "arrivals", "svg": charts.arrivals(
            arr["at"], arr["planned"], arr["achieved"], arr["returns"], arr["retries"], peak),
            "caption": "Achieved should lie on planned, peak included; a gap is load the SIS"
                       " never saw, and retries above zero are people the SIS turned away."})
    room = data["page_one"]["headroom"]
    cap = data.get("capacity") or {}
    if data["headroom_steps"] and cap.get("forecast_peak"):
        out.append({"id": "headroom", "svg": charts.headroom(
            data["headroom_steps"], float(cap["forecast_peak"]),
            float(room["required"] or 1.5), room["measured"]),
            "caption": "Steps that held sit on the dotted diagonal; the headroom is the last"
                       " held step, and it must lie right of the required line:"
                       f" {room['statement']}."})
    if cap.get("points"):
        out.append({"id": "capacity", "svg": _capacity_chart(data),
                    "caption": "Throughput stops rising with concurrency where the fitted curve"
                               " flattens: beyond it, more users only wait longer."})
    return out


def html(data: dict[str, Any], runbook_root: str) -> str:
    started = data["rehearsed"].get("started_at")
    return _environment().get_template("report.html.j2").render(
        d=data, figures=figures(data), runbook_root=runbook_root,
        started=dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        if started else "n/a")


def markdown(data: dict[str, Any]) -> str:
    return _environment().get_template("report.md.j2").render(d=data)


def _replace_all(texts: dict[Path, str]) -> list[Path]:
    written = []
    try:
        for path, text in texts.items():
            tmp = path.with_name(path.name + ".tmp")
            written.append((tmp, path))
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:  # the disk full: no report, and no half-written file left behind
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)
        raise UserError(f"{written[-1][1]}: cannot write it ({exc.strerror or exc}); nothing"
                        f" was written: free space in {written[-1][1].parent} and run the"
                        " command again") from None
    for tmp, path in written:  # all written before any is replaced
        os.replace(tmp, path)
    return [path for _, path in written]


def write_history(folder: Path, rows: list[dict[str, Any]]) -> list[Path]:
    """history.md and history.html in the folder of runs."""
    env = _environment()
    return _replace_all({folder / "history.md": env.get_template("history.md.j2").render(
        rows=rows, folder=folder.name),
        folder / "history.html": env.get_template("history.html.j2").render(
        rows=rows, folder=folder.name)})


def write(out: Path, data: dict[str, Any], runbook_root: str) -> list[Path]:
    texts = {"report.html": html(data, runbook_root), "report.md": markdown(data),
             "report.json": json.dumps(data, indent=1, sort_keys=True, default=str) + "\n"}
    return _replace_all({out / name: text for name, text in texts.items()})
