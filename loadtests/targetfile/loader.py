"""Reading a target file (or a folder: ``target.yaml``, ``personas/<name>.yaml`` one persona per
file, optionally ``probes/<name>.yaml`` one probe per file) into the model, with every mistake
reported as ``file:line: field <dotted, as spelled in the file>: what is wrong (value ...)``
and how to fix it, as a `TargetFileError` (exit 2, no traceback).

Beyond what pydantic checks, the file is checked as a whole: every template parses; every
template variable is defined before use along its click path (extracted by an earlier step, the
item of an enclosing ``for_each``, ``user.*``, ``mix.*`` declared in the persona's `mix`, what
the login extracted; ``other.*`` only in probes); every ``probe:`` step names a probe declared
for its persona; probe metrics are ``<group>.<action>`` in lower case; full URLs stay on the
declared hosts; a CSV pool's file exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonpath
import yaml
from pydantic import ValidationError
from selectolax.lexbor import LexborHTMLParser

from kernel.errors import UserError
from loadtests.targetfile.model import (
    METRIC,
    NAME,
    Block,
    CsvPool,
    ForEach,
    Pause,
    Persona,
    Probe,
    ProbeStep,
    Repeat,
    Request,
    Step,
    TargetFile,
)
from loadtests.targetfile.template import Template, TemplateError, compile_template

SCHEMA_HINT = "the format: docs/targets.md; editors complete against loadtests/targetfile/" \
              "target.schema.json"
Path_ = tuple[str | int, ...]


class TargetFileError(UserError):
    """A target file that cannot be used: the message names file, line, field and value."""


@dataclass
class Source:
    """The raw data of a target (one file or a folder) and where each value came from."""

    data: dict[str, Any]
    where: dict[Path_, tuple[Path, int]] = field(default_factory=dict)
    root: Path = Path(".")

    def locate(self, path: Path_) -> tuple[Path, int]:
        for n in range(len(path), -1, -1):
            if path[:n] in self.where:
                return self.where[path[:n]]
        return self.root, 1

    def problem(self, path: Path_, message: str, value: Any, hint: str = "") -> str:
        file, line = self.locate(path)
        dotted = ".".join(str(p) for p in path) or "(top level)"
        shown = "(missing)" if value is _MISSING else _short(value)
        return f"{file}:{line}: field {dotted}: {message} (value {shown})" + (
            f"\n    fix: {hint}" if hint else "")


class _Missing:
    pass


_MISSING = _Missing()


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"


# -- YAML with line numbers ----------------------------------------------------------------
def _read_yaml(path: Path, prefix: Path_, where: dict[Path_, tuple[Path, int]]) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TargetFileError(f"{path}: cannot read the target file ({exc.strerror})") from None
    except UnicodeDecodeError as exc:
        raise TargetFileError(f"{path}: not a text file (byte {exc.start} is not UTF-8); target"
                              " files are UTF-8 YAML") from None
    try:  # the reader refuses control characters already here
        loader = yaml.SafeLoader(text)
    except yaml.YAMLError as exc:
        raise TargetFileError(f"{path}: not YAML: {exc}") from None
    try:
        node = loader.get_single_node()
        if node is None:
            raise TargetFileError(f"{path}:1: the file is empty; a target file starts with"
                                  " 'version: 1'")
        _walk(node, prefix, path, where)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise TargetFileError(f"{path}:{line}: not YAML: {exc.problem or exc}"
                              "\n    fix: check the indentation and quoting on that line"
                              " (a value starting with {{ must be quoted)") from None
    except yaml.YAMLError as exc:
        raise TargetFileError(f"{path}: not YAML: {exc}") from None
    finally:
        loader.dispose()


def _walk(node: yaml.Node, path: Path_, file: Path,
          where: dict[Path_, tuple[Path, int]]) -> None:
    where[path] = (file, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                raise TargetFileError(
                    f"{file}:{key.start_mark.line + 1}: field "
                    f"{'.'.join(map(str, (*path, name)))}: given twice (also on line"
                    f" {seen[name]}) (value {_short(name)})\n    fix: keep one of them")
            seen[name] = key.start_mark.line + 1
            _walk(value, (*path, name), file, where)
            where[(*path, name)] = (file, key.start_mark.line + 1)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, (*path, i), file, where)


def read_source(path: Path) -> Source:
    """The raw target: one YAML file, or a folder of them merged into one mapping."""
    where: dict[Path_, tuple[Path, int]] = {}
    if path.is_dir():
        main = path / "target.yaml"
        if not main.is_file():
            raise TargetFileError(f"{path}: a target folder holds target.yaml (and"
                                  " personas/<name>.yaml, probes/<name>.yaml)")
        data = _mapping(_read_yaml(main, (), where), main)
        for kind in ("personas", "probes"):
            files = sorted((path / kind).glob("*.yaml")) if (path / kind).is_dir() else []
            if files and kind in data:
                file, line = where.get((kind,), (main, 1))
                raise TargetFileError(
                    f"{file}:{line}: field {kind}: declared in target.yaml and in the"
                    f" {kind}/ folder (value {_short(sorted(f.stem for f in files))})"
                    f"\n    fix: keep the {kind} in one place")
            for f in files:
                entry = _mapping(_read_yaml(f, (kind, f.stem), where), f)
                data.setdefault(kind, {})[f.stem] = entry
        return Source(data, where, main)
    if not path.exists():
        raise TargetFileError(f"{path}: no such target file or folder")
    return Source(_mapping(_read_yaml(path, (), where), path), where, path)


def _mapping(raw: Any, path: Path) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise TargetFileError(f"{path}:1: a target file is a mapping starting with 'version: 1'"
                              f" (value {_short(raw)})")
    return raw


# -- pydantic errors, by file and line -------------------------------------------------------
_HINTS = {
    "extra_forbidden": "remove it or correct its spelling (" + SCHEMA_HINT + ")",
    "missing": "add it",
    "literal_error": "use one of the values named",
}


def _raw_path(data: Any, loc: tuple[Any, ...], missing: bool) -> tuple[Path_, Any]:
    """The path as spelled in the file (pydantic's union tags dropped) and the value there."""
    out: list[str | int] = []
    here: Any = data
    for part in loc:
        if (isinstance(here, dict) and part in here) or (
                isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here)):
            out.append(part)
            here = here[part]
        elif missing and isinstance(here, dict) and isinstance(part, str) and part == loc[-1]:
            out.append(part)  # a missing field
            here = _MISSING
            break
    return tuple(out), here


