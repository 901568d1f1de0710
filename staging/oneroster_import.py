"""OneRoster CSV import: a district's own OneRoster 1.1 or 1.2 bulk zip as the staging district.

Reading and validating the zip is `staging.oneroster_csv`'s. This module owns converting its
validated rows to firstbell's canonical tables (a `District` with the generator's tables, columns
and types) plus the map from the district's sourcedIds to our ids (``sis.oneroster_ids``), and
seeding them: loading is `staging.seed.seed_district`'s, the generator's path, after everything
has been checked. Accounts get passwords drawn from ``--seed``, as generated accounts do (the
export's are never read).
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from fake_data.accounts import passwords
from fake_data.district import TABLES, District, check_seed
from fake_data.pgload import copy_table
from fake_data.profile import DistrictInfo, Profile
from fake_data.students import access_codes
from fake_data.userpool import write_userpool
from kernel.files import open_private
from staging.config import SCHEMA
from staging.oneroster_csv import Demographics, Reader, read_zip
from staging.seed import Progress, SeedResult, seed_district


@dataclass(frozen=True)
class Imported:
    """A checked OneRoster zip as firstbell's district."""

    district: District
    sourced_ids: pa.Table  # kind, sourced_id, id: the district's own ids for ours
    taught: int  # sections 1..taught have a teacher, the others none
    version: str
    name: str
    sha256: str
    notes: tuple[str, ...]  # what was not imported, or imported with a default, and why

    @property
    def note(self) -> str:
        return import_note(self.version, self.name, self.sha256)

    def meta(self) -> dict[str, str]:
        """What identifies this import in ``sis.firstbell_meta``."""
        return {"profile": f"import:{self.name}", "scale": "1.0", "seed": str(self.district.seed),
                "history_days": "0", "synthetic": "false", "sha256": self.sha256,
                "source": f"OneRoster {self.version} bulk"}


def import_note(version: str, name: str, sha256: str) -> str:
    """What an imported table or user pool says it holds, where a generated one says synthetic."""
    return (f"Imported from the OneRoster {version} bulk file {name} (sha256 {sha256[:12]}…) by "
            "firstbell: the district's own records, NOT synthetic data.")


def seed_import(conninfo: str, imported: Imported, *, reset: bool = False,
                progress: Progress | None = None) -> SeedResult:
    """Load a checked import the way a generated district is loaded, with its sourcedId map."""
    return seed_district(conninfo, imported.district, imported.meta(), reset=reset,
                         progress=progress, finish=partial(_finish, imported))


def _finish(imported: Imported, conn: psycopg.Connection) -> dict[str, int]:
    target = sql.Identifier(SCHEMA, "oneroster_ids")
    conn.execute(sql.SQL("CREATE TABLE {} (kind text NOT NULL, sourced_id text NOT NULL,"
                         " id integer NOT NULL)").format(target))
    rows = copy_table(conn, "oneroster_ids", imported.sourced_ids, SCHEMA, freeze=True)
    conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (kind, sourced_id)").format(target))
    conn.execute(sql.SQL("CREATE UNIQUE INDEX oneroster_ids_id_idx ON {} (kind, id)")
                 .format(target))
    conn.execute(sql.SQL("ANALYZE {}").format(target))
    # The loader marks every table as synthetic: these rows are the district's own.
    for name in [*imported.district.tables, "oneroster_ids"]:
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(
            sql.Identifier(SCHEMA, name), sql.Literal(imported.note)))
    return {"oneroster_ids": rows}


def write_import_userpool(imported: Imported, folder: Path) -> dict[str, int]:
    """The user pool of the imported district (`write_userpool`), labelled as not synthetic.

    Sections without a teacher are left out of it: the pool is built around teachers."""
    d = imported.district
    if imported.taught < d["sections"].num_rows:
        e = d["enrollments"]
        d = District(d.profile, d.scale, d.seed, {
            **d.tables, "sections": d["sections"].slice(0, imported.taught),
            "enrollments": e.filter(pc.less_equal(e["section_id"], imported.taught))})
    counts = write_userpool(d, folder)
    label = {b"firstbell.synthetic": b"false", b"firstbell.note": imported.note.encode()}
    for persona in counts:
        path = folder / f"{persona}.arrow"
        with pa.OSFile(str(path)) as source:
            table = pa.ipc.open_file(source).read_all()
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **label})
        tmp = path.with_name(f".{path.name}.tmp")
        # Owner-only like the pool it replaces: the rows hold every account's password.
        with open_private(tmp) as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.update(synthetic=False, note=imported.note, source=imported.meta()["source"],
                    sha256=imported.sha256)
    with open_private(manifest_path) as out:
        out.write((json.dumps(manifest, indent=2, sort_keys=True) + "\n").encode())
    return counts

