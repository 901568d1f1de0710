"""Synthetic contact data: emails at reserved domains, fictional phone numbers, street addresses.

Synthetic by construction: every email is at example.org/.com/.net (RFC 2606) and every phone
number is in the 555-0100..555-0199 range reserved for fiction, so no output can reach a person.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fake_data import words

STUDENT_DOMAIN = "students.example.org"
STAFF_DOMAIN = "staff.example.org"
GUARDIAN_DOMAINS = ("example.com", "example.net", "example.org")
SYNTHETIC_DOMAINS = ("example.org", "example.com", "example.net")


def _slug(names: pa.Array) -> pa.Array:
    """Lower-case letters only, so an email local part is always valid."""
    plain = pc.utf8_lower(words.decode(names))
    return pc.replace_substring_regex(plain, r"[^a-z]", "")


def emails(first: pa.Array, last: pa.Array, ids: np.ndarray, domain: str | pa.Array) -> pa.Array:
    """``first.last<id>@domain``: unique through the id, readable like a real district's."""
    id_str = pc.cast(pa.array(ids), pa.string())
    dom = domain if isinstance(domain, pa.Array) else pa.scalar(domain)
    return pc.binary_join_element_wise(
        _slug(first), pa.scalar("."), _slug(last), id_str, pa.scalar("@"), dom, ""
    )


def guardian_domains(rng: np.random.Generator, n: int) -> pa.Array:
    idx = rng.integers(0, len(GUARDIAN_DOMAINS), n).astype(np.int32)
    return pa.DictionaryArray.from_arrays(pa.array(idx), pa.array(GUARDIAN_DOMAINS)).cast(
        pa.string()
    )


def phones(rng: np.random.Generator, n: int, area_codes: list[int]) -> pa.Array:
    """``(312) 555-01xx``: only numbers from the fictional 555-0100..0199 range."""
    codes = np.asarray(area_codes)[rng.integers(0, len(area_codes), n)]
    area = pc.cast(pa.array(codes), pa.string())
    line = pc.cast(pa.array(rng.integers(100, 200, n)), pa.string())
    return pc.binary_join_element_wise(
        pa.scalar("("), area, pa.scalar(") 555-0"), line, ""
    )


def street_addresses(rng: np.random.Generator, n: int) -> pa.Array:
    """``1234 Lincoln Avenue``: a building number and a street named after a US surname."""
    number = pc.cast(pa.array(rng.integers(100, 10000, n)), pa.string())
    street = words.decode(words.last_names().sample(rng, n))
    suffix = words.decode(words.street_suffixes().sample(rng, n))
    return pc.binary_join_element_wise(number, street, suffix, " ")


def postcodes(rng: np.random.Generator, n: int, postcode_range: tuple[int, int]) -> pa.Array:
    lo, hi = postcode_range
    return pc.cast(pa.array(rng.integers(lo, hi + 1, n)), pa.string())
