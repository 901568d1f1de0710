"""Reading a HAR 1.2 file into `Entry` records, whatever wrote it (Chromium's dev tools,
Firefox, Safari, Charles, Playwright): HTTP/2 pseudo-headers dropped, the request body as form
fields, JSON or text (from ``postData.params`` or ``postData.text``), the response body decoded
from base64 when ``encoding`` says so, the redirect target resolved, and a resource type taken
from ``_resourceType`` when the recorder wrote one, else guessed from ``Sec-Fetch-Dest``, the
MIME type and the extension. Anything malformed is a `RecordingError` naming the field path."""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urljoin, urlsplit

from recordings.errors import RecordingError

METHOD = re.compile(r"^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)$")
HAR_FIX = ("Record again (dev tools: Network, 'Save all as HAR with content'; Playwright:"
           " record_har_path) or repair the field")

# The resource type from what the browser said it fetched the thing for (Sec-Fetch-Dest).
_DEST = {"document": "document", "iframe": "document", "script": "script", "style": "stylesheet",
         "image": "image", "font": "font", "audio": "media", "video": "media",
         "manifest": "manifest", "worker": "script", "sharedworker": "script"}
_MIME = (("text/html", "document"), ("application/xhtml", "document"), ("json", "fetch"),
         ("javascript", "script"), ("ecmascript", "script"), ("text/css", "stylesheet"),
         ("image/", "image"), ("font/", "font"), ("woff", "font"), ("audio/", "media"),
         ("video/", "media"), ("manifest", "manifest"))
_EXT = {"js": "script", "mjs": "script", "css": "stylesheet", "png": "image", "jpg": "image",
        "jpeg": "image", "gif": "image", "svg": "image", "ico": "image", "webp": "image",
        "woff": "font", "woff2": "font", "ttf": "font", "otf": "font", "eot": "font",
        "mp4": "media", "webm": "media", "mp3": "media", "map": "other", "html": "document"}