def read_oneroster(path: Path, seed: int = 42) -> Imported:
    """Read and check a OneRoster bulk zip; raises `UserError` listing every problem."""
    path = Path(path)
    check_seed(seed)
    reader, sha256 = read_zip(path)
    # Only what describes the district is known: no calendar, levels or shares to generate
    # from (so no generated history for an imported district).
    info: dict[str, Any] = {"name": reader.district_name(path.stem), "city": None,
                            "state": None, "postcode_range": None, "area_codes": []}
    fields: dict[str, Any] = {
        "name": f"import:{path.name}", "basis": {}, "district":
        DistrictInfo.model_construct(**info), "description":
        f"Imported from the OneRoster {reader.version} bulk file {path.name}."}
    profile = Profile.model_construct(**fields)
    note = import_note(reader.version, path.name, sha256)
    district, ids, taught, notes = _build(reader, profile, seed, note)
    return Imported(district, ids, taught, reader.version, path.name, sha256,
                    tuple(reader.notes + notes))


# --- the canonical district --------------------------------------------------------------------

D = "dictionary"  # a dictionary-encoded text column, as the generator writes it
_I8, _I16, _I32, _S, _DATE, _B = pa.int8(), pa.int16(), pa.int32(), pa.string(), pa.date32(), \
    pa.bool_()
SCHEMAS: dict[str, tuple[tuple[str, Any], ...]] = {
    "district": (("district_id", _I32), ("name", _S), ("city", _S), ("state", _S),
                 ("profile", _S), ("scale", pa.float64()), ("seed", pa.int64()),
                 ("synthetic_note", _S)),
    "schools": (("school_id", _I32), ("school_code", _S), ("name", _S), ("level", D),
                ("governance", D), ("grade_low", _I8), ("grade_high", _I8), ("periods", _I8),
                ("street", _S), ("city", _S), ("state", _S), ("postcode", _S), ("phone", _S),
                ("students", _I32)),
    "academic_sessions": (("session_id", _I32), ("title", _S), ("type", D),
                          ("start_date", _DATE), ("end_date", _DATE), ("parent_id", _I32),
                          ("school_year", _I16)),
    "courses": (("course_id", _I32), ("course_code", _S), ("title", _S), ("subject", D),
                ("grade", _I8), ("level", D)),
    "students": (("student_id", _I32), ("student_number", _S), ("school_id", _I32),
                 ("grade", _I8), ("first_name", D), ("last_name", D), ("sex", D),
                 ("birth_date", _DATE), ("race", D), ("economically_disadvantaged", _B),
                 ("english_learner", _B), ("iep", _B), ("access_code", _S),
                 ("household_id", _I32)),
    "households": (("household_id", _I32), ("street", _S), ("city", _S), ("state", _S),
                   ("postcode", _S), ("phone", _S)),
    "guardians": (("guardian_id", _I32), ("household_id", _I32), ("first_name", D),
                  ("last_name", D), ("sex", D), ("relationship", D), ("email", _S),
                  ("duplicate_email", _B), ("phone", _S)),
    "guardian_links": (("student_id", _I32), ("guardian_id", _I32), ("relationship", D),
                       ("is_primary", _B), ("portal_access", _B)),
    "staff": (("staff_id", _I32), ("employee_number", _S), ("school_id", _I32), ("role", D),
              ("first_name", D), ("last_name", D), ("sex", D), ("email", _S), ("room", _S),
              ("hire_date", _DATE), ("status", D), ("termination_date", _DATE),
              ("last_login_date", _DATE)),
    "sections": (("section_id", _I32), ("school_id", _I32), ("course_id", _I32),
                 ("teacher_id", _I32), ("grade", _I8), ("subject", D), ("class_type", D),
                 ("period", _I8), ("team", _I16), ("room", _S), ("capacity", _I16),
                 ("enrolled", _I16), ("session_id", _I32)),
    "enrollments": (("section_id", _I32), ("student_id", _I32), ("school_id", _I32)),
    "accounts": (("user_id", _I32), ("person_type", D), ("person_id", _I32), ("username", _S),
                 ("email", _S), ("role", D), ("status", D), ("password", _S)),
}
# OneRoster staff roles to ours. 1.1 says only "administrator": at a school they become clerks
# (the school office that may register students), at the district district administrators.
STAFF_ROLES_BACK = {
    "teacher": "teacher", "aide": "aide", "proctor": "aide", "administrator": "clerk",
    "principal": "principal", "siteAdministrator": "clerk", "counselor": "counselor",
    "districtAdministrator": "district_administrator",
    "systemAdministrator": "district_administrator",
}
SCHOOL_OFFICE = frozenset({"clerk", "principal", "counselor"})
MIN_CAPACITY = 35


