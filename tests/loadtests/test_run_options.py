"""`loadtests.run_options`: the argv a run's or a worker's options render parses back, through
Locust's parser with the engine's options registered (`loadtests.options.add_arguments`), into
the same values.

The parsing happens in one child interpreter: importing Locust monkey-patches the process with
gevent, which the other tests of a pytest process must not inherit."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from kernel.ports import EXPORTER_PORT, LOOPBACK, MASTER_PORT
from loadtests.run_options import RunOptions, WorkerOptions

ROOT = Path(__file__).resolve().parents[2]
RUN_DIR = Path("/tmp/firstbell-run-options/run")
TARGET = "http://sis.example.org"

RUNS = [
    RunOptions(TARGET, run_dir=RUN_DIR),
    RunOptions(TARGET, run_dir=RUN_DIR, userpool=Path("pool/userpool"),
               thresholds=Path("t.yaml"), abort_on_fail=True,
               staging_hosts="sis.example.org,.district.internal",
               exporter_host="0.0.0.0", exporter_port=0,
               grafana_url="http://grafana:3000", target_spec=Path("targets/district")),
    RunOptions(TARGET, run_dir=RUN_DIR, processes=3, master_port=6000, exporter_port=-1),
    RunOptions(TARGET, run_dir=RUN_DIR, expect_workers=4, master_port=5600,
               userpool=Path("pool")),
]
WORKERS = [
    WorkerOptions("loadgen-1.district.internal", Path("pool/userpool")),
    WorkerOptions("10.0.0.5", Path("pool"), staging_hosts="sis.example.org", processes=4,
                  master_port=6001, target_spec=Path("targets/district")),
]

PARSE = """
import json, sys
from locust.argument_parser import get_empty_argument_parser, setup_parser_arguments
from loadtests.options import add_arguments
from firstbell.locust_grafana import _options as grafana_arguments

parsed = []
for argv in json.load(sys.stdin):
    parser = get_empty_argument_parser(default_config_files=[])
    setup_parser_arguments(parser)
    add_arguments(parser)
    grafana_arguments(parser)
    parsed.append(vars(parser.parse_args(argv)))
json.dump(parsed, sys.stdout, default=str)
"""


@pytest.fixture(scope="module")
def parsed() -> list[dict[str, Any]]:
    """What Locust's parser makes of every case's argv, RUNS then WORKERS."""
    # The parser reads FIRSTBELL_* and LOCUST_* variables too: only the argv may speak here.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIRSTBELL_", "LOCUST_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    argvs = [o.argv() for o in [*RUNS, *WORKERS]]
    proc = subprocess.run([sys.executable, "-c", PARSE], input=json.dumps(argvs), env=env,
                          capture_output=True, text=True, timeout=120, check=True)
    result: list[dict[str, Any]] = json.loads(proc.stdout)
    return result


def run_of(ns: dict[str, Any]) -> RunOptions:
    """The RunOptions the parsed arguments say."""
    def path(key: str) -> Path | None:
        return Path(ns[key]) if ns[key] else None

    return RunOptions(
        target=ns["host"], run_dir=path("firstbell_run_dir"), userpool=path("firstbell_userpool"),
        thresholds=path("firstbell_thresholds"),
        staging_hosts=ns["firstbell_staging_hosts"] or "",
        oneroster_client=ns["firstbell_oneroster_client"] or "",
        exporter_host=ns["firstbell_exporter_host"],
        exporter_port=ns["firstbell_exporter_port"], master_port=ns["master_bind_port"],
        processes=ns["processes"] or 1,
        expect_workers=ns["expect_workers"] if ns["master"] else 0,
        abort_on_fail=ns["firstbell_abort_on_fail"],
        grafana_url=ns["firstbell_grafana_url"] or "",
        target_spec=path("firstbell_target_spec"))


@pytest.mark.parametrize("k", range(len(RUNS)))
def test_a_runs_argv_parses_back_into_its_options(k: int, parsed: list[dict[str, Any]]) -> None:
    options, ns = RUNS[k], parsed[k]
    assert run_of(ns) == options
    assert ns["headless"] and ns["firstbell_plan"] == str(RUN_DIR / "plan.json")
    assert not ns["worker"] and ns["master"] == bool(options.expect_workers)
    if options.processes > 1:  # Locust's local workers dial the master's own port
        assert ns["master_port"] == options.master_port


@pytest.mark.parametrize("k", range(len(WORKERS)))
def test_a_workers_argv_parses_back_into_its_options(k: int,
                                                     parsed: list[dict[str, Any]]) -> None:
    ns = parsed[len(RUNS) + k]
    assert ns["worker"] and not ns["master"]
    assert WorkerOptions(ns["master_host"], Path(ns["firstbell_userpool"]),
                         master_port=ns["master_port"],
                         staging_hosts=ns["firstbell_staging_hosts"] or "",
                         processes=ns["processes"] or 1,
                         target_spec=Path(ns["firstbell_target_spec"])
                         if ns["firstbell_target_spec"] else None) == WORKERS[k]


def test_the_defaults_are_the_kernels_ports(tmp_path: Path) -> None:
    options = RunOptions("http://127.0.0.1:8700")
    assert (options.exporter_port, options.master_port, options.exporter_host) == \
        (EXPORTER_PORT, MASTER_PORT, LOOPBACK)
    assert WorkerOptions("m", Path("p")).master_port == MASTER_PORT
    assert options.in_dir(tmp_path).plan_file == tmp_path / "plan.json"
    with pytest.raises(ValueError, match="no run directory"):
        options.argv()


def test_secrets_travel_in_the_environment_never_on_the_command_line(tmp_path: Path) -> None:
    """Anyone on the machine reads a command line (`ps`): the OneRoster clients' secrets go in
    Locust's environment, where its parser reads them back; the Grafana token is never in
    RunOptions at all."""
    options = RunOptions("http://127.0.0.1:8700", run_dir=tmp_path,
                         oneroster_client="lms:s3cret,sync:other",
                         grafana_url="http://grafana:3000")
    argv = options.argv()
    assert not any("s3cret" in a or "token" in a for a in argv)
    assert "--oneroster-client" not in argv
    assert options.secrets() == {"FIRSTBELL_ONEROSTER_CLIENT": "lms:s3cret,sync:other"}
    assert RunOptions("http://127.0.0.1:8700").secrets() == {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIRSTBELL_", "LOCUST_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    proc = subprocess.run([sys.executable, "-c", PARSE], input=json.dumps([argv]),
                          env={**env, **options.secrets()}, capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(proc.stdout)[0]["firstbell_oneroster_client"] == "lms:s3cret,sync:other"
