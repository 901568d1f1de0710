"""Which recorded requests a load test replays: not static assets (by resource type and by
extension), not third-party hosts (analytics, fonts, CDNs: every host but the target's, which
is the host of the first page unless the user names the hosts), not CORS preflights and not
requests that never got an answer. Every list is a default the user can override."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from recordings.har import Entry

STATIC_TYPES = frozenset({"stylesheet", "script", "image", "font", "media", "manifest",
                          "texttrack", "ping", "websocket", "eventsource", "csp_violation_report",
                          "beacon", "prefetch", "preflight", "signedexchange"})
STATIC_EXTENSIONS = frozenset({"css", "js", "mjs", "map", "png", "jpg", "jpeg", "gif", "svg",
                               "ico", "webp", "avif", "bmp", "woff", "woff2", "ttf", "otf",
                               "eot", "mp4", "webm", "mp3", "wav", "ogg"})


@dataclass(frozen=True)
class FilterRules:
    """What is dropped. `hosts`: the target's hosts (empty: the host of the first recorded
    page; every other host is a third party); `drop_hosts` drops a host even so; `keep_types`
    keeps a resource type the defaults drop."""

    hosts: tuple[str, ...] = ()
    drop_hosts: tuple[str, ...] = ()
    keep_types: tuple[str, ...] = ()
    drop_types: frozenset[str] = STATIC_TYPES
    drop_extensions: frozenset[str] = STATIC_EXTENSIONS


@dataclass
class Filtered:
    kept: list[Entry]
    hosts: list[str]                 # the hosts kept, lower case
    dropped: Counter[str] = field(default_factory=Counter)   # reason -> count


def target_hosts(entries: list[Entry], rules: FilterRules) -> list[str]:
    """The hosts of the target: the ones named, else the host of the first page."""
    if rules.hosts:
        return [h.lower() for h in rules.hosts]
    for kinds in (("document",), ("fetch", "xhr")):
        for e in entries:
            if e.resource_type in kinds and e.scheme in ("http", "https") and e.status:
                return [e.host]
    first = next((e for e in entries if e.scheme in ("http", "https")), None)
    return [first.host] if first else []


def apply(entries: list[Entry], rules: FilterRules) -> Filtered:
    """The entries a load test replays, and how many of each kind were dropped."""
    hosts = target_hosts(entries, rules)
    out = Filtered(kept=[], hosts=hosts)
    for e in entries:
        reason = _drop_reason(e, hosts, rules)
        if reason:
            out.dropped[reason] += 1
        else:
            out.kept.append(e)
    return out


def _drop_reason(e: Entry, hosts: list[str], rules: FilterRules) -> str | None:
    if e.scheme not in ("http", "https"):
        return "not HTTP"
    if e.status == 0:
        return "no answer"
    if e.host in rules.drop_hosts or e.host not in hosts:
        return "third-party host"
    if e.method == "OPTIONS" and e.header("access-control-request-method"):
        return "CORS preflight"
    if e.resource_type in rules.keep_types:
        return None
    if e.resource_type in rules.drop_types:
        return "static asset"
    ext = e.path.rsplit("/", 1)[-1].rpartition(".")[2].lower() if "." in e.path else ""
    if ext in rules.drop_extensions:
        return "static asset"
    return None
