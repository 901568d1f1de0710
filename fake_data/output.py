"""Writing a generated district to a folder, all or nothing.

Everything is written into a hidden sibling folder first and moved into place at the end, so a
failure (bad input, full disk, Ctrl-C) never leaves a half-written output folder behind. The
folder holds ``district.json`` (what was generated, from what, with checksums), ``SYNTHETIC.txt``
and one entry per format.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fake_data.activity import Window, build_activity, write_activity
from fake_data.district import SYNTHETIC_NOTE, District, check_scale, check_seed, generate
from fake_data.export_oneroster import write_oneroster
from fake_data.export_parquet import write_parquet
from fake_data.history import check_history_days, write_history
from fake_data.profile import PROFILE_DIR, load_profile, resolve_profile_path
from fake_data.userpool import write_userpool
from kernel.errors import UserError
from kernel.version import __version__

FORMATS = ("parquet", "oneroster-1.1", "oneroster-1.2", "userpool", "activity")
# The training-sandbox log (fake_data/activity.py) is asked for by name, not written by default.
DEFAULT_FORMATS = ",".join(FORMATS[:4])
MANIFEST = "district.json"


@dataclass
class Events:
    """Progress callbacks (the CLI draws them with Rich; tests and the API may ignore them)."""

    table: Callable[[str, int], None] = lambda _name, _rows: None
    step: Callable[[str], None] = lambda _name: None
    history_day: Callable[[int], None] = lambda _days: None


@dataclass(frozen=True)
class Request:
    profile: str = "cps"
    scale: float = 1.0
    seed: int = 42
    formats: tuple[str, ...] = FORMATS
    history_days: int = 0


def parse_formats(text: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(p.strip() for p in text.split(",") if p.strip()))
    unknown = [n for n in names if n not in FORMATS]
    if unknown or not names:
        raise UserError(
            f"option --formats = '{text}': unknown format {', '.join(unknown) or '(none)'}. "
            f"Use a comma-separated list of: {', '.join(FORMATS)}."
        )
    return names


def _check_out_name(out: Path) -> None:
    """The output folder is replaced as a whole, so it must be a named folder of its own."""
    if out.name in ("", ".", ".."):
        raise UserError(
            f"option --out = '{out}': needs a folder name of its own (the output folder is "
            "created and replaced as a whole). Name a new folder, e.g. --out out/district."
        )
    here = Path.cwd().resolve()
    target = out.resolve()
    if target == here or target in here.parents:
        raise UserError(
            f"option --out = '{out}': is the current folder or one of its parents, which "
            "would be replaced. Name a new folder, e.g. --out out/district."
        )


def _check_destination(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UserError(f"option --out = '{out}': exists and is not a folder. Choose another path.")
    if out.is_dir() and any(out.iterdir()):
        if not force:
            raise UserError(
                f"option --out = '{out}': the folder exists and is not empty. Choose a new "
                "folder, or pass --force to replace a district generated there before."
            )
        if not (out / MANIFEST).is_file():
            raise UserError(
                f"option --out = '{out}': the folder is not empty and does not look like a "
                f"generated district (no {MANIFEST}), so --force will not replace it. Choose a "
                "new folder, or empty it yourself."
            )
    parent = out.resolve().parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"option --out = '{out}': {probe} is not a folder. Choose another path.")
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=parent):
            pass
    except OSError as exc:
        raise UserError(
            f"option --out = '{out}': cannot write in {parent} ({exc.strerror}). "
            "Choose a folder you can write to."
        ) from exc


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _profile_label(name: str) -> str:
    """A built-in profile is recorded by name, so outputs do not depend on where we run."""
    path = resolve_profile_path(name)
    return path.stem if path.resolve().parent == PROFILE_DIR.resolve() else str(path.resolve())


def write_district(request: Request, out: Path, *, force: bool = False,
                   events: Events | None = None) -> dict[str, object]:
    """Generate and write the district; returns the manifest written as ``district.json``."""
    ev = events or Events()
    _check_out_name(out)
    check_scale(request.scale)
    check_seed(request.seed)
    profile = load_profile(request.profile)
    check_history_days(profile, request.history_days, str(resolve_profile_path(request.profile)))
    _check_destination(out, force)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.resolve().parent))
    try:
        district = generate(profile, request.scale, request.seed, progress=ev.table)
        manifest = _write_formats(district, request, staging, ev)
        manifest["profile_path"] = _profile_label(request.profile)
        _finish(staging, manifest)
        if out.exists():
            trash = out.with_name(f".{out.name}.old-{staging.name.rsplit('-', 1)[-1]}")
            out.rename(trash)
            staging.rename(out)
            shutil.rmtree(trash, ignore_errors=True)
        else:
            staging.rename(out)
        return manifest
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _write_formats(district: District, request: Request, folder: Path,
                   ev: Events) -> dict[str, object]:
    manifest: dict[str, object] = {
        "synthetic": True,
        "note": SYNTHETIC_NOTE,
        "generator": f"firstbell {__version__}",
        "profile": district.profile.name,
        "scale": district.scale,
        "seed": district.seed,
        "formats": list(request.formats),
        "tables": {name: t.num_rows for name, t in district.tables.items()},
        "warnings": list(district.warnings),
    }
    for fmt in request.formats:
        ev.step(fmt)
        if fmt == "parquet":
            write_parquet(district, folder / "parquet")
        elif fmt.startswith("oneroster-"):
            version = fmt.removeprefix("oneroster-")
            write_oneroster(district, folder / f"{fmt}.zip", version)  # type: ignore[arg-type]
        elif fmt == "userpool":
            manifest["userpool"] = write_userpool(district, folder / "userpool")
        elif fmt == "activity":
            window = Window(district.profile.calendar.cutover_date)
            manifest["activity_rows"] = write_activity(
                build_activity(district, window, district.seed), folder / "activity.csv")
    if request.history_days:
        ev.step("history")
        manifest["history_days"] = request.history_days
        manifest["history_rows"] = write_history(
            district, request.history_days, folder / "history", on_day=ev.history_day
        )
    return manifest


def _finish(folder: Path, manifest: dict[str, object]) -> None:
    (folder / "SYNTHETIC.txt").write_text(
        SYNTHETIC_NOTE + "\nNames come from Faker's en_US word lists, emails only at "
        "example.org/.com/.net, phone numbers only in 555-0100..555-0199.\n", encoding="utf-8")
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    manifest["files"] = {str(p.relative_to(folder)): _sha256(p) for p in files}
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")
