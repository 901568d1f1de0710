"""The report's charts as inline SVG (pygal, with no JavaScript and no external resources, so the
HTML works offline and prints): latency per objective group against its thresholds, arrivals
planned vs achieved vs retried, the headroom steps, and the capacity curve with its USL fit.

Time charts are XY charts over the simulated clock (seconds after midnight) with a few round
HH:MM ticks. pygal's Line chart with one category label per interval cannot be read: it
truncates every label to the space of *all* labels, shown or not (`Graph._x_axis`), so with a
hundred intervals each got one character ("0…"). Every y axis starts at 0; latency is in
milliseconds below one second."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import pygal
from pygal.style import Style

from kernel.clock import hhmm

SCRIPT = re.compile(r"<script\b.*?</script>", re.S)
STYLE = Style(background="white", plot_background="white", foreground="#333",
              foreground_strong="#111", foreground_subtle="#999",
              colors=("#1f77b4", "#d62728", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
                      "#555555", "#17becf"),
              font_family="sans-serif", value_font_size=11, value_label_font_size=11,
              guide_stroke_color="#e4e4e4", major_guide_stroke_color="#e4e4e4",
              guide_stroke_dasharray="1,0", major_guide_stroke_dasharray="1,0")
TICK_MINUTES = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360)
DASHED = {"dasharray": "6, 4", "width": 2}
Point = tuple[float, float | None]


def _svg(chart: Any) -> str:
    """The chart's SVG without pygal's inline config script: with no tooltip JavaScript
    loaded it does nothing, and the report is a page without scripts."""
    return SCRIPT.sub("", str(chart.render(is_unicode=True)))


def seconds_label(value: float) -> str:
    """A latency as people read it: ``250 ms`` below a second, ``1.5 s`` from one."""
    if value < 1:
        return f"{value * 1000:.3g} ms" if value else "0"
    return f"{value:.3g} s"


def clock_label(value: float) -> str:
    return hhmm(value % 86400)


def time_ticks(lo: float, hi: float) -> list[float]:
    """Round clock times between `lo` and `hi` (simulated seconds), 6 to 10 of them when the
    span allows: the smallest round step that gives at most 10."""
    for minutes in TICK_MINUTES:
        step = minutes * 60
        first = math.ceil(lo / step) * step
        ticks: list[float] = [first + k * step for k in range(int((hi - first) // step) + 1)]
        if len(ticks) <= 10:
            return ticks
    return [lo, hi]


def nice_top(value: float) -> float:
    """The next round number above `value` (1, 2, 2.5, 5 × 10^k) for a y axis's top."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return next(m * power for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * power >= value)


def _xy(**kw: Any) -> Any:
    """An XY chart as every chart here is: no scripts, labels never cut, labels printed on
    the lines that carry one, the legend below in two columns, y from 0."""
    return pygal.XY(js=[], disable_xml_declaration=True, width=760, style=STYLE,
                    truncate_label=-1, truncate_legend=-1, legend_at_bottom=True,
                    legend_at_bottom_columns=2, print_labels=True, include_x_axis=True, **kw)


def _time_chart(title: str, y_title: str, clock: Sequence[float], top: float,
                formatter: Any, peak: float | None) -> Any:
    lo, hi = (min(clock), max(clock)) if clock else (0.0, 3600.0)
    if peak is not None:  # the first interval ends after the window starts: keep its peak in
        lo, hi = min(lo, peak), max(hi, peak)
    if hi <= lo:
        hi = lo + 60
    chart = _xy(height=360, title=title, y_title=y_title, x_title="simulated time of day",
                show_dots=False, xrange=(lo, hi), range=(0, top), x_value_formatter=clock_label,
                value_formatter=formatter, allow_interruptions=True)
    chart.x_labels = time_ticks(lo, hi)
    return chart


def _labelled_line(chart: Any, title: str, points: list[tuple[float, float]], label: str,
                   at: int = 0) -> None:
    """A dashed line with its `label` written on it (at point `at`), not only in the legend."""
    values: list[Any] = [{"value": p, "node": {"r": 0}} for p in points]
    values[at] = {"value": points[at], "label": label, "node": {"r": 0}}
    chart.add(title, values, show_dots=True, dots_size=0, stroke_style=DASHED)


def _peak_marker(chart: Any, peak: float | None, top: float) -> None:
    if peak is not None:
        _labelled_line(chart, f"forecast peak {clock_label(peak)}",
                       [(peak, top), (peak, 0.0)], f"peak {clock_label(peak)}")


