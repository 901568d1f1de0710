"""Where load may go: loopback, or hosts declared as staging targets. Anything else is refused
before a single request, so a typo in --host can never load-test a production SIS."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class TargetRefused(ValueError):
    """The target is not loopback and not a declared staging target."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_target(url: str | None, staging_hosts: list[str]) -> str:
    """The target's host when load may go there; raises TargetRefused otherwise. A declared
    staging host matches exactly (``staging.sis.example.org``) or by a leading dot for its
    subdomains (``.staging.example.org``)."""
    if not url:
        raise TargetRefused("no target: pass --host URL (e.g. http://127.0.0.1:8700)")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 (raises on a port that is no number or out of range)
    except ValueError as exc:  # "http://[::1", "http://host:99999"
        raise TargetRefused(f"--host {url!r} is not a valid URL ({exc}); write e.g."
                            " http://127.0.0.1:8700") from None
    if parts.scheme not in ("http", "https") or not host:
        raise TargetRefused(f"--host {url!r} is not an http(s) URL; write e.g."
                            " http://127.0.0.1:8700")
    if parts.username is not None or parts.password is not None:
        # it would be written to run.json and the logs: sessions log in from the user pool
        raise TargetRefused(f"--host {parts.scheme}://***@{host}: a target URL carries no"
                            " user name or password; the sessions log in with the user pool's"
                            " identities")
    if _is_loopback(host):
        return host
    for allowed in (h.strip().lower() for h in staging_hosts if h.strip()):
        if host == allowed.lstrip(".") or (allowed.startswith(".") and host.endswith(allowed)):
            return host
    try:  # a name that resolves only to loopback addresses is loopback too
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        addresses = set()
    if addresses and all(_is_loopback(str(a)) for a in addresses):
        return host
    raise TargetRefused(
        f"refusing to send load to {host!r} (from --host {url}): load goes only to loopback"
        " or to hosts declared as staging targets. If this is a staging system, declare it"
        f" with --staging-hosts {host} (or FIRSTBELL_STAGING_HOSTS, or staging-hosts in"
        " locust.conf)")
