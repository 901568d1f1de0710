"""Target-file sessions against the built-in Python paths (issue: targets outside the package):
CPU seconds of the load generator per request, the guardian persona of
targets/staging-portal against loadtests/targets/staging/guardian.py.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_targetfile.py [--sessions 300] [--rounds 6]

Both run on the engine's own browser (`EngineBrowser` on a Locust `FastHttpSession`, the
recorder's HDR timings, think scale 0) with the same seeds and identities, against a tiny local
server in another process answering canned staging-like JSON (so the server's CPU is not
counted): login, home with two children, grades, attendance, the report-card link and PDF, the
two grade probes refused with 404, logout. CPU is this process's `time.process_time`; the two
kinds alternate, round after round, and the medians are compared. Target: at most 1.2x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import locust  # noqa: F401  (gevent's monkey-patching, before anything else opens sockets)

ROOT = Path(__file__).resolve().parents[1]
KIDS = [101, 102]
SECTIONS = [11, 12, 13, 14]


class Canned(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else keep-alive answers wait out delayed ACKs (40 ms)

    def log_message(self, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self._headers_buffer.append(b"\r\n" + body)  # type: ignore[attr-defined]
        self.flush_headers()  # headers and body in one write

    def _json(self, status: int, value: Any) -> None:
        self._send(status, json.dumps(value).encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path == "/api/auth/login":
            self._json(200, {"token": "tok-" + "x" * 40})
        else:
            self._send(204, b"")

    def do_GET(self) -> None:
        parts = self.path.split("/")
        if self.path == "/api/portal/home":
            self._json(200, {"role": "guardian", "today": "2026-09-01",
                             "students": [{"student_id": k, "name": f"Kid {k}"} for k in KIDS]})
        elif self.path.startswith("/api/reports/downloads/"):
            self._send(200, b"%PDF-1.4 " + b"x" * 2000, "application/pdf")
        elif len(parts) >= 6 and parts[3] == "students":
            kid = int(parts[4])
            if kid not in KIDS:
                self._json(404, {"error": "not_found"})
            elif parts[5] == "grades":
                self._json(200, {"student_id": kid, "classes": [
                    {"section_id": s, "course_title": f"Course {s}", "grade": "A"}
                    for s in SECTIONS]})
            elif parts[5] == "attendance":
                self._json(200, {"student_id": kid, "periods": [
                    {"section_id": s, "date": "2026-08-31", "status": "present"}
                    for s in SECTIONS]})
            else:  # report-card
                self._json(200, {"url": f"/api/reports/downloads/{kid}.sig",
                                 "expires_at": "2099-01-01T00:00:00+00:00"})
        else:
            self._json(404, {"error": "not_found"})


def serve(port: int) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", port), Canned)
    server.daemon_threads = True
    server.request_queue_size = 128
    server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    sys.path.insert(0, str(ROOT))
    import socket

    from locust.contrib.fasthttp import FastHttpSession
    from locust.event import EventHook

    from loadtests.session import EngineBrowser
    from loadtests.stats import Recorder
    from loadtests.targetfile.loader import load_target_file
    from loadtests.targetfile.target import build_target
    from loadtests.targets import load_target
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        targets = {"python": load_target("staging"),
                   "file": build_target(load_target_file(ROOT / "targets" / "staging-portal"))}
        plan = SimpleNamespace(mix={}, closed_think_scale=0.0, login_attempts=3,
                               login_timeout_seconds=10.0, login_backoff_seconds=0.5,
                               probe_rate=1.0, persona_think_scale=lambda persona: 0.0)
        students = {k: {"student_id": k, "sections": SECTIONS} for k in KIDS}
        pool = SimpleNamespace(lookup=lambda persona, key, value: students.get(value),
                               checkout=lambda persona: None, checkin=lambda p, r: None)
        probes = frozenset({"foreign_student", "no_access_child"})
        client = FastHttpSession(url, EventHook(), None, network_timeout=5.0,
                                 connection_timeout=5.0)
        client.client.cookiejar = None

        def one_round(kind: str, seed0: int) -> tuple[float, int]:
            target = targets[kind]
            recorder = Recorder()
            start = time.process_time()
            for i in range(args.sessions):
                me = {"username": f"g{i}", "password": "pw", "user_id": i, "children": KIDS,
                      "no_access_children": [103] if i % 3 == 0 else [],
                      "forbidden_students": [201, 202, 203, 103]}
                b = EngineBrowser(client, recorder, pool, plan,  # type: ignore[arg-type]
                                  target.login, "guardian", me, time.perf_counter(),
                                  seed0 + i, probes)
                target.click_paths["guardian"](b)
            cpu = time.process_time() - start
            counters = recorder.delta.counters
            requests = int(sum(v for k, v in counters.items() if k.startswith("requests")))
            bad = [k for k, v in counters.items() if v and k.startswith(
                ("checks_failed", "probes") ) and "denied" not in k]
            if bad or recorder.delta.exposures:
                raise SystemExit(f"{kind}: unexpected {bad or 'exposures'}")
            return cpu, requests

        results: dict[str, list[float]] = {"python": [], "file": []}
        counts: dict[str, int] = {}
        one_round("python", 0)  # warm-up: connections, imports, caches
        one_round("file", 0)
        for r in range(args.rounds):
            order = ("python", "file") if r % 2 == 0 else ("file", "python")
            for kind in order:
                cpu, n = one_round(kind, 1000 * r)
                results[kind].append(cpu / n * 1e6)
                counts[kind] = n
        print(f"guardian sessions per round: {args.sessions}, rounds: {args.rounds}"
              f" (interleaved), requests per round: python {counts['python']},"
              f" file {counts['file']}")
        print(f"{'round':>5}  {'python µs/req':>14}  {'file µs/req':>12}  {'ratio':>6}")
        for i, (p, f) in enumerate(zip(results["python"], results["file"], strict=True)):
            print(f"{i:>5}  {p:>14.1f}  {f:>12.1f}  {f / p:>6.2f}")
        mp, mf = statistics.median(results["python"]), statistics.median(results["file"])
        print(f"{'median':>5}  {mp:>14.1f}  {mf:>12.1f}  {mf / mp:>6.2f}"
              f"   (target <= 1.20: {'met' if mf / mp <= 1.2 else 'MISSED'})")
    finally:
        server.terminate()
        server.wait(5)


if __name__ == "__main__":
    main()
