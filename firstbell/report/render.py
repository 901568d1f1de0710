"""The report's three files from its data: `report.html` (one self-contained page: inline
SVG charts, no scripts, no network, printable), `report.md` (a summary for email or chat) and
`report.json` (the data itself). Written through temporary files and renamed at the end."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from firstbell.report import charts
from kernel.errors import UserError

FILES = ("report.html", "report.md", "report.json")


def fmt(value: float | None, measure: str) -> str:
    if value is None:
        return "n/a"
    if measure in ("p95", "p99"):
        return f"{value:.3g} s"
    if measure in ("error_ratio", "arrival_ratio"):
        return f"{value:.2%}"
    return f"{value:.4g}"


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("firstbell.report", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.globals["fmt"] = fmt
    return env


def _capacity_chart(data: dict[str, Any]) -> str:
    cap = data.get("capacity")
    if not cap or not cap.get("points"):
        return ""
    points = [(float(n), float(x)) for n, x in cap["points"]]
    fitted = [(float(n), float(x)) for n, x in cap.get("fitted", [])]
    return charts.capacity(points, fitted, cap.get("knee"))


def html(data: dict[str, Any], runbook_root: str) -> str:
    lat = data["latency"]
    latency_charts = [
        (g, charts.latency(g, lat["clock"], s,
                           {q: data["thresholds"][f"{g}.{q}"] for q in ("p95", "p99")
                            if f"{g}.{q}" in data["thresholds"]}))
        for g, s in lat["groups"].items() if any(v is not None for v in s["p95"])]
    arr = data["arrivals"]
    started = data["rehearsed"].get("started_at")
    return _environment().get_template("report.html.j2").render(
        d=data, latency_charts=latency_charts,
        arrivals_chart=charts.arrivals(arr["clock"], arr["planned"], arr["achieved"]),
        capacity_chart=_capacity_chart(data), runbook_root=runbook_root,
        started=dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        if started else "n/a")


def markdown(data: dict[str, Any]) -> str:
    return _environment().get_template("report.md.j2").render(d=data)


def write(out: Path, data: dict[str, Any], runbook_root: str) -> list[Path]:
    texts = {"report.html": html(data, runbook_root), "report.md": markdown(data),
             "report.json": json.dumps(data, indent=1, sort_keys=True, default=str) + "\n"}
    written = []
    try:
        for name, text in texts.items():
            path = out / name
            tmp = path.with_name(path.name + ".tmp")
            written.append((tmp, path))
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:  # the disk full: no report, and no half-written file left behind
        for tmp, _ in written:
            tmp.unlink(missing_ok=True)
        raise UserError(f"{written[-1][1]}: cannot write it ({exc.strerror or exc}); no report"
                        f" was written: free space in {out} and run `firstbell report` again"
                        ) from None
    for tmp, path in written:  # all written before any is replaced
        os.replace(tmp, path)
    return [path for _, path in written]
