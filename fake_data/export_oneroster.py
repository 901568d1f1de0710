"""OneRoster CSV export: a generated district as a OneRoster 1.1 or 1.2 bulk zip.

This module owns the mapping from firstbell's canonical tables to OneRoster (which table becomes
which file, column and enumeration value in each version; the layout is the one in the
OneRoster sheet, ``shared/domain/oneroster.md``) and the sourcedId scheme: readable, stable ids
derived from our integer ids (``stu-000123``), unique across the file set. The REST API reuses
the helpers.

Columns are built whole with pyarrow.compute and written with Arrow's CSV writer, so the full
district exports in seconds. The zip is byte-for-byte deterministic for the same district, and it
is written to a temporary file that replaces the target only once complete.

Passwords are never exported. A guardian's link that has no portal access (a custody order) is
not exported as an agent relation: downstream systems would otherwise show that child to them.
"""

from __future__ import annotations

import os
import secrets
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from fake_data.district import District
from fake_data.sessions import SCHOOL_YEAR_ID
from fake_data.words import decode

Version = Literal["1.1", "1.2"]
Kind = Literal["school", "student", "staff", "guardian", "course", "class", "session"]

# --- sourcedIds ----------------------------------------------------------------------------------

DISTRICT_SOURCED_ID = "org-district"
NO_SCHOOL = 0  # staff school id 0: the district office, i.e. the district org
_ID_FORMAT: dict[Kind, tuple[str, int]] = {
    "school": ("sch-", 4), "student": ("stu-", 6), "staff": ("stf-", 6),
    "guardian": ("gdn-", 6), "course": ("crs-", 4), "class": ("cls-", 6), "session": ("ses-", 1),
}


def sourced_id(kind: Kind, id_: int) -> str:
    """The sourcedId of one record: ``sourced_id("student", 123) == "stu-000123"``."""
    prefix, width = _ID_FORMAT[kind]
    return f"{prefix}{id_:0{width}d}"


def org_sourced_id(school_id: int) -> str:
    """The org of a school id; school id 0 (the district office) is the district."""
    return DISTRICT_SOURCED_ID if school_id == NO_SCHOOL else sourced_id("school", school_id)


def student_enrollment_sourced_id(section_id: int, student_id: int) -> str:
    return f"enr-s-{section_id:06d}-{student_id:06d}"


def teacher_enrollment_sourced_id(section_id: int) -> str:
    return f"enr-t-{section_id:06d}"


def role_sourced_id(user_sourced_id: str, org_sourced_id: str) -> str:
    return f"rol-{user_sourced_id}-{org_sourced_id}"


def _digits(ids: Any, width: int) -> pa.Array:
    return pc.utf8_lpad(pc.cast(_arrow(ids), pa.string()), width=width, padding="0")


def sourced_ids(kind: Kind, ids: Any) -> pa.Array:
    """`sourced_id` for a whole array of ids (nulls stay null)."""
    prefix, width = _ID_FORMAT[kind]
    return pc.binary_join_element_wise(prefix, _digits(ids, width), "")


def org_sourced_ids(school_ids: Any) -> pa.Array:
    """`org_sourced_id` for a whole array of school ids."""
    ids = _arrow(school_ids)
    return pc.if_else(pc.equal(ids, NO_SCHOOL), DISTRICT_SOURCED_ID, sourced_ids("school", ids))


# --- the CSV layout ------------------------------------------------------------------------------

