"""Where a value sits in a recorded answer, as the extract that reads it again: a JSON value
(jsonpath), a form's hidden input (form/field), a meta tag or a data/value attribute (css +
attr), a piece of a link or form action (regex), a header, a Set-Cookie, the redirect's
Location, or as a last resort the text just before it (regex). Every extract is checked against
the recorded answer with `evaluate` before it is offered, so what the converter writes reads
back the value it saw."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import jsonpath
from selectolax.lexbor import LexborHTMLParser as HTMLParser
from selectolax.lexbor import LexborNode as Node

from recordings.har import Entry

URL_ATTRS = ("href", "action", "src", "formaction", "data-href", "data-url")
# Answer headers that are about the transport, never a value the next request sends back.
_PLAIN_HEADERS = frozenset({"date", "content-length", "content-type", "server", "connection",
                            "vary", "cache-control", "expires", "pragma", "last-modified",
                            "keep-alive", "transfer-encoding", "content-encoding", "age",
                            "accept-ranges", "set-cookie", "location", "etag"})
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Source:
    """A value an answer produced and the extract that reads it (``pick: random`` when the
    answer holds several values of the same kind, as a list of the user's own records)."""

    value: str
    extract: dict[str, Any]
    hint: str          # a name for the variable, from where it sits (``student_id``)
    kind: str          # json, form, attr, link, header, cookie, location, text


def value_class(value: str) -> str:
    """The regex character class that matches values like this one."""
    if value.isdigit():
        return r"\d+"
    if re.fullmatch(r"[0-9a-fA-F-]+", value):
        return r"[0-9a-fA-F-]+"
    return r"[^\"'/?&#<>\s]+"


def find(entry: Entry) -> list[Source]:
    """Every value the answer of `entry` produced, structured sources first."""
    found: list[Source] = []
    body = entry.response_body
    if "json" in entry.response_mime or body.lstrip()[:1] in ("{", "["):
        found += _json_sources(entry)
    if "html" in entry.response_mime or body.lstrip()[:1] == "<":
        found += _html_sources(entry)
    for name, value in entry.response_headers:
        if name.lower() not in _PLAIN_HEADERS and value:
            found.append(Source(value, {"header": name}, name, "header"))
    for name, value in entry.set_cookies():
        if value:
            found.append(Source(value, {"cookie": name}, name, "cookie"))
    if entry.redirect_url and 300 <= entry.status < 400:
        found.append(Source(entry.redirect_url, {"location": True}, "next_url", "location"))
    return [s for s in found if s.value in evaluate(s.extract, entry)]


def text_source(entry: Entry, value: str) -> Source | None:
    """A regex reading `value` by the text just before it in the answer, if that works."""
    body = entry.response_body
    bounded = re.search(r"(?<![\w-])" + re.escape(value) + r"(?![\w-])", body)
    if bounded is None or len(value) < 3:
        return None
    at = bounded.start()
    line_start = max(body.rfind("\n", 0, at) + 1, at - 24)
    context = body[line_start:at].lstrip()
    if len(context) < 3:
        return None
    extract = {"regex": re.escape(context) + f"({value_class(value)})"}
    return Source(value, extract, "value", "text") if value in evaluate(extract, entry) else None


def evaluate(extract: dict[str, Any], entry: Entry) -> list[str]:
    """Every value `extract` reads from the recorded answer of `entry` (as the runtime would)."""
    body = entry.response_body
    try:
        if "jsonpath" in extract:
            return [_text(v) for v in jsonpath.findall(extract["jsonpath"], _json(body))]
        if "regex" in extract:
            rx = re.compile(extract["regex"])
            return [m.group(1) if rx.groups else m.group(0) for m in rx.finditer(body)]
        if "form" in extract:
            form = _tree(body).css_first(extract["form"])
            inputs = form.css(f'input[name="{extract["field"]}"]') if form else []
            return [str(n.attributes.get("value") or "") for n in inputs]
        if "css" in extract:
            nodes = _tree(body).css(extract["css"])
            return [str(n.attributes.get(extract["attr"]) or "") for n in nodes]
    except (ValueError, TypeError, jsonpath.JSONPathError):
        return []
    if "header" in extract:
        return [v for k, v in entry.response_headers if k.lower() == extract["header"].lower()]
    if "cookie" in extract:
        return [v for k, v in entry.set_cookies() if k == extract["cookie"]]
    if extract.get("location"):
        return [entry.redirect_url] if entry.redirect_url else []
    return []


@functools.lru_cache(maxsize=4)
def _tree(body: str) -> HTMLParser:
    return HTMLParser(body)


@functools.lru_cache(maxsize=4)
def _json(body: str) -> Any:
    return json.loads(body)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _json_sources(entry: Entry) -> list[Source]:
    try:
        doc = json.loads(entry.response_body)
    except ValueError:
        return []
    found: list[Source] = []

    def walk(node: Any, path: str, key: str, parent: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                step = f".{k}" if _KEY.match(k) else f"[{json.dumps(k)}]"
                walk(v, path + step, k, key)
        elif isinstance(node, list):
            for item in node:
                walk(item, path + "[*]", key, parent)
        elif node is not None and not isinstance(node, bool):
            hint = f"{singular(parent)}_{key}" if key in ("id", "uuid", "key") and parent else key
            found.append(Source(_text(node), {"jsonpath": path}, hint, "json"))

    walk(doc, "$", "", "")
    return [_picked(s, entry) for s in found]


def _picked(source: Source, entry: Entry) -> Source:
    """Several values read the same way (a list of records): any of them will do."""
    if len(evaluate(source.extract, entry)) > 1:
        return Source(source.value, {**source.extract, "pick": "random"}, source.hint,
                      source.kind)
    return source


def _form_selector(tree: HTMLParser, form: Node) -> str | None:
    attrs = form.attributes
    for selector in ([f"form#{attrs['id']}"] if attrs.get("id") else []) + \
            ([f'form[name="{attrs["name"]}"]'] if attrs.get("name") else []) + \
            ([f'form[action="{attrs["action"]}"]'] if attrs.get("action") else []) + ["form"]:
        if '"' in selector[5:-2] or "\\" in selector:
            continue
        first = tree.css_first(selector)
        if first is not None and first.html == form.html:
            return selector
    return None


def _html_sources(entry: Entry) -> list[Source]:
    tree = _tree(entry.response_body)
    found: list[Source] = []
    for form in tree.css("form"):
        selector = _form_selector(tree, form)
        for field in form.css('input[type="hidden"]'):
            name, value = field.attributes.get("name"), field.attributes.get("value")
            if selector and name and value and '"' not in name:
                found.append(Source(value, {"form": selector, "field": name}, name, "form"))
    for meta in tree.css("meta[name][content]"):
        name, value = meta.attributes.get("name") or "", meta.attributes.get("content") or ""
        if value and '"' not in name:
            found.append(Source(value, {"css": f'meta[name="{name}"]', "attr": "content"},
                                name, "attr"))
    for node in tree.css("*"):
        for attr, value in node.attributes.items():
            if not value:
                continue
            if attr in URL_ATTRS:
                found += _link_sources(entry, attr, value)
            elif attr.startswith("data-") or (attr == "value" and node.tag != "input"):
                found.append(_picked(Source(value, {"css": f"{node.tag}[{attr}]", "attr": attr},
                                            attr.removeprefix("data-"), "attr"), entry))
    return found


def _link_sources(entry: Entry, attr: str, url: str) -> list[Source]:
    """A regex per dynamic-looking piece (path segment or query value) of a link."""
    parts = urlsplit(url)
    found = []
    segments = parts.path.split("/")
    for i, seg in enumerate(segments):
        if seg and any(c.isdigit() for c in seg):
            prefix = "/".join(segments[:i]) + "/"
            if parts.netloc:
                prefix = f"{parts.scheme}://{parts.netloc}{prefix}" if parts.scheme else \
                    f"//{parts.netloc}{prefix}"
            hint = f"{singular(segments[i - 1])}_id" if i and segments[i - 1] else "id"
            found.append(_link(entry, attr, prefix, unquote(seg), hint))
    for key, value in parse_qsl(parts.query, keep_blank_values=False):
        if any(c.isdigit() for c in value) or len(value) >= 16:
            prefix = url[: url.find("?") + 1]
            found.append(_link(entry, attr, prefix, value, key, query_key=key))
    return found


def _link(entry: Entry, attr: str, prefix: str, value: str, hint: str,
          query_key: str | None = None) -> Source:
    amp = "(?:&|&amp;)"
    lead = amp.join(re.escape(piece) for piece in prefix.split("&"))
    if query_key is not None:
        lead += f"(?:[^\"'#]*?{amp})?" + re.escape(query_key) + "="
    rx = f"{re.escape(attr)}=[\"']{lead}({value_class(value)})"
    return _picked(Source(value, {"regex": rx}, hint, "link"), entry)


def singular(word: str) -> str:
    """`word` as a name for one of them: students -> student, activities -> activity."""
    word = re.sub(r"[^a-z0-9]+", "_", word.lower()).strip("_")
    if word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word
