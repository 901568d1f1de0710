"""A step's `check` as a function of the answer and the session's variables: the status, text
the body contains or lacks, JSONPath values, the body's size, the redirect's Location.

Like the built-in staging checks, a failure says what is wrong in words and counts, never
quoting the payload or the expected values (a district's file may expect a student's name)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import jsonpath

from loadtests.browser import Response
from loadtests.targetfile.extract import MISSING, header_of, json_of
from loadtests.targetfile.model import Check
from loadtests.targetfile.template import Template, compile_template, compile_value, render_value

Judge = Callable[[Response, Mapping[str, Any]], "str | None"]


def status_ok(status: int, wanted: tuple[int, ...]) -> bool:
    """The statuses a check accepts: those listed, else any 2xx or 3xx."""
    return status in wanted if wanted else 200 <= status < 400


def compile_check(check: Check) -> Judge:
    """One function running every part of `check` (None when the answer is right)."""
    wanted = tuple(check.status)
    contains = [compile_template(s) for s in check.body_contains]
    lacks = [compile_template(s) for s in check.body_lacks]
    paths = [(p, jsonpath.compile(p), compile_value(v)) for p, v in check.jsonpath.items()]
    size = check.size
    loc_has = compile_template(check.location_contains) \
        if check.location_contains is not None else None
    loc_lacks = compile_template(check.location_lacks) \
        if check.location_lacks is not None else None
    body_checks = bool(contains or lacks or paths or size)

    def judge(r: Response, ctx: Mapping[str, Any]) -> str | None:
        status = r.status_code
        if not status_ok(status, wanted):
            return f"status {status}, expected " + (
                " or ".join(map(str, wanted)) if wanted else "2xx or 3xx")
        if body_checks:
            problem = _body(r, ctx)
            if problem:
                return problem
        if loc_has is not None or loc_lacks is not None:
            location = header_of(r, "location") or ""
            if loc_has is not None and loc_has.render_text(ctx) not in location:
                return "the redirect does not go where expected"
            if loc_lacks is not None and loc_lacks.render_text(ctx) in location:
                return "the redirect goes where it must not"
        return None

    def _body(r: Response, ctx: Mapping[str, Any]) -> str | None:
        text = r.text or ""
        missing = sum(1 for t in contains if t.render_text(ctx) not in text)
        if missing:
            return f"the body lacks {missing} of {len(contains)} expected texts"
        present = sum(1 for t in lacks if t.render_text(ctx) in text)
        if present:
            return f"the body shows {present} of {len(lacks)} texts it must not"
        if paths:
            body = json_of(r)
            if body is MISSING:
                return "the answer is not JSON"
            for source, path, expected in paths:
                found = path.findall(body)
                want = render_value(expected, ctx)
                got: Any = found[0] if len(found) == 1 else (found or MISSING)
                if got is MISSING:
                    return f"the answer has nothing at {source}"
                if not _equal(got, want):
                    return f"the value at {source} is not the expected one"
        if size is not None:
            n = len(r.content or b"")
            if size.min is not None and n < size.min:
                return f"the body is {n} bytes, below {size.min}"
            if size.max is not None and n > size.max:
                return f"the body is {n} bytes, above {size.max}"
        return None
    return judge


def _equal(got: Any, want: Any) -> bool:
    """Equal, or equal as text (a templated expectation renders to text inside a string)."""
    if got == want:
        return True
    if isinstance(want, str) and not isinstance(got, (dict, list)):
        return str(got) == want or (isinstance(got, bool) and str(got).lower() == want)
    return False


def parts(check: Check) -> list[tuple[str, Judge]]:
    """Each part of a check on its own, named (for `target check`, which shows every result)."""
    out: list[tuple[str, Judge]] = [("status", compile_check(Check(status=check.status)))]
    for i, text in enumerate(check.body_contains):
        out.append((f"body_contains[{i}]", compile_check(Check(body_contains=[text]))))
    for i, text in enumerate(check.body_lacks):
        out.append((f"body_lacks[{i}]", compile_check(Check(body_lacks=[text]))))
    for path, want in check.jsonpath.items():
        out.append((f"jsonpath {path}", compile_check(Check(jsonpath={path: want}))))
    if check.size is not None:
        out.append(("size", compile_check(Check(size=check.size))))
    if check.location_contains is not None:
        out.append(("location_contains",
                    compile_check(Check(location_contains=check.location_contains))))
    if check.location_lacks is not None:
        out.append(("location_lacks", compile_check(Check(location_lacks=check.location_lacks))))
    return out


def templates(check: Check) -> list[Template]:
    """Every template of a check (for the loader's static checks)."""
    out = [compile_template(s) for s in (*check.body_contains, *check.body_lacks)]
    for v in check.jsonpath.values():
        from loadtests.targetfile.template import templates_in
        out += templates_in(compile_value(v))
    out += [compile_template(s) for s in (check.location_contains, check.location_lacks)
            if s is not None]
    return out
