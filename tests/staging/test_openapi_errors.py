"""The OpenAPI document declares the 4xx answers the routes give, with one error schema per API
family: the SIS's own ``ErrorBody``, OneRoster's status payload, the OAuth token error. Walks
every route: what its dependencies and its own code can answer must be declared."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from staging import (
    attendance,
    auth,
    faults,
    gradebook,
    incidents,
    mailbox,
    oauth,
    oneroster_gradebook,
    oneroster_rostering,
    portal,
    registration,
    reports,
    sim,
)
from staging.app import create_app
from staging.authz import current_principal
from staging.config import Settings

ROUTERS = [auth.router, auth.admin_router, faults.router, gradebook.router, attendance.router,
           portal.router, incidents.router, reports.router, sim.router, registration.router,
           mailbox.router, oauth.router, oneroster_gradebook.router, oneroster_rostering.router]
# What a call in an endpoint's own code can answer.
RAISES = [(re.compile(r"(?:ApiError|OneRosterError|_Refused)\(\s*(\d{3})"), None),
          (re.compile(r"\bnot_found\(|\bensure_student_visible\(|\bensure_section_taught\("),
           404),
          (re.compile(r"\bforbidden\(|\brequire_role\(|\bensure_school_office\("), 403),
          (re.compile(r"\b_too_many\("), 429), (re.compile(r"\binvalid_data\("), 400),
          (re.compile(r"\bunknown_object\("), 404)]


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return create_app(Settings(dev_mailbox=True), "dbname=unused").openapi()


def _routes() -> Iterator[APIRoute]:
    for router in ROUTERS:
        yield from (r for r in router.routes if isinstance(r, APIRoute) and r.include_in_schema)


def _calls(dependant: Dependant) -> Iterator[Any]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def _expected(route: APIRoute) -> set[int]:
    codes: set[int] = set()
    calls = list(_calls(route.dependant))
    if current_principal in calls or any("require_scope" in getattr(c, "__qualname__", "")
                                         for c in calls):
        codes.add(401)
    if any("require_scope" in getattr(c, "__qualname__", "") for c in calls):
        codes.add(403)  # a token without the scope
    if route.dependant.path_params or route.dependant.query_params or route.body_field:
        codes.add(400 if route.path.startswith("/ims/") else 422)
    source = inspect.getsource(route.endpoint)
    for pattern, code in RAISES:
        codes |= {int(m) if code is None else code for m in pattern.findall(source)}
    return codes


def _schema(op: dict[str, Any], code: str) -> str:
    return str(op["responses"][code]["content"]["application/json"]["schema"]["$ref"])


def test_every_route_declares_the_errors_it_gives(doc: dict[str, Any]) -> None:
    checked = 0
    for route in _routes():
        for method in route.methods or ():
            op = doc["paths"][route.path][method.lower()]
            declared = {int(c) for c in op["responses"] if c.startswith("4")}
            missing = _expected(route) - declared
            assert not missing, (method, route.path, sorted(missing))
            checked += 1
    assert checked > 90


def test_one_error_schema_per_api_family(doc: dict[str, Any]) -> None:
    family = {"/ims/": "ImsxStatus", "/oauth/": "OAuthError"}
    for path, ops in doc["paths"].items():
        want = next((v for k, v in family.items() if path.startswith(k)), "ErrorBody")
        for method, op in ops.items():
            errors = [c for c in op["responses"] if c[0] in "45"]
            assert errors or path in ("/healthz",), (method, path)
            for code in errors:
                expected = "ErrorBody" if code == "413" else want  # the body limit's own
                assert _schema(op, code) == f"#/components/schemas/{expected}", \
                    (method, path, code)
            if op.get("requestBody"):
                assert "413" in op["responses"], (method, path)
    assert {"ErrorBody", "ImsxStatus", "OAuthError"} <= set(doc["components"]["schemas"])
    assert "HTTPValidationError" not in doc["components"]["schemas"]  # FastAPI's, never sent
