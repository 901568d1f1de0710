"""User accounts: every student, every staff member and every guardian with an email can log in.

Usernames are unique; passwords are derived from the seed (random characters from the seed's own
stream), so the load generator can log in as anyone and a new seed gives new passwords. They are
synthetic test credentials, never a real secret.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fake_data import contact
from fake_data.profile import Profile
from fake_data.rng import stream

PASSWORD_ALPHABET = np.frombuffer(
    b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789", dtype=np.uint8
)
PASSWORD_LENGTH = 12
PASSWORD_PREFIX = "Fb1!"  # meets the usual complexity rules whatever the random part is


def passwords(seed: int, n: int) -> pa.Array:
    rng = stream(seed, "accounts.passwords")
    chars = PASSWORD_ALPHABET[rng.integers(0, len(PASSWORD_ALPHABET), (n, PASSWORD_LENGTH))]
    body = pa.array(np.frombuffer(chars.tobytes(), dtype=f"S{PASSWORD_LENGTH}"), pa.binary())
    return pc.binary_join_element_wise(
        pa.scalar(PASSWORD_PREFIX), body.cast(pa.string()), ""
    )


def build_accounts(profile: Profile, students: pa.Table, staff: pa.Table, guardians: pa.Table,
                   seed: int) -> pa.Table:
    rng = stream(seed, "accounts")
    has_email = pc.is_valid(guardians["email"]).to_numpy(zero_copy_only=False)
    g = guardians.filter(pa.array(has_email))
    # A guardian whose email another record already uses gets a username of its own.
    g_username = pc.if_else(
        g["duplicate_email"],
        pc.binary_join_element_wise(
            pa.scalar("guardian"), pc.cast(g["guardian_id"], pa.string()), ""
        ),
        g["email"],
    )
    student_email = pc.binary_join_element_wise(
        students["student_number"], pa.scalar(contact.STUDENT_DOMAIN), "@"
    )
    activated = rng.random(g.num_rows) < profile.portal.activation[profile.portal.phase]
    n_st, n_sf, n_g = students.num_rows, staff.num_rows, g.num_rows
    staff_status = pc.if_else(pc.equal(staff["status"].cast(pa.string()), "terminated"),
                              "disabled", "active")
    status = pa.concat_arrays([
        pa.array(np.full(n_st, "active")),
        staff_status.combine_chunks() if isinstance(staff_status, pa.ChunkedArray)
        else staff_status,
        pa.array(np.where(activated, "active", "unactivated")),
    ])
    role = pa.concat_arrays([
        pa.array(np.full(n_st, "student")),
        staff["role"].combine_chunks().cast(pa.string()),
        pa.array(np.full(n_g, "guardian")),
    ])
    username = pa.concat_arrays([
        student_email.combine_chunks(), staff["email"].combine_chunks(), g_username.combine_chunks()
    ])
    email = pa.concat_arrays([
        student_email.combine_chunks(), staff["email"].combine_chunks(), g["email"].combine_chunks()
    ])
    n = n_st + n_sf + n_g
    return pa.table(
        {
            "user_id": pa.array(np.arange(1, n + 1, dtype=np.int32)),
            "person_type": pa.DictionaryArray.from_arrays(
                pa.array(np.repeat(np.arange(3, dtype=np.int32), [n_st, n_sf, n_g])),
                pa.array(["student", "staff", "guardian"]),
            ),
            "person_id": pa.concat_arrays([
                students["student_id"].combine_chunks(), staff["staff_id"].combine_chunks(),
                g["guardian_id"].combine_chunks(),
            ]),
            "username": username,
            "email": email,
            "role": role.dictionary_encode(),
            "status": status.dictionary_encode(),
            "password": passwords(seed, n),
        }
    )
