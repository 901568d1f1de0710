"""The port probe: a port whose last server left connections in TIME_WAIT is free (a server
binding with SO_REUSEADDR, as uvicorn does, takes it at once); a port someone listens on is not."""

from __future__ import annotations

import socket

from kernel.ports import LOOPBACK, free_port, port_free
from staging import control


def _time_wait_port() -> int:
    """A port with a connection in TIME_WAIT and nothing listening: the server side closes
    first (as a stopped server does), so the TIME_WAIT is on the server's port."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((LOOPBACK, 0))
        server.listen()
        port = int(server.getsockname()[1])
        client = socket.create_connection((LOOPBACK, port))
        accepted, _ = server.accept()
        accepted.close()
        client.recv(1)  # the FIN arrived
        client.close()
    return port


def test_a_port_in_time_wait_is_free() -> None:
    port = _time_wait_port()
    with socket.socket() as plain:  # the old probe: a bind without SO_REUSEADDR fails here
        try:
            plain.bind((LOOPBACK, port))
            pytest_skip = True
        except OSError:
            pytest_skip = False
    assert not pytest_skip, "no TIME_WAIT was left on the port: the test proves nothing"
    assert port_free(LOOPBACK, port)
    with socket.socket() as server:  # and a server binding like uvicorn does takes it
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind((LOOPBACK, port))


def test_a_listening_port_is_taken() -> None:
    with socket.socket() as taken:
        taken.bind((LOOPBACK, 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        assert not port_free(LOOPBACK, port)
    assert port_free(LOOPBACK, free_port())


def test_staging_up_uses_the_same_probe() -> None:
    # `staging up` refused "port 8700 is in use" after a restart: it must use this probe.
    assert control.port_free is port_free and control.free_port is free_port
