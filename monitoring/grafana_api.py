"""Grafana over its HTTP API, with grafana-client (the maintained fork): publish the datasource
and the dashboards into a `firstbell` folder, and annotate a run (a point at its start, at each
scenario phase change and on abort; at the end the start annotation becomes a region over the
whole run). Tags: `firstbell`, `run:<id>`, `scenario:<name>`. Annotation failures are logged,
never fatal: a run must not stop because Grafana is away."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from grafana_client import GrafanaApi
from grafana_client.client import GrafanaClientError, GrafanaException

from monitoring.config import MonitoringConfig
from monitoring.dashboards import DATASOURCE, prometheus_datasource
from monitoring.dashboards import render as render_dashboards
from thresholds import Thresholds

log = logging.getLogger("firstbell")
FOLDER_UID = "firstbell"
OVERVIEW_UID = "firstbell-launch-overview"


def connect(url: str, token: str, timeout: float = 5.0) -> GrafanaApi:
    """A client for `url` with a service-account token (sent as ``Authorization: Bearer``)."""
    return GrafanaApi.from_url(url, credential=token, timeout=timeout)


def _missing(exc: GrafanaClientError) -> bool:
    return exc.status_code == 404


def publish(api: GrafanaApi, t: Thresholds, cfg: MonitoringConfig) -> list[str]:
    """Create or update the datasource (fixed uid), the folder and every dashboard; returns the
    dashboards' URLs as Grafana reports them."""
    datasource = prometheus_datasource(cfg, default=False)
    try:
        api.datasource.get_datasource_by_uid(DATASOURCE["uid"])
        api.datasource.update_datasource_by_uid(DATASOURCE["uid"], datasource)
    except GrafanaClientError as exc:
        if not _missing(exc):
            raise
        api.datasource.create_datasource(datasource)
    try:
        api.folder.get_folder(FOLDER_UID)
    except GrafanaClientError as exc:
        if not _missing(exc):
            raise
        api.folder.create_folder("firstbell", uid=FOLDER_UID)
    urls = []
    for text in render_dashboards(t).values():
        board = json.loads(text)
        board["id"] = None  # matched by uid; Grafana assigns its own numeric id
        answer = api.dashboard.update_dashboard({
            "dashboard": board, "folderUid": FOLDER_UID, "overwrite": True,
            "message": "firstbell monitoring: generated from the launch thresholds"})
        urls.append(str(answer.get("url", "")))
    return urls


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


@dataclass
class RunAnnotations:
    """The annotations of one run; every call is best effort."""

    api: GrafanaApi
    base_url: str
    run_id: str
    scenario: str
    started: float = 0.0
    start_id: int | None = None
    errors: list[str] = field(default_factory=list)

    @property
    def tags(self) -> list[str]:
        return ["firstbell", f"run:{self.run_id}", f"scenario:{self.scenario}"]

    def _call(self, what: str, fn: Any, **kw: Any) -> Any:
        try:
            return fn(**kw)
        except (GrafanaException, OSError, ValueError) as exc:
            self.errors.append(f"{what}: {exc}")
            log.warning("Grafana annotation (%s) failed: %s", what, exc)
            return None

    def start(self, text: str, at: float | None = None) -> None:
        self.started = at if at is not None else time.time()
        answer = self._call("start", self.api.annotations.add_annotation,
                            time_from=_ms(self.started), tags=self.tags,
                            text=f"firstbell run {self.run_id} started: {text}")
        if isinstance(answer, dict) and "id" in answer:
            self.start_id = int(answer["id"])

    def phase(self, label: str, at: float | None = None) -> None:
        self._call("phase", self.api.annotations.add_annotation,
                   time_from=_ms(at if at is not None else time.time()),
                   tags=[*self.tags, "phase"], text=f"phase: {label}")

    def abort(self, reason: str, at: float | None = None) -> None:
        self._call("abort", self.api.annotations.add_annotation,
                   time_from=_ms(at if at is not None else time.time()),
                   tags=[*self.tags, "abort"], text=f"aborted: {reason}")

    def end(self, verdict: str, reasons: list[str], at: float | None = None) -> str:
        """Turn the start annotation into a region over the run; the dashboard link."""
        ended = at if at is not None else time.time()
        text = f"firstbell run {self.run_id} ({self.scenario}): {verdict}" + "".join(
            f"\n- {r}" for r in reasons)
        if self.start_id is not None:
            self._call("end", self.api.annotations.update_annotation,
                       annotations_id=self.start_id, time_from=_ms(self.started),
                       time_to=_ms(ended), tags=[*self.tags, verdict.lower()], text=text)
        else:
            self._call("end", self.api.annotations.add_annotation,
                       time_from=_ms(self.started or ended), time_to=_ms(ended),
                       tags=[*self.tags, verdict.lower()], text=text)
        return dashboard_link(self.base_url, self.started or ended, ended)


def dashboard_link(base_url: str, start: float, end: float) -> str:
    """The Launch overview over a run's time range (a little margin on both sides)."""
    return (f"{base_url.rstrip('/')}/d/{OVERVIEW_UID}/?from={_ms(start) - 30_000}"
            f"&to={_ms(end) + 30_000}")