_META = ("sourcedId", "status", "dateLastModified")
_USERS_COMMON = (
    "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms",
    "phone", "agentSourcedIds", "grades", "password",
)
_HEADERS_V11: dict[str, tuple[str, ...]] = {
    "orgs": (*_META, "name", "type", "identifier", "parentSourcedId"),
    "users": (*_META, "enabledUser", "orgSourcedIds", "role", *_USERS_COMMON),
    "courses": (*_META, "schoolYearSourcedId", "title", "courseCode", "grades", "orgSourcedId",
                "subjects", "subjectCodes"),
    "classes": (*_META, "title", "grades", "courseSourcedId", "classCode", "classType", "location",
                "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"),
    "enrollments": (*_META, "classSourcedId", "schoolSourcedId", "userSourcedId", "role",
                    "primary", "beginDate", "endDate"),
    "academicSessions": (*_META, "title", "type", "startDate", "endDate", "parentSourcedId",
                         "schoolYear"),
    "demographics": (*_META, "birthDate", "sex", "americanIndianOrAlaskaNative", "asian",
                     "blackOrAfricanAmerican", "nativeHawaiianOrOtherPacificIslander", "white",
                     "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity",
                     "countryOfBirthCode", "stateOfBirthAbbreviation", "cityOfBirth",
                     "publicSchoolResidenceStatus"),
}
_HEADERS_V12: dict[str, tuple[str, ...]] = {
    **_HEADERS_V11,
    "users": (*_META, "enabledUser", *_USERS_COMMON, "userMasterIdentifier",
              "preferredGivenName", "preferredMiddleName", "preferredFamilyName",
              "primaryOrgSourcedId", "pronouns"),
    "roles": (*_META, "userSourcedId", "roleType", "role", "beginDate", "endDate",
              "orgSourcedId", "userProfileSourcedId"),
}
HEADERS: dict[Version, dict[str, tuple[str, ...]]] = {"1.1": _HEADERS_V11, "1.2": _HEADERS_V12}
MANIFEST_HEADER = ("propertyName", "value")

# Every data file the manifest must list, in the spec's order.
MANIFEST_FILES: dict[Version, tuple[str, ...]] = {
    "1.1": ("academicSessions", "categories", "classes", "classResources", "courses",
            "courseResources", "demographics", "enrollments", "lineItems", "orgs", "resources",
            "results", "users"),
    "1.2": ("academicSessions", "categories", "classes", "classResources", "courses",
            "courseResources", "demographics", "enrollments", "lineItemLearningObjectiveIds",
            "lineItems", "lineItemScoreScales", "orgs", "resources",
            "resultLearningObjectiveIds", "results", "resultScoreScales", "roles", "scoreScales",
            "userProfiles", "userResources", "users"),
}
SYSTEM_NAME = "firstbell synthetic data - not real people"
SYSTEM_CODE = "firstbell"

# Enumerations each version allows (what the tests check the output against).
USER_ROLES: dict[Version, frozenset[str]] = {
    "1.1": frozenset({"administrator", "aide", "guardian", "parent", "proctor", "relative",
                      "student", "teacher"}),
    "1.2": frozenset({"aide", "counselor", "districtAdministrator", "guardian", "parent",
                      "principal", "proctor", "relative", "siteAdministrator", "student",
                      "systemAdministrator", "teacher"}),
}
SEXES: dict[Version, frozenset[str]] = {
    "1.1": frozenset({"male", "female"}),
    "1.2": frozenset({"male", "female", "unspecified", "other"}),
}

# Our codes to OneRoster's.
CEDS_GRADES = ("PK", "KG", *(f"{g:02d}" for g in range(1, 13)))  # grade code -1..12
STAFF_ROLES: dict[Version, dict[str, str]] = {
    "1.1": {"teacher": "teacher", "aide": "aide", "principal": "administrator",
            "assistant_principal": "administrator", "clerk": "administrator",
            "counselor": "administrator", "central_office": "administrator",
            "district_administrator": "administrator"},
    "1.2": {"teacher": "teacher", "aide": "aide", "principal": "principal",
            "assistant_principal": "siteAdministrator", "clerk": "siteAdministrator",
            "counselor": "counselor", "central_office": "districtAdministrator",
            "district_administrator": "districtAdministrator"},
}
GUARDIAN_ROLES = {"mother": "parent", "father": "parent", "stepparent": "parent",
                  "guardian": "guardian", "grandparent": "relative", "relative": "relative"}
# Race code to the demographics column that is true; hispanic is an ethnicity, races all false.
RACE_COLUMNS = {
    "native_american": "americanIndianOrAlaskaNative", "asian": "asian",
    "black": "blackOrAfricanAmerican", "pacific_islander": "nativeHawaiianOrOtherPacificIslander",
    "white": "white", "multiracial": "demographicRaceTwoOrMoreRaces",
    "hispanic": "hispanicOrLatinoEthnicity",
}

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_COMPRESSLEVEL = 1
_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="needed", eol="\r\n")


# --- public entry point --------------------------------------------------------------------------

