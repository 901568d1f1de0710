"""Property-based fuzzing (hypothesis) of every YAML and CSV loader: district profiles, scenario
days (through `firstbell plan`), launch thresholds, assumption overrides, load plans, target
files and their CSV account pools, and OneRoster bulk zips. Whatever the file holds — arbitrary
bytes, arbitrary YAML, or a valid file with one part replaced by an arbitrary value — the
loader either returns a result or raises its user-facing error (a `UserError`, or the loader's
own error type the command line turns into one), never anything else.

Deterministic and bounded for `make test` (FUZZ_EXAMPLES examples per loader, the set in well
under 60 s); FIRSTBELL_FUZZ_EXAMPLES=2000 searches longer with fresh random inputs."""

from __future__ import annotations

import copy
import io
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fake_data.district import generate
from fake_data.export_oneroster import write_oneroster
from fake_data.profile import ProfileError, load_profile, resolve_profile_path
from firstbell.cli import main
from kernel.errors import UserError
from loadtests.plan import PlanError, load_plan
from loadtests.targetfile.loader import load_with_source
from loadtests.targetfile.target import csv_pool
from scenarios.ledger import LedgerError, load_overrides
from scenarios.model import DAYS_DIR
from staging.oneroster_import import read_oneroster
from thresholds import load_thresholds
from thresholds.loader import DEFAULT_FILE, ThresholdError

