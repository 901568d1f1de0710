"""The recording's live secrets, taken out: which request is the login (the one carrying the
password the user gives, else a field named like a password), its username and password
replaced by the pool's ``{{ user.username }}`` and ``{{ user.password }}``, Cookie and
Authorization headers dropped (the runtime's cookie jar or token carries the session), a
bearer or header token from the login's answer turned into an extract and the session carrier,
and a last scrub: any cookie value, token or credential still written anywhere is masked and
reported. `Secrets.mask` is what every printed line goes through."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from recordings import sources
from recordings.drafts import Draft
from recordings.errors import RecordingError

PASSWORD_FIELD = re.compile(r"pass(word|wd)?$|^pwd$|password", re.I)
USERNAME_FIELD = re.compile(r"user|login|e-?mail|account|uname|ident", re.I)
LOGOUT_PATH = re.compile(r"log-?out|sign-?out|log-?off", re.I)
MIN_SCRUB = 4     # shorter values are too common to mask by search


@dataclass
class Secrets:
    """Every secret value of the recording and what it is (for masks and the report)."""

    labels: dict[str, str] = field(default_factory=dict)     # value -> label
    templates: dict[str, str] = field(default_factory=dict)  # value -> replacement template

    def add(self, value: str, label: str) -> None:
        if value and len(value) >= MIN_SCRUB and value not in self.labels:
            self.labels[value] = label

    def mask(self, text: str) -> str:
        """`text` with every secret value replaced by ``<label>``."""
        for value in sorted(self.labels, key=len, reverse=True):
            if value in text:
                text = text.replace(value, f"<{self.labels[value]}>")
        return text

    def is_secret(self, value: str) -> bool:
        return value in self.labels


@dataclass
class Login:
    index: int                  # the draft that carries the password
    username_field: str | None
    password_field: str


def collect(drafts: list[Draft]) -> Secrets:
    """The cookie values and Authorization credentials every request and answer carried."""
    found = Secrets()
    for d in drafts:
        for name, value in d.entry.request_cookies() + d.entry.set_cookies():
            found.add(value, f"cookie {name}")
        auth = d.entry.header("authorization")
        if auth:
            found.add(auth, "authorization")
            found.add(auth.partition(" ")[2].strip(), "token")
    return found


def find_login(drafts: list[Draft], har: Path, password: str | None) -> Login | None:
    """The login request: the first carrying `password`, else a field named like one."""
    for i, d in enumerate(drafts):
        for key, value in _fields(d):
            if (value == password) if password is not None else (
                    bool(PASSWORD_FIELD.search(key)) and bool(value)):
                others = [k for k, _ in _fields(d) if k != key]
                user = next((k for k in others if USERNAME_FIELD.search(k)), None)
                return Login(i, user, key)
    if password is not None:
        raise RecordingError(har, "--password", "<the password given>",
                             "no recorded request sends this password as a form, JSON or query"
                             " field", "Give the password the recording logged in with, or"
                             " leave --password (and FIRSTBELL_RECORD_PASSWORD) unset to find"
                             " the login by its field names")
    return None


def _fields(d: Draft) -> list[tuple[str, str]]:
    pairs = list((d.form or {}).items()) + list(d.query.items())
    if isinstance(d.json_body, dict):
        pairs += [(k, v) for k, v in d.json_body.items() if isinstance(v, str)]
    return pairs


def apply_login(drafts: list[Draft], login: Login | None, secrets: Secrets,
                username: str | None) -> None:
    """Pool fields for the credentials everywhere, and the role of every draft."""
    if login is None:
        return
    d = drafts[login.index]
    fields = dict(_fields(d))
    password = fields[login.password_field]
    if username is None and login.username_field:
        username = fields[login.username_field]
    secrets.add(password, "password")
    secrets.templates[password] = "{{ user.password }}"
    if username:
        secrets.add(username, "username")
        secrets.templates[username] = "{{ user.username }}"
    for other in drafts:
        _replace_values(other, {v: t for v, t in secrets.templates.items()})
    for i, other in enumerate(drafts):
        if i <= login.index:
            other.role = "login"
        elif LOGOUT_PATH.search(other.url) and other.entry.method in ("GET", "POST"):
            for rest in drafts[i:]:
                rest.role = "logout"
            break


def _replace_values(d: Draft, table: dict[str, str]) -> None:
    if d.url.startswith("/"):
        d.url = "/".join(table.get(unquote(seg), seg) for seg in d.url.split("/"))
    if d.form:
        d.form = {k: table.get(v, v) for k, v in d.form.items()}
    d.query = {k: table.get(v, v) for k, v in d.query.items()}
    if isinstance(d.json_body, dict):
        d.json_body = {k: table.get(v, v) if isinstance(v, str) else v
                       for k, v in d.json_body.items()}
    if d.body:
        for value, template in table.items():
            d.body = d.body.replace(value, template)


def session_carrier(drafts: list[Draft], login: Login | None, secrets: Secrets
                    ) -> dict[str, Any]:
    """What carries the session: a token the login's answer produced (bearer or a header),
    extracted as ``token`` on the login step, else the cookie jar."""
    if login is None:
        return {"carrier": "cookie"}
    producer = drafts[login.index]
    offered = {s.value: s for s in sources.find(producer.entry)}
    for d in drafts[login.index + 1:]:
        auth = d.entry.header("authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token in offered:
            producer.extract["token"] = offered[token].extract
            return {"carrier": "bearer", "token": "{{ token }}"}
        for name, value in list(d.headers.items()):
            if value in offered and name.lower().endswith(("token", "auth", "session")):
                producer.extract["token"] = offered[value].extract
                secrets.add(value, "token")
                for later in drafts[login.index + 1:]:
                    later.headers.pop(name, None)
                return {"carrier": "header", "header": name, "token": "{{ token }}"}
    return {"carrier": "cookie"}


def scrub(data: Any, secrets: Secrets, where: str, masked: list[tuple[str, str, str]]) -> Any:
    """`data` (the written target, as plain data) with every secret left masked; each masking
    recorded in `masked` as (where, label, "")."""
    if isinstance(data, dict):
        return {k: scrub(v, secrets, f"{where}.{k}", masked) for k, v in data.items()}
    if isinstance(data, list):
        return [scrub(v, secrets, f"{where}[{i}]", masked) for i, v in enumerate(data)]
    if isinstance(data, str):
        text = data
        for value in sorted(secrets.labels, key=len, reverse=True):
            if value in text:
                replacement = secrets.templates.get(value, f"<{secrets.labels[value]}>")
                if value not in secrets.templates:
                    masked.append((where, secrets.labels[value], ""))
                text = text.replace(value, replacement)
        return text
    return data
