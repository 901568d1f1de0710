"""A kept request as a draft step: its request in the target file's terms (a path on the
target's first host, query and form as mappings, JSON, the headers worth replaying), the page
it belongs to, a readable unique name, a threshold group guessed from its path, and the think
time the recording measured before the next request. Secrets and correlation edit drafts in
place; the writer turns them into the target file's steps."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from recordings.har import Entry
from recordings.sources import singular

# Request headers a browser or the runtime sets itself; everything else is kept.
MANAGED_HEADERS = frozenset({
    "host", "content-length", "connection", "keep-alive", "accept-encoding", "user-agent",
    "accept", "accept-language", "cache-control", "pragma", "priority", "te", "trailer",
    "transfer-encoding", "upgrade", "upgrade-insecure-requests", "origin", "referer", "dnt",
    "if-none-match", "if-modified-since", "content-type", "cookie", "authorization",
    "purpose", "save-data"})
_GROUPS = (("attendance", "attendance"), ("grade", "gradebook"), ("assignment", "gradebook"),
           ("enrol", "registration"), ("regist", "registration"), ("report", "reports"),
           ("oneroster", "oneroster"), ("ims/", "oneroster"), ("login", "auth"),
           ("logout", "auth"), ("signin", "auth"), ("sso", "auth"))
_DYNAMIC_SEGMENT = re.compile(r"^(\d+|[0-9a-f]{8}-[0-9a-f-]{27,}|[0-9a-fA-F]{16,}|.*\{\{.*)$")


@dataclass
class Draft:
    """One step being built from one entry."""

    entry: Entry
    url: str                               # path on the first host, or a full URL
    query: dict[str, str]
    form: dict[str, str] | None
    json_body: Any
    body: str | None
    headers: dict[str, str]
    role: str = "persona"                  # "login", "persona" or "logout"
    name: str = ""
    group: str = "portal"
    extract: dict[str, dict[str, Any]] = field(default_factory=dict)
    think: float | None = None
    page: str = "/"                        # the page it belongs to: that document's URL

    @property
    def is_page(self) -> bool:
        return self.entry.resource_type == "document"


def build(kept: list[Entry], all_entries: list[Entry], hosts: list[str], max_think: float
          ) -> list[Draft]:
    """A draft per kept entry, in order, each with its page and the gap that follows it."""
    drafts: list[Draft] = []
    primary = hosts[0] if hosts else ""
    for e in kept:
        parts = urlsplit(e.url)
        url = parts.path or "/"
        if e.host != primary:
            url = f"{parts.scheme}://{parts.netloc}{url}"
        form = dict(e.form) if e.body_kind == "form" else None
        headers = {k: v for k, v in e.headers if k.lower() not in MANAGED_HEADERS
                   and not k.lower().startswith("sec-")}
        if e.body_kind == "text":  # a raw body means nothing to the server without its type
            headers.update((k, v) for k, v in e.headers if k.lower() == "content-type")
        drafts.append(Draft(entry=e, url=url, query=dict(e.query), form=form,
                            json_body=e.json_body if e.body_kind == "json" else None,
                            body=e.text if e.body_kind == "text" else None, headers=headers))
    _thinks(drafts, all_entries, max_think)
    return drafts


def _thinks(drafts: list[Draft], all_entries: list[Entry], max_think: float) -> None:
    """The pause after each step: from the end of the last thing the browser fetched for it
    (assets included) to the start of the next kept request, capped at `max_think`."""
    for here, nxt in itertools.pairwise(drafts):
        start, end = here.entry.started, nxt.entry.started
        busy = max([e.started + e.elapsed for e in all_entries if start <= e.started < end]
                   + [start + here.entry.elapsed])
        gap = min(end - busy, max_think)
        if gap >= 0.1:
            here.think = round(gap, 1)


def name_all(drafts: list[Draft]) -> None:
    """A readable, unique name, a threshold group and a page for every draft (after
    correlation, so dynamic path segments no longer name a step or a page)."""
    seen: dict[str, int] = {}
    page = drafts[0].url if drafts else "/"
    for d in drafts:
        if d.is_page:
            page = d.url
        d.page = page
        segments = [unquote(s) for s in urlsplit(d.url).path.split("/") if s]
        words = [s for s in segments if not _DYNAMIC_SEGMENT.match(s)]
        if segments and _DYNAMIC_SEGMENT.match(segments[-1]) and words:
            base = _slug(singular(words[-1]))
        else:
            base = _slug("_".join(words[-2:])) or "home"
        if d.entry.method != "GET":
            base = f"{d.entry.method.lower()}_{base}"
        seen[base] = seen.get(base, 0) + 1
        d.name = base if seen[base] == 1 else f"{base}_{seen[base]}"
        lowered = d.url.lower()
        d.group = "auth" if d.role in ("login", "logout") else next(
            (g for needle, g in _GROUPS if needle in lowered), "portal")


def _slug(text: str) -> str:
    text = re.sub(r"\.(php|aspx?|jsp|html?|do|action)$", "", text.lower())
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")
