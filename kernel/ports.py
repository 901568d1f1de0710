"""The default ports the parts agree on: the load generator's exporter (which `monitoring`
scrapes and `loadtests` serves), the Locust master's port (which `firstbell run` binds and
`firstbell worker` dials) and the staging SIS's HTTP port (which `staging` serves and
`monitoring` scrapes); and the one way every part probes a port before it starts a server.

The probe binds with ``SO_REUSEADDR``, as the servers themselves do (uvicorn, PostgreSQL,
php's built-in server): connections left in TIME_WAIT by a server stopped a moment ago do not
stop a new server from binding, so they must not make the port look taken either. A port a
process listens on is still refused (Linux refuses that bind even with the option).
"""

from __future__ import annotations

import socket

EXPORTER_PORT = 9646
MASTER_PORT = 5557
STAGING_PORT = 8700
LOOPBACK = "127.0.0.1"


def _socket(host: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return s


def port_free(host: str, port: int) -> bool:
    """Whether a server could bind `host`:`port` now."""
    with _socket(host) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = LOOPBACK) -> int:
    """A port no one listens on at `host`, chosen by the kernel."""
    with _socket(host) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
