"""Password hashing with a real KDF (PBKDF2-HMAC-SHA256), cheap seeding, and upgrade on login.

A login pays the full configured cost, as on a real SIS. Hashing 800k seeded accounts at that
cost would take hours, so the seed stores hashes at a minimal cost (1 iteration) and the first
successful login of each account re-hashes its password at the configured cost, the standard
"upgrade on login" path (Django, passlib). The first login therefore costs one full hash, and
every later login one full verification: the cost a rehearsal must see.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Iterable

ALGORITHM = "pbkdf2_sha256"
SEED_ITERATIONS = 1


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str, iterations: int, salt: bytes | None = None) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return f"{ALGORITHM}${iterations}${_b64(salt)}${_b64(digest)}"


def seed_hashes(passwords: Iterable[str], salt_seed: bytes) -> list[str]:
    """Minimal-cost hashes for seeding; salts derived from `salt_seed` so seeding is repeatable."""
    prefix = f"{ALGORITHM}${SEED_ITERATIONS}$"
    out = []
    for i, password in enumerate(passwords):
        salt = hashlib.blake2b(i.to_bytes(8, "little"), key=salt_seed, digest_size=16).digest()
        digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, SEED_ITERATIONS)
        out.append(f"{prefix}{_b64(salt)}${_b64(digest)}")
    return out


def verify(password: str, encoded: str) -> tuple[bool, int]:
    """Whether `password` matches, and the iterations the stored hash used."""
    try:
        algorithm, iterations, salt, digest = encoded.split("$")
        rounds = int(iterations)
    except ValueError:
        return False, 0
    if algorithm != ALGORITHM:
        return False, 0
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), rounds)
    return hmac.compare_digest(candidate, base64.b64decode(digest)), rounds
