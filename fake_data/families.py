"""Households, guardians and guardian-student links, with the anomalies real SIS data carries.

Students are grouped into households (siblings share every guardian, also across schools);
each household has one to three guardians. On purpose, as in real district data: some households
have no email on file, a few guardian records share an email with another family's guardian,
and a few links are "no access" (a custody order: that guardian must not see that child).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from fake_data import contact, words
from fake_data.profile import Profile
from fake_data.rng import stream

# Relationship of a household's 1st, 2nd and 3rd guardian: (names, probabilities).
RELATIONSHIPS = ("mother", "father", "guardian", "grandparent", "relative", "stepparent")
RELATIONSHIP_BY_POSITION = (
    np.array([0.80, 0.14, 0.04, 0.02, 0.00, 0.00]),
    np.array([0.05, 0.80, 0.03, 0.02, 0.02, 0.08]),
    np.array([0.00, 0.00, 0.20, 0.55, 0.25, 0.00]),
)
FEMALE_SHARE_BY_RELATIONSHIP = np.array([1.0, 0.0, 0.6, 0.7, 0.6, 0.5])
SAME_LAST_NAME_SHARE = 0.7  # second and third guardians sharing the household's last name


@dataclass(frozen=True)
class Families:
    households: pa.Table
    guardians: pa.Table
    links: pa.Table
    student_household: np.ndarray  # household id per student (student_id - 1 indexes it)
    student_last_name: pa.DictionaryArray


def _sizes(rng: np.random.Generator, dist: dict[int, float], total: int) -> np.ndarray:
    """Household sizes drawn from `dist` until they hold exactly `total` children."""
    values = np.array(list(dist), dtype=np.int64)
    p = np.array(list(dist.values()))
    mean = float((values * p).sum() / p.sum())
    sizes = rng.choice(values, size=int(total / mean * 1.1) + 16, p=p / p.sum())
    cut = int(np.searchsorted(np.cumsum(sizes), total))
    sizes = sizes[: cut + 1].copy()
    sizes[-1] -= int(sizes.sum()) - total
    return sizes[sizes > 0]


def build_families(profile: Profile, n_students: int, seed: int) -> Families:
    rng = stream(seed, "families")
    fam = profile.families
    district = profile.district

    # Households: a random partition of the students, so siblings land in any school.
    kids = _sizes(rng, fam.children_per_household, n_students)
    n_households = len(kids)
    order = rng.permutation(n_students)  # students (0-based) in household order
    household_of_slot = np.repeat(np.arange(n_households, dtype=np.int32), kids)
    student_household = np.empty(n_students, dtype=np.int32)
    student_household[order] = household_of_slot + 1
    last_idx = words.last_names().indices(rng, n_households)
    no_email = rng.random(n_households) < fam.no_email_share
    households = pa.table(
        {
            "household_id": pa.array(np.arange(1, n_households + 1, dtype=np.int32)),
            "street": contact.street_addresses(rng, n_households),
            "city": pa.array(np.full(n_households, district.city)),
            "state": pa.array(np.full(n_households, district.state)),
            "postcode": contact.postcodes(rng, n_households, district.postcode_range),
            "phone": contact.phones(rng, n_households, district.area_codes),
        }
    )

    # Guardians: one to three per household, the first one the primary contact.
    g_values = np.array(list(fam.guardians_per_household), dtype=np.int64)
    g_p = np.array(list(fam.guardians_per_household.values()))
    per_household = rng.choice(g_values, size=n_households, p=g_p / g_p.sum())
    n_guardians = int(per_household.sum())
    g_household = np.repeat(np.arange(n_households, dtype=np.int64), per_household)
    g_start = np.cumsum(per_household) - per_household
    position = np.arange(n_guardians) - np.repeat(g_start, per_household)
    position = np.minimum(position, len(RELATIONSHIP_BY_POSITION) - 1)
    u = rng.random(n_guardians)
    relation = np.zeros(n_guardians, dtype=np.int32)
    for pos, probs in enumerate(RELATIONSHIP_BY_POSITION):
        at = position == pos
        relation[at] = np.searchsorted(np.cumsum(probs / probs.sum()), u[at], side="right")
    relation = np.minimum(relation, len(RELATIONSHIPS) - 1)
    female = rng.random(n_guardians) < FEMALE_SHARE_BY_RELATIONSHIP[relation]
    own_last = words.last_names().indices(rng, n_guardians)
    keep_household_name = (position == 0) | (rng.random(n_guardians) < SAME_LAST_NAME_SHARE)
    g_last_idx = np.where(keep_household_name, last_idx[g_household], own_last).astype(np.int32)
    g_last = words.last_names().dictionary(g_last_idx)
    g_first = words.first_names(rng, female)
    guardian_ids = np.arange(1, n_guardians + 1, dtype=np.int32)
    email = contact.emails(
        g_first, g_last, guardian_ids, contact.guardian_domains(rng, n_guardians)
    ).to_numpy(zero_copy_only=False).astype(object)
    # Anomaly: a few guardians carry another family's guardian's email (a typo or a shared inbox).
    dup = np.flatnonzero(rng.random(n_guardians) < fam.duplicate_email_share)
    if len(dup) and n_guardians > 1:
        donors = (dup + rng.integers(1, n_guardians, len(dup))) % n_guardians
        email[dup] = email[donors]
    email[no_email[g_household]] = None
    duplicate_email = np.zeros(n_guardians, dtype=bool)
    duplicate_email[dup] = True
    guardians = pa.table(
        {
            "guardian_id": pa.array(guardian_ids),
            "household_id": pa.array((g_household + 1).astype(np.int32)),
            "first_name": g_first,
            "last_name": g_last,
            "sex": pa.DictionaryArray.from_arrays(
                pa.array(np.where(female, 0, 1).astype(np.int32)), pa.array(["female", "male"])
            ),
            "relationship": pa.DictionaryArray.from_arrays(
                pa.array(relation), pa.array(RELATIONSHIPS)
            ),
            "email": pa.array(email, pa.string()),
            "duplicate_email": pa.array(duplicate_email & ~no_email[g_household]),
            "phone": contact.phones(rng, n_guardians, district.area_codes),
        }
    )

    # Links: every child of a household with every guardian of it.
    k_start = np.cumsum(kids) - kids
    per_pair = kids * per_household
    pair_household = np.repeat(np.arange(n_households), per_pair)
    k = np.arange(int(per_pair.sum())) - np.repeat(np.cumsum(per_pair) - per_pair, per_pair)
    child = order[k_start[pair_household] + k // per_household[pair_household]]
    guardian_pos = k % per_household[pair_household]
    guardian = g_start[pair_household] + guardian_pos
    # Custody: only a non-primary guardian loses access, so every child keeps one guardian.
    eligible = guardian_pos > 0
    p_no_access = min(1.0, fam.no_access_link_share * len(k) / max(1, int(eligible.sum())))
    no_access = eligible & (rng.random(len(k)) < p_no_access)
    link_order = np.lexsort((guardian, child))
    links = pa.table(
        {
            "student_id": pa.array((child[link_order] + 1).astype(np.int32)),
            "guardian_id": pa.array((guardian[link_order] + 1).astype(np.int32)),
            "relationship": pa.DictionaryArray.from_arrays(
                pa.array(relation[guardian[link_order]]), pa.array(RELATIONSHIPS)
            ),
            "is_primary": pa.array(guardian_pos[link_order] == 0),
            "portal_access": pa.array(~no_access[link_order]),
        }
    )
    return Families(
        households=households,
        guardians=guardians,
        links=links,
        student_household=student_household,
        student_last_name=words.last_names().dictionary(last_idx[student_household - 1]),
    )

