"""OneRoster status payloads: the imsx error body every OneRoster endpoint answers with, the
error that carries it, and the route class that turns every failure into it.

OneRoster clients read ``imsx_CodeMinor`` to tell a bad request from a missing object, so no
OneRoster route may answer FastAPI's own error shape; `OneRosterRoute` catches errors raised by a
route or its dependencies (validation, a busy pool, database rejections) and answers the payload.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from psycopg import errors as pg_errors
from psycopg_pool import PoolTimeout
from starlette.exceptions import HTTPException


def status_payload(minor: str, description: str) -> dict[str, Any]:
    return {"imsx_codeMajor": "failure", "imsx_severity": "error",
            "imsx_description": description,
            "imsx_CodeMinor": {"imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem",
                 "imsx_codeMinorFieldValue": minor}]}}


class OneRosterError(Exception):
    """An error answered with the OneRoster status payload."""

    def __init__(self, status: int, minor: str, description: str,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(description)
        self.status, self.minor, self.description = status, minor, description
        self.headers = headers

    def response(self) -> JSONResponse:
        return JSONResponse(status_payload(self.minor, self.description), self.status,
                            headers=self.headers)


def unknown_object(what: str, sid: str) -> OneRosterError:
    return OneRosterError(404, "unknownobject", f"{what} {sid!r} not found")


def invalid_data(description: str) -> OneRosterError:
    return OneRosterError(400, "invaliddata", description)


class OneRosterRoute(APIRoute):
    """Routes whose errors, dependencies' included, answer the OneRoster status payload."""

    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response: Response = await handler(request)
                return response
            except OneRosterError as exc:
                return exc.response()
            except HTTPException as exc:
                if exc.status_code == 413:  # the body limit's own answer, as everywhere
                    raise
                # FastAPI's 400 for a body that is not JSON at all, in OneRoster's words.
                return OneRosterError(exc.status_code, "invaliddata", str(exc.detail),
                                      dict(exc.headers or {})).response()
            except RequestValidationError as exc:
                detail = "; ".join(f"{'.'.join(str(x) for x in e.get('loc', ()))}: {e.get('msg')}"
                                   for e in exc.errors())
                return invalid_data(detail or "the request is not valid").response()
            except PoolTimeout:
                return OneRosterError(429, "server_busy", "the server is busy; retry later",
                                      {"Retry-After": "1"}).response()
            except pg_errors.DataError:
                return invalid_data("a value is out of range or malformed").response()
            except pg_errors.IntegrityError:
                return OneRosterError(409, "invaliddata",
                                      "the change conflicts with existing data").response()

        return route
