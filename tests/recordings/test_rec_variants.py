"""HAR variants (Chromium with HTTP/2 pseudo-headers, Firefox with base64 bodies and no
resource types, Safari with form params only and missing bodies, Charles with the redirect only
in a Location header) convert to the same logical steps; a JSON API with a bearer token becomes
a bearer session."""

from __future__ import annotations

import json
import stat
from pathlib import Path
from urllib.parse import parse_qsl, unquote_plus

import pytest
from rec_helpers import PASSWORD, SECRETS, all_text, fixture, load_target

from loadtests.targetfile.model import Step
from recordings.convert import record
from recordings.har import load

VARIANTS = ("chromium", "firefox", "safari", "charles")


def logical(folder: Path) -> list[tuple[object, ...]]:
    target = load_target(folder)
    steps = [*(target.login.steps if target.login else []),
             *target.personas["guardian"].steps, *target.logout]
    out: list[tuple[object, ...]] = []
    for s in steps:
        assert isinstance(s, Step)
        r = s.request
        out.append((s.name, r.method, r.url, tuple(sorted(r.query.items())),
                    tuple(sorted((r.form or {}).items())) if isinstance(r.form, dict) else r.form,
                    tuple(sorted(r.headers.items())),
                    tuple(sorted((k, tuple(sorted(v.model_dump(exclude_defaults=True).items())))
                                 for k, v in s.extract.items()))))
    return out


@pytest.mark.parametrize("variant", VARIANTS)
def test_variant_normalizes(variant: str) -> None:
    entries = load(fixture(variant))
    assert len(entries) == 11
    for e in entries:
        assert not any(k.startswith(":") for k, _ in e.headers + e.response_headers)
    by_path = {(e.method, e.path): e for e in entries}
    login = by_path[("POST", "/login")]
    assert dict(login.form)["username"] == "ada.parent@example.test"
    assert login.redirect_url == "https://sis.example.test/home"
    assert by_path[("GET", "/home")].resource_type == "document"
    assert "/students/4711" in by_path[("GET", "/home")].response_body
    assert by_path[("GET", "/static/app.css")].resource_type == "stylesheet"


def test_variants_convert_to_the_same_steps(tmp_path: Path) -> None:
    results = {}
    for variant in VARIANTS:
        record(fixture(variant), "guardian", tmp_path / variant, password=PASSWORD)
        results[variant] = logical(tmp_path / variant)
    assert all(r == results["chromium"] for r in results.values())
    names = [s[0] for s in results["chromium"]]
    assert names == ["login", "post_login", "home", "student", "students_grades",
                     "post_students_attendance", "student_2", "logout"]


def test_converted_target_reads_as_expected(tmp_path: Path) -> None:
    report = record(fixture("chromium"), "guardian", tmp_path / "t", password=PASSWORD)
    target = load_target(tmp_path / "t")
    assert target.hosts == ["https://sis.example.test"]
    assert target.session.carrier == "cookie"
    assert target.login is not None
    post = target.login.steps[1].request
    assert post.form == {"csrf_token": "{{ csrf_token }}", "username": "{{ user.username }}",
                         "password": "{{ user.password }}"}
    assert target.login.steps[0].extract["csrf_token"].form == "form#login"
    steps = target.personas["guardian"].steps
    home, student = steps[0], steps[1]
    assert isinstance(home, Step) and isinstance(student, Step)
    assert home.extract["student_id"].regex and home.extract["student_id"].pick == "random"
    assert student.request.url == "/students/{{ student_id }}"
    assert isinstance(steps[2], Step) and steps[2].think is not None
    assert steps[2].think.recorded == 30.0              # a minute's gap, capped
    assert report.unresolved == []
    assert "4711" not in "".join(str(s.request.model_dump()) for s in steps if isinstance(s, Step))
    text = all_text(tmp_path / "t")
    assert "# page: /students/{{ student_id }}" in text
    for secret in SECRETS:
        assert secret not in text
    assert stat.S_IMODE((tmp_path / "t").stat().st_mode) == 0o700
    for f in (tmp_path / "t").rglob("*"):
        assert stat.S_IMODE(f.stat().st_mode) == (0o700 if f.is_dir() else 0o600)
    assert not list((tmp_path / "t").rglob("*.tmp"))


def test_login_found_by_field_name_without_password(tmp_path: Path) -> None:
    record(fixture("safari"), "guardian", tmp_path / "t")
    target = load_target(tmp_path / "t")
    assert target.login is not None
    assert target.login.steps[-1].request.form == {
        "csrf_token": "{{ csrf_token }}", "username": "{{ user.username }}",
        "password": "{{ user.password }}"}


