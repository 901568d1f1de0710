"""The OneRoster ``filter`` grammar: query text to clauses, nothing about fields or SQL.

``field<op>'value'`` clauses with ``= != > < >= <= ~``, joined by ``AND`` or ``OR``. A value
runs to the last quote before the end or before `` AND ``/`` OR `` and the next clause, so a quote
inside a value (``O'Brien``) needs no escaping. One logical operator kind per filter, as the
specification allows. Which fields exist and how values are typed is the collection's business
(`staging.oneroster_sql`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from staging.oneroster_status import OneRosterError

MAX_FILTER_CHARS, MAX_CLAUSES = 2000, 20


@dataclass(frozen=True)
class Clause:
    field: str
    op: str
    value: str


_OP = r"(!=|>=|<=|=|>|<|~)"
_START = re.compile(r"\s*([A-Za-z][A-Za-z0-9_.]*)\s*" + _OP + r"\s*'")
_JOIN = re.compile(r"\s+(AND|OR)\s+(?=[A-Za-z][A-Za-z0-9_.]*\s*" + _OP + r"\s*')")
_END = re.compile(r"\s*")


def bad_filter(description: str) -> OneRosterError:
    return OneRosterError(400, "invalid_filter_field", description)


def parse_filter(text: str) -> tuple[list[Clause], str]:
    """`field<op>'value'` clauses joined by one kind of logical operator."""
    if len(text) > MAX_FILTER_CHARS:
        raise bad_filter(f"the filter is longer than {MAX_FILTER_CHARS} characters")
    clauses: list[Clause] = []
    logic: str | None = None
    pos = 0
    while True:
        m = _START.match(text, pos)
        if m is None:
            raise bad_filter(f"cannot read the filter at character {pos + 1}: use field<op>'value'"
                             " with = != > < >= <= ~, joined by AND or OR")
        start, q, joined = m.end(), m.end(), None
        while True:
            q = text.find("'", q)
            if q < 0:
                raise bad_filter("a filter value has no closing quote")
            if _END.fullmatch(text, q + 1):
                break
            joined = _JOIN.match(text, q + 1)
            if joined:
                break
            q += 1
        clauses.append(Clause(m.group(1), m.group(2), text[start:q]))
        if len(clauses) > MAX_CLAUSES:
            raise bad_filter(f"at most {MAX_CLAUSES} filter clauses")
        if joined is None:
            return clauses, logic or "AND"
        if logic not in (None, joined.group(1)):
            raise bad_filter("use one logical operator (AND or OR) in a filter, not both")
        logic, pos = joined.group(1), joined.end()

