"""The default ports the parts agree on: the load generator's exporter (which `monitoring`
scrapes and `loadtests` serves), the Locust master's port (which `firstbell run` binds and
`firstbell worker` dials) and the staging SIS's HTTP port (which `staging` serves and
`monitoring` scrapes). Numbers only: each part keeps its own code for what runs on them."""

from __future__ import annotations

EXPORTER_PORT = 9646
MASTER_PORT = 5557
STAGING_PORT = 8700
LOOPBACK = "127.0.0.1"