def _table(name: str, cols: dict[str, list[Any]]) -> pa.Table:
    arrays = [pa.array(cols[c], _S).dictionary_encode() if t == D else pa.array(cols[c], t)
              for c, t in SCHEMAS[name]]
    return pa.table(arrays, names=[c for c, _ in SCHEMAS[name]])


def _staff_role(role: str, school_id: int) -> str:
    ours = STAFF_ROLES_BACK[role]
    if school_id == 0 and ours in SCHOOL_OFFICE:  # a school role without a school
        return "district_administrator" if role == "administrator" else "central_office"
    return ours


def _class_session(sessions: dict[str, list[Any]], term: int) -> int:
    """The session a class belongs to, as the generator numbers them: a class of a summer or
    evening term belongs to that term; a class of semesters or grading periods to its school
    year (the top of its term's parent chain)."""
    if term < 0:
        return 1
    if sessions["type"][term] == "term":
        return term + 1
    while sessions["parent"][term] >= 0:
        term = sessions["parent"][term]
    return term + 1


Columns = dict[str, list[Any]]  # a canonical table's columns before they become Arrow
NO_DEMOGRAPHICS = Demographics(None, None, None)


@dataclass(frozen=True)
class _People:
    """The users by kind (student, staff, guardian): each kind's user indices in file order, and
    each user's id within its kind (``our[u]``, from 1), which is its id in our tables."""

    of: dict[str, list[int]]
    our: list[int]


@dataclass(frozen=True)
class _Sections:
    """Classes as sections: the ones with a teacher first (1..taught), so the user pool can leave
    the others out."""

    order: list[int]  # class indices in section order
    taught: int
    section_id: list[int]  # per class
    enrolled: list[int]  # students per class
    first_class: dict[int, int]  # teacher user -> the class of their first section


@dataclass(frozen=True)
class _Households:
    """Students who share a guardian share a household."""

    student: list[int]  # household id per student id - 1
    guardian: list[int]  # household id per guardian id - 1
    count: int
    phone: dict[int, str | None]  # household id -> its first guardian's phone


def _build(r: Reader, profile: Profile, seed: int,
           note: str) -> tuple[District, pa.Table, int, list[str]]:
    """The canonical tables, the sourcedId map, and the sections with a teacher (1..taught)."""
    users, classes = r.cols["users"], r.cols["classes"]
    people = _people(r)
    sections = _sections(classes, r.cols["enrollments"])
    notes: list[str] = []
    if sections.taught < len(classes["sid"]):
        notes.append(f"{len(classes['sid']) - sections.taught} classes have no teacher "
                     "enrollment: their sections have no teacher.")
    # Before the schools and the sections read them: a class without grades has its course's.
    _fill_class_grades(classes, r.cols["courses"])
    links = sorted(r.links, key=lambda p: (people.our[p[0]], r.links[p]))
    households = _households(users, people, links)
    relationship = _relationships(users, people.of["guardian"])
    staff = _staff(r, people, classes, sections.first_class)
    tables = {
        "district": _table("district", _district(profile, seed, note)),
        "schools": _table("schools", _schools(r, people.of["student"], classes)),
        "academic_sessions": _table("academic_sessions", _academic_sessions(r)),
        "courses": _table("courses", _courses(r.cols["courses"])),
        "students": _table("students", _students(r, people.of["student"], households, seed)),
        "households": _table("households", _household_rows(households)),
        "guardians": _table("guardians", _guardians(users, people.of["guardian"], households,
                                                    relationship)),
        "guardian_links": _table("guardian_links", _guardian_links(links, people.our,
                                                                   relationship)),
        "staff": _table("staff", staff),
        "sections": _table("sections", _section_rows(r, people.our, sections)),
        "enrollments": _table("enrollments", _enrollments(r, people.our, sections.section_id)),
        "accounts": _table("accounts", _accounts(users, people, staff["role"], seed)),
    }
    district = District(profile, 1.0, seed, {name: tables[name] for name in TABLES})
    return district, _sourced_ids(r, people, sections.section_id), sections.taught, notes


