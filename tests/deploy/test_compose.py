"""docker-compose.yml and the Dockerfile, checked without a Docker engine (the machines that test
this repository have none): the compose file validates against the Compose specification's JSON
schema (vendored beside this file, see compose-spec.md); bind mounts exist; host ports are
unique; images are pinned; long-running services have healthchecks and one-shot services are
waited for with service_completed_successfully; every `firstbell …` command and every option it
uses exists; the Prometheus and Grafana the stack mounts point at the stack's own services; the
Dockerfile's base is pinned and what it copies exists.

Each check is a function returning its problems; the tests below run each on the real files
(no problems) and on a broken copy (a problem), so every check is known to be able to fail."""

from __future__ import annotations

import copy
import fnmatch
import functools
import hashlib
import importlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer
import yaml

from monitoring.generate import COMPOSE_DATASOURCES, COMPOSE_PROMETHEUS, PROVIDERS
from staging.config import Settings

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
MONITORING = ROOT / "monitoring"
SCHEMA = Path(__file__).with_name("compose-spec.json")
SCHEMA_SHA256 = "1f91e091f16b2dd50ab8860e02bb391d22df553d91c145eacedb1b6eff9c3f0e"
# What a person must set (docs/docker.md); every other variable takes the file's default.
ENV = {"GRAFANA_ADMIN_PASSWORD": "only-a-test"}
VERSION_TAG = re.compile(r"^v?\d+\.\d+(\.\d+)?([.-][0-9A-Za-z.-]+)?$")

Compose = dict[str, Any]
Problems = list[str]


# --- loading, with Compose's interpolation --------------------------------------------------

class MissingVariable(Exception):
    """A `${VAR:?message}` (or `${VAR?message}`) whose variable is not set."""


VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<named>[A-Za-z_]\w*))")
BRACED = re.compile(r"^(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?+])(?P<arg>.*))?$", re.DOTALL)


def interpolate(text: str, env: Mapping[str, str]) -> str:
    """Compose's interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
    ${VAR:?error}, ${VAR?error}, ${VAR:+alt}, ${VAR+alt}; `$$` is a literal `$`."""
    def one(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        if m.group("named"):
            return env.get(m.group("named"), "")
        parsed = BRACED.match(m.group("braced"))
        assert parsed, f"bad interpolation {m.group(0)!r}"
        name, op, arg = parsed.group("name"), parsed.group("op"), parsed.group("arg") or ""
        value = env.get(name)
        colon = bool(op) and op.startswith(":")
        is_set = bool(value) if colon else value is not None
        if op is None:
            return value or ""
        if op.endswith("-"):
            return value if is_set and value is not None else interpolate(arg, env)
        if op.endswith("?"):
            if not is_set:
                raise MissingVariable(f"{name}: {arg}")
            return value or ""
        return interpolate(arg, env) if is_set else ""  # + : the alternative when set

    return VARIABLE.sub(one, text)


def interpolated(data: Any, env: Mapping[str, str]) -> Any:
    if isinstance(data, str):
        return interpolate(data, env)
    if isinstance(data, list):
        return [interpolated(v, env) for v in data]
    if isinstance(data, dict):
        return {k: interpolated(v, env) for k, v in data.items()}
    return data


def raw() -> Compose:
    data: Compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return data


def load(env: Mapping[str, str] = ENV) -> Compose:
    """The compose file as Docker Compose sees it with only `env` set."""
    data: Compose = interpolated(raw(), env)
    return data


@pytest.fixture
def doc() -> Compose:
    return load()


def services(doc: Compose) -> dict[str, dict[str, Any]]:
    return dict(doc["services"])


def is_one_shot(name: str) -> bool:
    """Init services run once and exit 0 (by name: `…-init`)."""
    return name.endswith("-init")


def command(service: dict[str, Any]) -> list[str]:
    cmd = service.get("command", [])
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)


