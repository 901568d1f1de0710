"""The OneRoster filter grammar alone (`staging.oneroster_filter`): text to clauses, no fields,
no SQL, no server."""

from __future__ import annotations

import pytest

from staging.oneroster_filter import MAX_CLAUSES, MAX_FILTER_CHARS, Clause, parse_filter
from staging.oneroster_status import OneRosterError


def _refused(text: str) -> str:
    with pytest.raises(OneRosterError) as caught:
        parse_filter(text)
    assert (caught.value.status, caught.value.minor) == (400, "invalid_filter_field")
    return caught.value.description


def test_one_clause_defaults_to_and() -> None:
    assert parse_filter("givenName='Ann'") == ([Clause("givenName", "=", "Ann")], "AND")


@pytest.mark.parametrize("op", ["=", "!=", ">", "<", ">=", "<=", "~"])
def test_every_operator(op: str) -> None:
    assert parse_filter(f"dateLastModified{op}'2024-01-01'") == (
        [Clause("dateLastModified", op, "2024-01-01")], "AND")


def test_spaces_dotted_fields_and_empty_values() -> None:
    clauses, logic = parse_filter("  a.b_c2 >= '1'   OR d!=''  ")
    assert clauses == [Clause("a.b_c2", ">=", "1"), Clause("d", "!=", "")] and logic == "OR"


def test_a_value_runs_to_the_quote_before_the_next_clause() -> None:
    clauses, _ = parse_filter("familyName='O'Brien' AND title='Rock AND Roll'")
    assert [c.value for c in clauses] == ["O'Brien", "Rock AND Roll"]
    # Lower-case "and" is no logical operator: the rest is one value.
    [clause], _ = parse_filter("a='1' and b='2'")
    assert clause.value == "1' and b='2"
    [clause], _ = parse_filter("givenName='x' OR '1'='1'")
    assert clause.value == "x' OR '1'='1"


def test_one_logical_operator_kind() -> None:
    assert "not both" in _refused("a='1' AND b='2' OR c='3'")


@pytest.mark.parametrize("text", ["", "a=x", "='x'", "a=='x'", " AND a='1'"])
def test_unreadable(text: str) -> None:
    assert "cannot read the filter at character" in _refused(text)


def test_unclosed_quote() -> None:
    assert _refused("a='x") == "a filter value has no closing quote"
    # A trailing AND starts no clause, so the value's quote is not its last one.
    assert _refused("a='1' AND") == "a filter value has no closing quote"


def test_length_and_clause_limits() -> None:
    assert str(MAX_FILTER_CHARS) in _refused("x" * (MAX_FILTER_CHARS + 1))
    many = " AND ".join(f"f{i}='v'" for i in range(MAX_CLAUSES))
    assert len(parse_filter(many)[0]) == MAX_CLAUSES
    assert str(MAX_CLAUSES) in _refused(many + " AND last='v'")
