"""A small family portal to record and replay against: HTML pages, a server-side session
cookie, CSRF tokens, the user's own students as id-bearing links, a form post, logout, and
switches a test flips while it runs.

- ``GET /login`` (a form with a hidden ``csrf_token``; starts an anonymous session),
  ``POST /login`` (username, password, csrf_token -> 303 to /home, a new session cookie),
- ``GET /home`` (the user's own students as ``<a href="/students/ID">``),
- ``GET /students/ID`` (a page with ``data-student-id`` and an attendance form: hidden
  ``csrf_token`` and ``student_id``), whose script fetches ``GET /api/students/ID/grades``,
- ``POST /students/ID/attendance`` (-> 303 to /students/ID?saved=1), ``GET /logout``,
- static assets (``/static/app.css``, ``/static/logo.png``) so recordings hold some.

Switches (attributes of `Portal`, read per request): ``rotate_csrf`` (a new token on every
page; only the latest is accepted) and ``idor_vulnerable`` (a student page of another
family's child is shown instead of 404). `USERS` lists the accounts; their students differ.

Start it with `serve()` (a context manager: `support.sis_server.serve` runs it on 127.0.0.1);
the ``portal`` fixture in ``tests/recordings/conftest.py`` yields a running one with the
switches reset. Every request is recorded in ``Portal.log`` as (method, path, status), and in
``Portal.seen`` as (the signed-in user it was answered for or None, method, path, status).
"""

from __future__ import annotations

import html
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from support import sis_server

COOKIE = "portal_session"


@dataclass(frozen=True)
class Account:
    password: str
    students: tuple[int, ...]


USERS = {
    "ada.parent@example.org": Account("Ada-Secret-pw-7391", (4711, 4712)),
    "bo.parent@example.org": Account("Bo-Secret-pw-2288", (5820,)),
    "cy.parent@example.org": Account("Cy-Secret-pw-5106", (6930, 6931)),
    "di.parent@example.org": Account("Di-Secret-pw-8843", (7040,)),
    "ed.parent@example.org": Account("Ed-Secret-pw-1175", (8150, 8151)),
    "flo.parent@example.org": Account("Flo-Secret-pw-3362", (9260,)),
}
STUDENTS = {4711: "Ada Junior", 4712: "Ada Minor", 5820: "Bo Junior", 6930: "Cy Junior",
            6931: "Cy Minor", 7040: "Di Junior", 8150: "Ed Junior", 8151: "Ed Minor",
            9260: "Flo Junior"}
# More families, so a replay at a few sessions per second has identities to spare.
for _n in range(1, 6):
    USERS[f"family{_n}.parent@example.org"] = Account(f"Family{_n}-Secret-pw-{4000 + _n}",
                                                      (10000 + 10 * _n,))
    STUDENTS[10000 + 10 * _n] = f"Family{_n} Junior"
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


@dataclass
class Session:
    user: str | None = None
    csrf: str = ""


@dataclass
class Portal:
    """The app's state and switches."""

    rotate_csrf: bool = False
    idor_vulnerable: bool = False
    sessions: dict[str, Session] = field(default_factory=dict)
    log: list[tuple[str, str, int]] = field(default_factory=list)
    seen: list[tuple[str | None, str, str, int]] = field(default_factory=list)
    url: str = ""

    def token(self, session: Session) -> str:
        if self.rotate_csrf or not session.csrf:
            session.csrf = secrets.token_hex(16)
        return session.csrf


def _page(title: str, body: str, csrf: str | None = None) -> HTMLResponse:
    meta = f'<meta name="csrf-token" content="{csrf}">' if csrf else ""
    return HTMLResponse(
        f"<!doctype html><html><head><title>{html.escape(title)}</title>{meta}"
        '<link rel="stylesheet" href="/static/app.css"></head><body>'
        f'<img src="/static/logo.png" alt=""><h1>{html.escape(title)}</h1>{body}</body></html>')