def argv_of(service: dict[str, Any]) -> list[str]:
    """The program and its arguments; a `sh -c SCRIPT` is split (its `$(…)` made one word)."""
    cmd = command(service)
    if cmd[:2] == ["sh", "-c"]:
        cmd = shlex.split(re.sub(r"\$\([^)]*\)", "SUBST", cmd[2]))
        if cmd[:1] == ["exec"]:
            cmd = cmd[1:]
    return cmd


# --- the checks ---------------------------------------------------------------------------

@functools.cache
def schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return data


def schema_problems(doc: Compose) -> Problems:
    validator = jsonschema.Draft7Validator(schema())
    return [f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
            for e in validator.iter_errors(doc)]


def volume_problems(doc: Compose) -> Problems:
    """Every bind-mounted host path exists in the repo; every named volume is declared."""
    problems = []
    declared = set(doc.get("volumes") or {})
    for name, svc in services(doc).items():
        for vol in svc.get("volumes", []):
            if isinstance(vol, dict):
                source, kind = str(vol.get("source", "")), vol.get("type", "volume")
            else:
                source = vol.split(":")[0]
                kind = "bind" if source.startswith((".", "/", "~")) else "volume"
            if kind == "bind" and not (ROOT / source).exists():
                problems.append(f"{name}: bind mount {source} does not exist in the repo")
            if kind == "volume" and source not in declared:
                problems.append(f"{name}: named volume {source} is not declared under volumes")
    return problems


def published(doc: Compose) -> list[tuple[str, str, str, str]]:
    """(service, host address, host port, container port) of every published port."""
    out = []
    for name, svc in services(doc).items():
        for port in svc.get("ports", []):
            if isinstance(port, dict):
                out.append((name, str(port.get("host_ip", "")), str(port.get("published", "")),
                            str(port["target"])))
                continue
            parts = str(port).split(":")
            host_ip = parts[0] if len(parts) == 3 else ""
            host_port = parts[-2] if len(parts) >= 2 else ""
            out.append((name, host_ip, host_port, parts[-1]))
    return out


def port_problems(doc: Compose) -> Problems:
    seen: dict[str, str] = {}
    problems = []
    for name, _, host_port, _ in published(doc):
        if not host_port:
            problems.append(f"{name}: publishes a port on a random host port")
        elif host_port in seen:
            problems.append(f"{name}: host port {host_port} is also {seen[host_port]}'s")
        seen.setdefault(host_port, name)
    return problems


def image_problems(doc: Compose) -> Problems:
    """Every image has a version tag (not latest); the image built here is the package's
    version."""
    problems = []
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, svc in services(doc).items():
        image = svc.get("image", "")
        tag = image.split("/")[-1].partition(":")[2]
        if not image or not VERSION_TAG.match(tag) or tag == "latest":
            problems.append(f"{name}: image {image!r} is not pinned to a version")
        if "build" in svc and tag != version:
            problems.append(f"{name}: the image built here is tagged {tag}, not {version}")
        if "build" in svc and not (ROOT / svc["build"].get("context", ".") /
                                   svc["build"].get("dockerfile", "Dockerfile")).is_file():
            problems.append(f"{name}: its Dockerfile does not exist")
    return problems


def health_problems(doc: Compose) -> Problems:
    """Long-running services have a healthcheck; one-shot services run once."""
    problems = []
    for name, svc in services(doc).items():
        check = svc.get("healthcheck") or {}
        if is_one_shot(name):
            if svc.get("restart", "no") != "no":
                problems.append(f"{name}: a one-shot service must not restart")
        elif not check.get("test") or check.get("disable"):
            problems.append(f"{name}: a long-running service without a healthcheck")
    return problems


