"""Reading variables out of an answer, as a step's `extract` declares: JSONPath (python-jsonpath,
compiled once), a regular expression, a CSS selector (text or an attribute) or a form's hidden
inputs (with ``submit``, every field it submits; selectolax), a response header, a cookie the
answer sets, the redirect's Location.

One match is the first, or a seeded random one (``pick: random``, from the session's rng);
``all`` keeps the list. A missing value is `MISSING` unless the extract is `optional` (then its
`default`)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonpath
from selectolax.lexbor import LexborHTMLParser

from loadtests.browser import Response
from loadtests.cookies import parse_set_cookie, set_cookie_headers
from loadtests.targetfile.model import Extract


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def header_of(r: Response, name: str) -> str | None:
    wanted = name.lower()
    headers = r.headers
    if headers is None:
        return None
    return next((str(v) for k, v in headers.items() if k.lower() == wanted), None)


def json_of(r: Response) -> Any:
    try:
        return r.json()
    except (ValueError, TypeError):
        return MISSING


def _html(r: Response) -> LexborHTMLParser:
    return LexborHTMLParser(r.text or "")


def _source(spec: Extract) -> Callable[[Response], list[Any]]:
    """The function giving every match of the extract's source, in document order."""
    if spec.jsonpath is not None:
        path = jsonpath.compile(spec.jsonpath)

        def by_jsonpath(r: Response) -> list[Any]:
            body = json_of(r)
            return [] if body is MISSING else list(path.findall(body))
        return by_jsonpath
    if spec.regex is not None:
        pattern = re.compile(spec.regex)
        group = 1 if pattern.groups else 0
        return lambda r: [m.group(group) for m in pattern.finditer(r.text or "")]
    if spec.css is not None:
        css, attr = spec.css, spec.attr

        def by_css(r: Response) -> list[Any]:
            nodes = _html(r).css(css)
            if attr is None:
                return [n.text(strip=True) for n in nodes]
            return [v for n in nodes if (v := n.attributes.get(attr)) is not None]
        return by_css
    if spec.form is not None:
        form, field, submit = spec.form, spec.field, spec.submit

        def by_form(r: Response) -> list[Any]:
            found = _html(r).css_first(form)
            if found is None:
                return []
            if submit:
                return [submitted(found)]
            inputs = found.css("input")
            if field is not None:
                return [i.attributes.get("value") or "" for i in inputs
                        if i.attributes.get("name") == field]
            return [{i.attributes["name"]: i.attributes.get("value") or "" for i in inputs
                     if (i.attributes.get("type") or "").lower() == "hidden"
                     and i.attributes.get("name")}]
        return by_form
    if spec.header is not None:
        name = spec.header
        return lambda r: [v] if (v := header_of(r, name)) is not None else []
    if spec.cookie is not None:
        cookie = spec.cookie

        def by_cookie(r: Response) -> list[Any]:
            found = [parse_set_cookie(line) for line in set_cookie_headers(r.headers)]
            return [value for name, value, deleted in found if name == cookie and not deleted]
        return by_cookie
    return lambda r: [v] if (v := header_of(r, "location")) is not None else []


SKIPPED_INPUTS = ("submit", "button", "image", "reset", "file")


def submitted(form: Any) -> dict[str, str]:
    """The fields a browser submits with `form` (a selectolax node) when its Save is clicked
    untouched: hidden and text-like inputs, checked radios and checkboxes, each select's
    selected option (else its first), textareas; disabled and nameless fields left out. A
    name met twice keeps its last value (PHP reads a repeated plain name the same way)."""
    fields: dict[str, str] = {}
    for node in form.css("input, select, textarea"):
        attrs = node.attributes
        name = attrs.get("name")
        if not name or "disabled" in attrs:
            continue
        if node.tag == "select":
            options = node.css("option")
            chosen = next((o for o in options if "selected" in o.attributes),
                          options[0] if options else None)
            if chosen is not None:
                value = chosen.attributes.get("value")
                fields[name] = chosen.text(strip=True) if value is None else value
        elif node.tag == "textarea":
            fields[name] = node.text(deep=True, strip=False)
        else:
            kind = (attrs.get("type") or "text").lower()
            if kind in SKIPPED_INPUTS or (kind in ("radio", "checkbox")
                                          and "checked" not in attrs):
                continue
            fields[name] = attrs.get("value") or ("on" if kind in ("radio", "checkbox") else "")
    return fields


@dataclass(frozen=True)
class Extractor:
    name: str
    spec: Extract
    matches: Callable[[Response], list[Any]]

    def run(self, r: Response, rng: random.Random) -> Any:
        """The variable's value, or MISSING."""
        found = self.matches(r)
        spec = self.spec
        if spec.all:
            if found or not spec.optional:
                return found if found else MISSING
            return spec.default if spec.default is not None else []
        if not found:
            return spec.default if spec.optional else MISSING
        return rng.choice(found) if spec.pick == "random" else found[0]


def compile_extract(name: str, spec: Extract) -> Extractor:
    return Extractor(name, spec, _source(spec))


def show(value: Any, limit: int = 60) -> str:
    """A short rendering of an extracted value for `target check` (the caller masks secrets)."""
    if isinstance(value, list):
        head = json.dumps(value[:3], default=str, ensure_ascii=False)
        return f"list of {len(value)}" + (f": {head[:limit]}" if value else "")
    out = value if isinstance(value, str) else json.dumps(value, default=str, ensure_ascii=False)
    return out if len(out) <= limit else out[:limit - 1] + "…"