def _validation_message(source: Source, exc: ValidationError) -> str:
    lines, seen = [], set()
    for err in exc.errors():
        path, value = _raw_path(source.data, tuple(err["loc"]), err["type"] == "missing")
        if err["type"] == "extra_forbidden":
            value = value if value is not _MISSING else err.get("input")
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"{path[-1] if path else 'field'} is not a field here"
        text = source.problem(path, msg, value, _HINTS.get(err["type"], ""))
        if text not in seen:
            seen.add(text)
            lines.append(text)
    return "\n".join(lines)


# -- whole-file checks -------------------------------------------------------------------------
@dataclass
class _Scope:
    names: set[str]
    mix: set[str]
    probes_ok: dict[str, Probe]
    other: bool = False


class _Checker:
    def __init__(self, source: Source, target: TargetFile) -> None:
        self.source, self.target, self.problems = source, target, list[str]()
        self.hosts = {_host(h) for h in target.hosts}

    def fail(self, path: Path_, message: str, value: Any, hint: str = "") -> None:
        self.problems.append(self.source.problem(path, message, value, hint))

    def template(self, path: Path_, text: str, scope: _Scope) -> Template | None:
        try:
            t = compile_template(text)
        except TemplateError as exc:
            self.fail(path, str(exc), text, "write {{ name }} or {{ name | urlencode }}")
            return None
        for lookup in t.lookups():
            self._name(path, text, lookup.path, scope)
        return t

    def _name(self, path: Path_, text: str, parts: tuple[str, ...], scope: _Scope) -> None:
        head = parts[0]
        if head == "user":
            return
        if head == "mix":
            if len(parts) != 2 or parts[1] not in scope.mix:
                self.fail(path, f"{'.'.join(parts)} is not a knob of the persona's mix", text,
                          f"declare it under the persona's mix: (knobs:"
                          f" {', '.join(sorted(scope.mix)) or 'none'})")
            return
        if head == "other":
            if not scope.other:
                self.fail(path, "other.* exists only in a probe", text,
                          "use a variable a step extracted, or move this into a probe")
            return
        if head not in scope.names:
            self.fail(path, f"{head!r} is not defined here", text,
                      "extract it in an earlier step of this path, or use user.<column>;"
                      f" defined here: {', '.join(sorted(scope.names)) or 'none'}")

    def request(self, path: Path_, req: Request, scope: _Scope) -> None:
        url = self.template((*path, "url"), req.url, scope)
        if url is not None and url.literal and req.url.startswith(("http://", "https://")) \
                and _host(req.url) not in self.hosts:
            self.fail((*path, "url"), "the URL's host is not one of the target's hosts",
                      req.url, "add the host to hosts: or use a path on the base URL")
        for k, v in req.query.items():
            self.template((*path, "query", k), v, scope)
        for k, v in req.headers.items():
            self.template((*path, "headers", k), v, scope)
        if isinstance(req.form, str):
            self.template((*path, "form"), req.form, scope)
        elif req.form:
            for k, v in req.form.items():
                self.template((*path, "form", k), v, scope)
        if req.body is not None:
            self.template((*path, "body"), req.body, scope)
        if req.json_body is not None:
            for p, text in _strings(req.json_body, (*path, "json")):
                self.template(p, text, scope)

    def step(self, path: Path_, step: Step, scope: _Scope) -> None:
        self.request((*path, "request"), step.request, scope)
        if isinstance(step.probability, str):
            self.template((*path, "probability"), step.probability, scope)
        after = _Scope(scope.names | set(step.extract), scope.mix, scope.probes_ok, scope.other)
        self.check((*path, "check"), step.check, after)
        scope.names |= set(step.extract)

    def check(self, path: Path_, check: Any, scope: _Scope) -> None:
        for name in ("body_contains", "body_lacks"):
            for i, text in enumerate(getattr(check, name)):
                self.template((*path, name, i), text, scope)
        for key, expected in check.jsonpath.items():
            self._jsonpath((*path, "jsonpath", key), key)
            for p, text in _strings(expected, (*path, "jsonpath", key)):
                self.template(p, text, scope)
        for name in ("location_contains", "location_lacks"):
            if getattr(check, name) is not None:
                self.template((*path, name), getattr(check, name), scope)

    def _jsonpath(self, path: Path_, expr: str) -> None:
        try:
            jsonpath.compile(expr)
        except jsonpath.JSONPathError as exc:
            self.fail(path, f"not a JSONPath: {str(exc).splitlines()[0]}", expr,
                      "write it like $.students[*].student_id")

    def extracts(self, path: Path_, step: Step) -> None:
        for name, ex in step.extract.items():
            where = (*path, "extract", name)
            if ex.jsonpath is not None:
                self._jsonpath((*where, "jsonpath"), ex.jsonpath)
            for sel_name in ("css", "form"):
                sel = getattr(ex, sel_name)
                if sel is not None:
                    try:
                        LexborHTMLParser("<p></p>").css(sel)
                    except Exception:  # selectolax raises its own error type
                        self.fail((*where, sel_name), "not a CSS selector", sel,
                                  "write it like form#login or input[name=csrf]")

    def steps(self, path: Path_, steps: list[Any], scope: _Scope, persona: str) -> None:
        for i, step in enumerate(steps):
            here = (*path, i)
            if isinstance(step, Step):
                self.extracts(here, step)
                self.step(here, step, scope)
            elif isinstance(step, ForEach):
                source = step.for_each if "{{" in step.for_each else f"{{{{ {step.for_each} }}}}"
                self.template((*here, "for_each"), source, scope)
                inner = _Scope(scope.names | {step.as_}, scope.mix, scope.probes_ok, scope.other)
                self.steps((*here, "steps"), step.steps, inner, persona)
            elif isinstance(step, Repeat):
                if isinstance(step.repeat, str):
                    self.template((*here, "repeat"), step.repeat, scope)
                inner = _Scope(set(scope.names), scope.mix, scope.probes_ok, scope.other)
                self.steps((*here, "steps"), step.steps, inner, persona)
            elif isinstance(step, Block):
                if isinstance(step.probability, str):
                    self.template((*here, "probability"), step.probability, scope)
                inner = _Scope(set(scope.names), scope.mix, scope.probes_ok, scope.other)
                self.steps((*here, "steps"), step.steps, inner, persona)
            elif isinstance(step, ProbeStep):
                probe = self.target.probes.get(step.probe)
                if probe is None:
                    self.fail((*here, "probe"), "no probe of that name is declared", step.probe,
                              "declare it under probes: (declared:"
                              f" {', '.join(self.target.probes) or 'none'})")
                elif persona not in probe.personas:
                    self.fail((*here, "probe"), f"the probe runs as"
                              f" {', '.join(probe.personas)}, not as {persona!r}", step.probe,
                              f"add {persona} to the probe's as: or move this step")
            elif isinstance(step, Pause):
                pass

    def references(self) -> None:
        t = self.target
        for name in t.personas:
            if not NAME.match(name):
                self.fail(("personas", name), "a persona's name is a lower-case name", name,
                          "rename it (or its file) like guardian or night_clerk")
        for name, probe in t.probes.items():
            for persona in probe.personas:
                if persona not in t.personas:
                    self.fail(("probes", name, "as"), "not a persona of this target", persona,
                              f"use one of {', '.join(t.personas)}")
        if t.login is None:
            for name, p in t.personas.items():
                if p.login:
                    self.fail(("personas", name), "the persona logs in but the target has no"
                              " login:", name, "declare login: (its steps) or set login: false")
        seen: dict[str, str] = {}
        for name, p in t.personas.items():
            day = p.plays or name
            if day in seen:
                self.fail(("personas", name, "plays"), f"persona {seen[day]!r} plays it too",
                          day, "each of the day's personas is played by one target persona")
            seen[day] = name

    def run(self) -> None:
        t = self.target
        self.references()
        if self.problems:
            return
        login_names: set[str] = set()
        if t.login is not None:
            scope = _Scope({"user"}, set(), {})
            for i, step in enumerate(t.login.steps):
                self.extracts(("login", "steps", i), step)
                self.step(("login", "steps", i), step, scope)
            login_names = scope.names - {"user"}
            self.check(("login", "success"), t.login.success, scope)
            if t.session.token is not None:
                self.template(("session", "token"), t.session.token, scope)
        for name, persona in t.personas.items():
            base = _Scope(set(login_names) if persona.login else set(), set(persona.mix), {})
            self.steps(("personas", name, "steps"), persona.steps, base, name)
            if isinstance(persona.pool, CsvPool):
                csv_path = self.source.root.parent / persona.pool.csv
                if not csv_path.is_file():
                    self.fail(("personas", name, "pool", "csv"), "no such file (relative to"
                              " the target file)", persona.pool.csv, "give the CSV's path")
        for i, step in enumerate(t.logout):
            self.step(("logout", i), step, _Scope(set(login_names), set(), {}))
        for name, probe in t.probes.items():
            self.probe(name, probe, login_names)

    def probe(self, name: str, probe: Probe, login_names: set[str]) -> None:
        personas = [self.target.personas[p] for p in probe.personas]
        # A probe may use what its own session extracted on the persona's top-level path.
        names = set(login_names) | {"other"}
        for persona in personas:
            names |= _top_names(persona)
        scope = _Scope(names, {k for p in personas for k in p.mix}, {}, other=True)
        path: Path_ = ("probes", name)
        if probe.metric is not None and not METRIC.match(probe.metric):
            self.fail((*path, "metric"), "not <group>.<action> in lower case", probe.metric,
                      "write it like portal.grades")
        for key in ("values", "avoid"):
            text = getattr(probe.other, key) if probe.other is not None else None
            if text is not None:
                self.template((*path, "other", key), text, scope)
        for i, step in enumerate(probe.steps):
            self.step((*path, "steps", i), step, scope)
        self.request((*path, "request"), probe.request, scope)
        if probe.asked is not None:
            self.template((*path, "asked"), probe.asked, scope)


def _top_names(persona: Persona) -> set[str]:
    return {n for s in persona.steps if isinstance(s, Step) for n in s.extract}


def _host(url: str) -> str:
    """The host name of a URL or of a `hosts:` entry (a name, or a URL)."""
    return (urlsplit(url).hostname or "") if "//" in url else url.split(":")[0].lower()


def _strings(value: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _strings(v, (*path, i))
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _strings(v, (*path, k))


def load_target_file(path: Path | str) -> TargetFile:
    """The validated target of a file or folder; a `TargetFileError` naming every problem."""
    path = Path(path)
    source = read_source(path)
    try:
        target = TargetFile.model_validate(source.data)
    except ValidationError as exc:
        raise TargetFileError(f"{path}: the target file is not valid:\n"
                              + _validation_message(source, exc)) from None
    checker = _Checker(source, target)
    checker.run()
    if checker.problems:
        raise TargetFileError(f"{path}: the target file is not valid:\n"
                              + "\n".join(checker.problems))
    return target


def load_with_source(path: Path | str) -> tuple[TargetFile, Path]:
    """The target and the file its relative paths (CSV pools) start from."""
    path = Path(path)
    target = load_target_file(path)
    return target, (path / "target.yaml" if path.is_dir() else path)
