"""The staff roster the scorecard counts: who works at which school in which role, whether
they are active, and how many students each school has (the weight of its gap).

This module owns reading it from the three places districts have it: a folder written by
`firstbell district generate` (its Parquet tables, else its OneRoster zip), a OneRoster 1.1 or
1.2 export (a zip, or `users.csv` + `orgs.csv` [+ `roles.csv`]), or any CSV with a column
mapping. Every person is named by the id the activity log uses; for generated districts and
OneRoster that is the sourcedId (``stf-000123``). A bad file stops with the file, line, field
and value.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fake_data.district import District
from fake_data.export_oneroster import org_sourced_ids, sourced_ids
from fake_data.profile import PROFILE_DIR, load_profile
from kernel.errors import UserError

NOT_STAFF = frozenset({"student", "parent", "guardian", "relative"})
GENERIC_FIELDS = ("person", "school", "role", "school_name", "students", "active")


@dataclass(frozen=True)
class Roster:
    source: str
    person: list[str]          # the id the log names each person by
    role: list[str]            # the roster's own role names
    school: np.ndarray         # index into `schools`, -1 for the district office / no school
    active: np.ndarray         # bool
    school_ids: list[str]
    school_names: list[str]
    students: np.ndarray       # per school; 0 when the roster does not say
    go_live: dt.date | None = None   # a generated district's cutover date

    @property
    def has_students(self) -> bool:
        return bool(self.students.sum())


def _row_error(path: str, line: int, field: str, value: object, fix: str) -> UserError:
    return UserError(f"{path} line {line}, field {field}: {value!r} {fix}")


# --- generated districts -----------------------------------------------------------------------

def from_tables(staff: pa.Table, schools: pa.Table, source: str,
                go_live: dt.date | None = None) -> Roster:
    """A roster from fake_data's canonical staff and schools tables."""
    school_ids = schools["school_id"].to_numpy()
    at = np.searchsorted(school_ids, staff["school_id"].to_numpy())
    known = (at < len(school_ids)) & (school_ids[np.minimum(at, len(school_ids) - 1)]
                                      == staff["school_id"].to_numpy())
    return Roster(
        source=source,
        person=sourced_ids("staff", staff["staff_id"]).to_pylist(),
        role=staff["role"].cast(pa.string()).to_pylist(),
        school=np.where(known, at, -1),
        active=np.asarray(staff["status"].cast(pa.string()).to_numpy(zero_copy_only=False))
        == "active",
        school_ids=org_sourced_ids(schools["school_id"]).to_pylist(),
        school_names=schools["name"].to_pylist(),
        students=schools["students"].to_numpy().astype(np.int64),
        go_live=go_live,
    )


def from_district(district: District) -> Roster:
    return from_tables(district["staff"], district["schools"],
                       f"generated district {district.profile.name} (seed {district.seed})",
                       district.profile.calendar.cutover_date)


def load_district_folder(folder: Path) -> Roster:
    """A folder `firstbell district generate` wrote: Parquet if there, else a OneRoster zip."""
    manifest_path = folder / "district.json"
    if not manifest_path.is_file():
        raise UserError(f"option --district = '{folder}': no district.json there; name a folder"
                        " written by `firstbell district generate`.")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        profile = str(manifest.get("profile_path") or manifest["profile"])
    except (ValueError, KeyError) as exc:
        raise UserError(f"{manifest_path}: not a district manifest ({exc}); regenerate the"
                        " district.") from None
    builtin = PROFILE_DIR / f"{profile}.yaml"  # a built-in profile is recorded by name
    go_live = load_profile(str(builtin) if builtin.is_file() else profile).calendar.cutover_date
    parquet = folder / "parquet"
    if (parquet / "staff.parquet").is_file() and (parquet / "schools.parquet").is_file():
        return from_tables(pq.read_table(parquet / "staff.parquet"),
                           pq.read_table(parquet / "schools.parquet"), str(folder), go_live)
    for version in ("1.2", "1.1"):
        zipped = folder / f"oneroster-{version}.zip"
        if zipped.is_file():
            return dataclasses.replace(load_oneroster_zip(zipped), go_live=go_live)
    raise UserError(f"option --district = '{folder}': holds neither parquet/staff.parquet nor"
                    " a OneRoster zip; generate it with --formats parquet.")


# --- OneRoster ---------------------------------------------------------------------------------

@dataclass
class _Csv:
    name: str
    header: list[str]
    rows: Iterator[tuple[int, dict[str, str]]]


