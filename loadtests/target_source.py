"""Which target a plan drives: a built-in Python target by name (`loadtests.targets`), or a
district's own target file carried in the plan (`plan.target_file`), plus the rows of any
vendor test-account CSV pools that file names.

Kept apart from `loadtests.targets` because the target-file runtime builds on that module's
`Target`; the engine and the CLI ask here instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from loadtests.plan import LoadPlan
from loadtests.targetfile.loader import load_with_source
from loadtests.targetfile.model import TargetFile
from loadtests.targetfile.target import build_target, csv_pool, pool_of
from loadtests.targets import Target, load_target
from loadtests.targets_allowed import check_target


def target_file_payload(path: Path | str) -> dict[str, Any]:
    """A target file or folder, validated (a TargetFileError naming file, line, field and
    value otherwise), as the JSON the plan carries."""
    target, _ = load_with_source(path)
    return target.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def host_urls(hosts: list[str]) -> list[str]:
    """A target file's `hosts:` entries (host names or URLs) as URLs the allowlist reads."""
    return [h if "://" in h else f"http://{h}" for h in hosts]


def target_of_payload(payload: dict[str, Any]) -> Target:
    """The engine's view of a target file carried as JSON."""
    return build_target(TargetFile.model_validate(payload))


def target_of(plan: LoadPlan) -> Target:
    """The click paths, login, probes and pools the plan's target declares."""
    if plan.target_file is not None:
        return target_of_payload(plan.target_file)
    return load_target(plan.target)


def check_hosts(target_file: Mapping[str, Any] | None, staging_hosts: list[str]) -> None:
    """Every host a target file may reach passes the same allowlist as the target (a
    TargetRefused naming it otherwise)."""
    for host in host_urls((target_file or {}).get("hosts", [])):
        check_target(host, staging_hosts)


def userpool_files(target_file: Mapping[str, Any] | None, target: Target,
                   personas: Iterable[str], spec: Path | str | None) -> list[str]:
    """The user-pool files a run sending `personas` reads from --userpool: the target's pools
    for them, less those a target file fills from vendor CSV accounts beside it."""
    vendor = set(csv_pools(target_file, spec))
    return [p for p in target.pools_for(personas) if p not in vendor]


def csv_pools(target_file: Mapping[str, Any] | None,
              spec: Path | str | None) -> dict[str, list[dict[str, Any]]]:
    """The vendor test accounts of the plan's target file, by pool name, read from the CSV
    files beside `spec` (the target file on this machine); none for a built-in target."""
    if target_file is None or spec is None:
        return {}
    target, base = load_with_source(spec)
    pools: dict[str, list[dict[str, Any]]] = {}
    for name, persona in target.personas.items():
        rows = csv_pool(target, name, base)
        if rows is not None:
            pools[pool_of(name, persona)] = rows
    return pools