def dependency_problems(doc: Compose) -> Problems:
    """Every depends_on has a condition: service_completed_successfully on a one-shot service,
    service_healthy on a service with a healthcheck; every one-shot service is waited for."""
    problems = []
    svcs = services(doc)
    waited_for: set[str] = set()
    for name, svc in svcs.items():
        deps = svc.get("depends_on", {})
        if isinstance(deps, list):
            problems.append(f"{name}: depends_on without conditions ({', '.join(deps)})")
            continue
        for dep, spec in deps.items():
            condition = (spec or {}).get("condition")
            if dep not in svcs:
                problems.append(f"{name}: depends on {dep}, which is not a service")
            elif is_one_shot(dep):
                waited_for.add(dep)
                if condition != "service_completed_successfully":
                    problems.append(f"{name}: waits for the one-shot {dep} with {condition}, "
                                    "not service_completed_successfully")
            elif condition != "service_healthy":
                problems.append(f"{name}: waits for {dep} with {condition}, not service_healthy")
    problems += [f"{name}: a one-shot service nothing waits for" for name in svcs
                 if is_one_shot(name) and name not in waited_for]
    return problems


@functools.cache
def cli_tree() -> Any:
    """firstbell's command tree (Typer's own click: a group is what has `commands`)."""
    from firstbell.cli import app
    return typer.main.get_command(app)


@functools.cache
def help_text(path: tuple[str, ...]) -> tuple[int, str]:
    result = subprocess.run([sys.executable, "-m", "firstbell.cli", *path, "--help"],
                            capture_output=True, text=True, timeout=120, cwd=ROOT,
                            env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    return result.returncode, result.stdout + result.stderr


def firstbell_commands(doc: Compose) -> list[tuple[str, list[str]]]:
    return [(name, argv_of(svc)[1:]) for name, svc in services(doc).items()
            if argv_of(svc)[:1] == ["firstbell"]]


def command_problems(doc: Compose) -> Problems:
    """Every `firstbell …` is a real command: `--help` exits 0 and lists every option used."""
    problems = []
    for name, args in firstbell_commands(doc):
        cmd, path = cli_tree(), []
        for arg in args:
            if not hasattr(cmd, "commands") or arg.startswith("-"):
                break
            cmd, path = cmd.commands.get(arg), [*path, arg]
            if cmd is None:
                break
        if cmd is None or hasattr(cmd, "commands"):
            problems.append(f"{name}: 'firstbell {' '.join(path)}' is not a firstbell command")
            continue
        code, text = help_text(tuple(path))
        if code != 0:
            problems.append(f"{name}: firstbell {' '.join(path)} --help exits {code}")
        known = {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts)}
        for arg in args[len(path):]:
            option = arg.split("=", 1)[0]
            if not option.startswith("-") or re.fullmatch(r"-\d+(\.\d+)?", option):
                continue
            if option not in known or not re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])",
                                                     text):
                problems.append(f"{name}: firstbell {' '.join(path)} has no option {option}")
    return problems


def python_problems(doc: Compose) -> Problems:
    """`python -m MODULE` commands import and have a main(); `python -c` scripts compile;
    the staging SIS's FIRSTBELL_* variables are its settings, with valid values."""
    problems = []
    for name, svc in services(doc).items():
        check = (svc.get("healthcheck") or {}).get("test") or []
        for argv in (command(svc), list(check[1:]) if check[:1] == ["CMD"] else []):
            if argv[:2] == ["python", "-m"]:
                try:
                    module = importlib.import_module(argv[2])
                except ImportError as exc:
                    problems.append(f"{name}: python -m {argv[2]}: {exc}")
                    continue
                if not callable(getattr(module, "main", None)):
                    problems.append(f"{name}: python -m {argv[2]} has no main()")
            if argv[:2] == ["python", "-c"]:
                try:
                    compile(argv[2], f"{name} python -c", "exec")
                except SyntaxError as exc:
                    problems.append(f"{name}: python -c does not compile: {exc}")
        if command(svc)[:3] == ["python", "-m", "staging.server"]:
            env = {k.removeprefix("FIRSTBELL_").lower(): v
                   for k, v in (svc.get("environment") or {}).items()
                   if k.startswith("FIRSTBELL_")}
            unknown = set(env) - set(Settings.model_fields)
            if unknown:
                problems.append(f"{name}: FIRSTBELL_* not a setting: {sorted(unknown)}")
            try:
                Settings.model_validate({k: v for k, v in env.items() if k not in unknown})
            except ValueError as exc:
                problems.append(f"{name}: settings rejected: {exc}")
    return problems


