"""Schools: how many per level, their governance, their sizes, and students per grade in each.

The district's per-grade totals are exact (scaled and rounded once); they are spread over the
level's schools in proportion to a lognormal size per school (one or more modes, as the profile
says), so school sizes have a realistic spread while the totals hold to the student.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fake_data import contact, words
from fake_data.profile import GRADE_CODES, LevelSpec, Profile
from fake_data.rng import stream

Z90 = 1.2815515655446004  # standard normal quantile at 0.90

LEVEL_SUFFIX = {"elementary": "Elementary School", "high": "High School"}
GOVERNANCE_SUFFIX = {"charter": "Charter", "contract": "Contract"}


@dataclass(frozen=True)
class SchoolPlan:
    """Schools and how many students of each grade each one has."""

    table: pa.Table
    level: np.ndarray  # level name per school
    periods: np.ndarray  # periods in the day per school
    grades: np.ndarray  # grade codes (-1..12), the columns of `counts`
    counts: np.ndarray  # students per (school, grade)


def scaled(n: int, scale: float, minimum: int = 0) -> int:
    return max(minimum, round(n * scale))


def _sizes(spec: LevelSpec, n_schools: int, rng: np.random.Generator) -> np.ndarray:
    shares = np.array([c.share for c in spec.school_size])
    mode = rng.choice(len(shares), size=n_schools, p=shares / shares.sum())
    median = np.array([c.median for c in spec.school_size], dtype=float)[mode]
    sigma = np.log(np.array([c.p90 / c.median for c in spec.school_size]))[mode] / Z90
    return np.asarray(median * np.exp(sigma * rng.standard_normal(n_schools)))


def build_schools(profile: Profile, scale: float, seed: int) -> SchoolPlan:
    rng = stream(seed, "schools")
    all_grades = np.array(sorted(GRADE_CODES.values()), dtype=np.int8)
    rows: dict[str, list[object]] = {
        "level": [], "governance": [], "grade_low": [], "grade_high": [], "periods": []
    }
    count_blocks = []
    for level, spec in profile.levels.items():
        n = scaled(spec.schools, scale, minimum=1)
        weights = _sizes(spec, n, rng)
        counts = np.zeros((n, len(all_grades)), dtype=np.int64)
        for grade_name, students in spec.students_by_grade.items():
            col = int(np.searchsorted(all_grades, GRADE_CODES[grade_name]))
            counts[:, col] = rng.multinomial(scaled(students, scale), weights / weights.sum())
        count_blocks.append(counts)
        governance = np.full(n, "district", dtype=object)
        charter = scaled(spec.governance.charter, scale)
        contract = scaled(spec.governance.contract, scale)
        picked = rng.permutation(n)[: min(n, charter + contract)]
        governance[picked[:charter]] = "charter"
        governance[picked[charter:]] = "contract"
        taught = [GRADE_CODES[g] for g in spec.students_by_grade]
        rows["level"] += [level] * n
        rows["governance"] += governance.tolist()
        rows["grade_low"] += [min(taught)] * n
        rows["grade_high"] += [max(taught)] * n
        rows["periods"] += [spec.periods] * n

    n_total = len(rows["level"])
    names = words.decode(words.last_names().sample(rng, n_total)).to_pylist()
    school_names = [
        " ".join(
            [name, GOVERNANCE_SUFFIX.get(str(gov), ""), LEVEL_SUFFIX[str(level)]]
        ).replace("  ", " ")
        for name, gov, level in zip(names, rows["governance"], rows["level"], strict=True)
    ]
    ids = np.arange(1, n_total + 1, dtype=np.int32)
    district = profile.district
    table = pa.table(
        {
            "school_id": pa.array(ids),
            "school_code": pa.array([f"{i:04d}" for i in (ids + 1000)]),
            "name": pa.array(school_names),
            "level": pa.array(rows["level"]).dictionary_encode(),
            "governance": pa.array(rows["governance"]).dictionary_encode(),
            "grade_low": pa.array(rows["grade_low"], pa.int8()),
            "grade_high": pa.array(rows["grade_high"], pa.int8()),
            "periods": pa.array(rows["periods"], pa.int8()),
            "street": contact.street_addresses(rng, n_total),
            "city": pa.array([district.city] * n_total),
            "state": pa.array([district.state] * n_total),
            "postcode": contact.postcodes(rng, n_total, district.postcode_range),
            "phone": contact.phones(rng, n_total, district.area_codes),
        }
    )
    counts = np.vstack(count_blocks)
    table = table.append_column("students", pa.array(counts.sum(axis=1).astype(np.int32)))
    return SchoolPlan(
        table=table,
        level=np.array(rows["level"]),
        periods=np.array(rows["periods"], dtype=np.int8),
        grades=all_grades,
        counts=counts,
    )
