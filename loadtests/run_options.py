"""What a Locust process of firstbell is started with, as one frozen value each: `RunOptions`
for a run's master or single process (`firstbell run`, each step of `firstbell capacity`,
`firstbell rehearse`), `WorkerOptions` for a machine that joins a master (`firstbell worker`).
Each renders the engine's command-line arguments (`loadtests.options` declares and parses
them), so the fields travel to Locust in one spelling; the defaults are `kernel.ports`'."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from kernel.ports import EXPORTER_PORT, LOOPBACK, MASTER_PORT

PLAN_FILE = "plan.json"  # a run's plan sits in its run directory, where the report finds it


@dataclass(frozen=True)
class RunOptions:
    """The fields every run carries besides its plan's content.

    `run_dir` is None until the run's directory is chosen (`in_dir`); the plan file is always
    `plan.json` in it. `processes` above 1 starts Locust's own master with local worker
    processes; `expect_workers` starts a master only, for workers on other machines."""

    target: str
    run_dir: Path | None = None
    userpool: Path | None = None
    thresholds: Path | None = None
    staging_hosts: str = ""
    oneroster_client: str = ""
    exporter_host: str = LOOPBACK
    exporter_port: int = EXPORTER_PORT
    master_port: int = MASTER_PORT
    processes: int = 1
    expect_workers: int = 0
    abort_on_fail: bool = False
    grafana_url: str = ""  # the token travels in the environment, never on the command line
    # A district's target file: the plan carries it whole; the path is where its vendor
    # test-account CSV pools are read from.
    target_spec: Path | None = None

    @property
    def plan_file(self) -> Path:
        if self.run_dir is None:
            raise ValueError("RunOptions.plan_file: no run directory chosen yet (in_dir)")
        return self.run_dir / PLAN_FILE

    def secrets(self) -> dict[str, str]:
        """What travels in Locust's environment instead of its command line, which anyone on
        the machine can read (`ps`): the OneRoster clients' secrets."""
        return {"FIRSTBELL_ONEROSTER_CLIENT": self.oneroster_client} \
            if self.oneroster_client else {}

    def in_dir(self, run_dir: Path) -> RunOptions:
        return dataclasses.replace(self, run_dir=run_dir)

    def argv(self) -> list[str]:
        """The Locust arguments after `-f LOCUSTFILE`."""
        args = ["--headless", "--host", self.target, "--plan", str(self.plan_file),
                "--run-dir", str(self.run_dir), "--exporter-port", str(self.exporter_port),
                "--exporter-host", self.exporter_host]
        if self.userpool is not None:
            args += ["--userpool", str(self.userpool)]
        if self.thresholds is not None:
            args += ["--thresholds", str(self.thresholds)]
        if self.abort_on_fail:
            args.append("--abort-on-fail")
        if self.staging_hosts:
            args += ["--staging-hosts", self.staging_hosts]
        if self.target_spec is not None:
            args += ["--target-spec", str(self.target_spec)]
        if self.grafana_url:
            args += ["--grafana-url", self.grafana_url]
        if self.expect_workers:  # a master only: its workers join from other machines
            args += ["--master", "--expect-workers", str(self.expect_workers),
                     "--master-bind-port", str(self.master_port)]
        elif self.processes > 1:  # Locust's own master and local workers, over its protocol
            args += ["--processes", str(self.processes), "--master-bind-port",
                     str(self.master_port), "--master-port", str(self.master_port)]
        return args


@dataclass(frozen=True)
class WorkerOptions:
    """A load machine joining a master: the master sends it the plan, the target and its share
    of the user pool, so it carries only where the master is, its pool and its allowlist."""

    master_host: str
    userpool: Path
    master_port: int = MASTER_PORT
    staging_hosts: str = ""
    processes: int = 1
    target_spec: Path | None = None   # this machine's copy, for its CSV pools

    def argv(self) -> list[str]:
        """The Locust arguments after `-f LOCUSTFILE`."""
        args = ["--worker", "--master-host", self.master_host, "--master-port",
                str(self.master_port), "--userpool", str(self.userpool)]
        if self.staging_hosts:
            args += ["--staging-hosts", self.staging_hosts]
        if self.processes > 1:  # several worker processes on this machine, each its own share
            args += ["--processes", str(self.processes)]
        if self.target_spec is not None:
            args += ["--target-spec", str(self.target_spec)]
        return args