def container_ports(svc: dict[str, Any]) -> set[str]:
    """The ports a service listens on, as far as this file says: its published ports' container
    side, the staging SIS's FIRSTBELL_PORT, a firstbell run's --exporter-port."""
    ports = {str(p).split(":")[-1] for p in svc.get("ports", []) if not isinstance(p, dict)}
    ports |= {str(p["target"]) for p in svc.get("ports", []) if isinstance(p, dict)}
    if (svc.get("environment") or {}).get("FIRSTBELL_PORT"):
        ports.add(str(svc["environment"]["FIRSTBELL_PORT"]))
    exporter = _option(argv_of(svc), "--exporter-port")
    return ports | ({exporter} if exporter else set())


def _option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv[:-1] else None


def monitoring_problems(doc: Compose) -> Problems:
    """Prometheus and Grafana mount the generated compose variants, whose targets are this
    file's services on the ports they listen on."""
    problems = []
    svcs = services(doc)

    def mounts(name: str) -> dict[str, str]:  # container path -> host path
        return {v.split(":")[1]: v.split(":")[0] for v in svcs.get(name, {}).get("volumes", [])
                if isinstance(v, str) and v.startswith(".")}

    if mounts("prometheus").get("/etc/prometheus/prometheus.yml") != \
            f"./monitoring/{COMPOSE_PROMETHEUS}":
        problems.append(f"prometheus: does not mount monitoring/{COMPOSE_PROMETHEUS}")
    config = yaml.safe_load((MONITORING / COMPOSE_PROMETHEUS).read_text())
    targets = [t for job in config["scrape_configs"] for s in job["static_configs"]
               for t in s["targets"]]
    targets += config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]
    for target in targets:
        host, _, port = target.rpartition(":")
        if host not in svcs or port not in container_ports(svcs[host]):
            problems.append(f"prometheus: target {target} is not a service of this file "
                            "listening on that port")
    datasources = Path(COMPOSE_DATASOURCES).parent
    if mounts("grafana").get("/etc/grafana/provisioning/datasources") != \
            f"./monitoring/{datasources}":
        problems.append(f"grafana: does not mount monitoring/{datasources}")
    url = yaml.safe_load((MONITORING / COMPOSE_DATASOURCES).read_text())["datasources"][0]["url"]
    if url.split("//")[1].split(":")[0] not in svcs:
        problems.append(f"grafana: its datasource {url} is not a service of this file")
    path = yaml.safe_load((MONITORING / PROVIDERS).read_text())["providers"][0]["options"]["path"]
    if mounts("grafana").get(path) != "./monitoring/grafana/dashboards":
        problems.append(f"grafana: the dashboards are not mounted at {path}")
    return problems


def secret_problems(text: str) -> Problems:
    """Grafana's admin password is required (`${GRAFANA_ADMIN_PASSWORD:?…}`), never defaulted."""
    data = yaml.safe_load(text)
    value = str(data["services"]["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"])
    if not value.startswith("${GRAFANA_ADMIN_PASSWORD:?") or not value.endswith("}"):
        return [f"grafana: GF_SECURITY_ADMIN_PASSWORD is {value!r}, not "
                "${GRAFANA_ADMIN_PASSWORD:?message}"]
    try:
        interpolated(data, {})
    except MissingVariable:
        return []
    return ["the file interpolates without GRAFANA_ADMIN_PASSWORD"]