DEEP = int(os.environ.get("FIRSTBELL_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=DEEP or 40, deadline=None, derandomize=not DEEP, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

SCALARS = (st.none() | st.booleans() | st.integers(min_value=-10**20, max_value=10**20)
           | st.floats() | st.text(max_size=12)
           | st.sampled_from(["", "0", "-1", "1e400", "nan", "08:00", "25:99", "5m", "-5m",
                              "{{ x }}", "$.[", "2018-02-30", "\x00", "é", "small"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8) | st.integers(), inner, max_size=3),
                      max_leaves=6)
DELETE = object()


def paths(node: Any, here: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a YAML document: mapping values and list items, at every depth."""
    if here:
        yield here
    if isinstance(node, dict):
        for k, v in node.items():
            yield from paths(v, (*here, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from paths(v, (*here, i))


def replaced(doc: dict[str, Any], where: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node: Any = out
    for part in where[:-1]:
        node = node[part]
    if value is DELETE:
        del node[where[-1]]
    else:
        node[where[-1]] = value
    return out


def mutations(doc: dict[str, Any]) -> st.SearchStrategy[str]:
    """A valid document with one place replaced by an arbitrary value (or removed), as YAML."""
    places = sorted(paths(doc), key=repr)
    return st.builds(lambda where, value: yaml.safe_dump(replaced(doc, where, value),
                                                         allow_unicode=True),
                     st.sampled_from(places), VALUES | st.just(DELETE))


def documents(doc: dict[str, Any]) -> st.SearchStrategy[bytes]:
    """What a file may hold: arbitrary bytes, arbitrary YAML, or a mutated valid document."""
    return st.one_of(
        st.binary(max_size=200),
        st.text(max_size=200).map(str.encode),
        VALUES.map(lambda v: yaml.safe_dump(v, allow_unicode=True).encode()),
        mutations(doc).map(str.encode), mutations(doc).map(str.encode))


def written(data: bytes, name: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="firstbell-fuzz-"))
    path = folder / name
    path.write_bytes(data)
    return path


def accepts_or_refuses(load: Callable[[], Any], *errors: type[Exception]) -> None:
    try:
        load()
    except (UserError, *errors):
        pass  # the loader's clear refusal: anything else fails the test with its traceback


PROFILE = yaml.safe_load(resolve_profile_path("small").read_text())
SCENARIO = yaml.safe_load((DAYS_DIR / "smoke.yaml").read_text())
THRESHOLDS = yaml.safe_load(DEFAULT_FILE.read_text())
OVERRIDES = {"teacher.login_share": 0.9, "guardians": {"value": 3, "source": "[E] a guess"}}
PLAN = {"stages": [{"seconds": 30, "rates": {"teacher": 1.0, "guardian": 2.0},
                    "label": "morning"}], "seed": 7, "think_scale": 0.1}


@FUZZ
@given(documents(PROFILE))
def test_profiles(data: bytes) -> None:
    accepts_or_refuses(lambda: load_profile(str(written(data, "profile.yaml"))), ProfileError)


@settings(FUZZ, max_examples=DEEP or 25)
@given(documents(SCENARIO))
def test_scenarios_through_plan(data: bytes) -> None:
    """The whole of `firstbell plan FILE`: the day is read, then computed from the profile."""
    path = written(data, "day.yaml")
    assert main(["plan", str(path), "--profile", "small", "--out",
                 str(path.with_name("plan.json"))]) in (0, 2)


@FUZZ
@given(documents(THRESHOLDS))
def test_thresholds(data: bytes) -> None:
    accepts_or_refuses(lambda: load_thresholds(written(data, "t.yaml")), ThresholdError)


@FUZZ
@given(documents(OVERRIDES))
def test_assumption_overrides(data: bytes) -> None:
    accepts_or_refuses(lambda: load_overrides(written(data, "a.yaml")), LedgerError)


@FUZZ
@given(documents(PLAN))
def test_load_plans(data: bytes) -> None:
    accepts_or_refuses(lambda: load_plan(written(data, "plan.yaml")), PlanError)


TARGET = {
    "version": 1, "name": "fuzz", "hosts": ["sis.example.org"],
    "session": {"carrier": "cookie"},
    "login": {"steps": [{"name": "login", "metric": "auth.login",
                         "request": {"method": "POST", "url": "/login",
                                     "form": {"u": "{{ user.username }}",
                                              "p": "{{ user.password }}"}}}]},
    "personas": {"guardian": {
        "pool": {"csv": "accounts.csv", "columns": {"username": "email",
                                                    "password": "password"}},
        "mix": {"report_share": 0.5},
        "steps": [{"name": "home", "metric": "portal.home", "request": {"url": "/home"},
                   "extract": {"kids": {"jsonpath": "$.students[*].id", "all": True}}},
                  {"name": "grades", "metric": "portal.grades",
                   "request": {"url": "/grades"},
                   "probability": "{{ mix.report_share }}"}]}}}
ACCOUNTS = "email,password\nana@example.org,pw1\nbo@example.org,pw2\n"


def target_folder(target: bytes, accounts: bytes) -> Path:
    path = written(target, "target.yaml")
    (path.parent / "accounts.csv").write_bytes(accounts)
    return path


@FUZZ
@given(documents(TARGET))
def test_target_files(data: bytes) -> None:
    path = target_folder(data, ACCOUNTS.encode())
    accepts_or_refuses(lambda: load_with_source(path))


CSV_TEXT = st.one_of(
    st.binary(max_size=200), st.text(max_size=200).map(str.encode),
    st.lists(st.lists(st.text(max_size=10), max_size=4), max_size=5).map(
        lambda rows: "\n".join(",".join(r) for r in rows).encode()),
    st.builds(lambda extra: (ACCOUNTS + extra).encode(), st.text(max_size=40)))


@FUZZ
@given(CSV_TEXT)
def test_target_csv_pools(accounts: bytes) -> None:
    """The vendor's accounts CSV of a valid target file: its rows, or a clear refusal."""
    path = target_folder(yaml.safe_dump(TARGET).encode(), accounts)
    target, base = load_with_source(path)

    def rows() -> None:
        got = csv_pool(target, "guardian", base)
        assert got and all(set(r) == {"username", "password"} for r in got)
    accepts_or_refuses(rows)


def _valid_zip() -> dict[str, bytes]:
    folder = Path(tempfile.mkdtemp(prefix="firstbell-fuzz-or-"))
    zip_path = write_oneroster(generate(load_profile("small"), 0.01, 5), folder / "ok.zip",
                               "1.2")
    with zipfile.ZipFile(zip_path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


ONEROSTER = _valid_zip()


def _cells(name: str) -> st.SearchStrategy[bytes]:
    """The file with one cell (any row, any column, the header too) replaced."""
    lines = ONEROSTER[name].decode().splitlines()
    return st.builds(
        lambda row, col, value: "\n".join(
            ",".join(value if j == col % len(line.split(",")) else cell
                     for j, cell in enumerate(line.split(","))) if i == row else line
            for i, line in enumerate(lines)).encode(),
        st.integers(0, len(lines) - 1), st.integers(0, 30),
        st.text(max_size=12) | st.sampled_from(['"', '""', "\x00", ",", "\n", "1e400", "-1",
                                                "2018-13-01", "stu-000001", "teacher"]))


@settings(FUZZ, max_examples=DEEP or 30)
@given(st.sampled_from(sorted(ONEROSTER)).flatmap(
    lambda name: st.tuples(st.just(name), st.one_of(
        st.binary(max_size=300), st.text(max_size=300).map(str.encode), _cells(name),
        _cells(name)))))
def test_oneroster_zips(replacement: tuple[str, bytes]) -> None:
    name, data = replacement
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for member, content in ONEROSTER.items():
            zf.writestr(member, data if member == name else content)
    accepts_or_refuses(lambda: read_oneroster(written(out.getvalue(), "district.zip")))
