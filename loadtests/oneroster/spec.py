"""The ``--oneroster-client`` value: one or more OAuth clients of the integration persona.

Each client, comma-separated::

    ID:SECRET                                   the target itself (the staging SIS): OneRoster
                                                1.2, OAuth 2 client credentials, token at
                                                /oauth/token on the target
    ID:SECRET@BASE_URL[?SETTING=VALUE&…]        another provider

``BASE_URL`` is the provider's OneRoster base (``https://sis.example.org/ims/oneroster/v1p1``)
or only its origin (``https://sis.example.org``), then the version decides the base path
(`BASE_PATHS`). Settings after ``?`` are firstbell's, never sent to the provider:

- ``version`` ``1.2`` (default) or ``1.1``;
- ``auth`` ``oauth2`` (default: client credentials, then ``Authorization: Bearer``) or
  ``oauth1`` (OAuth 1.0a, every request signed with HMAC-SHA256; OneRoster 1.1 only);
- ``token_url`` the OAuth 2 token endpoint, absolute or a path on the base URL's origin
  (default ``/oauth/token``, `DEFAULT_TOKEN_PATH`);
- ``scope`` the scopes to ask for, space-separated (default: none asked, the provider grants
  the client's own).

ID and SECRET are percent-decoded, so a ``,`` ``@`` ``%`` in a secret is written ``%2C``
``%40`` ``%25``. A secret is never part of an error message, `redacted` or run.json.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from loadtests.targets_allowed import TargetRefused, check_target

VERSIONS = ("1.1", "1.2")
AUTHS = ("oauth1", "oauth2")
BASE_PATHS = {"1.1": "/ims/oneroster/v1p1", "1.2": "/ims/oneroster/rostering/v1p2"}
DEFAULT_TOKEN_PATH = "/oauth/token"
SETTINGS = ("version", "auth", "token_url", "scope")
EXAMPLE = ("write ID:SECRET (the target, OneRoster 1.2, OAuth 2) or"
           " ID:SECRET@https://sis.example.org/ims/oneroster/v1p1?version=1.1&auth=oauth1")
_URL = re.compile(r"@(?=https?://)", re.IGNORECASE)


class ClientSpecError(ValueError):
    """A ``--oneroster-client`` value that cannot be used; the message names the client (its
    secret masked) and how to write it."""


@dataclass(frozen=True)
class ClientSpec:
    client_id: str
    secret: str
    base_url: str = ""          # "" = the target (relative paths); else scheme://host[:port]
    base_path: str = BASE_PATHS["1.2"]
    version: str = "1.2"
    auth: str = "oauth2"
    token_url: str = DEFAULT_TOKEN_PATH  # absolute, or a path on base_url ("" = the target)
    scope: str = ""

    @property
    def root(self) -> str:
        """Where the collections are: ``{root}/users``."""
        return self.base_url + self.base_path

    def identity(self) -> dict[str, Any]:
        """The integration persona's identity row (what `browser.identity` holds)."""
        return {"client_id": self.client_id, "client_secret": self.secret,
                "base_url": self.base_url, "base_path": self.base_path,
                "version": self.version, "auth": self.auth, "token_url": self.token_url,
                "scope": self.scope}

    def redacted(self) -> str:
        """The spec as written, the secret masked: fit for run.json and messages."""
        if not self.base_url:
            return f"{self.client_id}:***"
        settings = f"?version={self.version}&auth={self.auth}"
        if self.auth == "oauth2":
            settings += f"&token_url={self.token_url}"
        return f"{self.client_id}:***@{self.root}{settings}"

    def urls(self) -> list[str]:
        """The absolute URLs load goes to besides the target (for the staging-host check)."""
        out = [self.base_url] if self.base_url else []
        if self.auth == "oauth2" and self.token_url.lower().startswith(("http://", "https://")):
            out.append(self.token_url)
        return out


