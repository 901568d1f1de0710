"""Latency histogram bucket edges, the one list the staging SIS and the load generator share.

Why both use it: a histogram's bucket edges must include every latency threshold, so the share
of requests under a threshold is counted exactly, not interpolated between edges. The SIS's
``sis_http_request_duration_seconds`` and the generator's ``firstbell_request_latency_seconds``
are read against the same launch thresholds (0.5, 1, 2, 3, 5 s); with one list, a threshold
added here is exact on both sides.
"""

from __future__ import annotations

LATENCY_EDGES = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 3.0,
                 5.0, 7.5, 10.0, 30.0)
