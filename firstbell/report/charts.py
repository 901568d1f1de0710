"""The report's charts as inline SVG (pygal, with no JavaScript and no external resources, so the
HTML works offline and prints): latency per objective group against its thresholds, planned vs
achieved arrivals, and the capacity curve with its USL fit."""

from __future__ import annotations

import re
from typing import Any

import pygal
from pygal.style import Style

SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
STYLE = Style(background="white", plot_background="white", foreground="#333",
              foreground_strong="#111", foreground_subtle="#999",
              colors=("#1f77b4", "#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b"),
              font_family="sans-serif")


def _svg(chart: Any) -> str:
    """The chart's SVG without pygal's inline config script: with no tooltip JavaScript
    loaded it does nothing, and the report is a page without scripts."""
    return SCRIPT.sub("", str(chart.render(is_unicode=True)))


def _base(kind: Any, title: str, y_title: str, **kw: Any) -> Any:
    return kind(js=[], disable_xml_declaration=True, width=720, height=300, style=STYLE,
                title=title, y_title=y_title, show_dots=False, x_label_rotation=0,
                show_minor_x_labels=False, truncate_legend=-1, legend_at_bottom=True,
                print_values=False, **kw)


def _labels(clock: list[str], every: int = 8) -> tuple[list[str], list[str]]:
    step = max(1, len(clock) // every)
    return clock, clock[::step]


def latency(group: str, clock: list[str], series: dict[str, list[float | None]],
            thresholds: dict[str, float]) -> str:
    chart = _base(pygal.Line, f"{group}: corrected latency", "seconds")
    chart.x_labels, chart.x_labels_major = _labels(clock)
    for q in ("p95", "p99"):
        chart.add(q, series[q])
        if q in thresholds:  # the launch threshold, as a flat line
            chart.add(f"{q} threshold {thresholds[q]:g} s", [thresholds[q]] * len(clock),
                      stroke_style={"dasharray": "6, 4", "width": 2})
    return _svg(chart)


def arrivals(clock: list[str], planned: list[float], achieved: list[float]) -> str:
    chart = _base(pygal.Line, "Arrivals: planned vs achieved", "sessions / s")
    chart.x_labels, chart.x_labels_major = _labels(clock)
    chart.add("planned", planned)
    chart.add("achieved", achieved)
    return _svg(chart)


def capacity(points: list[tuple[float, float]], fitted: list[tuple[float, float]],
             knee: float | None) -> str:
    chart = _base(pygal.XY, "Capacity: throughput by concurrency (USL fit)",
                  "sessions / s", x_title="sessions in flight", stroke=True)
    chart.add("measured", points, stroke=False, show_dots=True, dots_size=4)
    chart.add("USL fit", fitted)
    if knee is not None and points:
        top = max(y for _, y in points)
        chart.add(f"latency knee ({knee:g})", [(knee, 0), (knee, top)],
                  stroke_style={"dasharray": "6, 4"})
    return _svg(chart)
