"""Students: one row per student, grade consistent with birth date, demographics and programs.

Rows come out ordered by school, then grade, so a (school, grade) group is one contiguous slice;
the scheduler relies on that. Last names are filled in later from the household.

Each student also carries an access code: the code a school sends home on paper so a parent who
registers on the portal can prove they may link that child. It is a secret of the SIS, never part
of a roster export.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa

from fake_data import words
from fake_data.profile import Profile
from fake_data.rng import stream
from fake_data.schools import SchoolPlan

EPOCH = dt.date(1970, 1, 1)
RACES = (
    "hispanic", "black", "white", "asian", "multiracial", "native_american", "pacific_islander"
)
FIRST_STUDENT_NUMBER = 50_000_001
# No 0/O, 1/I/L: a code copied by hand from a paper letter must not be misread.
ACCESS_CODE_ALPHABET = np.frombuffer(b"ABCDEFGHJKMNPQRSTUVWXYZ23456789", dtype=np.uint8)
ACCESS_CODE_LENGTH = 8


def birth_dates(rng: np.random.Generator, grade: np.ndarray, year_start: dt.date) -> np.ndarray:
    """Days since 1970: a child in grade g is g+5 years old on September 1 of the school year
    (kindergarten at five, pre-K at four), born any day of that cohort's twelve months."""
    cohort_end = np.array(
        [(dt.date(year_start.year - 5 - g, 9, 1) - EPOCH).days for g in range(-1, 13)]
    )
    last_day = cohort_end[grade.astype(np.int64) + 1]
    return (last_day - rng.integers(0, 365, len(grade))).astype(np.int32)


def age_on(birth_day: np.ndarray, on: dt.date) -> np.ndarray:
    """Whole years of age on a date, for days-since-1970 birth dates."""
    births = birth_day.astype("datetime64[D]")
    year = births.astype("datetime64[Y]")
    month = births.astype("datetime64[M]")
    month_of_year = (month - year).astype(int) + 1
    day_of_month = (births - month).astype(int) + 1
    not_yet = (month_of_year > on.month) | ((month_of_year == on.month) & (day_of_month > on.day))
    return np.asarray(on.year - (year.astype(int) + 1970) - not_yet)


def access_codes(seed: int, n: int) -> pa.Array:
    """One code per student, from the seed's own stream: the same seed gives the same codes."""
    rng = stream(seed, "students.access_codes")
    chars = ACCESS_CODE_ALPHABET[rng.integers(0, len(ACCESS_CODE_ALPHABET),
                                              (n, ACCESS_CODE_LENGTH))]
    codes = np.frombuffer(chars.tobytes(), dtype=f"S{ACCESS_CODE_LENGTH}")
    return pa.array(codes, pa.binary()).cast(pa.string())


def build_students(profile: Profile, plan: SchoolPlan, seed: int) -> pa.Table:
    rng = stream(seed, "students")
    per_school_grade = plan.counts.ravel()
    n = int(per_school_grade.sum())
    school_ids = plan.table["school_id"].to_numpy()
    school = np.repeat(np.repeat(school_ids, len(plan.grades)), per_school_grade)
    grade = np.repeat(np.tile(plan.grades, len(school_ids)), per_school_grade)
    demo = profile.demographics
    female = rng.random(n) < demo.female_share
    race_p = np.array([demo.race.get(r, 0.0) for r in RACES])  # type: ignore[call-overload]
    race = rng.choice(len(RACES), size=n, p=race_p / race_p.sum()).astype(np.int32)
    ids = np.arange(1, n + 1, dtype=np.int32)
    return pa.table(
        {
            "student_id": pa.array(ids),
            "student_number": pa.array(ids + FIRST_STUDENT_NUMBER - 1).cast(pa.string()),
            "school_id": pa.array(school.astype(np.int32)),
            "grade": pa.array(grade.astype(np.int8)),
            "first_name": words.first_names(rng, female),
            "sex": pa.DictionaryArray.from_arrays(
                pa.array(np.where(female, 0, 1).astype(np.int32)), pa.array(["female", "male"])
            ),
            "birth_date": pa.array(
                birth_dates(rng, grade, profile.calendar.school_year.start), pa.int32()
            ).cast(pa.date32()),
            "race": pa.DictionaryArray.from_arrays(pa.array(race), pa.array(RACES)),
            "economically_disadvantaged": pa.array(rng.random(n) < demo.economically_disadvantaged),
            "english_learner": pa.array(rng.random(n) < demo.english_learner),
            "iep": pa.array(rng.random(n) < demo.iep),
            "access_code": access_codes(seed, n),
        }
    )