def dockerfile_instructions(text: str) -> list[tuple[str, list[str]]]:
    """(INSTRUCTION, arguments) of each instruction, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", text)
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), shlex.split(rest) if not rest.startswith("[")
                        else json.loads(rest)))
    return out


def dockerignore_patterns(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith(("#", "!"))]


def ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's `patterns` exclude `path` (or a folder above it); `**/x` matches
    x at any depth."""
    parts = Path(path).parts
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    for pattern in patterns:
        for prefix in prefixes:
            if pattern.startswith("**/"):
                if fnmatch.fnmatch(prefix.split("/")[-1], pattern[3:]):
                    return True
            elif fnmatch.fnmatch(prefix, pattern):
                return True
    return False


def installed_packages() -> list[str]:
    """The top-level packages pyproject.toml installs (its packages.find include list)."""
    import tomllib
    include = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"]["find"]["include"]
    return [pattern.rstrip("*") for pattern in include]


def dockerfile_problems(text: str, ignore_text: str) -> Problems:
    """A pinned base; every COPY source exists and is not excluded from the build context; an
    unprivileged USER, a WORKDIR and a firstbell CMD."""
    problems = []
    patterns = dockerignore_patterns(ignore_text)
    instructions = dockerfile_instructions(text)
    stages: set[str] = set()
    for word, args in instructions:
        if word == "FROM":
            image = next(a for a in args if not a.startswith("--"))
            if len(args) >= 3 and args[-2].upper() == "AS":
                stages.add(args[-1])
            tag = image.split("@")[0].rpartition(":")[2] if ":" in image else ""
            if image not in stages and "@sha256:" not in image and not (
                    VERSION_TAG.match(tag) and re.search(r"\d+\.\d+\.\d+", tag)):
                problems.append(f"FROM {image}: not pinned to an exact version")
        if word in ("COPY", "ADD"):
            if any(a.startswith("--from") for a in args):
                continue
            for source in [a for a in args if not a.startswith("--")][:-1]:
                if not (ROOT / source).exists():
                    problems.append(f"{word} {source}: does not exist")
                elif ignored(source, patterns):
                    problems.append(f"{word} {source}: excluded by .dockerignore")
    copied = {a.rstrip("/") for word, args in instructions if word == "COPY"
              and not any(x.startswith("--from") for x in args)
              for a in [x for x in args if not x.startswith("--")][:-1]}
    for package in installed_packages():
        if package not in copied:
            problems.append(f"package {package}: pyproject.toml installs it but no COPY"
                            " brings it into the image")
    users = [args[0] for word, args in instructions if word == "USER"]
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("no unprivileged USER")
    if not any(word == "WORKDIR" for word, _ in instructions):
        problems.append("no WORKDIR")
    if not any(word in ("CMD", "ENTRYPOINT") and args[:1] == ["firstbell"]
               for word, args in instructions):
        problems.append("the default command is not firstbell")
    return problems


# --- the files as they are -----------------------------------------------------------------

def test_the_vendored_schema_is_the_one_noted() -> None:
    assert hashlib.sha256(SCHEMA.read_bytes()).hexdigest() == SCHEMA_SHA256, \
        "compose-spec.json changed: update compose-spec.md (commit) and SCHEMA_SHA256"
    assert schema()["title"] == "Compose Specification"


def test_the_compose_file_validates_against_the_compose_schema(doc: Compose) -> None:
    assert schema_problems(raw()) == []  # as written (interpolation left to Compose)
    assert schema_problems(doc) == []    # and as Compose reads it, with the defaults


@pytest.mark.parametrize("check", [volume_problems, port_problems, image_problems,
                                   health_problems, dependency_problems, command_problems,
                                   python_problems, monitoring_problems],
                         ids=lambda f: f.__name__)
def test_the_compose_file_passes(check: Callable[[Compose], Problems], doc: Compose) -> None:
    assert check(doc) == []


