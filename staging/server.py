"""Run the staging SIS with uvicorn: ``python -m staging.server`` (settings from FIRSTBELL_*).

With more than one worker, uvicorn forks worker processes and prometheus-client's multiprocess
mode (a fresh ``PROMETHEUS_MULTIPROC_DIR``) merges their metrics at scrape time.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile

import uvicorn
from fastapi import FastAPI

from staging.app import create_app
from staging.config import Settings


def app_factory() -> FastAPI:
    settings = Settings()
    return create_app(settings, settings.database_url)


def main() -> None:
    settings = Settings()
    if not settings.database_url:
        raise SystemExit("FIRSTBELL_DATABASE_URL is not set; start the SIS with "
                         "'firstbell staging up', which sets it.")
    if settings.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        folder = tempfile.mkdtemp(prefix="firstbell-metrics-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    if settings.workers > 1 and not settings.signing_key:
        # Every worker must sign download links with the same key, or a link made by one
        # worker fails on another.
        os.environ["FIRSTBELL_SIGNING_KEY"] = secrets.token_urlsafe(32)
    try:
        uvicorn.run("staging.server:app_factory", factory=True, host=settings.host,
                    port=settings.port, workers=settings.workers, log_level="warning",
                    access_log=False, timeout_graceful_shutdown=5,
                    # The app applies forwarded headers from `trusted_proxies` only.
                    proxy_headers=False)
    finally:
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")
        if folder.startswith(tempfile.gettempdir()):
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