def latency(group: str, clock: list[float], series: dict[str, list[float | None]],
            thresholds: dict[str, float], peak: float | None = None) -> str:
    """Corrected p95/p99 per interval against the thresholds, the forecast peak marked."""
    values = [v for q in ("p95", "p99") for v in series[q] if v is not None]
    # the lowest threshold is always in view; a higher one only when the data reach near it,
    # else the lines people must read would be squashed flat at the bottom
    top = nice_top(max([*values, min(thresholds.values(), default=0.0), 0.001]) * 1.1)
    chart = _time_chart(f"{group}: corrected latency per interval", "latency", clock, top,
                        seconds_label, peak)
    for q in ("p95", "p99"):
        chart.add(q, list(zip(clock, series[q], strict=True)))
    lo, hi = min([*clock, *([peak] if peak is not None else [])]), max(clock, default=0.0)
    for q, at in (("p95", 1), ("p99", 6)):
        if q in thresholds and clock and thresholds[q] > top:
            chart.add(f"{q} threshold {seconds_label(thresholds[q])} (above the chart)", [])
        elif q in thresholds and clock:  # the launch threshold, named on its line (inside)
            text = f"{q} threshold {seconds_label(thresholds[q])}"
            _labelled_line(chart, text, [(lo + (hi - lo) * k / 10, thresholds[q])
                                         for k in range(11)], text, at)
    _peak_marker(chart, peak, top)
    return _svg(chart)


def arrivals(clock: list[float], planned: list[float], achieved: list[float],
             returns: list[float], retries: list[float], peak: float | None = None) -> str:
    """Sessions starting per second as planned, as achieved, and the retries on top."""
    top = nice_top(max([*planned, *achieved, *returns, *retries, 0.1]) * 1.1)
    chart = _time_chart("Arrivals: planned vs achieved vs retried", "sessions / s", clock, top,
                        lambda v: f"{v:.3g}", peak)
    chart.add("planned arrivals", list(zip(clock, planned, strict=True)))
    chart.add("achieved arrivals", list(zip(clock, achieved, strict=True)))
    chart.add("came back after a failed login", list(zip(clock, returns, strict=True)))
    chart.add("login attempts retried", list(zip(clock, retries, strict=True)))
    _peak_marker(chart, peak, top)
    return _svg(chart)


def headroom(steps: list[dict[str, Any]], forecast: float, required: float,
             held: float | None) -> str:
    """Each step's offered load against what got through, in multiples of the forecast peak;
    the forecast peak, the required headroom and the headroom held marked."""
    points = [(float(s["multiple"]), float(s.get("achieved") or 0.0) / forecast, s)
              for s in steps]
    right = nice_top(max([p[0] for p in points] + [required, held or 0.0, 1.0]) * 1.1)
    top = nice_top(max([p[1] for p in points] + [right]))
    chart = _xy(height=380, title="Headroom: what got through as the load rose",
                x_title="offered load (× forecast peak)", y_title="achieved (× forecast peak)",
                xrange=(0, right), range=(0, top), x_value_formatter=lambda v: f"{v:g}×",
                value_formatter=lambda v: f"{v:g}×")
    for name, ok in (("held", True), ("failed", False)):
        chart.add(f"steps that {name}", [
            {"value": (x, y), "label": f"p95 {seconds_label(float(s['p95']))}"
             if s.get("p95") is not None else ""}
            for x, y, s in points if bool(s.get("passed")) is ok],
            stroke=False, show_dots=True, dots_size=5)
    chart.add("everything offered got through", [(0.0, 0.0), (right, right)],
              stroke_style={"dasharray": "2, 4"}, show_dots=False)
    _labelled_line(chart, "forecast peak (1×)", [(1.0, top), (1.0, 0.0)], "forecast peak")
    _labelled_line(chart, f"required {required:g}×", [(required, top * 0.9), (required, 0.0)],
                   f"required {required:g}×")
    if held is not None:
        _labelled_line(chart, f"headroom held {held:g}×", [(held, top * 0.8), (held, 0.0)],
                       f"held {held:g}×")
    return _svg(chart)


def capacity(points: list[tuple[float, float]], fitted: list[tuple[float, float]],
             knee: float | None) -> str:
    top = nice_top(max([y for _, y in [*points, *fitted]] + [0.1]) * 1.1)
    chart = _xy(height=340, title="Capacity: throughput by concurrency (USL fit)",
                y_title="sessions / s", x_title="sessions in flight", show_dots=False,
                range=(0, top), xrange=(0, max([x for x, _ in points] + [1]) * 1.3))
    chart.add("measured", points, stroke=False, show_dots=True, dots_size=4)
    chart.add("USL fit", fitted)
    if knee is not None and points:
        _labelled_line(chart, f"latency knee ({knee:g})", [(knee, top), (knee, 0.0)],
                       f"knee {knee:g}")
    return _svg(chart)