def _demographics(users: Columns, u: int) -> Demographics:
    return users["demographics"][u] or NO_DEMOGRAPHICS


def _people(r: Reader) -> _People:
    of: dict[str, list[int]] = {"student": [], "staff": [], "guardian": []}
    our = [0] * len(r.kind)
    for u, kind in enumerate(r.kind):
        of[kind].append(u)
        our[u] = len(of[kind])
    return _People(of, our)


def _sections(classes: Columns, enrollments: Columns) -> _Sections:
    n_cls = len(classes["sid"])
    order = sorted(range(n_cls), key=lambda c: classes["teacher"][c] < 0)
    taught = sum(1 for c in range(n_cls) if classes["teacher"][c] >= 0)
    section_id = [0] * n_cls
    for k, c in enumerate(order):
        section_id[c] = k + 1
    enrolled = [0] * n_cls
    for c in enrollments["section"]:
        enrolled[c] += 1
    first_class: dict[int, int] = {}
    for c in order:
        first_class.setdefault(classes["teacher"][c], c)
    return _Sections(order, taught, section_id, enrolled, first_class)


def _fill_class_grades(classes: Columns, courses: Columns) -> None:
    for c, grade in enumerate(classes["grade"]):
        if grade is None:
            classes["grade"][c] = courses["grade"][classes["course"][c]]


def _district(profile: Profile, seed: int, note: str) -> Columns:
    return {"district_id": [1], "name": [profile.district.name], "city": [None],
            "state": [None], "profile": [profile.name], "scale": [1.0], "seed": [seed],
            "synthetic_note": [note]}


def _schools(r: Reader, students: list[int], classes: Columns) -> Columns:
    """Level, grades and periods from each school's students and classes."""
    users, orgs, n_schools = r.cols["users"], r.cols["orgs"], len(r.schools)
    student_grades: list[list[int]] = [[] for _ in range(n_schools)]
    class_grades: list[list[int]] = [[] for _ in range(n_schools)]
    periods = [0] * n_schools
    for u in students:
        if users["grade"][u] is not None:
            student_grades[r.user_school[u]].append(users["grade"][u])
    for c, grade in enumerate(classes["grade"]):
        if grade is not None:
            class_grades[classes["school"][c]].append(grade)
        periods[classes["school"][c]] = max(periods[classes["school"][c]], classes["period"][c])
    school: Columns = defaultdict(list)
    for k, org in enumerate(r.schools):
        grades = student_grades[k] or class_grades[k] or [-1, 12]
        high = max(grades) >= 9
        school["school_id"].append(k + 1)
        school["school_code"].append(orgs["identifier"][org] or orgs["sid"][org])
        school["name"].append(orgs["name"][org])
        school["level"].append("high" if high else "elementary")
        school["grade_low"].append(min(grades))
        school["grade_high"].append(max(grades))
        school["periods"].append(periods[k] or (8 if high else 7))
        school["students"].append(len(student_grades[k]))
    for column in ("governance", "street", "city", "state", "postcode", "phone"):
        school[column] = [None] * n_schools
    return school


def _academic_sessions(r: Reader) -> Columns:
    sessions = r.cols["academicSessions"]
    return {"session_id": list(range(1, len(sessions["sid"]) + 1)),
            "title": sessions["title"], "type": sessions["type"],
            "start_date": sessions["start"], "end_date": sessions["end"],
            "parent_id": [p + 1 if p >= 0 else None for p in sessions["parent"]],
            "school_year": sessions["year"]}


def _courses(courses: Columns) -> Columns:
    return {"course_id": list(range(1, len(courses["sid"]) + 1)),
            "course_code": courses["code"], "title": courses["title"],
            "subject": courses["subject"], "grade": courses["grade"],
            "level": [None if g is None else "high" if g >= 9 else "elementary"
                      for g in courses["grade"]]}


