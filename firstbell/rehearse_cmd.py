"""`firstbell rehearse`: everything from nothing to a result in one command.

Today the pipeline reaches the district: generate it (cached under ``.firstbell/districts``,
keyed by the profile file's content, scale and seed) and print what it holds. Staging, load and
the report join as their parts land.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer
from rich.console import Console

from fake_data.describe import describe
from fake_data.output import Request, write_district
from fake_data.profile import load_profile, resolve_profile_path
from firstbell.district_cmd import render, seed_in_range

STATE_DIR = Path(".firstbell")
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


def rehearse(
    profile: str = typer.Option("cps", envvar="FIRSTBELL_PROFILE", help="District profile."),
    scale: float = typer.Option(1.0, envvar="FIRSTBELL_SCALE", help="Population multiplier."),
    seed: int = typer.Option(42, envvar="FIRSTBELL_SEED", callback=seed_in_range,
                             help="Random seed (0 to 2**63-1)."),
) -> None:
    """Rehearse the go-live on the embedded default (today: generate and describe the district).

    Example: firstbell rehearse --profile small
    """
    console = Console(width=100)
    folder = district_cache(profile, scale, seed)
    if (folder / "district.json").is_file():
        console.print(f"Using the cached district in {folder}.")
    else:
        console.print(f"Generating district '{profile}' (scale {scale:g}, seed {seed}) "
                      f"in {folder} …")
        write_district(Request(profile=profile, scale=scale, seed=seed), folder, force=True)
    render(describe(folder), console)