def test_the_services_are_the_stack_in_the_docs(doc: Compose) -> None:
    assert set(services(doc)) == {"postgres", "staging-init", "staging", "district-init",
                                  "prometheus", "alertmanager", "grafana", "locust-master",
                                  "worker"}
    assert {p[2] for p in published(doc)} == {"8700", "9090", "9093", "3000"}
    assert {p[1] for p in published(doc)} == {"127.0.0.1"}  # loopback unless BIND_ADDRESS
    docs = (ROOT / "docs" / "docker.md").read_text()
    assert all(f"`{name}`" in docs for name in services(doc))


def test_the_run_and_the_workers_agree(doc: Compose) -> None:
    """The master waits for WORKERS workers; the workers read the user pool district-init
    writes, of the district staging-init seeds; the target is the staging service."""
    svcs = services(doc)
    master, worker = argv_of(svcs["locust-master"]), argv_of(svcs["worker"])
    seed, pool = argv_of(svcs["staging-init"]), argv_of(svcs["district-init"])
    assert _option(master, "--expect-workers") == "2"
    assert load({**ENV, "WORKERS": "4"})["services"]["locust-master"]["command"][2].count(
        "--expect-workers 4") == 1
    for option in ("--profile", "--scale", "--seed"):
        assert _option(seed, option) == _option(pool, option), option
    assert _option(master, "--profile") == _option(seed, "--profile")
    assert _option(worker, "--userpool") == f"{_option(pool, '--out')}/userpool"
    assert _option(master, "--target") == "http://staging:8700"
    assert _option(master, "--staging-hosts") == _option(worker, "--staging-hosts") == "staging"
    assert _option(worker, "--master") == "locust-master"
    assert _option(worker, "--master-port") == _option(master, "--master-port")
    assert str(_option(master, "--out")).startswith("/runs/")
    assert "runs:/runs" in svcs["locust-master"]["volumes"]
    assert "district:/data:ro" in svcs["worker"]["volumes"]


def test_grafana_admin_password_is_required() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    assert secret_problems(text) == []
    with pytest.raises(MissingVariable, match="GRAFANA_ADMIN_PASSWORD"):
        load({})


def test_the_dockerfile() -> None:
    assert dockerfile_problems(DOCKERFILE.read_text(), DOCKERIGNORE.read_text()) == []
    ignore = dockerignore_patterns(DOCKERIGNORE.read_text())
    for path in (".venv", ".firstbell", "runs", ".git", ".pytest_cache", "tests"):
        assert ignored(path, ignore), path


def test_the_images_install_works_outside_the_repo(tmp_path: Path) -> None:
    """The image's `pip install .` without Docker: only what the Dockerfile copies, installed
    (with this environment's dependencies) into a folder, and the stack's commands run from
    elsewhere with only that install on the path: the package data (profiles, scenarios,
    migrations, templates) and the console script are in it."""
    context, site, work = tmp_path / "context", tmp_path / "site", tmp_path / "work"
    work.mkdir()
    for word, args in dockerfile_instructions(DOCKERFILE.read_text()):
        if word != "COPY":
            continue
        *sources, dest = args
        for source in sources:
            target = context / dest / (Path(source).name if dest.endswith("/") else "")
            if (ROOT / source).is_dir():
                shutil.copytree(ROOT / source, target, ignore=shutil.ignore_patterns(
                    "__pycache__", "*.pyc"))
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(ROOT / source, target)
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--no-build-isolation", "--target", str(site), str(context)],
        capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    env = {**os.environ, "PYTHONPATH": str(site), "COLUMNS": "200"}

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=work,
                              env=env)

    # one module of each package; Locust's first, as in a Locust process (it patches ssl)
    modules = ("loadtests.locustfile", "firstbell.cli", "fake_data.profile", "staging.server",
               "scenarios.compute", "thresholds", "kernel.version", "monitoring.generate")
    imported = run(sys.executable, "-c", "import importlib;"
                   f" print(*(importlib.import_module(m).__file__ for m in {modules!r}))")
    assert imported.returncode == 0, imported.stderr
    assert all(f.startswith(str(site)) for f in imported.stdout.split()), imported.stdout
    assert run(str(site / "bin" / "firstbell"), "--help").returncode == 0
    plan = run(sys.executable, "-m", "firstbell.cli", "plan", "back-to-school", "--profile",
               "small")
    assert plan.returncode == 0, plan.stderr
    pool = run(sys.executable, "-m", "firstbell.cli", "district", "generate", "--profile",
               "small", "--scale", "0.05", "--out", "data/district", "--formats", "userpool")
    assert pool.returncode == 0 and (work / "data/district/userpool/teacher.arrow").is_file(), \
        pool.stderr
    for folder, pattern in (("staging/migrations", "*.sql"),
                            ("firstbell/report/templates", "*.j2"),
                            ("fake_data/profiles", "*.yaml"), ("scenarios/days", "*.yaml"),
                            ("thresholds", "*.yaml")):
        assert sorted(p.name for p in (site / folder).glob(pattern)) == \
            sorted(p.name for p in (ROOT / folder).glob(pattern)), folder