def _masked(item: str, position: int = 0) -> str:
    """The item as the user wrote it, with the secret replaced: for error messages."""
    parts = _URL.split(item, maxsplit=1)
    client_id, colon, _ = parts[0].partition(":")
    if not colon:  # after a comma, perhaps the tail of a secret cut there: show none of it
        return item if position == 0 else "***"
    return f"{client_id}:***" + (f"@{parts[1]}" if len(parts) == 2 else "")


def parse_client(item: str, source: str = "--oneroster-client", position: int = 0) -> ClientSpec:
    """One client; `position` is its place in the list (an item without ``:`` is shown only
    when it is the first: a later one may be the tail of a secret cut at a comma)."""
    item = item.strip()
    shown = _masked(item, position)

    def refuse(problem: str) -> ClientSpecError:
        return ClientSpecError(f"{source} {shown!r}: {problem}; {EXAMPLE}")

    parts = _URL.split(item, maxsplit=1)
    client_id, colon, secret = parts[0].partition(":")
    client_id, secret = unquote(client_id), unquote(secret)
    if not colon or not client_id or not secret:
        raise refuse("a client is ID:SECRET, both not empty (a comma inside a secret is"
                     " written %2C)")
    if len(parts) == 1:
        return ClientSpec(client_id, secret)
    url = urlsplit(parts[1])
    if not url.hostname:
        raise refuse(f"{parts[1]!r} has no host")
    settings: dict[str, str] = {}
    for name, value in parse_qsl(url.query, keep_blank_values=True):
        if name not in SETTINGS:
            raise refuse(f"unknown setting {name!r} (settings: {', '.join(SETTINGS)})")
        settings[name] = value
    version = settings.get("version", "1.2")
    if version not in VERSIONS:
        raise refuse(f"version={version} is not one of {', '.join(VERSIONS)}")
    auth = settings.get("auth", "oauth2")
    if auth not in AUTHS:
        raise refuse(f"auth={auth} is not one of {', '.join(AUTHS)}")
    if auth == "oauth1" and version != "1.1":
        raise refuse("auth=oauth1 is OneRoster 1.1's; OneRoster 1.2 uses oauth2 (add"
                     " version=1.1, or drop auth=oauth1)")
    token_url = settings.get("token_url") or DEFAULT_TOKEN_PATH
    if not token_url.lower().startswith(("http://", "https://", "/")):
        raise refuse(f"token_url={token_url} is neither an http(s) URL nor a /path")
    origin = f"{url.scheme.lower()}://{url.netloc.lower()}"
    path = url.path.rstrip("/") or BASE_PATHS[version]
    if token_url.startswith("/"):
        token_url = origin + token_url
    return ClientSpec(client_id, secret, origin, path, version, auth, token_url,
                      settings.get("scope", ""))


def parse_clients(text: str | list[str] | None,
                  source: str = "--oneroster-client") -> list[ClientSpec]:
    """Every client of a ``--oneroster-client`` value (a comma-separated string, or the plan's
    list of items); a `ClientSpecError` on the first that cannot be used."""
    items = text.split(",") if isinstance(text, str) else list(text or [])
    return [parse_client(item, source, n) for n, item in enumerate(items) if item.strip()]


def redacted(items: list[str]) -> list[str]:
    """The plan's client items with their secrets masked (an unusable item: masked as is)."""
    out = []
    for item in items:
        try:
            out.append(parse_client(item).redacted())
        except ClientSpecError:
            out.append(_masked(item, 1))
    return out


def check_clients(items: str | list[str] | None, staging_hosts: list[str]) -> list[ClientSpec]:
    """Parse the clients and check each provider URL against the same allowlist as the target:
    a `ClientSpecError` or `TargetRefused` (both ValueErrors) naming the client, secret
    masked."""
    clients = parse_clients(items)
    for spec in clients:
        for url in spec.urls():
            try:
                check_target(url, staging_hosts)
            except TargetRefused as exc:
                raise TargetRefused(f"--oneroster-client {spec.redacted()!r}: {exc}") from None
    return clients
