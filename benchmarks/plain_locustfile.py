"""Plain Locust, the baseline of bench_engine.py: one task, GET ``/``, on `FastHttpUser`.

    locust -f benchmarks/plain_locustfile.py FlatOut      # wait_time = constant(0): saturation
    locust -f benchmarks/plain_locustfile.py Paced        # constant_throughput(PLAIN_PACE) per user

`PLAIN_PACE` (environment, requests per second per user, default 1) sets the paced users'
throughput; bench_engine.py sizes the user count so users x pace is the arrival rate it wants.
"""

from __future__ import annotations

import os

from locust import FastHttpUser, constant, constant_throughput, task


class FlatOut(FastHttpUser):
    wait_time = constant(0)

    @task
    def index(self) -> None:
        self.client.get("/")


class Paced(FastHttpUser):
    wait_time = constant_throughput(float(os.environ.get("PLAIN_PACE", "1")))

    @task
    def index(self) -> None:
        self.client.get("/")
