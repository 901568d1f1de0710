"""Capacity analysis: the Universal Scalability Law fitted to a concurrency sweep, the latency
knee, and the stepped arrival-rate search (policy, sustainable rate, headroom). Pure functions
of measurements; running the load and reading run directories live elsewhere."""

from firstbell.capacity.steps import Step, headroom, next_rates, sustainable
from firstbell.capacity.usl import UslFit, fit_usl, latency_knee

__all__ = ["Step", "UslFit", "fit_usl", "headroom", "latency_knee", "next_rates", "sustainable"]