def test_bearer_api(tmp_path: Path) -> None:
    report = record(fixture("bearer_api"), "guardian", tmp_path / "t", password=PASSWORD)
    target = load_target(tmp_path / "t")
    assert target.session.carrier == "bearer" and target.session.token == "{{ token }}"
    assert target.login is not None
    assert target.login.steps[0].extract["token"].jsonpath == "$.access_token"
    assert target.login.steps[0].request.json_body == {"username": "{{ user.username }}",
                                                       "password": "{{ user.password }}"}
    me = target.personas["guardian"].steps[0]
    assert isinstance(me, Step) and me.extract["student_id"].jsonpath == "$.students[*].id"
    assert [(u[0], u[2]) for u in report.unresolved] == [
        ("put_students_contact", "9f8e7d6c5b4a39281706f5e4d3c2b1a0")]
    text = all_text(tmp_path / "t") + "\n".join(report.lines())
    for secret in SECRETS:
        assert secret not in text


def test_secrets_left_in_odd_places_are_masked(tmp_path: Path) -> None:
    """The username in a path, a session cookie value echoed in a query: neither is written
    nor printed; the cookie value is read from the Set-Cookie that produced it."""
    import json

    doc = json.loads(fixture("chromium").read_text())
    entries = doc["log"]["entries"]
    extra = json.loads(json.dumps(entries[6]))
    extra["request"]["url"] = ("https://sis.example.test/profiles/ada.parent%40example.test"
                               "?sid=L0gg3dInS3ss10nV4lue99")
    extra["startedDateTime"] = "2026-09-01T08:01:12.000Z"
    entries.append(extra)
    har = tmp_path / "odd.har.json"
    har.write_text(json.dumps(doc))
    report = record(har, "guardian", tmp_path / "t", password=PASSWORD)
    text = all_text(tmp_path / "t")
    printed = "\n".join(report.lines())
    for secret in SECRETS:
        assert secret not in text and secret not in printed
    assert "/profiles/{{ user.username }}" in text
    target = load_target(tmp_path / "t")
    assert target.login is not None
    assert target.login.steps[-1].extract["sid"].cookie == "sid"
    last = target.personas["guardian"].steps[-1]
    assert isinstance(last, Step) and last.request.query == {"sid": "{{ sid }}"}


def _as_multipart(source: Path, dest: Path, *, with_file: bool = False) -> Path:
    """The recording with its attendance form posted as multipart/form-data (as a page with
    enctype="multipart/form-data" posts it: RosarioSIS's do), optionally with a file part."""
    har = json.loads(source.read_text())
    boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"
    for entry in har["log"]["entries"]:
        post = entry["request"].get("postData")
        if entry["request"]["url"].endswith("/attendance") and post:
            pairs = (parse_qsl(post["text"], keep_blank_values=True) if post.get("text")
                     else [(unquote_plus(p["name"]), unquote_plus(p["value"]))
                           for p in post["params"]])
            parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                     for k, v in pairs]
            if with_file:
                parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="note";'
                             ' filename="note.txt"\r\nContent-Type: text/plain\r\n\r\nhi\r\n')
            mime = f"multipart/form-data; boundary={boundary}"
            entry["request"]["postData"] = {"mimeType": mime,
                                            "text": "".join(parts) + f"--{boundary}--\r\n"}
            entry["request"]["headers"].append({"name": "Content-Type", "value": mime})
    dest.write_text(json.dumps(har))
    return dest


def _attendance(folder: Path) -> Step:
    step = next(s for s in load_target(folder).personas["guardian"].steps
                if isinstance(s, Step) and s.request.url.endswith("/attendance"))
    return step


def test_a_multipart_form_converts_to_the_same_form(tmp_path: Path) -> None:
    record(fixture("safari"), "guardian", tmp_path / "plain")
    multipart = _as_multipart(fixture("safari"), tmp_path / "multipart.har")
    record(multipart, "guardian", tmp_path / "multi")
    plain, multi = _attendance(tmp_path / "plain"), _attendance(tmp_path / "multi")
    assert multi.request.form == plain.request.form and multi.request.form
    assert multi.request.body is None
    # a file upload cannot become a form: replayed as recorded, with the type that frames it
    upload = _as_multipart(fixture("safari"), tmp_path / "upload.har", with_file=True)
    record(upload, "guardian", tmp_path / "upload")
    step = _attendance(tmp_path / "upload")
    assert step.request.form is None and 'filename="note.txt"' in (step.request.body or "")
    assert step.request.headers["Content-Type"].startswith("multipart/form-data; boundary=")
