"""The engine's view of a target file: its login, one click path per day persona it plays,
its probes, the user pools its personas log in from (fake_data's, or the vendor's CSV accounts
beside the file) and its mix knobs, as a `loadtests.targets.Target` like the built-in ones."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kernel.errors import UserError
from loadtests.browser import ClickPath, LoginSpec
from loadtests.targetfile.model import (
    Block,
    CsvPool,
    ForEach,
    Pause,
    Persona,
    Repeat,
    Step,
    TargetFile,
    UserpoolPool,
)
from loadtests.targetfile.runtime import Runner, compile_think, slug
from loadtests.targets import Target


def plays(name: str, persona: Persona) -> str:
    return persona.plays or name


def pool_of(name: str, persona: Persona) -> str:
    """The user pool a persona's sessions log in from (a CSV pool is named after the persona
    it plays)."""
    if isinstance(persona.pool, UserpoolPool):
        return persona.pool.userpool
    return plays(name, persona)


def _session_seconds(steps: list[Any], default: float) -> float:
    total = 0.0
    for s in steps:
        t = getattr(s, "think", None)
        c = compile_think(t) if t is not None else None
        if isinstance(s, Step):
            total += (c.a + c.b) / (2 if c.kind == "range" else 1) if c else default
        elif isinstance(s, Pause) and c is not None:
            total += (c.a + c.b) / (2 if c.kind == "range" else 1)
        elif isinstance(s, (ForEach, Repeat, Block)):
            total += _session_seconds(s.steps, default)
    return total


def build_target(tf: TargetFile) -> Target:
    """The engine's view of a target file: its login, one click path per day persona played,
    its probes, pools and mix knobs."""
    runner = Runner(tf)
    first = tf.login.steps[0] if tf.login else None
    carrier = tf.session
    login = LoginSpec(
        steps=runner.login if tf.login else None,
        cookies=carrier.carrier == "cookie",
        token_header=None if carrier.carrier == "cookie"
        else ("Authorization" if carrier.carrier == "bearer" else carrier.header),
        token_prefix="Bearer " if carrier.carrier == "bearer" else "",
        retry_statuses=frozenset(tf.login.retry_statuses) if tf.login else frozenset(),
        endpoint=(first.metric or f"{first.group}.{slug(first.name)}") if first else "auth.login",
    )
    click_paths: dict[str, ClickPath] = {}
    mix: dict[str, dict[str, float]] = {}
    seconds: dict[str, float] = {}
    pools: dict[str, str] = {}
    for name, persona in tf.personas.items():
        day = plays(name, persona)
        if day in click_paths:
            raise ValueError(f"two personas of target {tf.name!r} play {day!r}")
        click_paths[day] = runner.click_path(name)
        mix[day] = dict(persona.mix)
        pools[day] = pool_of(name, persona)
        default = compile_think(persona.think)
        seconds[day] = _session_seconds(persona.steps, default.a if default else 0.0)
    borrowed = tuple(dict.fromkeys(p.other.pool for p in tf.probes.values()
                                   if p.other is not None and p.other.pool is not None))
    own = tuple(pool_of(n, p) for n, p in tf.personas.items())
    return Target(name=tf.name, login=login, click_paths=click_paths, probes=tuple(tf.probes),
                  pool_personas=tuple(dict.fromkeys((*own, *borrowed))), session_seconds=seconds,
                  shared_pools=borrowed, mix=mix,
                  identity_pools={d: p for d, p in pools.items() if d != p})


def csv_pool(tf: TargetFile, persona: str, base: Path) -> list[dict[str, str]] | None:
    """The rows of a persona's CSV pool (fields renamed by its column mapping), or None when
    the persona logs in from fake_data's user pool. `base` is the target file."""
    pool = tf.personas[persona].pool
    if not isinstance(pool, CsvPool):
        return None
    path = base.parent / pool.csv
    where = f"{path} (pool of persona {persona})"
    line = 1
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f, strict=True)
            header = reader.fieldnames or []
            missing = [c for c in pool.columns.values() if c not in header]
            if missing:  # else every login would send an empty value
                raise UserError(f"{where}: no column {', '.join(map(repr, missing))} in its"
                                f" header ({', '.join(map(repr, header)) or 'empty file'}); fix"
                                " the pool's columns in the target file or the CSV's header")
            rows = []
            for row in reader:
                line = reader.line_num
                rows.append({field: row.get(column) or "" for field, column in
                             pool.columns.items()})
    except OSError as exc:
        raise UserError(f"{where}: cannot read it ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{where}: not UTF-8 text (byte {exc.start} after line {line});"
                        " save it as UTF-8") from None
    except csv.Error as exc:
        raise UserError(f"{where} line {line + 1}: not readable CSV ({exc})") from None
    if not rows:
        raise UserError(f"{where}: no accounts in it (a header and no rows); add the vendor's"
                        " test accounts, one per row")
    return rows