def write_oneroster(district: District, path: Path, version: Version) -> Path:
    """Write `district` as a OneRoster `version` bulk zip at `path` (atomically) and return it."""
    if version not in HEADERS:
        raise ValueError(f"OneRoster version {version!r}: use one of {sorted(HEADERS)}")
    source = _Source(district, version)
    members = {
        f"{name}.csv": partial(_file_bytes, build, source)
        for name, build in _builders(version).items()
    }
    return _write_zip(Path(path), members)


# --- files ---------------------------------------------------------------------------------------

@dataclass
class _Source:
    """What every file is built from; the users, shared by users.csv and roles.csv, once."""

    district: District
    version: Version

    @cached_property
    def people(self) -> list[_People]:
        return [_students(self.district), _staff(self.district), _guardians(self.district)]


Builder = Callable[[_Source], pa.Table]


def _builders(version: Version) -> dict[str, Builder]:
    files: dict[str, Builder] = {
        "orgs": _orgs, "users": _users, "courses": _courses, "classes": _classes,
        "enrollments": _enrollments, "academicSessions": _academic_sessions,
        "demographics": _demographics, "manifest": _manifest,
    }
    if version == "1.2":
        files["roles"] = _roles
    return files


def _manifest(src: _Source) -> pa.Table:
    version = src.version
    present = set(_builders(version))
    rows = [("manifest.version", "1.0"), ("oneroster.version", version)]
    rows += [(f"file.{f}", "bulk" if f in present else "absent") for f in MANIFEST_FILES[version]]
    rows += [("source.systemName", SYSTEM_NAME), ("source.systemCode", SYSTEM_CODE)]
    return pa.table([[r[0] for r in rows], [r[1] for r in rows]], names=list(MANIFEST_HEADER))


def _orgs(src: _Source) -> pa.Table:
    district, version = src.district, src.version
    d, schools = district["district"], district["schools"]
    head = _table(version, "orgs", d.num_rows, {
        "sourcedId": DISTRICT_SOURCED_ID, "name": d["name"], "type": "district",
    })
    body = _table(version, "orgs", schools.num_rows, {
        "sourcedId": sourced_ids("school", schools["school_id"]), "name": schools["name"],
        "type": "school", "identifier": schools["school_code"],
        "parentSourcedId": DISTRICT_SOURCED_ID,
    })
    return pa.concat_tables([head, body])


def _academic_sessions(src: _Source) -> pa.Table:
    district, version = src.district, src.version
    s = district["academic_sessions"]
    return _table(version, "academicSessions", s.num_rows, {
        "sourcedId": sourced_ids("session", s["session_id"]), "title": s["title"],
        "type": s["type"], "startDate": s["start_date"], "endDate": s["end_date"],
        "parentSourcedId": sourced_ids("session", s["parent_id"]), "schoolYear": s["school_year"],
    })


def _courses(src: _Source) -> pa.Table:
    district, version = src.district, src.version
    c = district["courses"]
    year = _sessions_of_type(district, "schoolYear")
    return _table(version, "courses", c.num_rows, {
        "sourcedId": sourced_ids("course", c["course_id"]),
        "schoolYearSourcedId": sourced_id("session", year[0]["session_id"]),
        "title": c["title"], "courseCode": c["course_code"], "grades": _ceds(c["grade"]),
        "orgSourcedId": DISTRICT_SOURCED_ID, "subjects": c["subject"],
    })


def _classes(src: _Source) -> pa.Table:
    district, version = src.district, src.version
    s, c = district["sections"], district["courses"]
    course = _positions(_np(c["course_id"]), _np(s["course_id"]))
    team = pc.cast(s["team"], pa.string())
    # A class of the regular day runs both semesters; summer and evening school classes run in
    # their own term.
    semesters = ",".join(sourced_id("session", t["session_id"])
                         for t in _sessions_of_type(district, "semester"))
    own_term = sourced_ids("session", s["session_id"])
    terms = pc.if_else(pc.equal(s["session_id"], SCHOOL_YEAR_ID), pa.scalar(semesters), own_term)
    return _table(version, "classes", s.num_rows, {
        "sourcedId": sourced_ids("class", s["section_id"]),
        "title": pc.binary_join_element_wise(_take(c["title"], course), team, " - Team "),
        "grades": _ceds(s["grade"]),
        "courseSourcedId": sourced_ids("course", s["course_id"]),
        "classCode": pc.binary_join_element_wise(
            _take(c["course_code"], course), pc.utf8_lpad(team, width=2, padding="0"), "-"),
        "classType": s["class_type"], "location": s["room"],
        "schoolSourcedId": sourced_ids("school", s["school_id"]),
        "termSourcedIds": terms, "subjects": s["subject"],
        "periods": pc.if_else(pc.equal(s["period"], 0), pa.scalar(None, pa.string()),
                              pc.cast(s["period"], pa.string())),
    })