# --- each check can fail ---------------------------------------------------------------------

def _set(path: str, value: Any) -> Callable[[Compose], None]:
    """A mutation: set services/<path> (slash-separated) to `value`."""
    def apply(doc: Compose) -> None:
        *keys, last = path.split("/")
        node = doc["services"]
        for key in keys:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if value is None:
            del node[int(last) if isinstance(node, list) else last]
        elif isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value
    return apply


def _replace(path: str, old: str, new: str) -> Callable[[Compose], None]:
    """A mutation: replace `old` by `new` in the string at services/<path>."""
    def apply(doc: Compose) -> None:
        *keys, last = path.split("/")
        node = doc["services"]
        for key in keys:
            node = node[int(key)] if isinstance(node, list) else node[key]
        index = int(last) if isinstance(node, list) else last
        assert old in node[index]
        node[index] = node[index].replace(old, new)
    return apply


def _all(*mutations: Callable[[Compose], None]) -> Callable[[Compose], None]:
    def apply(doc: Compose) -> None:
        for mutation in mutations:
            mutation(doc)
    return apply


BROKEN: list[tuple[Callable[[Compose], Problems], Callable[[Compose], None]]] = [
    (schema_problems, _set("staging/healthcheck/intervall", "5s")),
    (schema_problems, _set("postgres/restart", ["always"])),
    (volume_problems, _set("prometheus/volumes/0",
                           "./monitoring/prometheus/gone.yml:/etc/prometheus/prometheus.yml:ro")),
    (volume_problems, _set("worker/volumes/0", "pool:/data:ro")),
    (port_problems, _set("grafana/ports/0", "127.0.0.1:8700:3000")),
    (image_problems, _set("prometheus/image", "prom/prometheus:latest")),
    (image_problems, _set("postgres/image", "postgres")),
    (image_problems, _set("staging/image", "firstbell:0.0.9")),
    (health_problems, _set("staging/healthcheck", None)),
    (health_problems, _set("worker/healthcheck/disable", True)),
    (health_problems, _set("staging-init/restart", "on-failure")),
    (dependency_problems, _set("staging/depends_on", ["postgres", "staging-init"])),
    (dependency_problems, _set("staging/depends_on/staging-init/condition", "service_started")),
    (dependency_problems, _set("grafana/depends_on/prometheus/condition", "service_started")),
    (dependency_problems, _set("worker/depends_on/district-init", None)),
    (command_problems, _set("worker/command/1", "wrker")),
    (command_problems, _set("worker/command", ["firstbell", "staging"])),
    (command_problems, _set("staging-init/command/3", "--databse-url")),
    (command_problems, _set("locust-master/command/2", "exec firstbell run smoke --targets x")),
    (python_problems, _set("staging/command", ["python", "-m", "staging.servr"])),
    (python_problems, _set("staging/healthcheck/test/3", "import urllib.request;(")),
    (python_problems, _set("staging/environment/FIRSTBELL_WORKRS", "2")),
    (python_problems, _set("staging/environment/FIRSTBELL_PORT", "eighty")),
    (monitoring_problems, _set("prometheus/volumes/0",
                               "./monitoring/prometheus/prometheus.yml:/etc/prometheus/"
                               "prometheus.yml:ro")),
    (monitoring_problems, _replace("locust-master/command/2", "--exporter-port 9646",
                                   "--exporter-port 9647")),
    (monitoring_problems, _all(_set("staging/ports", None),
                               _set("staging/environment/FIRSTBELL_PORT", "8800"))),
    (monitoring_problems, _set("grafana/volumes/2", "./monitoring/grafana/dashboards:/dash:ro")),
    (monitoring_problems, _set("grafana/volumes/0", "./monitoring/grafana/provisioning/"
                               "datasources:/etc/grafana/provisioning/datasources:ro")),
]


