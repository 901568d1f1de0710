"""The launch thresholds: the one written statement of what "good enough to go live" means.

The load engine judges runs by them, monitoring generates its alerts and dashboard lines from
them, scenarios and the report read them; so they sit at the bottom, below every part that
reads them. This package owns the model (`model`), the loader and its errors (`loader`) and
the built-in file, `launch-thresholds.yaml`.
"""

from thresholds.loader import DEFAULT_FILE, ThresholdError, load_thresholds
from thresholds.model import (
    Arrivals,
    Check,
    Defaults,
    Gates,
    Measure,
    Objective,
    Thresholds,
    checks,
    latency_thresholds,
)

__all__ = ["DEFAULT_FILE", "Arrivals", "Check", "Defaults", "Gates", "Measure", "Objective",
           "ThresholdError", "Thresholds", "checks", "latency_thresholds", "load_thresholds"]
