"""How a person logs in to the staging SIS: the login spec of every session (and of the
district admin's deactivated-login probe)."""

from __future__ import annotations

from typing import Any

from loadtests.browser import LoginSpec, Response


def _token(r: Response) -> str | None:
    try:
        body: Any = r.json()
    except ValueError:
        return None
    token = body.get("token") if isinstance(body, dict) else None
    return token if isinstance(token, str) and token else None


LOGIN = LoginSpec(
    path="/api/auth/login",
    body=lambda username, password: {"username": username, "password": password},
    token=_token,
    logout_path="/api/auth/logout",
)
