"""Broken recordings and options, through the CLI: exit code 2, one paragraph naming the
file, the field path and the value, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from rec_helpers import fixture

from firstbell.cli import main


def _chromium() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(fixture("chromium").read_text())
    return doc


def _edit(path: list[Any], value: Any) -> dict[str, Any]:
    doc = _chromium()
    node = doc
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return doc


def _only_static() -> dict[str, Any]:
    doc = _chromium()
    doc["log"]["entries"] = [e for e in doc["log"]["entries"] if "/static/" in e["request"]["url"]]
    return doc


CASES: list[tuple[str, Any, list[str], list[str]]] = [
    # id, file content (str: raw text), extra args, fragments the message must hold
    ("not-json", "<html>not a har</html>", [], ["is not JSON", "line 1 column 1"]),
    ("no-log", {"entries": []}, [], ["log is None", "no log object"]),
    ("entries-not-list", {"log": {"entries": {"a": 1}}}, [], ["log.entries is {'a': 1}"]),
    ("no-entries", {"log": {"entries": []}}, [], ["log.entries is []", "no request"]),
    ("entry-not-object", {"log": {"entries": ["GET /"]}}, [], ["log.entries[0] is 'GET /'"]),
    ("no-request", _edit(["log", "entries", 3, "request"], KeyError), [],
     ["log.entries[3].request is None"]),
    ("no-url", _edit(["log", "entries", 2, "request", "url"], KeyError), [],
     ["log.entries[2].request.url is None"]),
    ("relative-url", _edit(["log", "entries", 4, "request", "url"], "/home"), [],
     ["log.entries[4].request.url is '/home'", "not absolute"]),
    ("bad-method", _edit(["log", "entries", 1, "request", "method"], "FETCH"), [],
     ["log.entries[1].request.method is 'FETCH'"]),
    ("bad-status", _edit(["log", "entries", 4, "response", "status"], "ok"), [],
     ["log.entries[4].response.status is 'ok'"]),
    ("status-out-of-range", _edit(["log", "entries", 4, "response", "status"], 999), [],
     ["log.entries[4].response.status is 999"]),
    ("bad-base64", _edit(["log", "entries", 0, "response", "content"],
                         {"mimeType": "text/html", "text": "%%%not base64", "encoding": "base64"}),
     [], ["log.entries[0].response.content.text is '%%%not base64'", "not base64"]),
    ("bad-date", _edit(["log", "entries", 5, "startedDateTime"], "yesterday"), [],
     ["log.entries[5].startedDateTime is 'yesterday'"]),
    ("headers-not-list", _edit(["log", "entries", 0, "request", "headers"], "Host: x"), [],
     ["log.entries[0].request.headers is 'Host: x'"]),
    ("unknown-persona", _chromium(), ["--persona", "janitor"],
     ["--persona is 'janitor'", "--plays"]),
    ("bad-persona-name", _chromium(), ["--persona", "Guardian-1"], ["--persona is 'Guardian-1'"]),
    ("bad-plays", _chromium(), ["--persona", "night_clerk", "--plays", "janitor"],
     ["--plays is 'janitor'"]),
    ("empty-after-filtering", _only_static(), [],
     ["log.entries is '2 entries (2 static asset)'", "--host"]),
    ("password-not-found", _chromium(), ["--password", "not-the-one"],
     ["--password is '<the password given>'", "no recorded request sends this password"]),
]


@pytest.mark.parametrize(("content", "extra", "fragments"),
                         [pytest.param(c, e, f, id=i) for i, c, e, f in CASES])
def test_broken_recording(tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any,
                          extra: list[str], fragments: list[str]) -> None:
    har = tmp_path / "broken.har.json"
    har.write_text(content if isinstance(content, str) else json.dumps(content))
    args = ["target", "record", str(har), "--into", str(tmp_path / "out")]
    if "--persona" not in extra:
        args += ["--persona", "guardian"]
    assert main(args + extra) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    flat = " ".join(err.split())
    assert str(har) in flat
    for fragment in fragments:
        assert fragment in flat
    assert not (tmp_path / "out").exists()
    assert "not-the-one" not in flat


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.har"
    assert main(["target", "record", str(missing), "--persona", "guardian"]) == 2
    assert "cannot be read" in capsys.readouterr().err