def create_app(portal: Portal) -> FastAPI:
    app = FastAPI()

    @app.middleware("http")
    async def record(request: Request, call_next: Any) -> Response:
        session = portal.sessions.get(request.cookies.get(COOKIE, ""))
        user = session.user if session is not None else None
        response = await call_next(request)
        portal.log.append((request.method, request.url.path, response.status_code))
        portal.seen.append((user, request.method, request.url.path, response.status_code))
        return response

    async def form_of(request: Request) -> dict[str, str]:
        """The urlencoded form of a POST (python-multipart is not installed here)."""
        return dict(parse_qsl((await request.body()).decode(), keep_blank_values=True))

    def session_of(request: Request) -> Session | None:
        return portal.sessions.get(request.cookies.get(COOKIE, ""))

    def user_of(request: Request) -> tuple[Session, str] | None:
        s = session_of(request)
        return (s, s.user) if s is not None and s.user else None

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", media_type="text/plain")

    @app.get("/static/app.css")
    def css() -> Response:
        return Response("body { font-family: sans-serif }", media_type="text/css")

    @app.get("/static/logo.png")
    def logo() -> Response:
        return Response(PNG, media_type="image/png")

    @app.get("/")
    def root() -> Response:
        return RedirectResponse("/login", status_code=302)

    @app.get("/login")
    def login_form(request: Request) -> Response:
        sid = secrets.token_urlsafe(24)
        portal.sessions[sid] = session = Session()
        response = _page("Sign in", f"""
<form id="login" method="post" action="/login">
<input type="hidden" name="csrf_token" value="{portal.token(session)}">
<label>Email <input type="text" name="username" autocomplete="username"></label>
<label>Password <input type="password" name="password"></label>
<button type="submit">Sign in</button></form>""")
        response.set_cookie(COOKIE, sid, httponly=True, samesite="lax")
        return response

    @app.post("/login")
    async def login(request: Request) -> Response:
        form = await form_of(request)
        username, password = form.get("username", ""), form.get("password", "")
        csrf_token = form.get("csrf_token", "")
        session = session_of(request)
        if session is None or not csrf_token or csrf_token != session.csrf:
            return HTMLResponse("bad csrf", status_code=403)
        account = USERS.get(username)
        if account is None or account.password != password:
            return _page("Sign in", "<p>Wrong email or password.</p>")
        portal.sessions.pop(request.cookies.get(COOKIE, ""), None)
        sid = secrets.token_urlsafe(24)
        portal.sessions[sid] = Session(user=username, csrf=session.csrf)
        response = RedirectResponse("/home", status_code=303)
        response.set_cookie(COOKIE, sid, httponly=True, samesite="lax")
        return response

    @app.get("/home")
    def home(request: Request) -> Response:
        who = user_of(request)
        if who is None:
            return RedirectResponse("/login", status_code=302)
        session, user = who
        links = "".join(f'<li><a href="/students/{sid}">{html.escape(STUDENTS[sid])}</a></li>'
                        for sid in USERS[user].students)
        return _page("Home", f'<ul class="students">{links}</ul><a href="/logout">Sign out</a>',
                     portal.token(session))

    def allowed(user: str, student: int) -> bool:
        return student in USERS[user].students or (
            portal.idor_vulnerable and student in STUDENTS)

    @app.get("/students/{student}")
    def student_page(request: Request, student: int) -> Response:
        who = user_of(request)
        if who is None:
            return RedirectResponse("/login", status_code=302)
        session, user = who
        if not allowed(user, student):
            return HTMLResponse("not found", status_code=404)
        token = portal.token(session)
        return _page(STUDENTS[student], f"""
<div id="student" data-student-id="{student}"></div><p id="grades"></p>
<form id="attendance" method="post" action="/students/{student}/attendance">
<input type="hidden" name="csrf_token" value="{token}">
<input type="hidden" name="student_id" value="{student}">
<select name="status"><option value="absent">Absent</option>
<option value="late">Late</option></select>
<input type="text" name="note"><button type="submit">Report</button></form>
<script>
const id = document.getElementById("student").dataset.studentId;
fetch("/api/students/" + id + "/grades", {{headers: {{"X-CSRF-Token": "{token}"}}}})
  .then(r => r.json()).then(g => {{ document.getElementById("grades").textContent =
  g.grades.map(x => x.course + ": " + x.mark).join(", "); }});
</script>""", token)

    @app.get("/api/students/{student}/grades")
    def grades(request: Request, student: int) -> Response:
        who = user_of(request)
        if who is None:
            return JSONResponse({"error": "login"}, status_code=401)
        if not allowed(who[1], student):
            return JSONResponse({"error": "not found"}, status_code=404)
        return JSONResponse({"student": {"id": student}, "grades": [
            {"course": "Math", "mark": "A"}, {"course": "Art", "mark": "B"}]})

    @app.post("/students/{student}/attendance")
    async def attendance(request: Request, student: int) -> Response:
        form = await form_of(request)
        csrf_token, status = form.get("csrf_token", ""), form.get("status", "")
        student_id = int(form["student_id"]) if form.get("student_id", "").isdigit() else 0
        who = user_of(request)
        if who is None:
            return RedirectResponse("/login", status_code=302)
        session, user = who
        if csrf_token != session.csrf:
            return HTMLResponse("bad csrf", status_code=403)
        if student_id != student or not allowed(user, student) or status not in ("absent",
                                                                                 "late"):
            return HTMLResponse("not found", status_code=404)
        return RedirectResponse(f"/students/{student}?saved=1", status_code=303)

    @app.get("/logout")
    def logout(request: Request) -> Response:
        portal.sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = RedirectResponse("/login", status_code=302)
        response.delete_cookie(COOKIE)
        return response

    return app


@contextmanager
def serve(portal: Portal | None = None) -> Iterator[Portal]:
    """Run the portal on 127.0.0.1 (a free port) in a thread until the block ends."""
    portal = portal or Portal()
    with sis_server.serve(create_app(portal)) as url:
        portal.url = url
        yield portal