def _households(users: Columns, people: _People, links: list[tuple[int, int]]) -> _Households:
    """Union-find over students and guardians (guardians after the students), numbered in the
    order their first member comes."""
    n_st = len(people.of["student"])
    root = list(range(n_st + len(people.of["guardian"])))

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    for s, g in links:
        root[find(people.our[s] - 1)] = find(n_st + people.our[g] - 1)
    numbers: dict[int, int] = {}
    household = [numbers.setdefault(find(x), len(numbers) + 1) for x in range(len(root))]
    phone: dict[int, str | None] = {}
    for k, u in enumerate(people.of["guardian"]):
        if phone.get(household[n_st + k]) is None:
            phone[household[n_st + k]] = users["phone"][u]
    return _Households(household[:n_st], household[n_st:], len(numbers), phone)


def _household_rows(households: _Households) -> Columns:
    numbers = range(1, households.count + 1)
    return {"household_id": list(numbers),
            **{c: [None] * households.count for c in ("street", "city", "state", "postcode")},
            "phone": [households.phone.get(h) for h in numbers]}


def _students(r: Reader, students: list[int], households: _Households, seed: int) -> Columns:
    users = r.cols["users"]
    n_st = len(students)
    columns: Columns = {
        "student_id": list(range(1, n_st + 1)),
        "student_number": [users["identifier"][u] or users["sid"][u] for u in students],
        "school_id": [r.user_school[u] + 1 for u in students],
        "grade": [users["grade"][u] for u in students],
        "first_name": [users["given"][u] for u in students],
        "last_name": [users["family"][u] for u in students],
        "sex": [_demographics(users, u).sex for u in students],
        "birth_date": [_demographics(users, u).birth_date for u in students],
        "race": [_demographics(users, u).race for u in students],
        "household_id": households.student}
    for column in ("economically_disadvantaged", "english_learner", "iep"):
        columns[column] = [False] * n_st  # not in OneRoster: the SIS's default
    # OneRoster has no access codes (the paper letter a parent links a child with): drawn from
    # the seed as generated ones are, so the user pool knows them.
    columns["access_code"] = access_codes(seed, n_st).to_pylist()
    return columns


def _relationships(users: Columns, guardians: list[int]) -> list[str]:
    """Per guardian: a parent becomes mother or father by sex; other roles stay as they are."""
    relationship = []
    for u in guardians:
        role, sex = users["role"][u], _demographics(users, u).sex
        relationship.append(role if role != "parent" else
                            {"female": "mother", "male": "father"}.get(sex or "", "guardian"))
    return relationship


def _guardians(users: Columns, guardians: list[int], households: _Households,
               relationship: list[str]) -> Columns:
    seen_email: set[str] = set()
    duplicate = []
    for u in guardians:
        email = (users["email"][u] or "").lower()
        duplicate.append(bool(email) and email in seen_email)
        seen_email.add(email)
    return {"guardian_id": list(range(1, len(guardians) + 1)),
            "household_id": households.guardian,
            "first_name": [users["given"][u] for u in guardians],
            "last_name": [users["family"][u] for u in guardians],
            "sex": [_demographics(users, u).sex for u in guardians],
            "relationship": relationship,
            "email": [users["email"][u] for u in guardians], "duplicate_email": duplicate,
            "phone": [users["phone"][u] for u in guardians]}


def _guardian_links(links: list[tuple[int, int]], our: list[int],
                    relationship: list[str]) -> Columns:
    """`links` sorted by student: each student's first listed guardian is the primary one."""
    is_first = [i == 0 or links[i - 1][0] != s for i, (s, _) in enumerate(links)]
    return {"student_id": [our[s] for s, _ in links], "guardian_id": [our[g] for _, g in links],
            "relationship": [relationship[our[g] - 1] for _, g in links],
            "is_primary": is_first, "portal_access": [True] * len(links)}


