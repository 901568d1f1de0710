"""`firstbell report` on a real run's directory: the numbers equal verdict.json and summary.json,
the HTML is one self-contained page (no scripts, nothing fetched), and in headless Chromium
(Debian's) it loads with no console errors, every chart renders and a PDF prints; a screenshot
is kept with the test output. A baseline comparison and an exposure run's actions too.

Page one, read back from Chromium's DOM and from the first page of the PDF it prints: the time
labels are HH:MM of the simulated run, every y axis starts at 0, the headroom is verdict.json's;
the Markdown and JSON carry the same facts; report.json validates against its shipped schema;
a folder's history is newest first and says what changed since the last rehearsal."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from support.locust_run import ROOT
from test_run_command import firstbell_run, read

from firstbell.cli import main
from firstbell.report.moment import clock_seconds

SCHEMA = ROOT / "firstbell" / "report" / "report.schema.json"

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM, "install Debian's chromium (.ci/run does)"
    return subprocess.run([CHROMIUM, *HEADLESS, "--enable-logging=stderr", "--v=0", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def console_errors(stderr: str) -> list[str]:
    """The page's console messages as Chromium logs them (not its own dbus/gpu chatter)."""
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


@pytest.fixture(scope="module")
def smoke_run(staging_url: str, userpool_dir: Path) -> Path:
    code, output, run = firstbell_run(staging_url, userpool_dir)
    assert code == 0, output[-3000:]
    return run


def test_the_report_says_what_the_run_says(smoke_run: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(smoke_run)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    n = len(read(smoke_run, "verdict.json")["objectives"])
    assert out.startswith(f"GO: all {n} launch objectives held through the day and no security"
                          " probe read data it must not. Headroom was not measured;")
    data = read(smoke_run, "report.json")
    verdict, summary = read(smoke_run, "verdict.json"), read(smoke_run, "summary.json")
    assert data["verdict"] == verdict
    assert data["totals"]["requests"] == summary["requests"]
    assert data["totals"]["sessions_started"] == sum(
        a["started"] for a in summary["arrivals"].values())
    assert data["totals"]["corrected"] == summary["overall"]["corrected"]
    assert sum(e["requests"] for e in data["errors"]) == summary["requests"]
    assert data["rehearsed"]["scenario"] == "smoke" and data["rehearsed"]["profile"] == "small"
    assert {a["name"] for a in data["assumptions"]} >= {"teachers", "guardians", "probe.rate"}
    assert data["actions"] == [] and data["capacity"] is None
    # the plan's two concurrency figures, as scenario.json has them, each named
    scenario = read(smoke_run, "scenario.json")
    assert data["rehearsed"]["in_flight"] == scenario["peak_concurrency"] > 0
    assert data["rehearsed"]["logged_in"] == scenario["peak_logged_in"] > \
        data["rehearsed"]["in_flight"]
    assert data["rehearsed"]["system"] == "firstbell's reference staging SIS"
    page = (smoke_run / "report.html").read_text()
    assert "sessions in flight (Little&#39;s law)" in page or \
        "sessions in flight (Little's law)" in page
    assert "people logged in within the 15-minute session lifetime" in page
    for o in verdict["objectives"]:
        assert f"<td>{o['name']}</td>" in page
    assert "<script" not in page and not re.search(r"(src|href)=\"https?://", page)
    md = (smoke_run / "report.md").read_text()
    assert md.startswith(f"# firstbell rehearsal {data['run_id']}: **GO**")


def test_the_page_renders_and_prints_in_chromium(smoke_run: Path, tmp_path: Path) -> None:
    assert main(["report", str(smoke_run)]) == 0
    url = (smoke_run / "report.html").resolve().as_uri()
    dom = chromium("--dump-dom", url)
    assert dom.returncode == 0 and console_errors(dom.stderr) == []
    svgs = re.findall(r"<svg.*?</svg>", dom.stdout, flags=re.S)
    assert len(svgs) >= 4 and all("<path" in s for s in svgs)  # every chart drew lines
    pdf = tmp_path / "report.pdf"
    printed = chromium(f"--print-to-pdf={pdf}", url)
    assert printed.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-"
    shot = smoke_run / "report.png"  # kept in the run directory as test output
    chromium("--window-size=1000,2400", f"--screenshot={shot}", url)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


def test_console_errors_are_caught(tmp_path: Path) -> None:
    """The console check can fail: a page that logs an error is seen."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>console.error('broken chart')</script></body></html>")
    assert any("broken chart" in line
               for line in console_errors(chromium("--dump-dom", page.as_uri()).stderr))


def test_a_baseline_and_a_no_go_with_actions(smoke_run: Path, tmp_path: Path) -> None:
    """A copy of the run with portal.p95 failed and an exposure: actions link the runbooks,
    and the comparison shows both runs' values."""
    other = tmp_path / "other"
    shutil.copytree(smoke_run, other)
    verdict = read(other, "verdict.json")
    portal = next(o for o in verdict["objectives"] if o["name"] == "portal.p95")
    portal.update(passed=False, failed_at=12.0, whole_run=1.6, worst=1.7)
    verdict.update(verdict="NO-GO", exit_code=4, reasons=["1 data exposure(s)", "portal.p95"])
    verdict["gates"]["data_exposures"].update(measured=1, passed=False)
    (other / "verdict.json").write_text(json.dumps(verdict))
    assert main(["report", str(other), "--baseline", str(smoke_run)]) == 0
    data = read(other, "report.json")
    assert [a["alert"] for a in data["actions"]] == ["FirstbellDataExposure",
                                                     "FirstbellLatencyHigh"]
    assert data["actions"][1]["runbook"] == "runbooks/alerts/firstbell-latency-high.md"
    diff = {r["objective"]: r for r in data["baseline"]["diff"]}
    assert diff["portal.p95"]["now"] == 1.6 and not diff["portal.p95"]["passed_now"]
    page = (other / "report.html").read_text()
    assert 'class="banner NO-GO"' in page and "firstbell-data-exposure.md" in page


def test_not_a_run_directory_is_a_clear_error(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path)]) == 2
    assert "no run.json there" in " ".join(capsys.readouterr().err.split())


