"""Contract tests of firstbell's Grafana calls (grafana-client) against a local HTTP server that
checks them against Grafana's documented API shapes (tests/support/grafana_contract.py; there
is no Grafana server on these machines): publishing the datasource, folder and dashboards, and
a run's annotations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.grafana_contract import GrafanaState, grafana_app
from support.sis_server import serve

from firstbell.cli import main
from monitoring.config import DEFAULT
from monitoring.grafana_api import RunAnnotations, connect, dashboard_link, publish
from thresholds import load_thresholds

TOKEN = "glsa_contract_test_token"


@pytest.fixture
def grafana() -> Iterator[tuple[str, GrafanaState]]:
    state = GrafanaState(TOKEN)
    with serve(grafana_app(state)) as url:
        yield url, state


def test_publish_creates_then_updates(grafana: tuple[str, GrafanaState]) -> None:
    url, state = grafana
    api = connect(url, TOKEN)
    urls = publish(api, load_thresholds(), DEFAULT)
    assert sorted(urls) == ["/d/firstbell-capacity/firstbell-capacity-and-saturation",
                            "/d/firstbell-district/firstbell-district-data",
                            "/d/firstbell-endpoints/firstbell-endpoints",
                            "/d/firstbell-launch-overview/firstbell-launch-overview",
                            "/d/firstbell-readiness/firstbell-people-readiness"]
    assert state.datasources["firstbell-prometheus"]["url"] == DEFAULT.prometheus_url
    assert set(state.folders) == {"firstbell"}
    for body in state.dashboards.values():
        assert body["folderUid"] == "firstbell" and body["overwrite"] is True
        assert all(p["datasource"]["uid"] == "firstbell-prometheus"
                   for p in body["dashboard"]["panels"])
    publish(api, load_thresholds(), DEFAULT)  # again: updates, no duplicates
    assert len(state.datasources) == 1 and len(state.folders) == 1
    assert {b["version"] for b in state.dashboards.values()} == {2}
    assert ("PUT", "/api/datasources/uid/firstbell-prometheus") in state.calls
    assert state.violations == []


def test_the_publish_command(grafana: tuple[str, GrafanaState],
                             capsys: pytest.CaptureFixture[str]) -> None:
    url, state = grafana
    assert main(["grafana", "publish", "--url", url, "--token", TOKEN,
                 "--prometheus-url", "http://prometheus:9090"]) == 0
    out = capsys.readouterr().out
    assert f"{url}/d/firstbell-launch-overview/firstbell-launch-overview" in out
    assert state.datasources["firstbell-prometheus"]["url"] == "http://prometheus:9090"
    assert main(["grafana", "publish", "--url", url, "--token", "wrong"]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "Grafana answered 401" in err and "token" in err


def test_run_annotations_make_a_region(grafana: tuple[str, GrafanaState]) -> None:
    url, state = grafana
    notes = RunAnnotations(connect(url, TOKEN), url, "20261128T120000Z-smoke", "smoke")
    notes.start("scenario smoke", at=1_800_000_000.0)
    notes.phase("teachers", at=1_800_000_010.0)
    notes.abort("portal.p95", at=1_800_000_020.0)
    link = notes.end("NO-GO", ["portal.p95 breached"], at=1_800_000_030.0)
    tags = ["firstbell", "run:20261128T120000Z-smoke", "scenario:smoke"]
    region = state.annotations[1]
    assert region["time"] == 1_800_000_000_000 and region["timeEnd"] == 1_800_000_030_000
    assert region["tags"] == [*tags, "no-go"] and "portal.p95 breached" in region["text"]
    assert state.annotations[2]["tags"] == [*tags, "phase"]
    assert state.annotations[2]["text"] == "phase: teachers"
    assert state.annotations[3]["tags"] == [*tags, "abort"]
    assert link == dashboard_link(url, 1_800_000_000.0, 1_800_000_030.0)
    assert link == (f"{url}/d/firstbell-launch-overview/?from=1799999970000"
                    "&to=1800000060000")
    assert state.violations == [] and notes.errors == []


def test_an_unreachable_grafana_never_stops_a_run() -> None:
    notes = RunAnnotations(connect("http://127.0.0.1:9", TOKEN, timeout=1), "http://x",
                           "r", "smoke")
    notes.start("x")
    notes.phase("y")
    assert notes.end("GO", []).startswith("http://x/d/")
    assert len(notes.errors) == 3


def test_dashboard_json_round_trips(grafana: tuple[str, GrafanaState], tmp_path: Path) -> None:
    """What Grafana stored is the generated dashboard (id left for Grafana to assign)."""
    url, state = grafana
    publish(connect(url, TOKEN), load_thresholds(), DEFAULT)
    committed = json.loads((Path(__file__).resolve().parents[2] / "monitoring/grafana/"
                            "dashboards/endpoints.json").read_text())
    stored = state.dashboards["firstbell-endpoints"]["dashboard"]
    assert stored["id"] is None
    assert {k: v for k, v in stored.items() if k != "id"} == committed
