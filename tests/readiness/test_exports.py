"""`firstbell readiness` end to end on the small generated district: the exit code follows the
combine rule, readiness.json has the documented shape, each school's CSV lists exactly the
people its cells count as not done, promtool accepts the Prometheus files (and backfills the
weekly history), and the People readiness dashboard queries only gauges the command writes."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from fake_data.output import Request, write_district
from firstbell.cli import main
from monitoring import dashboards
from thresholds import load_thresholds

MONITORING = Path(__file__).resolve().parents[2] / "monitoring"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, str]:
    root = tmp_path_factory.mktemp("readiness")
    write_district(Request("small", 1.0, 42, ("parquet", "activity")), root / "small")
    return main(["readiness", "--district", str(root / "small"), "--out",
                 str(root / "out")]), root / "out", str(root)


def test_exit_code_and_shape(run: tuple[int, Path, str]) -> None:
    code, out, _ = run
    data = json.loads((out / "readiness.json").read_text())
    assert set(data) == {"format", "go_live", "as_of", "roster", "log", "week_ends", "metrics",
                         "summary", "district", "schools", "warnings", "decision"}
    assert data["go_live"] == "2019-04-22" and data["as_of"] < data["go_live"]
    summary = data["summary"]
    ready = summary["at_target"] / summary["schools"] >= 0.9
    assert data["decision"]["passed"] is ready and len(data["decision"]["reasons"]) == 1
    assert code == (0 if ready else 3)
    assert summary["schools"] == len(data["schools"]) == 8
    p = summary["projected"]
    assert 0 <= p["low"] <= p["expected"] <= p["high"] <= summary["schools"]
    cell = data["schools"][0]["cells"][0]
    assert set(cell) == {"metric", "role", "staff", "done", "value", "target", "final",
                         "projected", "low", "high", "passed", "weekly"}
    assert len(cell["weekly"]) == len(data["week_ends"])
    priorities = [s["priority"] for s in data["schools"]]
    assert priorities == sorted(priorities, reverse=True)


def test_each_school_csv_lists_who_is_not_done(run: tuple[int, Path, str]) -> None:
    _, out, _ = run
    data = json.loads((out / "readiness.json").read_text())
    ranking = list(csv.DictReader((out / "schools.csv").open()))
    assert [r["school_id"] for r in ranking] == [s["id"] for s in data["schools"]]
    for school in data["schools"]:
        rows = list(csv.DictReader((out / "schools" / f"{school['id']}.csv").open()))
        assert len(rows) == school["staff"]
        for c in school["cells"]:
            if c["metric"] == "login_lead_time":
                continue
            done = sum(1 for r in rows if r["role"] == c["role"] and r[c["metric"]])
            todo = sum(1 for r in rows if r["role"] == c["role"]
                       and c["metric"] in r["to_do"].split())
            assert (done, todo) == (c["done"], c["staff"] - c["done"]), (school["id"], c)


def test_promtool_accepts_the_files(run: tuple[int, Path, str], tmp_path: Path) -> None:
    _, out, _ = run
    checked = subprocess.run(["promtool", "check", "metrics"],
                             input=(out / "readiness.prom").read_text(), text=True,
                             capture_output=True, timeout=60, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    made = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics",
                           str(out / "readiness-history.om"), str(tmp_path / "tsdb")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert made.returncode == 0, made.stdout + made.stderr
    assert any((tmp_path / "tsdb").iterdir())
    data = json.loads((out / "readiness.json").read_text())
    text = (out / "readiness.prom").read_text()
    assert (f'firstbell_readiness_schools_at_target{{basis="now"}} '
            f'{data["summary"]["at_target_now"]}') in text


def test_dashboard_reads_what_the_command_writes(run: tuple[int, Path, str],
                                                 tmp_path: Path) -> None:
    _, out, _ = run
    board = dashboards.readiness(load_thresholds())
    committed = json.loads((MONITORING / "grafana/dashboards/readiness.json").read_text())
    assert committed == json.loads(json.dumps(board))
    written = set(re.findall(r"^(firstbell_readiness_\w+)", (out / "readiness.prom").read_text(),
                             re.MULTILINE))
    exprs = [e for _, e in dashboards.expressions(board)]
    used = {m for e in exprs for m in re.findall(r"firstbell_readiness_\w+", e)}
    assert used and used <= written
    rules = {"groups": [{"name": "panels", "rules": [
        {"record": f"panel:check:expr{i}", "expr": e} for i, e in enumerate(exprs)]}]}
    (tmp_path / "panels.yml").write_text(yaml.safe_dump(rules))
    result = subprocess.run(["promtool", "check", "rules", str(tmp_path / "panels.yml")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_generate_writes_the_log_it_scored(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = main(["readiness", "--generate", "--profile", "small", "--out", "gen"])
    shown = capsys.readouterr().out
    assert code in (0, 3)
    assert "Schools most in need" in shown and "People readiness:" in shown
    data = json.loads(Path("gen/readiness.json").read_text())
    assert data["log"] == "gen/activity.csv" and Path("gen/activity.csv").is_file()
    assert data["summary"]["schools"] == 8
