"""The assumption ledger: every number a scenario's arrival rates rest on, with its value, unit
and source, and where the value came from (the shared defaults, the scenario, the district
profile, or an override). It goes into every plan, run directory and report, so a reader can
see which numbers were published, derived or guessed, and change any of them.

Sources follow the profile's convention: ``[S] <source>`` published, ``[D] <how>`` derived
by arithmetic, ``[E]`` estimate (optionally with a reason). A source may cite several
("[S] Duval County 2009 ...; [E] 2.5x"): the line's basis is the weakest of them, so a value
that is an estimate resting on a published fact is exported as an estimate, never as published.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
BASIS = re.compile(r"^\[(S|D|E)\]")
# Every basis tag anywhere in a source text: [S], [D], [E], and mixed ones such as [D/E].
TAGS = re.compile(r"\[((?:S|D|E)(?:/(?:S|D|E))*)\]")
STRENGTH = {"S": 0, "D": 1, "E": 2}  # published, derived, estimate: higher is weaker


def weakest_basis(source: str) -> str:
    """The weakest basis a source text cites: S (published) only when every tag in it is [S];
    E when any part is an estimate. A text with no tag is an estimate."""
    letters = [x for tag in TAGS.findall(source) for x in tag.split("/")]
    return max(letters, key=STRENGTH.__getitem__) if letters else "E"


class LedgerError(ValueError):
    """An assumption or override that cannot be used; names the file, field and value."""


@dataclass(frozen=True)
class Assumption:
    name: str
    value: float
    unit: str
    source: str
    origin: str  # "defaults", "scenario <name>", "profile <name>", "--assume", or a file

    @property
    def basis(self) -> str:
        """S (published), D (derived) or E (estimate): the weakest of the source's tags."""
        return weakest_basis(self.source)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.name, "value": self.value, "unit": self.unit,
                "source": self.source, "basis": self.basis, "origin": self.origin}


def check_name(name: str, where: str) -> str:
    if not NAME.match(name):
        raise LedgerError(f"{where}: {name!r} is not an assumption name; write lower-case"
                          " dotted words, e.g. teacher.participation")
    return name


def check_source(source: str, where: str) -> str:
    if not BASIS.match(source.strip()):
        raise LedgerError(f"{where}: source {source!r} does not start with [S], [D] or [E];"
                          " say where the number comes from, e.g. '[S] CPS handbook' or '[E]'")
    return source.strip()


def check_value(value: float, where: str) -> float:
    """Populations, shares, counts and seconds: finite and not negative."""
    if not (math.isfinite(value) and value >= 0):
        raise LedgerError(f"{where}: value {value!r} must be a finite number, 0 or more")
    return value


class Ledger:
    """Ordered assumptions by name; later layers replace earlier ones."""

    def __init__(self, entries: Iterable[Assumption] = ()) -> None:
        self.entries: dict[str, Assumption] = {}
        for entry in entries:
            self.entries[entry.name] = entry
        self.used: set[str] = set()

    def add(self, entry: Assumption) -> None:
        self.entries[entry.name] = entry

    def value(self, name: str) -> float:
        """The value of `name`, marking it used (the ledger lists what the plan used)."""
        self.used.add(name)
        return self.entries[name].value

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def override(self, values: Mapping[str, tuple[float, str | None]], origin: str) -> None:
        """Replace values by name; an unknown name is an error (a typo must not pass as an
        override that changed nothing)."""
        for name, (value, source) in values.items():
            if name not in self.entries:
                known = ", ".join(sorted(self.entries))
                raise LedgerError(f"{origin}: there is no assumption {name!r} to override;"
                                  f" the scenario's assumptions are: {known}")
            old = self.entries[name]
            self.entries[name] = replace(old, value=value, origin=origin,
                                         source=source or f"[E] override (was {old.value:g},"
                                                           f" {old.source})")

    def rows(self) -> list[Assumption]:
        """The assumptions the plan used, in the order they were declared."""
        return [a for name, a in self.entries.items() if name in self.used]


def parse_assume(items: Iterable[str]) -> dict[str, tuple[float, str | None]]:
    """``--assume teacher.participation=0.9`` (repeatable) -> {name: (value, None)}."""
    out: dict[str, tuple[float, str | None]] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep:
            raise LedgerError(f"--assume {item!r}: write NAME=VALUE, e.g."
                              " --assume guardian.evening_login_share=0.4")
        try:
            value = float(text)
        except ValueError:
            raise LedgerError(f"--assume {item!r}: value {text!r} is not a number") from None
        check_value(value, f"--assume {item!r}")
        out[check_name(name, f"--assume {item!r}")] = (value, None)
    return out


def load_overrides(path: Path) -> dict[str, tuple[float, str | None]]:
    """An overrides file: ``name: value`` or ``name: {value: V, source: "[S] …"}``."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LedgerError(f"{path}: cannot read the assumptions file ({exc.strerror})") \
            from None
    except UnicodeDecodeError:
        raise LedgerError(f"{path}: not a text file (write UTF-8 YAML)") from None
    except yaml.YAMLError as exc:
        raise LedgerError(f"{path}: not YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise LedgerError(f"{path}: an assumptions file maps names to values, e.g."
                          " 'teacher.participation: 0.9'")
    out: dict[str, tuple[float, str | None]] = {}
    for name, spec in raw.items():
        where = f"{path}: field {name}"
        source = None
        if isinstance(spec, dict):
            unknown = sorted(map(str, set(spec) - {"value", "source"}))  # keys of any type
            if unknown or "value" not in spec:
                raise LedgerError(f"{where}: write {{value: V, source: '[S] …'}} (value"
                                  f" {spec!r})")
            source = check_source(str(spec.get("source") or "[E]"), where)
            spec = spec["value"]
        if isinstance(spec, bool) or not isinstance(spec, int | float):
            raise LedgerError(f"{where}: value {spec!r} is not a number")
        check_value(float(spec), where)
        out[check_name(str(name), where)] = (float(spec), source)
    return out
