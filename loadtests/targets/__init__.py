"""The targets a load test can drive: each is a module of click paths, its login spec and the
security probes its paths run. `load_target` imports one by name (the plan's ``target``)."""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from loadtests.browser import ClickPath, LoginSpec

TARGETS: dict[str, str] = {
    "staging": "loadtests.targets.staging",
    "ping": "loadtests.targets.ping",
}


@dataclass(frozen=True)
class Target:
    name: str
    login: LoginSpec
    click_paths: dict[str, ClickPath]     # persona -> its session
    probes: tuple[str, ...]               # every probe name the paths can run
    # The user pools the engine must load: each persona's own (a persona's sessions log in as
    # rows of the pool of the same name) and those the paths borrow from or look up in.
    pool_personas: tuple[str, ...]
    # Seconds a session spends thinking at think scale 1, per persona (an estimate the engine
    # provisions users by until it has measured real sessions).
    session_seconds: dict[str, float] = field(default_factory=dict)
    # Pools every run loads whatever personas its plan has: those the paths borrow from or
    # look up in (the rest of pool_personas only when the plan sends that persona).
    shared_pools: tuple[str, ...] = ()
    # The click-path mix knobs each persona's path reads, with their defaults.
    mix: dict[str, dict[str, float]] = field(default_factory=dict)
    # The pool a persona's sessions log in from when it is not the persona's own name (a
    # target file's `pool: {userpool: parent}` for its guardian).
    identity_pools: dict[str, str] = field(default_factory=dict)

    def pool_of(self, persona: str) -> str:
        """The user pool `persona`'s sessions take their identity from."""
        return self.identity_pools.get(persona, persona)

    def enabled_probes(self, wanted: Iterable[str] | None) -> frozenset[str]:
        """The probes a plan turns on: all of this target's when `wanted` is None. A name the
        target does not know is an error, not a silently skipped check."""
        if wanted is None:
            return frozenset(self.probes)
        chosen = frozenset(wanted)
        unknown = sorted(chosen - set(self.probes))
        if unknown:
            raise ValueError(f"target {self.name!r} has no probe {', '.join(unknown)}; its"
                             f" probes are {', '.join(self.probes) or 'none'}")
        return chosen

    def pools_for(self, personas: Iterable[str]) -> list[str]:
        """The user-pool files a plan sending `personas` needs: theirs, and those the paths
        borrow from or look up in (integration clients come from --oneroster-client)."""
        used, shared = {self.pool_of(p) for p in personas}, set(self.shared_pools)
        return [p for p in self.pool_personas if p != "integration"
                and (p in used or p in shared or p not in self.click_paths)]

    def check_mix(self, mix: Mapping[str, Mapping[str, float]]) -> None:
        """A mix knob no path reads would silently change nothing: refuse it."""
        for persona, knobs in mix.items():
            if persona not in self.click_paths:
                raise ValueError(f"target {self.name!r} has no persona {persona!r}; its"
                                 f" personas are {', '.join(sorted(self.click_paths))}")
            known = self.mix.get(persona, {})
            unknown = sorted(set(knobs) - set(known))
            if unknown:
                raise ValueError(f"target {self.name!r} has no mix knob {unknown[0]!r} for"
                                 f" persona {persona!r}; its knobs are "
                                 f"{', '.join(sorted(known)) or 'none'}")
            for knob, value in knobs.items():
                if not (math.isfinite(value) and value >= 0):
                    raise ValueError(f"mix knob {persona}.{knob} is {value}; knobs are shares"
                                     " or counts and cannot be negative")
                if knob.endswith("_share") and value > 1:
                    raise ValueError(f"mix knob {persona}.{knob} is {value}; a share is"
                                     " between 0 and 1")


def load_target(name: str) -> Target:
    """A built-in target by name (``staging``), or a district's own Python target module
    outside the package: a file (``targets/district.py``) or an importable module
    (``district_sis.paths``). A module declares ``LOGIN`` and ``CLICK_PATHS`` (and may declare
    ``PROBES``, ``POOL_PERSONAS``, ``SHARED_POOLS``, ``SESSION_SECONDS``, ``MIX``)."""
    module = _module_of(name)
    for needed in ("LOGIN", "CLICK_PATHS"):
        if not hasattr(module, needed):
            raise ValueError(f"target module {name!r} declares no {needed}; see docs/targets.md"
                             " (Python target modules)")
    return Target(
        name=name if name in TARGETS else getattr(module, "NAME", Path(name).stem
                                                  if name.endswith(".py") else name),
        login=module.LOGIN,
        click_paths=dict(module.CLICK_PATHS),
        probes=tuple(getattr(module, "PROBES", ())),
        pool_personas=tuple(getattr(module, "POOL_PERSONAS", ())),
        session_seconds=dict(getattr(module, "SESSION_SECONDS", {})),
        shared_pools=tuple(getattr(module, "SHARED_POOLS", getattr(module, "POOL_PERSONAS",
                                                                   ()))),
        mix={persona: dict(knobs) for persona, knobs in getattr(module, "MIX", {}).items()},
    )


def _module_of(name: str) -> ModuleType:
    if name in TARGETS:
        return importlib.import_module(TARGETS[name])
    if name.endswith(".py"):
        path = Path(name)
        spec = importlib.util.spec_from_file_location(f"firstbell_target_{path.stem}", path)
        if not path.is_file() or spec is None or spec.loader is None:
            raise ValueError(f"target module {name}: no such file")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    if "." in name:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            raise ValueError(f"target module {name!r} cannot be imported ({exc}); put its"
                             " folder on PYTHONPATH, or give the module's file path") from None
    raise ValueError(f"unknown target {name!r}; known targets: {', '.join(sorted(TARGETS))},"
                     " a Python target module (path/to/module.py or package.module), or a"
                     " target file with --target-spec")
