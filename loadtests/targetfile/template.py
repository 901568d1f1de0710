"""Templates of a target file: ``{{ name.path }}`` with the optional filters ``| urlencode``
and ``| json``, compiled once at load into literal and lookup parts.

Hand-written on purpose: a district's file must never run code (Jinja's expressions, calls and
attribute access are more than a URL template needs), and rendering a few lookups per request
this way costs a fraction of a Jinja render. A template that is exactly one ``{{ x }}`` renders
to the value itself (a list, a mapping, a number), so ``for_each: "{{ user.children }}"`` and
``json: "{{ body }}"`` keep their types; anything else renders to text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

FILTERS = ("urlencode", "json")
_TAG = re.compile(r"\{\{(.*?)\}\}", re.S)
_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


class TemplateError(ValueError):
    """A template that does not parse (at load) or names a value a session lacks (at run)."""


@dataclass(frozen=True)
class Lookup:
    path: tuple[str, ...]
    filters: tuple[str, ...] = ()

    @property
    def dotted(self) -> str:
        return ".".join(self.path)

    def value(self, ctx: Mapping[str, Any]) -> Any:
        head, *rest = self.path
        if head not in ctx:
            raise TemplateError(f"{{{{ {self.dotted} }}}}: no value named {head!r}")
        value = ctx[head]
        for part in rest:
            try:
                if isinstance(value, Mapping):
                    value = value[part]
                elif isinstance(value, (list, tuple)) and part.isdigit():
                    value = value[int(part)]
                else:
                    raise TypeError
            except (KeyError, IndexError, TypeError):
                raise TemplateError(f"{{{{ {self.dotted} }}}}: no {part!r} in"
                                    f" {head!r}") from None
        for name in self.filters:
            value = quote(text(value), safe="") if name == "urlencode" else json.dumps(value)
        return value


def text(value: Any) -> str:
    """How a value reads inside a longer template (or a URL)."""
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


@dataclass(frozen=True)
class Template:
    source: str
    parts: tuple[str | Lookup, ...]

    @property
    def literal(self) -> bool:
        return not any(isinstance(p, Lookup) for p in self.parts)

    def lookups(self) -> list[Lookup]:
        return [p for p in self.parts if isinstance(p, Lookup)]

    def render(self, ctx: Mapping[str, Any]) -> Any:
        parts = self.parts
        if len(parts) == 1:
            only = parts[0]
            return only if isinstance(only, str) else only.value(ctx)
        return "".join(p if isinstance(p, str) else text(p.value(ctx)) for p in parts)

    def render_text(self, ctx: Mapping[str, Any]) -> str:
        return text(self.render(ctx))


def compile_template(source: str) -> Template:
    """Parse `source` once; a malformed ``{{ }}`` is a TemplateError naming what is wrong."""
    parts: list[str | Lookup] = []
    at = 0
    for m in _TAG.finditer(source):
        if m.start() > at:
            parts.append(source[at:m.start()])
        expr, *filters = [s.strip() for s in m.group(1).split("|")]
        if not _PATH.match(expr):
            raise TemplateError(f"{{{{{m.group(1)}}}}} is not a name like user.username or"
                                " csrf (no expressions in templates)")
        bad = [f for f in filters if f not in FILTERS]
        if bad:
            raise TemplateError(f"unknown filter {bad[0]!r}; filters are"
                                f" {', '.join(FILTERS)}")
        parts.append(Lookup(tuple(expr.split(".")), tuple(filters)))
        at = m.end()
    if at < len(source):
        parts.append(source[at:])
    rest = "".join(p for p in parts if isinstance(p, str))
    if "{{" in rest or "}}" in rest:
        raise TemplateError("an unclosed {{ or a stray }}; a template value is {{ name }}")
    return Template(source, tuple(parts) or ("",))


def compile_value(value: Any) -> Any:
    """Compile every string inside a JSON-like value (a body, a check's expected value)."""
    if isinstance(value, str):
        return compile_template(value)
    if isinstance(value, list):
        return [compile_value(v) for v in value]
    if isinstance(value, dict):
        return {k: compile_value(v) for k, v in value.items()}
    return value


def render_value(value: Any, ctx: Mapping[str, Any]) -> Any:
    if isinstance(value, Template):
        return value.render(ctx)
    if isinstance(value, list):
        return [render_value(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: render_value(v, ctx) for k, v in value.items()}
    return value


def templates_in(value: Any) -> list[Template]:
    if isinstance(value, Template):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in templates_in(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in templates_in(v)]
    return []