def _reader(name: str, stream: io.TextIOBase, required: tuple[str, ...]) -> _Csv:
    reader = csv.reader(stream)
    try:
        header = [h.strip().lstrip("\ufeff") for h in next(reader)]
    except StopIteration:
        raise UserError(f"{name} line 1: the file is empty; it needs a header row with "
                        f"{', '.join(required)}") from None
    except csv.Error as exc:
        raise UserError(f"{name} line 1: not CSV ({exc})") from None
    missing = [c for c in required if c not in header]
    if missing:
        raise UserError(f"{name} line 1, field {missing[0]}: the header has no column "
                        f"{', '.join(missing)} (it has {', '.join(header[:12])}). Export the "
                        "file with these columns, or map them with --columns.")

    def rows() -> Iterator[tuple[int, dict[str, str]]]:
        try:
            for row in reader:
                if not any(row):
                    continue
                if len(row) != len(header):
                    raise UserError(f"{name} line {reader.line_num}: {len(row)} fields where "
                                    f"the header has {len(header)}; quote values holding"
                                    " commas.")
                yield reader.line_num, dict(zip(header, row, strict=True))
        except csv.Error as exc:
            raise UserError(f"{name} line {reader.line_num}: not CSV ({exc})") from None

    return _Csv(name, header, rows())


def _open(path: Path, required: tuple[str, ...]) -> _Csv:
    try:  # read whole, so no file is left open while the rows are consumed
        stream = io.StringIO(path.read_text(encoding="utf-8"), newline="")
        return _reader(str(path), stream, required)
    except OSError as exc:
        raise UserError(f"{path}: cannot read the file ({exc.strerror}).") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text ({exc.reason}); export it as UTF-8.") \
            from None


def _orgs(orgs: _Csv) -> tuple[dict[str, str], set[str]]:
    """School orgs' sourcedId -> name (districts and other org types are not schools), and
    every org's sourcedId."""
    schools: dict[str, str] = {}
    every: set[str] = set()
    for line, row in orgs.rows:
        sid = row["sourcedId"].strip()
        if not sid:
            raise _row_error(orgs.name, line, "sourcedId", sid, "is empty; every org needs one.")
        every.add(sid)
        if row["type"].strip() == "school":
            schools[sid] = row.get("name", sid)
    return schools, every


def _oneroster(users: _Csv, orgs: _Csv, roles: _Csv | None, source: str) -> Roster:
    schools, every = _orgs(orgs)
    index = {sid: i for i, sid in enumerate(schools)}
    students = np.zeros(len(schools), dtype=np.int64)
    role_of: dict[str, tuple[str, str]] = {}
    if roles is not None:
        for _line, row in roles.rows:
            if row.get("roleType", "primary") == "primary":
                role_of[row["userSourcedId"]] = (row["role"], row["orgSourcedId"])
    elif "role" not in users.header:
        raise UserError(f"{users.name} line 1, field role: OneRoster 1.2 users have no role "
                        "column; give the export's roles.csv too (--roles), or the whole zip.")
    person, role, school, active = [], [], [], []
    seen: dict[str, int] = {}
    for line, row in users.rows:
        sid = row["sourcedId"].strip()
        if not sid:
            raise _row_error(users.name, line, "sourcedId", sid, "is empty; every user needs"
                             " one.")
        if "role" in users.header:
            kind = row["role"].strip()
            orgs_of = [o.strip() for o in row.get("orgSourcedIds", "").split(",") if o.strip()]
            org = next((o for o in orgs_of if o in schools), orgs_of[0] if orgs_of else "")
            field = "orgSourcedIds"
        else:
            kind, org = role_of.get(sid, ("", row.get("primaryOrgSourcedId", "")))
            org = row.get("primaryOrgSourcedId") or org
            field = "primaryOrgSourcedId"
        if not kind:
            raise _row_error(users.name, line, "role", kind, "is empty, or the user has no "
                             "primary row in roles.csv.")
        if org and org not in every:
            raise _row_error(users.name, line, field, org, f"is not an org of {orgs.name};"
                             " the users and orgs files must come from the same export.")
        at = index.get(org, -1)
        if kind == "student":
            if at >= 0:
                students[at] += 1
            continue
        if kind in NOT_STAFF:
            continue
        if sid in seen:
            raise _row_error(users.name, line, "sourcedId", sid,
                             f"is already on line {seen[sid]}; sourcedIds are unique.")
        seen[sid] = line
        person.append(sid)
        role.append(kind)
        school.append(at)
        enabled = row.get("enabledUser", "true").strip().lower() not in ("false", "0", "no")
        active.append(enabled and row.get("status", "active") != "tobedeleted")
    return Roster(source, person, role, np.array(school, dtype=np.int64),
                  np.array(active, dtype=bool), list(schools), list(schools.values()),
                  students)