@dataclass
class Entry:
    """One recorded request and its answer, normalized."""

    index: int                       # position in log.entries
    method: str
    url: str                         # absolute, as recorded
    headers: list[tuple[str, str]]   # request headers, pseudo-headers dropped
    body_kind: str | None            # "form", "json", "text" or None
    form: list[tuple[str, str]]
    json_body: Any
    text: str | None
    status: int
    response_headers: list[tuple[str, str]]
    response_body: str
    response_mime: str
    redirect_url: str                # absolute, "" when the answer is no redirect
    started: float                   # seconds since the epoch
    elapsed: float                   # seconds the exchange took
    resource_type: str
    query: list[tuple[str, str]] = field(default_factory=list)

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme

    @property
    def origin(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def response_header(self, name: str) -> str | None:
        return next((v for k, v in self.response_headers if k.lower() == name.lower()), None)

    def set_cookies(self) -> list[tuple[str, str]]:
        """(name, value) of each Set-Cookie of the answer."""
        found = []
        for k, v in self.response_headers:
            if k.lower() == "set-cookie":
                for line in v.split("\n"):   # some recorders join several with newlines
                    name, _, rest = line.partition("=")
                    if name.strip() and _:
                        found.append((name.strip(), rest.split(";", 1)[0].strip()))
        return found

    def request_cookies(self) -> list[tuple[str, str]]:
        found = []
        for k, v in self.headers:
            if k.lower() == "cookie":
                for part in v.split(";"):
                    name, eq, value = part.strip().partition("=")
                    if eq:
                        found.append((name, value))
        return found


def load(path: Path) -> list[Entry]:
    """Every entry of the HAR file at `path`, in recorded order (by start time)."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise RecordingError(path, "", str(path), f"the file cannot be read ({exc.strerror})",
                             "Give the path of a HAR file") from None
    except UnicodeDecodeError:
        raise RecordingError(path, "", path.name, "the file is not UTF-8 text",
                             "Give a HAR file (JSON text) as the browser saved it") from None
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise RecordingError(path, f"line {exc.lineno} column {exc.colno}", raw[:40],
                             f"the file is not JSON ({exc.msg})",
                             "Give a HAR file as the browser saved it, not a page or a"
                             " truncated copy") from None
    log = _obj(path, doc, "log", "the HAR has no log object")
    entries = log.get("entries")
    if not isinstance(entries, list):
        raise RecordingError(path, "log.entries", entries, "entries is not a list",
                             HAR_FIX)
    out = [_entry(path, i, e) for i, e in enumerate(entries)]
    out.sort(key=lambda e: (e.started, e.index))
    return out


def _obj(path: Path, parent: Any, key: str, problem: str, where: str = "") -> dict[str, Any]:
    value = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(value, dict):
        raise RecordingError(path, f"{where}{key}", value, problem, HAR_FIX)
    return value


def _str(path: Path, obj: dict[str, Any], key: str, where: str, default: str | None = None
         ) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str):
        raise RecordingError(path, f"{where}.{key}", value, f"{key} is not a string", HAR_FIX)
    return value


def _pairs(path: Path, value: Any, where: str) -> list[tuple[str, str]]:
    """A HAR name/value list (headers, queryString, params) as pairs."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordingError(path, where, value, "this is not a list of {name, value}", HAR_FIX)
    pairs = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise RecordingError(path, f"{where}[{i}]", item, "this has no name", HAR_FIX)
        pairs.append((item["name"], str(item.get("value", ""))))
    return pairs


def _entry(path: Path, i: int, raw: Any) -> Entry:
    where = f"log.entries[{i}]"
    if not isinstance(raw, dict):
        raise RecordingError(path, where, raw, "an entry is not an object", HAR_FIX)
    req = _obj(path, raw, "request", "the entry has no request", f"{where}.")
    res = raw.get("response") or {}
    if not isinstance(res, dict):
        raise RecordingError(path, f"{where}.response", res, "the response is not an object",
                             HAR_FIX)
    rq, rs = f"{where}.request", f"{where}.response"
    url = req.get("url")
    if not isinstance(url, str) or not url:
        raise RecordingError(path, f"{rq}.url", url, "the request has no URL", HAR_FIX)
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and not parts.netloc:
        raise RecordingError(path, f"{rq}.url", url, "the URL has no host", HAR_FIX)
    if not parts.scheme:
        raise RecordingError(path, f"{rq}.url", url, "the URL is not absolute", HAR_FIX)
    method = req.get("method")
    if not isinstance(method, str) or not METHOD.match(method.upper()):
        raise RecordingError(path, f"{rq}.method", method,
                             "the method is not one of GET, POST, PUT, PATCH, DELETE, HEAD,"
                             " OPTIONS", HAR_FIX)
    status = res.get("status", 0)
    if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status <= 599:
        raise RecordingError(path, f"{rs}.status", status,
                             "the status is not an HTTP status (0 for no answer, 100-599)",
                             HAR_FIX)
    headers = [(k, v) for k, v in _pairs(path, req.get("headers"), f"{rq}.headers")
               if not k.startswith(":")]
    res_headers = [(k, v) for k, v in _pairs(path, res.get("headers"), f"{rs}.headers")
                   if not k.startswith(":")]
    query = parse_qsl(parts.query, keep_blank_values=True)
    kind, form, body_json, text = _post_data(path, req.get("postData"), f"{rq}.postData")
    content = res.get("content") or {}
    if not isinstance(content, dict):
        raise RecordingError(path, f"{rs}.content", content, "content is not an object", HAR_FIX)
    body = _content_text(path, content, f"{rs}.content")
    mime = str(content.get("mimeType") or _header(res_headers, "content-type") or "")
    redirect = str(res.get("redirectURL") or _header(res_headers, "location") or "")
    started_raw = raw.get("startedDateTime")
    try:
        started = datetime.fromisoformat(str(started_raw)).timestamp()
    except ValueError:
        raise RecordingError(path, f"{where}.startedDateTime", started_raw,
                             "this is not an ISO 8601 date and time", HAR_FIX) from None
    elapsed = raw.get("time", 0)
    if isinstance(elapsed, bool) or not isinstance(elapsed, int | float) or elapsed < 0:
        elapsed = 0
    return Entry(
        index=i, method=method.upper(), url=url, headers=headers, body_kind=kind, form=form,
        json_body=body_json, text=text, status=status, response_headers=res_headers,
        response_body=body, response_mime=mime.split(";")[0].strip().lower(),
        redirect_url=urljoin(url, redirect) if redirect else "", started=started,
        elapsed=float(elapsed) / 1000.0,
        resource_type=_resource_type(raw, headers, mime, parts.path), query=query)


def _header(headers: list[tuple[str, str]], name: str) -> str | None:
    return next((v for k, v in headers if k.lower() == name), None)


def _post_data(path: Path, post: Any, where: str
               ) -> tuple[str | None, list[tuple[str, str]], Any, str | None]:
    """(kind, form pairs, JSON value, text) of a request body."""
    if post is None:
        return None, [], None, None
    if not isinstance(post, dict):
        raise RecordingError(path, where, post, "postData is not an object", HAR_FIX)
    mime = str(post.get("mimeType") or "").lower()
    text = post.get("text")
    if text is not None and not isinstance(text, str):
        raise RecordingError(path, f"{where}.text", text, "the body text is not a string",
                             HAR_FIX)
    if "json" in mime and text:
        try:
            return "json", [], json.loads(text), None
        except json.JSONDecodeError:
            return "text", [], None, text
    if "multipart/form-data" in mime and text:
        fields = _multipart_fields(text, str(post.get("mimeType")))  # the boundary's own case
        if fields is not None:  # a form without files: replayed as one (PHP reads both alike)
            return "form", fields, None, None
        return "text", [], None, text
    if "x-www-form-urlencoded" in mime or ("params" in post and not text):
        if text:
            return "form", parse_qsl(text, keep_blank_values=True), None, None
        params = _pairs(path, post.get("params"), f"{where}.params")
        # Recorders that write only params write them as sent: URL-encoded.
        return "form", [(unquote_plus(k), unquote_plus(v)) for k, v in params], None, None
    if text:
        return "text", [], None, text
    return None, [], None, None


def _multipart_fields(text: str, mime: str) -> list[tuple[str, str]] | None:
    """The fields of a multipart/form-data body as (name, value) pairs, or None when it holds
    a file (a file upload is replayed as recorded, with its Content-Type) or cannot be read.
    Browsers post forms this way when the page says enctype="multipart/form-data"
    (RosarioSIS's do); without its boundary header the raw text reaches the server as no
    fields at all, so the converter turns it into a form the runtime encodes itself."""
    boundary = next((part.split("=", 1)[1].strip().strip('"') for part in mime.split(";")
                     if part.strip().lower().startswith("boundary=")), None)
    if not boundary:
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {mime}\r\n\r\n{text}".encode())
    if not message.is_multipart():
        return None
    fields: list[tuple[str, str]] = []
    for part in message.iter_parts():
        if part.get_filename() is not None:
            return None
        name = part.get_param("name", header="content-disposition")
        if name is None:
            return None
        payload = part.get_payload(decode=True)
        raw = payload if isinstance(payload, bytes) else b""
        fields.append((str(name), raw.decode(part.get_content_charset() or "utf-8",
                                             errors="replace")))
    return fields


def _content_text(path: Path, content: dict[str, Any], where: str) -> str:
    text = content.get("text")
    if text is None:
        return ""
    if not isinstance(text, str):
        raise RecordingError(path, f"{where}.text", text, "the body text is not a string",
                             HAR_FIX)
    if str(content.get("encoding") or "").lower() != "base64":
        return text
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RecordingError(path, f"{where}.text", text,
                             "the body says encoding base64 but is not base64", HAR_FIX) from None
    return data.decode("utf-8", errors="replace")


def _resource_type(raw: dict[str, Any], headers: list[tuple[str, str]], mime: str,
                   url_path: str) -> str:
    given = raw.get("_resourceType")
    if isinstance(given, str) and given:
        return given.lower()
    dest = (_header(headers, "sec-fetch-dest") or "").lower()
    if dest in _DEST:
        return _DEST[dest]
    mime = mime.lower()
    for needle, kind in _MIME:
        if needle in mime:
            return kind
    ext = url_path.rsplit("/", 1)[-1].rpartition(".")[2].lower() if "." in url_path else ""
    if ext in _EXT:
        return _EXT[ext]
    requested_with = (_header(headers, "x-requested-with") or "").lower()
    return "xhr" if requested_with == "xmlhttprequest" else "other"