def _enrollments(src: _Source) -> pa.Table:
    district, version = src.district, src.version
    e, s = district["enrollments"], district["sections"]
    year = _sessions_of_type(district, "schoolYear")[0]
    dates = {"beginDate": year["start_date"], "endDate": year["end_date"]}
    students = _table(version, "enrollments", e.num_rows, {
        "sourcedId": pc.binary_join_element_wise(
            "enr-s-", _digits(e["section_id"], 6), "-", _digits(e["student_id"], 6), ""),
        "classSourcedId": sourced_ids("class", e["section_id"]),
        "schoolSourcedId": sourced_ids("school", e["school_id"]),
        "userSourcedId": sourced_ids("student", e["student_id"]),
        "role": "student", "primary": False, **dates,
    })
    teachers = _table(version, "enrollments", s.num_rows, {
        "sourcedId": pc.binary_join_element_wise("enr-t-", _digits(s["section_id"], 6), ""),
        "classSourcedId": sourced_ids("class", s["section_id"]),
        "schoolSourcedId": sourced_ids("school", s["school_id"]),
        "userSourcedId": sourced_ids("staff", s["teacher_id"]),
        "role": "teacher", "primary": True, **dates,
    })
    return pa.concat_tables([students, teachers])


def _demographics(src: _Source) -> pa.Table:
    district, version = src.district, src.version
    st = district["students"]
    race = _string(st["race"])
    cols: dict[str, Any] = {
        # OneRoster: a demographics record's sourcedId is its user's sourcedId.
        "sourcedId": sourced_ids("student", st["student_id"]), "birthDate": st["birth_date"],
        "sex": st["sex"],
    }
    for code, column in RACE_COLUMNS.items():
        cols[column] = pc.equal(race, code)
    unknown = pc.sum(pc.invert(pc.is_in(race, value_set=pa.array(list(RACE_COLUMNS))))).as_py()
    if unknown:
        raise ValueError(f"students.race: {unknown} values outside {sorted(RACE_COLUMNS)}")
    return _table(version, "demographics", st.num_rows, cols)


# --- users and roles -----------------------------------------------------------------------------

@dataclass(frozen=True)
class _People:
    """One kind of user: the users.csv columns both versions share, each user's orgs (owner row
    and school id, 0 = district; sorted, the first one primary) and the role in each version."""

    columns: dict[str, Any]
    org_owner: np.ndarray
    org_school: np.ndarray
    role: dict[Version, pa.Array]

    @property
    def n(self) -> int:
        return len(self.columns["sourcedId"])


def _users(src: _Source) -> pa.Table:
    version = src.version
    parts = []
    for p in src.people:
        cols = dict(p.columns)
        if version == "1.1":
            cols["orgSourcedIds"] = _joined(p.org_owner, org_sourced_ids(p.org_school), p.n)
            cols["role"] = p.role["1.1"]
        else:
            first = _first_of_owner(p.org_owner)
            cols["primaryOrgSourcedId"] = org_sourced_ids(p.org_school[first])
        parts.append(_table(version, "users", p.n, cols))
    return pa.concat_tables(parts)


def _roles(src: _Source) -> pa.Table:
    version = src.version
    parts = []
    for p in src.people:
        users = p.columns["sourcedId"].take(pa.array(p.org_owner))
        orgs = org_sourced_ids(p.org_school)
        primary = np.zeros(len(p.org_owner), dtype=bool)
        primary[_first_of_owner(p.org_owner)] = True
        parts.append(_table(version, "roles", len(p.org_owner), {
            "sourcedId": pc.binary_join_element_wise("rol-", users, "-", orgs, ""),
            "userSourcedId": users,
            "roleType": pc.if_else(pa.array(primary), "primary", "secondary"),
            "role": p.role["1.2"].take(pa.array(p.org_owner)), "orgSourcedId": orgs,
        }))
    return pa.concat_tables(parts)