HEADROOM = "held 2.75× the forecast peak; 3× broke portal.p95 (CPU saturated)"


def with_headroom(run: Path, dest: Path, *, started: float | None = None) -> Path:
    """A copy of the run as a rehearsal with its headroom measured leaves it: capacity.json of
    kind "headroom" (steps at multiples of the forecast peak) and the verdict's capacity gate."""
    shutil.copytree(run, dest)
    peak = read(run, "scenario.json")["total_peak_rate"]
    steps = [{"rate": m * peak, "multiple": m, "achieved": m * peak * (0.98 if ok else 0.8),
              "p95": p95, "passed": ok, "error_ratio": 0.0, "dropped_share": 0.0,
              "reasons": [] if ok else ["portal.p95 breached"], "run_dir": f"headroom/{m:g}x"}
             for m, ok, p95 in ((1, True, .012), (1.5, True, .015), (2, True, .02),
                                (3, False, 1.8), (2.5, True, .09), (2.75, True, .2))]
    (dest / "capacity.json").write_text(json.dumps({
        "kind": "headroom", "forecast_peak": peak, "sustainable_rate": 2.75 * peak,
        "headroom": 2.75, "headroom_required": 1.5, "headroom_passed": True, "steps": steps,
        "points": [], "usl": None, "fitted": [], "knee": None, "partial": False,
        "data_exposure": False, "held": 2.75, "limited_by": "server", "statement": HEADROOM,
        "first_failure": {"multiple": 3.0, "objective": "portal.p95", "resource": "CPU",
                          "reason": "portal.p95 1.8 s over its 1 s threshold"}}))
    verdict = read(dest, "verdict.json")
    verdict["gates"]["capacity_headroom"] = {"required": 1.5, "measured": 2.75, "passed": True,
                                             "limited_by": "server", "statement": HEADROOM}
    (dest / "verdict.json").write_text(json.dumps(verdict))
    if started is not None:
        meta = read(dest, "run.json")
        meta["started_at"] = started
        (dest / "run.json").write_text(json.dumps(meta))
    return dest


def squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_page_one_and_charts_as_chromium_renders_and_prints_them(smoke_run: Path,
                                                                 tmp_path: Path) -> None:
    """The SVG's time labels are HH:MM of the simulated run, every y axis starts at 0, the
    headroom on page one is verdict.json's, and the PDF's first page has page one's facts."""
    run = with_headroom(smoke_run, tmp_path / "run")
    assert main(["report", str(run)]) == 0
    data = read(run, "report.json")
    gate = read(run, "verdict.json")["gates"]["capacity_headroom"]
    assert data["page_one"]["headroom"]["measured"] == gate["measured"] == 2.75
    url = (run / "report.html").resolve().as_uri()
    dom = chromium("--dump-dom", url)
    assert dom.returncode == 0 and console_errors(dom.stderr) == []
    tree = HTMLParser(dom.stdout)
    facts = {r.css_first("th").text(): r.css_first("td").text()
             for r in tree.css("#page-one table.facts tr")}
    assert facts["Headroom"] == f"{HEADROOM} (required 1.5×)"
    assert f"{gate['measured']:g}×" in facts["Headroom"]
    assert facts["What saturates first"].startswith("CPU")
    # the simulated span of the run: from the window's start to the last interval's end
    intervals = [json.loads(x) for x in (run / "intervals.jsonl").read_text().splitlines()]
    scenario = read(run, "scenario.json")
    first = clock_seconds(scenario["window"][0])
    last = max(x["clock"] for x in intervals)
    timed = [f for f in tree.css("figure") if f.attributes["id"].startswith("latency-")
             or f.attributes["id"] == "arrivals"]
    assert len(timed) >= 4 and tree.css_first("figure#headroom") is not None
    for figure in [*timed, tree.css_first("figure#headroom")]:
        assert figure.css_first("figcaption").text().strip()
        ys = [(float(t.attributes["y"]), t.text()) for t in figure.css("g.axis.y text")]
        assert re.fullmatch(r"0×?", max(ys)[1]), (figure.attributes["id"], ys)  # the lowest
    for figure in timed:
        labels = [t.text() for t in figure.css("g.axis.x text")]
        assert 6 <= len(labels) <= 10, labels
        assert all(re.fullmatch(r"\d\d:\d\d", x) for x in labels), labels
        assert all(first - 60 <= clock_seconds(x) <= last for x in labels), labels
        assert any(t.text().startswith("peak ") for t in figure.css("text"))
    latency = " ".join(t.text() for f in timed for t in f.css("g.axis.y text"))
    assert " ms" in latency  # below a second, in milliseconds
    assert any(t.text().startswith("p95 threshold") for t in tree.css("figure text"))
    pdf = tmp_path / "report.pdf"
    printed = chromium("--no-pdf-header-footer", f"--print-to-pdf={pdf}", url)
    assert printed.returncode == 0 and pdf.read_bytes()[:5] == b"%PDF-"
    text = subprocess.run(["pdftotext", "-layout", "-f", "1", "-l", "1", str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout
    page = squeeze(text)
    assert page.startswith(squeeze("GO " + data["page_one"]["sentences"][0][:30]))
    for fact in data["page_one"]["facts"][1:]:
        assert squeeze(fact["label"][:20]) in page and squeeze(fact["text"][:30]) in page, fact
    for action in data["page_one"]["actions"]:
        assert squeeze(action["action"][:40]) in page
    assert "Launch objectives" not in text  # page one is a page of its own


def test_markdown_and_json_carry_the_same_page_one(smoke_run: Path, tmp_path: Path) -> None:
    run = with_headroom(smoke_run, tmp_path / "run")
    assert main(["report", str(run)]) == 0
    page, md = read(run, "report.json")["page_one"], (run / "report.md").read_text()
    assert md.startswith(f"# firstbell rehearsal {read(run, 'run.json')['run_id']}: **GO**\n\n"
                         + " ".join(page["sentences"]))
    for fact in page["facts"][1:]:
        assert f"| **{fact['label']}** | {fact['text']} |" in md
    for action in page["actions"]:
        assert f"1. {action['action']} (runbook: {action['runbook']})" in md
    summary = read(run, "summary.json")
    moment = page["worst_moment"]
    assert moment["logins"]["forecast"] == 7200  # the smoke's 30 minutes at 4 sessions/s
    speed = read(run, "scenario.json")["speed"]
    logins_ok = sum(n for k, n in summary["logins"].items() if k.endswith("|ok"))
    # the run's logins stand for speed × as many in the simulated half hour (the drain's
    # tail lies outside it)
    assert 0.6 * logins_ok * speed <= moment["logins"]["achieved"] <= logins_ok * speed
    assert {r["group"] for r in moment["latency"]} >= {"auth", "portal", "*"}


def test_report_json_has_its_documented_schema(smoke_run: Path, tmp_path: Path) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "firstbell/report/report.schema.json" in (ROOT / "docs" / "report.md").read_text()
    validator = jsonschema.Draft202012Validator(schema)
    run = with_headroom(smoke_run, tmp_path / "run")
    for folder in (smoke_run, run):
        assert main(["report", str(folder)]) == 0
        assert list(validator.iter_errors(read(folder, "report.json"))) == []
    broken = read(run, "report.json")
    del broken["page_one"]["headroom"]["statement"]
    broken["page_one"]["decision"] = "MAYBE"
    assert {e.validator for e in validator.iter_errors(broken)} == {"required", "enum"}


def test_history_and_what_changed_since_the_last_rehearsal(
        smoke_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    started = read(smoke_run, "run.json")["started_at"]
    shutil.copytree(smoke_run, runs / "1-go")
    failed = runs / "2-no-go"
    shutil.copytree(smoke_run, failed)
    verdict = read(failed, "verdict.json")
    portal = next(o for o in verdict["objectives"] if o["name"] == "portal.p95")
    portal.update(passed=False, whole_run=1.6, worst=1.7)
    verdict.update(verdict="NO-GO", exit_code=3, reasons=["portal.p95"])
    (failed / "verdict.json").write_text(json.dumps(verdict))
    meta = read(failed, "run.json")
    meta["started_at"] = started + 100
    (failed / "run.json").write_text(json.dumps(meta))
    latest = with_headroom(smoke_run, runs / "3-headroom", started=started + 200)
    shutil.copytree(smoke_run, runs / "4-damaged")
    (runs / "4-damaged" / "verdict.json").write_text("{not json")
    (runs / "notes").mkdir()  # not a run directory: not a row

    assert main(["report", str(latest), "--baseline", "last"]) == 0
    changes = read(latest, "report.json")["changes"]
    assert changes["decision"] == {"baseline": "NO-GO", "now": "GO"}
    assert [r["objective"] for r in changes["objectives_moved"]] == ["portal.p95"]
    assert changes["headroom"]["baseline"] is None and changes["headroom"]["now"] == 2.75
    assert "What changed since the last rehearsal" in (latest / "report.md").read_text()

    capsys.readouterr()
    assert main(["report", "--history", str(runs)]) == 0
    out = capsys.readouterr().out
    assert out.index("3-headroom") < out.index("2-no-go") < out.index("1-go")
    rows = [x for x in (runs / "history.md").read_text().splitlines()
            if x.startswith("| ") and not x.startswith("| run ")]
    assert [r.split(" | ")[0] for r in rows] == ["| 3-headroom", "| 2-no-go", "| 1-go",
                                                 "| 4-damaged"]
    assert "**GO** | held 2.75×" in rows[0] and "| portal.p95 |" in rows[1]
    assert "**unreadable**" in rows[3] and "not valid JSON" in rows[3]
    assert '<a href="3-headroom/report.html">' in (runs / "history.html").read_text()
    assert main(["report", "--history", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err


def _readiness(out: Path, schools_at_target: float) -> tuple[int, dict[str, Any]]:
    """`firstbell readiness` on the small district's synthetic sandbox log (5 of its 8 schools
    at every target), judged by the built-in metrics with the combine rule given."""
    metrics = out.parent / f"readiness-{schools_at_target:g}.yaml"
    builtin = (ROOT / "readiness" / "readiness.yaml").read_text()
    metrics.write_text(builtin.replace("schools_at_target: 0.90",
                                       f"schools_at_target: {schools_at_target}"))
    code = main(["readiness", "--generate", "--profile", "small", "--seed", "42",
                 "--metrics", str(metrics), "--out", str(out)])
    return code, read(out, "readiness.json")


def test_people_readiness_beside_system_readiness_is_one_decision(smoke_run: Path,
                                                                  tmp_path: Path) -> None:
    """A system GO (headroom 2.75×) with the people not ready is a NO-GO on page one, with the
    schools most in need and the training actions; with the people ready it stays GO."""
    code, people = _readiness(tmp_path / "not-ready", 0.9)
    assert code == 3 and people["decision"]["passed"] is False
    at, n = people["summary"]["at_target"], people["summary"]["schools"]
    assert at < 0.9 * n
    run = with_headroom(smoke_run, tmp_path / "run")
    assert main(["report", str(run), "--readiness",
                 str(tmp_path / "not-ready" / "readiness.json")]) == 0
    data = read(run, "report.json")
    page = data["page_one"]
    assert page["decision"] == "NO-GO" and data["verdict"]["verdict"] == "NO-GO"
    assert f"people readiness is NOT READY: {at} of {n} schools" in page["sentences"][0]
    assert data["verdict"]["gates"]["people_readiness"]["passed"] is False
    assert data["people"]["at_target"] == at and data["people"]["behind"] == n - at
    behind = [s["name"] for s in people["schools"] if not s["at_target"]]
    assert [s["name"] for s in data["people"]["most_in_need"]] == behind[:5]
    assert all(s["below"] for s in data["people"]["most_in_need"])
    facts = {f["label"]: f["text"] for f in page["facts"]}
    assert facts["People readiness"] == data["people"]["statement"]
    assert any("on-site trainers" in a["action"] for a in page["actions"])
    assert list(jsonschema.Draft202012Validator(json.loads(SCHEMA.read_text()))
                .iter_errors(data)) == []
    html = (run / "report.html").read_text()
    assert 'id="people"' in html and behind[0] in html
    assert f"**People readiness:** {data['people']['statement']}" in (run / "report.md").read_text()
    # the people ready by a looser rule: the system's GO stands, the line says READY
    code, ready = _readiness(tmp_path / "ready", 0.5)
    assert code == 0 and ready["decision"]["passed"] is True
    ready_file = tmp_path / "ready" / "readiness.json"
    assert main(["report", str(run), "--readiness", str(ready_file)]) == 0
    data = read(run, "report.json")
    assert data["page_one"]["decision"] == "GO" and data["people"]["ready"] is True
    assert data["verdict"]["gates"]["people_readiness"]["statement"].startswith("READY: ")
    assert main(["report", str(run), "--readiness", str(tmp_path / "nope.json")]) == 2
