"""A tiny HTTP/1.1 keep-alive server that answers ``ok`` and, optionally, stalls: every
`--period` seconds it holds every answer for `--stall` seconds (a frozen database, a GC storm).
Each request in a stall window is answered when the window ends, so the ground truth of any
intended schedule is known exactly. asyncio only: one core serves ~10k requests/s, far more
than the stall benchmark needs.

    python benchmarks/stall_server.py --port 8081 --stall 1 --period 10
"""

from __future__ import annotations

import argparse
import asyncio
import time

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


def stall_left(now: float, start: float, stall: float, period: float) -> float:
    """Seconds until the current stall window ends (0 outside a window). Windows open at
    start + period - stall, start + 2 period - stall, …: the first `period - stall` seconds
    are calm so a run can warm up."""
    if stall <= 0:
        return 0.0
    phase = (now - start) % period
    return period - phase if phase >= period - stall else 0.0


class Handler(asyncio.Protocol):
    def __init__(self, start: float, stall: float, period: float) -> None:
        self.start, self.stall, self.period = start, stall, period
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            self.buffer = self.buffer[length:]
            wait = stall_left(time.monotonic(), self.start, self.stall, self.period)
            if wait:
                asyncio.get_running_loop().call_later(wait, self._answer)
            else:
                self._answer()

    def _answer(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(RESPONSE)


async def serve(port: int, stall: float, period: float) -> None:
    start = time.monotonic()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Handler(start, stall, period), "127.0.0.1", port,
                                      backlog=4096)
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--stall", type=float, default=0.0)
    parser.add_argument("--period", type=float, default=10.0)
    args = parser.parse_args()
    asyncio.run(serve(args.port, args.stall, args.period))


if __name__ == "__main__":
    main()