def _staff(r: Reader, people: _People, classes: Columns,
           first_class: dict[int, int]) -> Columns:
    users = r.cols["users"]
    staff: Columns = defaultdict(list)
    for k, u in enumerate(people.of["staff"]):
        school_id = r.user_school[u] + 1
        if school_id == 0 and u in first_class:  # a teacher belongs where they teach
            school_id = classes["school"][first_class[u]] + 1
        staff["staff_id"].append(k + 1)
        staff["employee_number"].append(users["identifier"][u] or users["sid"][u])
        staff["school_id"].append(school_id)
        staff["role"].append(_staff_role(users["role"][u], school_id))
        staff["first_name"].append(users["given"][u])
        staff["last_name"].append(users["family"][u])
        staff["sex"].append(_demographics(users, u).sex)
        staff["email"].append(users["email"][u])
        staff["room"].append(classes["room"][first_class[u]] if u in first_class else None)
        staff["status"].append("active" if users["enabled"][u] else "terminated")
    for column in ("hire_date", "termination_date", "last_login_date"):
        staff[column] = [None] * len(people.of["staff"])
    return staff


def _section_rows(r: Reader, our: list[int], sections: _Sections) -> Columns:
    classes, courses = r.cols["classes"], r.cols["courses"]
    rows: Columns = defaultdict(list)
    teams: dict[tuple[int, int], int] = defaultdict(int)  # sections so far of a school's course
    for c in sections.order:
        key = (classes["school"][c], classes["course"][c])
        teams[key] += 1
        teacher = classes["teacher"][c]
        rows["section_id"].append(sections.section_id[c])
        rows["school_id"].append(classes["school"][c] + 1)
        rows["course_id"].append(classes["course"][c] + 1)
        rows["teacher_id"].append(our[teacher] if teacher >= 0 else None)
        rows["grade"].append(classes["grade"][c])
        rows["subject"].append(classes["subject"][c] or courses["subject"][classes["course"][c]])
        rows["class_type"].append(classes["type"][c])
        rows["period"].append(classes["period"][c])
        rows["team"].append(teams[key])
        rows["room"].append(classes["room"][c])
        rows["capacity"].append(max(sections.enrolled[c], MIN_CAPACITY))
        rows["enrolled"].append(sections.enrolled[c])
        rows["session_id"].append(_class_session(r.cols["academicSessions"], classes["term"][c]))
    return rows


def _enrollments(r: Reader, our: list[int], section_id: list[int]) -> Columns:
    enrollments = r.cols["enrollments"]
    return {"section_id": [section_id[c] for c in enrollments["section"]],
            "student_id": [our[u] for u in enrollments["student"]],
            "school_id": [s + 1 for s in enrollments["school"]]}


def _accounts(users: Columns, people: _People, staff_role: list[str], seed: int) -> Columns:
    """One account per user, students first, then staff, then guardians."""
    accounts: Columns = defaultdict(list)
    for kind in ("student", "staff", "guardian"):
        for u in people.of[kind]:
            accounts["person_type"].append(kind)
            accounts["person_id"].append(people.our[u])
            accounts["username"].append(users["username"][u])
            accounts["email"].append(users["email"][u])
            accounts["role"].append(staff_role[people.our[u] - 1] if kind == "staff" else kind)
            accounts["status"].append("active" if users["enabled"][u] else "disabled")
    accounts["user_id"] = list(range(1, len(accounts["username"]) + 1))
    accounts["password"] = passwords(seed, len(accounts["username"])).to_pylist()
    return accounts


def _sourced_ids(r: Reader, people: _People, section_id: list[int]) -> pa.Table:
    """kind, sourced_id, id: the district's own id of each of our rows that has one."""
    users, orgs = r.cols["users"], r.cols["orgs"]
    sessions, courses = r.cols["academicSessions"], r.cols["courses"]
    ids: Columns = defaultdict(list)

    def mapped(kind: str, sids: list[str], numbers: list[int]) -> None:
        ids["kind"] += [kind] * len(sids)
        ids["sourced_id"] += sids
        ids["id"] += numbers

    top = [s for s, t in zip(orgs["sid"], orgs["type"], strict=True) if t == "district"][:1]
    mapped("district", top, [1] * len(top))
    mapped("school", [orgs["sid"][o] for o in r.schools], list(range(1, len(r.schools) + 1)))
    mapped("session", sessions["sid"], list(range(1, len(sessions["sid"]) + 1)))
    mapped("course", courses["sid"], list(range(1, len(courses["sid"]) + 1)))
    mapped("class", r.cols["classes"]["sid"], section_id)
    for kind, us in people.of.items():
        mapped(kind, [users["sid"][u] for u in us], [people.our[u] for u in us])
    return pa.table({"kind": pa.array(ids["kind"], _S), "sourced_id": pa.array(
        ids["sourced_id"], _S), "id": pa.array(ids["id"], _I32)})
