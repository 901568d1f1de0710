"""What a generated district holds, beside what its profile asked for.

Reads a generated folder (``district.json`` + Parquet) and computes the figures a reviewer checks:
counts by level and grade, school-size percentiles, class sizes, staff by role, family shape and
the seeded anomalies, each next to the profile's target (scaled) where the profile has one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fake_data.catalog import GRADE_LABELS
from fake_data.export_parquet import read_table
from fake_data.profile import GRADE_CODES, LevelSpec, Profile, load_profile
from fake_data.schools import scaled
from fake_data.sessions import SCHOOL_YEAR_ID
from kernel.errors import UserError

MANIFEST = "district.json"


@dataclass(frozen=True)
class Figure:
    section: str
    item: str
    generated: float
    target: float | None = None
    unit: str = ""  # "" count, "%" share (stored as a fraction), "x" ratio

    def shown(self, value: float | None) -> str:
        if value is None:
            return ""
        if self.unit == "%":
            return f"{value * 100:.1f}%"
        if self.unit == "x":
            return f"{value:.2f}"
        return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


@dataclass(frozen=True)
class Description:
    manifest: dict[str, object]
    figures: list[Figure]

    def section(self, name: str) -> list[Figure]:
        return [f for f in self.figures if f.section == name]

    def get(self, section: str, item: str) -> Figure:
        return next(f for f in self.figures if f.section == section and f.item == item)


REQUIRED = ("profile", "profile_path", "scale", "seed", "formats")
REGENERATE = "Generate the district again with 'firstbell district generate --force --out {}'."


def read_manifest(folder: Path) -> dict[str, object]:
    path = folder / MANIFEST
    if not path.is_file():
        raise UserError(
            f"{folder}: not a generated district (no {MANIFEST}). Generate one with "
            f"'firstbell district generate --out {folder}'."
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot be read as JSON ({exc}). "
                        + REGENERATE.format(folder)) from exc
    if not isinstance(data, dict):
        raise UserError(f"{path}: holds a JSON {type(data).__name__}, not the object a generated "
                        "district writes. " + REGENERATE.format(folder))
    missing = [key for key in REQUIRED if key not in data]
    if missing:
        raise UserError(f"{path}: field(s) {', '.join(missing)} missing. "
                        + REGENERATE.format(folder))
    if not isinstance(data["formats"], list):
        raise UserError(f"{path}: field 'formats' = {data['formats']!r} is not a list. "
                        + REGENERATE.format(folder))
    try:
        float(data["scale"])
    except (TypeError, ValueError) as exc:
        raise UserError(f"{path}: field 'scale' = {data['scale']!r} is not a number. "
                        + REGENERATE.format(folder)) from exc
    return data


def _read(folder: Path, pq_dir: Path, name: str) -> pa.Table:
    path = pq_dir / f"{name}.parquet"
    if not path.is_file():
        raise UserError(f"{path}: missing; the district in {folder} is incomplete. "
                        + REGENERATE.format(folder))
    try:
        return read_table(pq_dir, name)
    except (OSError, pa.ArrowException) as exc:
        raise UserError(f"{path}: cannot be read as Parquet ({exc}). "
                        + REGENERATE.format(folder)) from exc


def _scaled_students(spec: LevelSpec, scale: float) -> int:
    """A level's students at `scale`: per grade scaled and rounded, as the generator does."""
    return sum(scaled(n, scale) for n in spec.students_by_grade.values())


def _share(mask: pa.Array | np.ndarray) -> float:
    arr = np.asarray(mask)
    return float(arr.mean()) if len(arr) else 0.0


