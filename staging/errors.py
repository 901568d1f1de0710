"""API errors as JSON: ``{"error": {"code": …, "message": …}}`` with a 4xx status, never a 500
for anything a client sent."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import OperationalError
from psycopg import errors as pg_errors
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")

RETRY_AFTER_SECONDS = 2


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def not_found(what: str = "resource") -> ApiError:
    """The answer for something that does not exist *or* that the caller may not see."""
    return ApiError(404, "not_found", f"{what} not found")


def forbidden(message: str = "your role cannot use this endpoint") -> ApiError:
    return ApiError(403, "forbidden", message)


def _body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def allowed_methods(app: FastAPI, request: Request) -> list[str]:
    """Every method some route serves at the request's path. Starlette's own 405 names only
    the first route matching the path, and the SIS registers one route per method."""
    return [method for method in METHODS
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
                   for route in app.router.routes)]


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_body(exc.code, exc.message), exc.status, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed",
                413: "payload_too_large"}.get(exc.status_code, "http_error")
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(app, request))
        return JSONResponse(_body(code, str(exc.detail)), exc.status_code, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return JSONResponse(_body("invalid_request", "the request is not valid", details), 422)

    @app.exception_handler(pg_errors.DataError)
    async def _data(_: Request, exc: pg_errors.DataError) -> JSONResponse:
        return JSONResponse(_body("invalid_value", "a value is out of range or malformed"), 400)

    @app.exception_handler(pg_errors.IntegrityError)
    async def _conflict(_: Request, exc: pg_errors.IntegrityError) -> JSONResponse:
        return JSONResponse(_body("conflict", "the change conflicts with existing data"), 409)

    @app.exception_handler(OperationalError)
    async def _unavailable(request: Request, exc: OperationalError) -> JSONResponse:
        # The database is down or restarting (the pool's PoolTimeout is an OperationalError
        # too): a 503 the client may retry, and the pool's idle connections checked at once, so
        # the ones a restart broke are replaced before later requests draw them.
        db = getattr(request.app.state, "db", None)
        if db is not None:
            db.recheck()
        return JSONResponse(_body("database_unavailable", "the database is not answering;"
                                  " retry in a few seconds"), 503,
                            headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
