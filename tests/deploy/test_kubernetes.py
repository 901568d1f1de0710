"""The Kubernetes manifests (deploy/kubernetes/) are validated, not run (no cluster here):
every document against the Kubernetes API's own schemas (kubernetes-validate, strict: no field
the API does not know), and against each other and firstbell itself: the master waits for as
many workers as the Deployment runs, the Service carries the master's ports and the workers
dial it, every container runs a real firstbell command with options that command has, every
image is this version's, every pod runs as a non-root user without privileges, and the
ConfigMap's files are a scenario and thresholds firstbell accepts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import kubernetes_validate
import pytest
import typer
import yaml

from firstbell.cli import app
from firstbell.plan_cmd import computed_plan
from thresholds import load_thresholds

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "kubernetes"
READER = K8S / "results" / "reader.yaml"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
    "version"]
# The newest Kubernetes API the validator ships schemas for (1.37 with kubernetes-validate 1.37).
API = kubernetes_validate.utils.latest_version()


def docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d]


def kustomization() -> dict[str, Any]:
    return docs(K8S / "kustomization.yaml")[0]


def manifests() -> dict[str, list[dict[str, Any]]]:
    """Every manifest file of the kustomization (name -> its documents), and the reader."""
    files = {name: docs(K8S / name) for name in kustomization()["resources"]}
    files["results/reader.yaml"] = docs(READER)
    return files


def one(kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for ds in manifests().values() for d in ds
             if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def pod_specs() -> dict[str, dict[str, Any]]:
    """Every pod spec by its owner (kind/name): Jobs' and Deployments' templates, bare Pods."""
    out = {}
    for ds in manifests().values():
        for d in ds:
            if d["kind"] in {"Job", "Deployment"}:
                out[f"{d['kind']}/{d['metadata']['name']}"] = d["spec"]["template"]["spec"]
            elif d["kind"] == "Pod":
                out[f"Pod/{d['metadata']['name']}"] = d["spec"]
    return out


def containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def master() -> dict[str, Any]:
    return one("Job", "firstbell-master")["spec"]["template"]["spec"]["containers"][0]


def worker_pod() -> dict[str, Any]:
    return one("Deployment", "firstbell-worker")["spec"]["template"]["spec"]


def option(command: list[str], name: str) -> str:
    """The value after `name` in a command line (exactly once)."""
    at = [i for i, token in enumerate(command) if token == name]
    assert len(at) == 1, f"{name} appears {len(at)} times in {command}"
    return command[at[0] + 1]


def subcommands(command: list[str]) -> tuple[list[str], Any]:
    """The firstbell subcommand path of a command line (`district generate`) and its (click)
    command, walking firstbell's own command tree."""
    assert command[0] == "firstbell", f"not a firstbell command: {command}"
    cmd: Any = typer.main.get_command(app)
    path: list[str] = []
    for token in command[1:]:
        if token not in getattr(cmd, "commands", {}):
            break
        cmd = cmd.commands[token]
        path.append(token)
    assert path, f"no firstbell subcommand in {command}"
    return path, cmd


def firstbell_containers() -> list[tuple[str, dict[str, Any]]]:
    """(owner/container, container) of every container the kustomization runs."""
    return [(f"{owner}/{c['name']}", c) for owner, spec in pod_specs().items()
            if not owner.startswith("Pod/") for c in containers(spec)]


# -- the files and the schemas ------------------------------------------------------------

def test_the_kustomization_lists_exactly_the_manifests_present() -> None:
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    listed = kustomization()["resources"]
    assert len(listed) == len(set(listed)), f"listed twice: {listed}"
    assert set(listed) == present
    assert not list(K8S.glob("*.yml")), "name manifests *.yaml"


@pytest.mark.parametrize("name", sorted(manifests()))
def test_every_document_is_valid_against_the_kubernetes_api(name: str) -> None:
    for doc in manifests()[name]:
        try:
            kubernetes_validate.validate(doc, API, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{name}: {doc['kind']} {doc['metadata'].get('name')}: {exc.message}"
                        f" at {'.'.join(map(str, exc.path))}")


def test_everything_lives_in_the_namespace_it_declares() -> None:
    namespace = one("Namespace")["metadata"]["name"]
    assert kustomization()["namespace"] == namespace
    for name, ds in manifests().items():
        for d in ds:
            if d["kind"] != "Namespace":
                assert d["metadata"].get("namespace", namespace) == namespace, name


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_the_manifests() -> None:
    built = subprocess.run(["kubectl", "kustomize", str(K8S)], capture_output=True, text=True,
                           timeout=60)
    assert built.returncode == 0, built.stderr
    out = [d for d in yaml.safe_load_all(built.stdout) if d]
    assert sorted(d["kind"] for d in out) == sorted(
        d["kind"] for name in kustomization()["resources"] for d in docs(K8S / name))
    assert all(d["metadata"]["namespace"] == "firstbell" for d in out if d["kind"] != "Namespace")
    for d in out:
        kubernetes_validate.validate(d, API, strict=True)
        if d["kind"] in {"Job", "Deployment"}:
            for c in containers(d["spec"]["template"]["spec"]):
                assert c["image"] == f"firstbell:{VERSION}"


