"""`firstbell rehearse`: everything from nothing to a result in one command.

Today the pipeline reaches the district: generate it (cached under ``.firstbell/districts``,
keyed by profile, scale and seed) and print what it holds. Staging, load and the report join as
their parts land.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from fake_data.describe import describe
from fake_data.output import Request, write_district
from firstbell.district_cmd import render

STATE_DIR = Path(".firstbell")


def district_cache(profile: str, scale: float, seed: int) -> Path:
    return STATE_DIR / "districts" / f"{Path(profile).stem}-scale{scale:g}-seed{seed}"


def rehearse(
    profile: str = typer.Option("cps", envvar="FIRSTBELL_PROFILE", help="District profile."),
    scale: float = typer.Option(1.0, envvar="FIRSTBELL_SCALE", help="Population multiplier."),
    seed: int = typer.Option(42, envvar="FIRSTBELL_SEED", help="Random seed."),
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