def describe(folder: Path) -> Description:
    manifest = read_manifest(folder)
    if "parquet" not in manifest.get("formats", []):  # type: ignore[operator]
        raise UserError(f"{folder}: describe needs the parquet format; generate it with "
                        "'--formats parquet,…'.")
    profile: Profile = load_profile(str(manifest["profile_path"]))
    scale = float(manifest["scale"])  # type: ignore[arg-type]
    pq_dir = folder / "parquet"
    t = {name: _read(folder, pq_dir, name) for name in (
        "schools", "students", "sections", "enrollments", "staff", "guardians",
        "guardian_links", "accounts")}
    figs: list[Figure] = []
    add = figs.append

    schools = t["schools"]
    level = schools["level"].cast(pa.string()).to_numpy(zero_copy_only=False)
    size = schools["students"].to_numpy()
    governance = schools["governance"].cast(pa.string()).to_numpy(zero_copy_only=False)
    for lv, spec in profile.levels.items():
        add(Figure("schools", f"{lv} schools", float((level == lv).sum()),
                   float(scaled(spec.schools, scale, minimum=1))))
        for gov in ("charter", "contract"):
            add(Figure("schools", f"{lv} {gov}", float(((level == lv) & (governance == gov)).sum()),
                       float(scaled(getattr(spec.governance, gov), scale))))
        sizes = size[level == lv]
        mode = spec.school_size[0] if len(spec.school_size) == 1 else None
        add(Figure("school size", f"{lv} mean", float(sizes.mean()),
                   _scaled_students(spec, scale) / scaled(spec.schools, scale, minimum=1)))
        add(Figure("school size", f"{lv} p10", float(np.percentile(sizes, 10))))
        add(Figure("school size", f"{lv} median", float(np.median(sizes)),
                   float(mode.median) if mode else None))
        add(Figure("school size", f"{lv} p90", float(np.percentile(sizes, 90)),
                   float(mode.p90) if mode else None))

    grade = t["students"]["grade"].to_numpy()
    add(Figure("students", "all", float(len(grade)),
               float(sum(_scaled_students(spec, scale) for spec in profile.levels.values()))))
    student_level = level[t["students"]["school_id"].to_numpy() - 1]
    for lv, spec in profile.levels.items():
        add(Figure("students", f"{lv} (all grades)", float((student_level == lv).sum()),
                   float(_scaled_students(spec, scale))))
    for spec in profile.levels.values():
        for g, n in spec.students_by_grade.items():
            add(Figure("students", f"grade {GRADE_LABELS[GRADE_CODES[g]]}",
                       float((grade == GRADE_CODES[g]).sum()), float(scaled(n, scale))))

    sections = t["sections"]
    ctype = sections["class_type"].cast(pa.string()).to_numpy(zero_copy_only=False)
    enrolled = sections["enrolled"].to_numpy()
    s_grade = sections["grade"].to_numpy()
    session = (sections["session_id"].to_numpy() if "session_id" in sections.column_names
               else np.full(sections.num_rows, SCHOOL_YEAR_ID))
    day = session == SCHOOL_YEAR_ID
    for lv, spec in profile.levels.items():
        in_level = day & np.isin(s_grade, [GRADE_CODES[g] for g in spec.students_by_grade])
        for kind in ("homeroom", "scheduled"):
            m = in_level & (ctype == kind)
            if m.any():
                add(Figure("class size", f"{lv} {kind} mean", float(enrolled[m].mean()),
                           float(spec.class_size.target)))
                add(Figure("class size", f"{lv} {kind} max", float(enrolled[m].max()),
                           float(spec.class_size.max)))
    add(Figure("class size", "sections (regular day)", float(day.sum())))
    add(Figure("class size", "student enrollments", float(t["enrollments"].num_rows)))
    terms = {r["session_id"]: r["title"] for r in read_table(pq_dir, "academic_sessions")
             .to_pylist() if r["type"] == "term"}
    for session_id, title in terms.items():
        mine = session == session_id
        add(Figure("programs", f"{title}: sections", float(mine.sum())))
        add(Figure("programs", f"{title}: seats", float(enrolled[mine].sum())))

    staff = t["staff"]
    active = pc.equal(staff["status"].cast(pa.string()), "active").to_numpy(zero_copy_only=False)
    role = staff["role"].cast(pa.string()).to_numpy(zero_copy_only=False)
    add(Figure("staff", "employees (active)", float(active.sum()),
               float(scaled(profile.staff.employees, scale))))
    targets = {"teacher": profile.staff.teachers, "principal": profile.staff.principals,
               "central_office": profile.staff.central_office,
               "district_administrator": profile.staff.district_administrators}
    for r in dict.fromkeys(role):
        target = targets.get(str(r))
        add(Figure("staff", f"{r}", float(((role == r) & active).sum()),
                   float(scaled(target, scale)) if target is not None else None))
    add(Figure("staff", "teachers with sections",
               float(len(np.unique(sections["teacher_id"].to_numpy())))))
    add(Figure("staff", "terminated, still on file", float((~active).sum()),
               float(scaled(round(profile.staff.employees * profile.staff.terminated_share),
                            scale))))

    fam = profile.families
    links = t["guardian_links"]
    l_student = links["student_id"].to_numpy()
    per_student = np.bincount(l_student, minlength=len(grade) + 1)[1:]
    g_total = sum(fam.guardians_per_household.values())
    for k in sorted(fam.guardians_per_household):
        add(Figure("families", f"students with {k} guardian(s)", _share(per_student == k),
                   fam.guardians_per_household[k] / g_total, "%"))
    household = t["students"]["household_id"].to_numpy()
    kids = np.bincount(household)
    add(Figure("families", "students with a sibling in the district",
               _share(kids[household] > 1), fam.sibling_share_target, "%"))
    guardians = t["guardians"]
    email_ok = pc.is_valid(guardians["email"]).to_numpy(zero_copy_only=False)
    has_email = np.zeros(guardians.num_rows + 1, bool)
    has_email[1:] = email_ok
    student_with_email = np.bincount(
        l_student, weights=has_email[links["guardian_id"].to_numpy()], minlength=len(grade) + 1
    )[1:]
    add(Figure("anomalies", "students with no guardian email", _share(student_with_email == 0),
               fam.no_email_share, "%"))
    add(Figure("anomalies", "guardians sharing another family's email",
               _share(guardians["duplicate_email"].to_numpy(zero_copy_only=False)),
               fam.duplicate_email_share, "%"))
    add(Figure("anomalies", "no-access guardian links",
               _share(~links["portal_access"].to_numpy(zero_copy_only=False)),
               fam.no_access_link_share, "%"))

    accounts = t["accounts"]
    a_type = accounts["person_type"].cast(pa.string()).to_numpy(zero_copy_only=False)
    a_status = accounts["status"].cast(pa.string()).to_numpy(zero_copy_only=False)
    add(Figure("accounts", "accounts", float(accounts.num_rows)))
    add(Figure("accounts", "guardian portal activation",
               _share(a_status[a_type == "guardian"] == "active"),
               profile.portal.activation[profile.portal.phase], "%"))
    add(Figure("accounts", "disabled (terminated staff)", float((a_status == "disabled").sum())))

    history = manifest.get("history_rows") or {}
    for name, rows in history.items():  # type: ignore[attr-defined]
        add(Figure("history", str(name), float(rows)))
    return Description(manifest, figs)
