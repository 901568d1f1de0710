"""The error answers the OpenAPI document declares: one shared schema per API family and the
status codes each route gives, so client generators and contract tests (schemathesis) can rely
on the document.

``answers(401, 404)`` is what a router or a route passes as FastAPI's ``responses=``: the SIS's
own ``{"error": {"code", "message", "details"?}}``. ``oneroster_answers`` declares the IMS status
payload the OneRoster routes answer with, ``oauth_answers`` the RFC 6749 §5.2 error of the token
endpoint. `install` adds what is answered outside the routes: 413 on every operation that takes
a body (staging/limits.py) and 400 for a body that is not JSON at all (FastAPI's own answer).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

MEANING = {
    400: "The request is not valid here (see `error.code`)",
    401: "Not authenticated: log in (or get a token) first, or the session has expired",
    403: "Authenticated, but not allowed to use this",
    404: "Not found, or not the caller's to see",
    409: "Conflicts with the current state",
    413: "The request body is larger than the server accepts",
    422: "A parameter or the body is not valid (`error.details` names it)",
    423: "Too many failed logins from this address for this username",
    429: "Too many requests: try again after `Retry-After` seconds",
    503: "Not ready, or a fault is switched on",
}


class ErrorDetail(BaseModel):
    loc: list[str | int]
    msg: str


class Error(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | None = None


class ErrorBody(BaseModel):
    """Every error of the SIS's own API."""
    error: Error


class ImsxCodeMinorField(BaseModel):
    imsx_codeMinorFieldName: str
    imsx_codeMinorFieldValue: str


class ImsxCodeMinor(BaseModel):
    imsx_codeMinorField: list[ImsxCodeMinorField]


class ImsxStatus(BaseModel):
    """The OneRoster 1.2 status payload (imsx_StatusInfo) of every OneRoster error."""
    imsx_codeMajor: str
    imsx_severity: str
    imsx_description: str
    imsx_CodeMinor: ImsxCodeMinor


class OAuthError(BaseModel):
    """RFC 6749 §5.2."""
    error: str
    error_description: str | None = None


def _answers(model: type[BaseModel], codes: tuple[int, ...]) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": model, "description": MEANING[code]} for code in codes}


def answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    return _answers(ErrorBody, codes)


def oneroster_answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    return _answers(ImsxStatus, codes)


def oauth_answers(*codes: int) -> dict[int | str, dict[str, Any]]:
    return _answers(OAuthError, codes)


def _error_body(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/ErrorBody"}}}}


def install(app: FastAPI) -> None:
    """The document, generated once, with 413 on every operation that takes a body."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(title=app.title, version=app.version,
                              description=app.description, routes=app.routes)
            for path, ops in doc.get("paths", {}).items():
                for method, op in ops.items():
                    if "requestBody" in op or (method, path) == ("post", "/oauth/token"):
                        op["responses"].setdefault("413", _error_body(MEANING[413]))
                    if "requestBody" in op and not path.startswith("/ims/"):
                        # A body that is not JSON at all (FastAPI answers 400, not 422).
                        op["responses"].setdefault("400", _error_body(MEANING[400]))
                    if path.startswith("/ims/"):  # OneRoster answers 400, never FastAPI's 422
                        op["responses"].pop("422", None)
            doc["components"]["schemas"].pop("HTTPValidationError", None)
            doc["components"]["schemas"].pop("ValidationError", None)
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