def _students(district: District) -> _People:
    st = district["students"]
    ids = _np(st["student_id"])
    links = _visible_links(district)
    owner = _positions(ids, _np(links["student_id"]))
    order = np.lexsort((_np(links["guardian_id"]), owner))
    account = _accounts(district, "student", ids)
    return _People(
        columns={
            "sourcedId": sourced_ids("student", ids), "enabledUser": True,
            "username": account["username"], "givenName": st["first_name"],
            "familyName": st["last_name"], "identifier": st["student_number"],
            "email": account["email"], "grades": _ceds(st["grade"]),
            "agentSourcedIds": _joined(
                owner[order], sourced_ids("guardian", _np(links["guardian_id"])[order]), len(ids)),
        },
        org_owner=np.arange(len(ids)), org_school=_np(st["school_id"]),
        role={"1.1": pa.repeat("student", len(ids)), "1.2": pa.repeat("student", len(ids))},
    )


def _staff(district: District) -> _People:
    sf = district["staff"]
    ids = _np(sf["staff_id"])
    account = _accounts(district, "staff", ids)
    return _People(
        columns={
            "sourcedId": sourced_ids("staff", ids),
            "enabledUser": pc.equal(_string(sf["status"]), "active"),
            "username": account["username"], "givenName": sf["first_name"],
            "familyName": sf["last_name"], "identifier": sf["employee_number"],
            "email": sf["email"],
        },
        org_owner=np.arange(len(ids)), org_school=_np(sf["school_id"]),
        role={v: _remap(sf["role"], STAFF_ROLES[v], "staff.role") for v in STAFF_ROLES},
    )


def _guardians(district: District) -> _People:
    g, st = district["guardians"], district["students"]
    ids = _np(g["guardian_id"])
    links = _visible_links(district)
    owner = _positions(ids, _np(links["guardian_id"]))
    child = _np(links["student_id"])
    order = np.lexsort((child, owner))
    # Orgs: the distinct schools of the children they may see; the district if there are none.
    school = _np(st["school_id"])[_positions(_np(st["student_id"]), child)].astype(np.int64)
    span = int(school.max(initial=0)) + 1
    alone = np.flatnonzero(np.bincount(owner, minlength=len(ids)) == 0)
    pairs = np.sort(np.r_[owner * span + school, alone * span + NO_SCHOOL])
    keep = np.ones(len(pairs), dtype=bool)
    keep[1:] = pairs[1:] != pairs[:-1]
    pairs = pairs[keep]
    account = _accounts(district, "guardian", ids)
    user_ids = sourced_ids("guardian", ids)
    role = _remap(g["relationship"], GUARDIAN_ROLES, "guardians.relationship")
    return _People(
        columns={
            "sourcedId": user_ids, "enabledUser": True,
            # username is required: a guardian with no email has no account, so no login name.
            "username": pc.coalesce(account["username"], user_ids),
            "givenName": g["first_name"], "familyName": g["last_name"], "email": g["email"],
            "phone": g["phone"],
            "agentSourcedIds": _joined(owner[order], sourced_ids("student", child[order]),
                                       len(ids)),
        },
        org_owner=pairs // span, org_school=pairs % span, role={"1.1": role, "1.2": role},
    )


def _visible_links(district: District) -> pa.Table:
    """Guardian links that may be shown: a no-access link (custody order) is left out."""
    links = district["guardian_links"]
    return links.filter(links["portal_access"])


def _accounts(district: District, person_type: str, ids: np.ndarray) -> dict[str, pa.Array]:
    acc = district["accounts"]
    acc = acc.filter(pc.equal(_string(acc["person_type"]), person_type))
    at = _positions(_np(acc["person_id"]), ids)
    return {name: _take(acc[name], at) for name in ("username", "email")}


# --- column helpers ------------------------------------------------------------------------------