USERS = ("sourcedId",)
ORGS = ("sourcedId", "type")
ROLES = ("userSourcedId", "roleType", "role", "orgSourcedId")


def load_oneroster(users: Path, orgs: Path, roles: Path | None = None) -> Roster:
    return _oneroster(_open(users, USERS), _open(orgs, ORGS),
                      _open(roles, ROLES) if roles else None, str(users))


def load_oneroster_zip(path: Path) -> Roster:
    try:
        zf = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise UserError(f"{path}: not a readable zip ({exc}); give a OneRoster bulk export"
                        " zip, or users.csv with --orgs.") from None
    with zf:
        names = set(zf.namelist())
        for needed in ("users.csv", "orgs.csv"):
            if needed not in names:
                raise UserError(f"{path}: no {needed} in the zip; a OneRoster export has "
                                "users.csv and orgs.csv.")

        def member(name: str, required: tuple[str, ...]) -> _Csv:
            text = io.TextIOWrapper(zf.open(name), encoding="utf-8", newline="")
            return _reader(f"{path}:{name}", text, required)

        roles = member("roles.csv", ROLES) if "roles.csv" in names else None
        return _oneroster(member("users.csv", USERS), member("orgs.csv", ORGS), roles,
                          str(path))


# --- any CSV -----------------------------------------------------------------------------------

def parse_columns(text: str) -> dict[str, str]:
    """``person=Employee ID,school=Building,role=Title`` -> {field: column}."""
    out: dict[str, str] = {}
    for part in (p for p in text.split(",") if p.strip()):
        field, sep, column = part.partition("=")
        field = field.strip()
        if not sep or field not in GENERIC_FIELDS or not column.strip():
            raise UserError(f"option --columns = '{text}': {part.strip()!r} is not FIELD=COLUMN"
                            f" with FIELD one of {', '.join(GENERIC_FIELDS)}; e.g. --columns "
                            "'person=Employee ID,school=Building,role=Title'.")
        out[field] = column.strip()
    missing = [f for f in GENERIC_FIELDS[:3] if f not in out]
    if missing:
        raise UserError(f"option --columns = '{text}': says no column for "
                        f"{', '.join(missing)}; person, school and role are required.")
    return out


def load_csv(path: Path, columns: dict[str, str]) -> Roster:
    """Any staff CSV: one row per person, the mapped columns naming id, school and role."""
    data = _open(path, tuple(columns[f] for f in GENERIC_FIELDS[:3]))
    optional = [f for f in GENERIC_FIELDS[3:] if f in columns and columns[f] not in data.header]
    if optional:
        raise UserError(f"{path} line 1, field {columns[optional[0]]}: the header has no such "
                        f"column (mapped by --columns {optional[0]}=…).")
    schools: dict[str, int] = {}
    names: list[str] = []
    counts: list[int] = []
    person, role, school, active = [], [], [], []
    seen: dict[str, int] = {}
    for line, row in data.rows:
        pid, sch, kind = (row[columns[f]].strip() for f in GENERIC_FIELDS[:3])
        for field, value in (("person", pid), ("role", kind)):
            if not value:
                raise _row_error(str(path), line, columns[field], value, "is empty; every row "
                                 f"needs a {field}.")
        if pid in seen:
            raise _row_error(str(path), line, columns["person"], pid,
                             f"is already on line {seen[pid]}; a person is one row.")
        seen[pid] = line
        at = -1
        if sch:
            at = schools.setdefault(sch, len(schools))
            if at == len(names):
                names.append(row.get(columns.get("school_name", ""), sch) or sch)
                counts.append(0)
            if "students" in columns and not counts[at]:
                raw = row[columns["students"]].strip()
                if not raw.isdigit():
                    raise _row_error(str(path), line, columns["students"], raw,
                                     "is not a whole number of students.")
                counts[at] = int(raw)
        flag = row[columns["active"]].strip().lower() if "active" in columns else "true"
        if flag not in ("true", "false", "1", "0", "yes", "no", "active", "inactive", ""):
            raise _row_error(str(path), line, columns["active"], flag, "is not true/false.")
        person.append(pid)
        role.append(kind)
        school.append(at)
        active.append(flag in ("true", "1", "yes", "active", ""))
    return Roster(str(path), person, role, np.array(school, dtype=np.int64),
                  np.array(active, dtype=bool), list(schools), names,
                  np.array(counts, dtype=np.int64))


def role_counts(roster: Roster) -> Counter[str]:
    return Counter(roster.role)