@pytest.mark.parametrize(("check", "breakage"), BROKEN,
                         ids=[f"{c.__name__}-{i}" for i, (c, _) in enumerate(BROKEN)])
def test_each_check_can_fail(check: Callable[[Compose], Problems],
                             breakage: Callable[[Compose], None], doc: Compose) -> None:
    broken = copy.deepcopy(doc)
    breakage(broken)
    assert check(broken), "the check did not notice"


@pytest.mark.parametrize("edit", [
    (r"\$\{GRAFANA_ADMIN_PASSWORD:\?", "${GRAFANA_ADMIN_PASSWORD:-"),  # a default instead
    (r"\$\{GRAFANA_ADMIN_PASSWORD:\?[^}]*\}", "admin"),                 # a fixed password
])
def test_the_password_check_can_fail(edit: tuple[str, str]) -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    broken, count = re.subn(edit[0], lambda _: edit[1], text)
    assert count == 1 and secret_problems(broken)


@pytest.mark.parametrize("edit", [
    ("FROM python:3.11.14-slim-bookworm", "FROM python:3.11-slim-bookworm"),
    ("FROM python:3.11.14-slim-bookworm", "FROM python:latest"),
    ("COPY staging ./staging", "COPY stagin ./staging"),
    ("COPY sis ./sis\n", ""),
    ("COPY pyproject.toml README.md ./", "COPY pyproject.toml README.md setup.cfg ./"),
    ("USER firstbell", "USER root"),
    ('CMD ["firstbell", "--help"]', 'CMD ["python"]'),
])
def test_the_dockerfile_check_can_fail(edit: tuple[str, str]) -> None:
    text = DOCKERFILE.read_text()
    assert edit[0] in text
    assert dockerfile_problems(text.replace(*edit), DOCKERIGNORE.read_text())


def test_an_ignored_copy_source_is_noticed() -> None:
    ignore = DOCKERIGNORE.read_text() + "\nREADME.md\n"
    assert dockerfile_problems(DOCKERFILE.read_text(), ignore) == [
        "COPY README.md: excluded by .dockerignore"]


def test_interpolation_is_composes() -> None:
    env = {"SET": "x", "EMPTY": ""}
    cases = {"${SET}": "x", "$SET": "x", "${UNSET}": "", "${UNSET:-d}": "d", "${EMPTY:-d}": "d",
             "${EMPTY-d}": "", "${SET:+alt}": "alt", "${UNSET:+alt}": "", "$$(date)": "$(date)",
             "a-${UNSET:-b}-c": "a-b-c"}
    for text, expected in cases.items():
        assert interpolate(text, env) == expected, text
    for text in ("${UNSET:?needed}", "${EMPTY:?needed}", "${UNSET?needed}"):
        with pytest.raises(MissingVariable, match="needed"):
            interpolate(text, env)
    assert interpolate("${EMPTY?needed}", env) == ""
