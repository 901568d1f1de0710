"""A contract test double of Grafana's HTTP API (there is no Grafana server on these machines):
the endpoints firstbell calls, checked against the request and response shapes Grafana
documents (https://grafana.com/docs/grafana/latest/developers/http_api/: data_source,
folder, dashboard, annotations). Requests that break the contract get Grafana's error answers
(401 without a Bearer token, 400 for a missing required field); everything accepted is kept
in `state` for the tests to inspect. Serve it with `support.sis_server.serve`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


@dataclass
class GrafanaState:
    token: str
    datasources: dict[str, dict[str, Any]] = field(default_factory=dict)  # by uid
    folders: dict[str, dict[str, Any]] = field(default_factory=dict)
    dashboards: dict[str, dict[str, Any]] = field(default_factory=dict)  # the posted bodies
    annotations: dict[int, dict[str, Any]] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def grafana_app(state: GrafanaState) -> FastAPI:
    app = FastAPI()

    def bad(message: str, status: int = 400) -> JSONResponse:
        state.violations.append(message)
        return JSONResponse({"message": message}, status)

    @app.middleware("http")
    async def auth(request: Request, call_next: Any) -> Any:
        state.calls.append((request.method, request.url.path))
        if request.url.path == "/healthz":
            return await call_next(request)
        if request.headers.get("authorization") != f"Bearer {state.token}":
            return JSONResponse({"message": "Unauthorized"}, 401)
        return await call_next(request)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/datasources/uid/{uid}")
    async def get_datasource(uid: str) -> Any:
        found = state.datasources.get(uid)
        return found if found else JSONResponse({"message": "Data source not found"}, 404)

    @app.post("/api/datasources")
    async def add_datasource(request: Request) -> Any:
        body = await request.json()
        for key in ("name", "type", "url", "access"):
            if not body.get(key):
                return bad(f"datasource: {key} is required")
        if any(d["name"] == body["name"] for d in state.datasources.values()):
            return JSONResponse({"message": "data source with the same name already exists"},
                                409)
        uid = body.get("uid") or f"ds{len(state.datasources) + 1}"
        stored = {**body, "uid": uid, "id": len(state.datasources) + 1}
        state.datasources[uid] = stored
        return {"datasource": stored, "id": stored["id"], "message": "Datasource added",
                "name": body["name"]}

    @app.put("/api/datasources/uid/{uid}")
    async def update_datasource(uid: str, request: Request) -> Any:
        if uid not in state.datasources:
            return JSONResponse({"message": "Data source not found"}, 404)
        body = await request.json()
        for key in ("name", "type", "access"):
            if not body.get(key):
                return bad(f"datasource update: {key} is required")
        state.datasources[uid] = {**state.datasources[uid], **body, "uid": uid}
        return {"datasource": state.datasources[uid], "id": state.datasources[uid]["id"],
                "message": "Datasource updated", "name": body["name"]}

    @app.get("/api/folders/{uid}")
    async def get_folder(uid: str) -> Any:
        found = state.folders.get(uid)
        return found if found else JSONResponse({"message": "folder not found"}, 404)

    @app.post("/api/folders")
    async def create_folder(request: Request) -> Any:
        body = await request.json()
        if not body.get("title"):
            return bad("folder: title is required")
        uid = body.get("uid") or f"f{len(state.folders) + 1}"
        if uid in state.folders:
            return JSONResponse({"message": "a folder with the same uid already exists"}, 409)
        folder = {"id": len(state.folders) + 1, "uid": uid, "title": body["title"],
                  "url": f"/dashboards/f/{uid}/{_slug(body['title'])}", "version": 1}
        state.folders[uid] = folder
        return folder

    @app.post("/api/dashboards/db")
    async def save_dashboard(request: Request) -> Any:
        body = await request.json()
        board = body.get("dashboard")
        if not isinstance(board, dict) or not board.get("title"):
            return bad("dashboard: dashboard.title is required")
        if board.get("id") is not None and board["uid"] not in state.dashboards:
            return bad("dashboard: a new dashboard must have id null")
        folder = body.get("folderUid")
        if folder and folder not in state.folders:
            return JSONResponse({"message": "folder not found"}, 400)
        uid = board.get("uid")
        if uid in state.dashboards and not body.get("overwrite"):
            return JSONResponse({"message": "The dashboard has been changed by someone else",
                                 "status": "version-mismatch"}, 412)
        version = state.dashboards.get(uid, {}).get("version", 0) + 1
        state.dashboards[uid] = {**body, "version": version}
        return {"id": list(state.dashboards).index(uid) + 1, "uid": uid,
                "url": f"/d/{uid}/{_slug(board['title'])}", "status": "success",
                "version": version, "slug": _slug(board["title"])}

    def annotation_errors(body: Any) -> str | None:
        if not isinstance(body.get("text"), str) or not body["text"]:
            return "annotation: text is required"
        for key in ("time", "timeEnd"):
            value = body.get(key)
            if value is not None and (not isinstance(value, int) or value < 10**12):
                return f"annotation: {key} must be epoch milliseconds (got {value!r})"
        if body.get("time") is None:
            return "annotation: time is required here (firstbell always sends it)"
        tags = body.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            return "annotation: tags must be a list of strings"
        if body.get("timeEnd") is not None and body["timeEnd"] < body["time"]:
            return "annotation: timeEnd before time"
        return None

    @app.post("/api/annotations")
    async def add_annotation(request: Request) -> Any:
        body = await request.json()
        problem = annotation_errors(body)
        if problem:
            return bad(problem)
        new_id = len(state.annotations) + 1
        state.annotations[new_id] = body
        return {"message": "Annotation added", "id": new_id}

    @app.put("/api/annotations/{annotation_id}")
    async def update_annotation(annotation_id: int, request: Request) -> Any:
        if annotation_id not in state.annotations:
            return JSONResponse({"message": "Annotation not found"}, 404)
        body = await request.json()
        problem = annotation_errors(body)
        if problem:
            return bad(problem)
        state.annotations[annotation_id] = body
        return {"message": "Annotation updated"}

    return app
