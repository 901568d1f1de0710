"""`firstbell report` on a real run's directory: the numbers equal verdict.json and summary.json,
the HTML is one self-contained page (no scripts, nothing fetched), and in headless Chromium
(Debian's) it loads with no console errors, every chart renders and a PDF prints; a screenshot
is kept with the test output. A baseline comparison and an exposure run's actions too."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_run_command import firstbell_run, read

from firstbell.cli import main

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
    assert "GO: every objective held" in capsys.readouterr().out
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