# -- the parts agree with each other --------------------------------------------------------

def test_the_master_expects_as_many_workers_as_the_deployment_runs() -> None:
    assert int(option(master()["command"], "--expect-workers")) == \
        one("Deployment", "firstbell-worker")["spec"]["replicas"]


def test_the_service_carries_the_masters_ports_and_selects_its_pod() -> None:
    service = one("Service", "firstbell-master")
    job = one("Job", "firstbell-master")
    command = master()["command"]
    wanted = {"locust": int(option(command, "--master-port")),
              "metrics": int(option(command, "--exporter-port"))}
    ports = {p["name"]: p for p in service["spec"]["ports"]}
    assert {name: p["port"] for name, p in ports.items()} == wanted
    container_ports = {p["name"]: p["containerPort"] for p in master()["ports"]}
    for name, p in ports.items():  # the Service forwards to the same port of the master
        assert container_ports[p["targetPort"]] == wanted[name]
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    # Only the master's pod: a worker answering on 5557 would split the run in two.
    worker_labels = one("Deployment", "firstbell-worker")["spec"]["template"]["metadata"][
        "labels"]
    assert not service["spec"]["selector"].items() <= worker_labels.items()
    # The exporter listens beyond loopback, and Prometheus is told where to scrape it.
    assert option(command, "--exporter-host") == "0.0.0.0"
    for annotated in (service, job["spec"]["template"]):
        notes = annotated["metadata"]["annotations"]
        assert notes["prometheus.io/scrape"] == "true"
        assert notes["prometheus.io/port"] == str(wanted["metrics"])


def test_the_workers_dial_the_masters_service() -> None:
    service = one("Service", "firstbell-master")
    command = worker_pod()["containers"][0]["command"]
    assert option(command, "--master") == service["metadata"]["name"]
    assert int(option(command, "--master-port")) == int(option(master()["command"],
                                                                "--master-port"))


def test_the_workers_generate_the_masters_district_into_their_pool() -> None:
    pod = worker_pod()
    (init,) = pod["initContainers"]
    generate, work = init["command"], pod["containers"][0]["command"]
    assert subcommands(generate)[0] == ["district", "generate"]
    assert option(generate, "--formats") == "userpool"
    assert option(generate, "--profile") == option(master()["command"], "--profile")
    # generate --out DIR writes DIR/userpool, on a volume the worker mounts at the same place
    out = option(generate, "--out")
    assert option(work, "--userpool") == f"{out}/userpool"
    mounts = [{m["mountPath"]: m["name"] for m in c["volumeMounts"]}
              for c in (init, pod["containers"][0])]
    assert mounts[0][out] == mounts[1][out]
    volume = {v["name"]: v for v in pod["volumes"]}[mounts[0][out]]
    assert "emptyDir" in volume


def test_every_pod_may_send_load_to_the_masters_target() -> None:
    command = master()["command"]
    host = urlsplit(option(command, "--target")).hostname
    for c in (master(), worker_pod()["containers"][0]):
        assert host in option(c["command"], "--staging-hosts").split(","), c["name"]


def test_the_run_directory_is_on_the_runs_volume() -> None:
    job_pod = one("Job", "firstbell-master")["spec"]["template"]["spec"]
    claim = one("PersistentVolumeClaim")["metadata"]["name"]
    runs = [v["name"] for v in job_pod["volumes"]
            if v.get("persistentVolumeClaim", {}).get("claimName") == claim]
    assert len(runs) == 1
    (mount,) = [m for m in master()["volumeMounts"] if m["name"] == runs[0]]
    out = Path(option(master()["command"], "--out"))
    assert out.parent == Path(mount["mountPath"]) and not mount.get("readOnly")
    reader = one("Pod", "firstbell-results")["spec"]
    assert any(v.get("persistentVolumeClaim", {}).get("claimName") == claim
               for v in reader["volumes"])
    # the reader serves the runs to `kubectl port-forward` only, not to the cluster
    (serve,) = reader["containers"]
    assert option(serve["command"], "--bind") == "127.0.0.1"
    assert option(serve["command"], "--directory") == mount["mountPath"]


