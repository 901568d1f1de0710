"""Content checks for the staging SIS's pages, and the small readers the paths share.

A check answers None when the page is right, or what is wrong in a short sentence of counts and
field names: never ids, names or any other part of the payload, since failures end up in logs
and dashboards. Checks judge 2xx answers only; a failed status is counted by its status already.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Collection, Iterable
from typing import Any

from loadtests.browser import Check, Response


def ok(r: Response) -> bool:
    return 200 <= r.status_code < 300


def page(r: Response) -> Any:
    """The JSON body of a 2xx answer, or None (an error, an empty or non-JSON answer)."""
    if not ok(r):
        return None
    try:
        return r.json()
    except ValueError:
        return None


def header(r: Response, name: str) -> str | None:
    """A header by name, whatever the case the HTTP client keeps it in."""
    wanted = name.lower()
    return next((v for k, v in r.headers.items() if k.lower() == wanted), None)


def _json_check(judge: Callable[[Any], str | None]) -> Check:
    def check(r: Response) -> str | None:
        if not ok(r):
            return None
        try:
            body = r.json()
        except ValueError:
            return "the answer is not JSON"
        try:
            return judge(body)
        except (KeyError, TypeError, ValueError, AttributeError):
            return "the answer lacks the fields of this page"
    return check


def _ids(rows: Iterable[Any], field: str) -> list[int]:
    return [int(row[field]) for row in rows]


def _compare(found: list[int], allowed: Collection[int], what: str, *, exact: bool,
             distinct: bool) -> str | None:
    extra = sum(1 for i in found if i not in allowed)
    missing = len(set(allowed) - set(found)) if exact else 0
    twice = len(found) - len(set(found)) if distinct else 0
    problems = [f"{extra} {what} that should not be there" if extra else "",
                f"{missing} {what} missing" if missing else "",
                f"{twice} {what} listed twice" if twice else ""]
    return "; ".join(p for p in problems if p) or None


def listed(key: str, field: str, allowed: Collection[int], what: str, *, exact: bool = False,
           distinct: bool = True) -> Check:
    """`body[key]` is a list of rows whose `field` values are all in `allowed` (and, when
    `exact`, cover all of `allowed`); when `distinct`, no value appears twice."""
    allowed = set(allowed)
    return _json_check(lambda body: _compare(_ids(body[key], field), allowed, what,
                                             exact=exact, distinct=distinct))


def none_listed(key: str, field: str, barred: Collection[int], what: str) -> Check:
    """`body[key]` names none of `barred` (a guardian's no-access children, say)."""
    barred = set(barred)

    def judge(body: Any) -> str | None:
        found = sum(1 for i in _ids(body[key], field) if i in barred)
        return f"{found} {what} listed" if found else None
    return _json_check(judge)


def fields(**expected: Any) -> Check:
    """Top-level fields have these values (the page is about what was asked for)."""
    def judge(body: Any) -> str | None:
        wrong = sorted(k for k, v in expected.items() if body[k] != v)
        return f"the page's {', '.join(wrong)} is not the one asked for" if wrong else None
    return _json_check(judge)


def in_set(field: str, allowed: Collection[int], what: str) -> Check:
    """A top-level id field is one of `allowed` (e.g. the section is one the teacher has)."""
    allowed = set(allowed)
    return _json_check(lambda body: None if int(body[field]) in allowed
                       else f"the {what} is not one of the user's own")


def all_of(*checks: Check) -> Check:
    def check(r: Response) -> str | None:
        return next((p for p in (c(r) for c in checks) if p), None)
    return check


def pdf(r: Response) -> str | None:
    if ok(r) and not r.content.startswith(b"%PDF-"):
        return "the document is not a PDF"
    return None


def csv_rows(header_field: str, column: str | None = None,
             allowed: Collection[int] = ()) -> Check:
    """A CSV export with `header_field` in its header; when `column` is given, every row's
    `column` is in `allowed` (a school's export holds that school's rows only)."""
    wanted = {str(a) for a in allowed}  # CSV cells are text

    def check(r: Response) -> str | None:
        if not ok(r):
            return None
        reader = csv.DictReader(io.StringIO(r.text))
        if header_field not in (reader.fieldnames or ()):
            return f"the export has no {header_field} column"
        if column is not None:
            outside = sum(1 for row in reader if row.get(column) not in wanted)
            if outside:
                return f"{outside} rows of the export have a {column} outside the user's"
        return None
    return check


def page_size(key: str, limit: int, offset: int) -> Check:
    """A OneRoster page holds min(limit, X-Total-Count - offset) objects."""
    def check(r: Response) -> str | None:
        if not ok(r):
            return None
        total = header(r, "X-Total-Count")
        if total is None or not total.isdigit():
            return "no X-Total-Count header"
        try:
            size = len(r.json()[key])
        except (ValueError, KeyError, TypeError):
            return f"the answer has no {key} list"
        want = max(0, min(limit, int(total) - offset))
        return None if size == want else f"page holds {size} objects, expected {want}"
    return check
