"""Automatic correlation: a value a request sends (a path segment, a query value, a form field,
a JSON value, a header) that an earlier answer produced becomes an extract on the earliest
answer that produced it and a ``{{ variable }}`` where it was sent. The recorded user's own
record ids therefore come from the session's own pages (another pool identity sees its own
records). Dynamic-looking values nothing produced are listed, request by request."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from recordings import sources
from recordings.drafts import Draft
from recordings.secrets import Secrets

UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
TOKENISH = re.compile(r"^[A-Za-z0-9+/=_.:~-]{16,}$")
ID_NAME = re.compile(r"(^|[_-])(id|ids|uuid|token|csrf|xsrf|nonce|state|key|session|sid)$"
                     r"|csrf|xsrf|token|nonce", re.I)
RESERVED = frozenset({"user", "other", "mix", "item", "token"})
TYPES = {"json": "JSON value", "form": "hidden input", "attr": "attribute", "link": "link",
         "header": "header", "cookie": "cookie", "location": "redirect", "text": "text"}


@dataclass
class Slot:
    """Where a request sends a value."""

    where: str           # path, query, form, json, header
    key: Any             # segment index, field name, JSON path (tuple), header name
    value: str
    hint: str            # a name for its variable

    @property
    def label(self) -> str:
        if self.where == "path":
            return f"path segment {self.key}"
        if self.where == "json":
            return "JSON " + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in self.key)
        return f"{self.where} {self.key!r}"


@dataclass
class Found:
    value: str
    source: sources.Source
    producer: int
    uses: list[tuple[int, Slot]] = field(default_factory=list)
    var: str = ""


@dataclass
class Unresolved:
    """A dynamic-looking value a request sends that no earlier answer produced."""

    draft: int
    where: str
    value: str           # masked when it is a secret


@dataclass
class Result:
    correlated: list[Found]
    unresolved: list[Unresolved]


def looks_dynamic(value: str, hint: str) -> bool:
    """An id, a token or anything named like one: it likely differs per session or user."""
    if value.isdigit():
        return len(value) >= 3
    if UUID.match(value):
        return True
    if TOKENISH.match(value) and re.search(r"\d", value) and re.search(r"[A-Za-z]", value):
        return True
    return len(value) >= 2 and bool(ID_NAME.search(hint))


def _candidate(slot: Slot) -> bool:
    """Worth looking for in earlier answers: an id or token, or anything with a digit (a path
    segment only by its value: every segment sits under a name-like word)."""
    value = slot.value
    hint = "" if slot.where == "path" else slot.hint
    return "{{" not in value and (looks_dynamic(value, hint) or (
        len(value) >= 2 and any(c.isdigit() for c in value)))


def _dynamic(slot: Slot) -> bool:
    return looks_dynamic(slot.value, "" if slot.where == "path" else slot.hint)


def slots(d: Draft) -> list[Slot]:
    found = []
    segments = d.url.split("/") if d.url.startswith("/") else []
    for i, seg in enumerate(segments):
        if seg:
            hint = f"{sources.singular(segments[i - 1])}_id" if i > 1 else "id"
            found.append(Slot("path", i, unquote(seg), hint))
    found += [Slot("query", k, v, k) for k, v in d.query.items()]
    found += [Slot("form", k, v, k) for k, v in (d.form or {}).items()]
    found += [Slot("header", k, v, k) for k, v in d.headers.items()]

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, (*path, i))
        elif node is not None and not isinstance(node, bool):
            name = next((p for p in reversed(path) if isinstance(p, str)), "value")
            found.append(Slot("json", path, node if isinstance(node, str) else json.dumps(node),
                              str(name)))

    walk(d.json_body, ())
    return found


def _put(d: Draft, slot: Slot, template: str) -> None:
    if slot.where == "path":
        segments = d.url.split("/")
        segments[slot.key] = template
        d.url = "/".join(segments)
    elif slot.where == "query":
        d.query[slot.key] = template
    elif slot.where == "form" and d.form is not None:
        d.form[slot.key] = template
    elif slot.where == "header":
        d.headers[slot.key] = template
    elif slot.where == "json":
        *parents, last = slot.key
        node = d.json_body
        for p in parents:
            node = node[p]
        node[last] = template


def correlate(drafts: list[Draft], secrets: Secrets) -> Result:
    """Extracts and references for every value an earlier answer produced (in place)."""
    offered: list[dict[str, sources.Source]] = []
    for d in drafts:
        table: dict[str, sources.Source] = {}
        for s in sources.find(d.entry):
            table.setdefault(s.value, s)
        offered.append(table)
    found: dict[str, Found] = {}
    literal: set[str] = set()
    unresolved: list[Unresolved] = []
    for i, d in enumerate(drafts):
        missed: list[Slot] = []
        for slot in slots(d):
            v = slot.value
            if v in found:
                found[v].uses.append((i, slot))
                continue
            if v in literal or not _candidate(slot):
                continue
            hit = _earliest(drafts, offered, v, i)
            if hit is None:
                literal.add(v)
                if _dynamic(slot):
                    missed.append(slot)
                continue
            found[v] = Found(v, hit[1], hit[0], [(i, slot)])
        if any(s.where == "path" for s in missed):
            by_redirect = _redirected_here(drafts, offered, i)
            if by_redirect is not None:
                missed = [s for s in missed if s.where != "path"]
                url = d.entry.url
                found.setdefault(url, Found(url, by_redirect[1], by_redirect[0]))
                found[url].uses.append((i, Slot("url", None, url, "next_url")))
        unresolved += [Unresolved(i, s.label, secrets.mask(s.value)) for s in missed]
    _name(drafts, list(found.values()))
    return Result(sorted(found.values(), key=lambda f: f.producer), unresolved)


def _earliest(drafts: list[Draft], offered: list[dict[str, sources.Source]], value: str,
              before: int) -> tuple[int, sources.Source] | None:
    """The earliest answer before request `before` that produced `value` (structured
    sources first, then the text just before it)."""
    for j in range(before):
        if value in offered[j] and offered[j][value].kind != "location":
            return j, offered[j][value]
    if not looks_dynamic(value, ""):
        return None
    for j in range(before):
        text = sources.text_source(drafts[j].entry, value)
        if text is not None:
            return j, text
    return None


def _redirected_here(drafts: list[Draft], offered: list[dict[str, sources.Source]], i: int
                     ) -> tuple[int, sources.Source] | None:
    url = drafts[i].entry.url
    for j in range(i - 1, -1, -1):
        s = offered[j].get(url)
        if s is not None and s.kind == "location":
            return j, s
    return None


def _name(drafts: list[Draft], found: list[Found]) -> None:
    """Readable variable names, reused only when the earlier value is no longer needed; then
    the extract on each producer and the reference in each request."""
    bound: dict[str, list[Found]] = {}
    for f in sorted(found, key=lambda f: (f.producer, f.uses[0][0] if f.uses else 0)):
        base = _var_name(f)
        n = 1
        while True:
            name = base if n == 1 else f"{base}_{n}"
            clash = [g for g in bound.get(name, [])
                     if g.producer == f.producer or max(u for u, _ in g.uses) > f.producer]
            if not clash and name not in drafts[f.producer].extract:
                break
            n += 1
        f.var = name
        bound.setdefault(name, []).append(f)
        drafts[f.producer].extract[name] = dict(f.source.extract)
        for i, slot in f.uses:
            if slot.where == "url":
                drafts[i].url, drafts[i].query = "{{ " + name + " }}", {}
            else:
                _put(drafts[i], slot, "{{ " + name + " }}")


def _var_name(f: Found) -> str:
    slot = f.uses[0][1] if f.uses else None
    hint = slot.hint if slot is not None else f.source.hint
    if (slot is not None and slot.where == "path") or hint.lower() in ("id", "value", "v", "key"):
        hint = f.source.hint if f.source.hint not in ("id", "value") else hint
    name = re.sub(r"[^a-z0-9]+", "_", re.sub(r"([a-z])([A-Z])", r"\1_\2", hint).lower()).strip("_")
    name = name.removeprefix("x_")
    if not name or not name[0].isalpha():
        name = f"v_{name}" if name else "value"
    return f"{name}_value" if name in RESERVED else name