def _table(version: Version, file: str, n: int, cols: Mapping[str, Any]) -> pa.Table:
    """A table with `file`'s header for `version`: given columns (arrays or constants), the rest
    null. Dictionary columns are decoded; a constant is repeated `n` times."""
    header = HEADERS[version][file]
    unknown = set(cols) - set(header)
    if unknown:
        raise KeyError(f"{file}.csv {version} has no column {sorted(unknown)}")
    arrays = []
    for name in header:
        value = cols.get(name)
        if value is None:
            arrays.append(pa.nulls(n, pa.string()))
        elif isinstance(value, pa.Array | pa.ChunkedArray):
            arrays.append(_plain(value))
        else:
            arrays.append(pa.repeat(value, n))
    return pa.table(arrays, names=list(header))


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    return decode(arr)


def _string(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return _plain(arr).cast(pa.string())


def _arrow(values: Any) -> pa.Array:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return _plain(values)
    return pa.array(values)


def _np(arr: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(_plain(arr).to_numpy(zero_copy_only=False))


def _positions(ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Row of each key in `ids` (unique non-negative integers), -1 where absent."""
    if len(ids) == 0 or len(keys) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    lookup = np.full(int(max(ids.max(), keys.max())) + 1, -1, dtype=np.int64)
    lookup[ids] = np.arange(len(ids))
    return lookup[keys]


def _take(values: pa.Array | pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """values[rows], null where a row is -1."""
    return _plain(values).take(pa.array(rows, pa.int64(), mask=rows < 0))


def _first_of_owner(owner: np.ndarray) -> np.ndarray:
    """Index of each owner's first entry, for `owner` sorted with every owner present."""
    return np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]]) if len(owner) else owner


def _joined(owner: np.ndarray, values: pa.Array, n: int) -> pa.Array:
    """A list cell per owner row 0..n-1: its `values` comma-joined (sorted by owner), null if
    it has none."""
    counts = np.bincount(owner, minlength=n)
    offsets = pa.array(np.r_[0, np.cumsum(counts)].astype(np.int32))
    lists = pa.ListArray.from_arrays(offsets, _plain(values), mask=pa.array(counts == 0))
    return pc.binary_join(lists, ",")


def _ceds(grades: pa.Array | pa.ChunkedArray) -> pa.Array:
    """Grade codes -1..12 as CEDS grade levels PK, KG, 01..12."""
    return pa.array(CEDS_GRADES).take(pa.array(_np(grades).astype(np.int64) + 1))


def _remap(arr: pa.Array | pa.ChunkedArray, mapping: Mapping[str, str], what: str) -> pa.Array:
    values = _string(arr)
    idx = pc.index_in(values, value_set=pa.array(list(mapping)))
    if idx.null_count > values.null_count:
        unknown = pc.unique(values.filter(pc.is_null(idx))).to_pylist()
        raise ValueError(f"{what}: no OneRoster mapping for {unknown}")
    return pa.array(list(mapping.values())).take(idx)


def _sessions_of_type(district: District, kind: str) -> list[dict[str, Any]]:
    s = district["academic_sessions"]
    rows = [r for r in s.to_pylist() if r["type"] == kind]
    if not rows:
        raise ValueError(f"academic_sessions: no session of type {kind!r}")
    return rows


# --- zip -----------------------------------------------------------------------------------------

def _file_bytes(build: Builder, source: _Source) -> bytes:
    return _csv_bytes(build(source))


def _csv_bytes(table: pa.Table) -> bytes:
    out = pa.BufferOutputStream()
    out.write(",".join(table.column_names).encode() + b"\r\n")
    pacsv.write_csv(table, out, _CSV_OPTIONS)
    return out.getvalue().to_pybytes()


def _write_zip(path: Path, members: Mapping[str, Callable[[], bytes]]) -> Path:
    """A zip of `members` (name: content maker) in name order, with fixed metadata, so the same
    content gives the same bytes. It is written to a temporary file beside `path` that replaces
    it once complete, so `path` is never a half-written zip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp")
    try:
        # os.open honours the umask (mkstemp would leave the zip readable by its owner only).
        with (
            os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), "wb") as out,
            zipfile.ZipFile(out, "w") as zf,
        ):
            for name in sorted(members):
                _add_member(zf, name, members[name]())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _add_member(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=ZIP_DATE_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, whatever system writes it
    info.external_attr = 0o644 << 16
    zf.writestr(info, data, compresslevel=ZIP_COMPRESSLEVEL)