def test_the_configmap_holds_a_scenario_and_thresholds_firstbell_accepts(tmp_path: Path) -> None:
    files = one("ConfigMap", "firstbell-files")
    job_pod = one("Job", "firstbell-master")["spec"]["template"]["spec"]
    (volume,) = [v for v in job_pod["volumes"]
                 if v.get("configMap", {}).get("name") == files["metadata"]["name"]]
    (mount,) = [m for m in master()["volumeMounts"] if m["name"] == volume["name"]]
    command = master()["command"]
    scenario = Path(command[2])  # firstbell run SCENARIO
    thresholds = Path(option(command, "--thresholds"))
    for path in (scenario, thresholds):  # both are files of the ConfigMap's mount
        assert path.parent == Path(mount["mountPath"]) and path.name in files["data"], path
    for name, text in files["data"].items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    # The shipped thresholds are the built-in ones (one source of truth until you edit yours)
    assert load_thresholds(tmp_path / thresholds.name) == load_thresholds()
    plan = computed_plan(str(tmp_path / scenario.name), option(command, "--profile"), None,
                         1.0, None, None, None)
    assert plan.total_peak > 0 and plan.scenario.name == scenario.stem


# -- the commands are firstbell's -----------------------------------------------------------

@pytest.mark.parametrize("owner", [name for name, _ in firstbell_containers()])
def test_every_container_runs_a_real_firstbell_command(owner: str) -> None:
    command = dict(firstbell_containers())[owner]["command"]
    path, cmd = subcommands(command)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIRSTBELL_")}
    shown = subprocess.run([sys.executable, "-m", "firstbell.cli", *path, "--help"], cwd=ROOT,
                           env={**env, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
                           capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    used = [token for token in command if token.startswith("--")]
    assert used, command
    for name in used:
        assert name in shown.stdout.split(), f"{owner}: `firstbell {' '.join(path)}` has no {name}"
    # and the whole command line parses (types, ranges, required options, arguments)
    cmd.make_context(" ".join(["firstbell", *path]), command[1 + len(path):])


def test_every_image_is_this_version_of_firstbell() -> None:
    images = [c["image"] for spec in pod_specs().values() for c in containers(spec)]
    assert images and set(images) == {f"firstbell:{VERSION}"}
    (entry,) = kustomization()["images"]
    assert entry["name"] == "firstbell" and entry["newTag"] == VERSION


# -- what every pod may do ------------------------------------------------------------------

@pytest.mark.parametrize("owner", sorted(pod_specs()))
def test_every_pod_runs_unprivileged(owner: str) -> None:
    spec = pod_specs()[owner]
    pod_sc = spec.get("securityContext", {})
    # FIRSTBELL_MASTER_PORT=tcp://... from a Service named firstbell-master would be read as
    # firstbell's --master-port: no service links.
    assert spec.get("enableServiceLinks") is False
    assert spec.get("automountServiceAccountToken") is False
    assert pod_sc.get("seccompProfile", {}).get("type") == "RuntimeDefault"
    for c in containers(spec):
        sc = c.get("securityContext", {})
        assert sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot")) is True, c["name"]
        assert sc.get("runAsUser", pod_sc.get("runAsUser", 0)) != 0, c["name"]
        assert sc.get("allowPrivilegeEscalation") is False, c["name"]
        assert sc.get("readOnlyRootFilesystem") is True, c["name"]
        assert sc.get("capabilities", {}).get("drop") == ["ALL"], c["name"]
        assert not sc.get("privileged"), c["name"]
        # a read-only root: every place it writes is a volume
        assert "/tmp" in {m["mountPath"] for m in c["volumeMounts"]}, c["name"]
        assert c["resources"]["requests"]["memory"] == c["resources"]["limits"]["memory"]


def test_the_pods_run_as_the_images_own_user() -> None:
    """The image's files belong to the user its Dockerfile creates; the pods run as that uid."""
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    uid = re.search(r"useradd [^\n]*--uid (\d+)", dockerfile)
    gid = re.search(r"groupadd [^\n]*--gid (\d+)", dockerfile)
    assert uid and gid, "the Dockerfile creates no user with a fixed uid and gid"
    for owner, spec in pod_specs().items():
        sc = spec["securityContext"]
        assert (sc["runAsUser"], sc["runAsGroup"]) == (int(uid[1]), int(gid[1])), owner


def test_one_worker_process_per_core() -> None:
    (worker,) = worker_pod()["containers"]
    assert worker["resources"]["requests"]["cpu"] == "1"
    assert "--processes" not in worker["command"]  # one per pod; more pods for more cores
    job = one("Job", "firstbell-master")["spec"]
    assert job["backoffLimit"] == 0 and job["template"]["spec"]["restartPolicy"] == "Never"
    assert job["activeDeadlineSeconds"] > 0
