"""Generated districts cached under ``.firstbell/districts/`` (keyed by the profile file's
bytes, scale and seed), and the user pool that goes with the district the local staging SIS
was seeded with, so `firstbell run` against it needs no ``--userpool``."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

from fake_data.output import Request, write_district
from fake_data.profile import load_profile, resolve_profile_path
from staging import control
from staging.control import STATE_DIR

DIGEST_CHARS = 12


def district_cache(profile: str, scale: float, seed: int) -> Path:
    """The cache folder of a generated district: the profile's name for people, a short sha256 of
    the profile file's bytes so that another file of the same name, or an edit, is a new district.
    """
    path = resolve_profile_path(profile)
    if not path.is_file():
        load_profile(profile)  # raises the ProfileError that says which profiles exist
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:DIGEST_CHARS]
    return STATE_DIR / "districts" / f"{path.stem}-{digest}-scale{scale:g}-seed{seed}"


def userpool_of(profile: str, scale: float, seed: int) -> Path:
    """The user pool of a generated district, written (only that format, a second or so for a
    small district) when the cache does not hold it yet."""
    folder = district_cache(profile, scale, seed)
    pool = folder / "userpool"
    if not pool.is_dir():
        folder.parent.mkdir(parents=True, exist_ok=True)
        write_district(Request(profile, scale, seed, formats=("userpool",)), folder, force=True)
    return pool


def remember_userpool(pool: Path) -> None:
    """Record in the staging state which user pool logs into the running staging SIS."""
    state = control.load_state()
    if state is not None:
        control.save_state(dataclasses.replace(state, userpool=str(pool.resolve())))


def forget_userpool() -> None:
    """The running staging SIS now holds a district whose pool nobody wrote: forget the old."""
    state = control.load_state()
    if state is not None and state.userpool:
        control.save_state(dataclasses.replace(state, userpool=None))


def staging_userpool(target: str) -> Path | None:
    """The user pool of the district the local staging SIS (`firstbell staging up`) was seeded
    with, when `target` is that SIS and the pool is on disk; else None."""
    state = control.load_state()
    if state is None or not state.userpool or state.base_url.rstrip("/") != target.rstrip("/"):
        return None
    pool = Path(state.userpool)
    return pool if pool.is_dir() else None
