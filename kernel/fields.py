"""How a pydantic validation error reads to a user: one line per problem naming the dotted
field, the message and the value. Every file format firstbell reads (thresholds, plans,
scenarios, profiles) words its errors this way."""

from __future__ import annotations

from pydantic import ValidationError


def field_errors(exc: ValidationError) -> list[str]:
    """One line per pydantic error: the dotted field, the message, the value."""
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]).replace("for_", "for")
        lines.append(f"  field {where}: {err['msg'].removeprefix('Value error, ')}"
                     f" (value {err.get('input')!r})")
    return lines
