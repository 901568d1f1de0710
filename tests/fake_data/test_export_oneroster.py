"""OneRoster export: headers as the sheet says, references that resolve, valid enumerations,
counts that match the district, quoting, determinism and atomic writes."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from fake_data import export_oneroster as ex
from fake_data.district import District, generate
from fake_data.profile import load_profile

VERSIONS = ("1.1", "1.2")

# The headers exactly as /work/shared/domain/oneroster.md gives them, written out independently
# of the module under test.
HEADERS_11 = {
    "orgs.csv": "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
    "users.csv": "sourcedId,status,dateLastModified,enabledUser,orgSourcedIds,role,username,"
                 "userIds,givenName,familyName,middleName,identifier,email,sms,phone,"
                 "agentSourcedIds,grades,password",
    "courses.csv": "sourcedId,status,dateLastModified,schoolYearSourcedId,title,courseCode,"
                   "grades,orgSourcedId,subjects,subjectCodes",
    "classes.csv": "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,"
                   "classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,"
                   "periods",
    "enrollments.csv": "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,"
                       "userSourcedId,role,primary,beginDate,endDate",
    "academicSessions.csv": "sourcedId,status,dateLastModified,title,type,startDate,endDate,"
                            "parentSourcedId,schoolYear",
    "demographics.csv": "sourcedId,status,dateLastModified,birthDate,sex,"
                        "americanIndianOrAlaskaNative,asian,blackOrAfricanAmerican,"
                        "nativeHawaiianOrOtherPacificIslander,white,"
                        "demographicRaceTwoOrMoreRaces,hispanicOrLatinoEthnicity,"
                        "countryOfBirthCode,stateOfBirthAbbreviation,cityOfBirth,"
                        "publicSchoolResidenceStatus",
    "manifest.csv": "propertyName,value",
}
HEADERS_12 = {
    **HEADERS_11,
    "users.csv": "sourcedId,status,dateLastModified,enabledUser,username,userIds,givenName,"
                 "familyName,middleName,identifier,email,sms,phone,agentSourcedIds,grades,"
                 "password,userMasterIdentifier,preferredGivenName,preferredMiddleName,"
                 "preferredFamilyName,primaryOrgSourcedId,pronouns",
    "roles.csv": "sourcedId,status,dateLastModified,userSourcedId,roleType,role,beginDate,"
                 "endDate,orgSourcedId,userProfileSourcedId",
}
HEADERS = {"1.1": HEADERS_11, "1.2": HEADERS_12}

DATA_FILES_11 = (
    "academicSessions", "categories", "classes", "classResources", "courses", "courseResources",
    "demographics", "enrollments", "lineItems", "orgs", "resources", "results", "users",
)
USER_ROLES = {
    "1.1": {"administrator", "aide", "guardian", "parent", "proctor", "relative", "student",
            "teacher"},
    "1.2": {"aide", "counselor", "districtAdministrator", "guardian", "parent", "principal",
            "proctor", "relative", "siteAdministrator", "student", "systemAdministrator",
            "teacher"},
}
SEXES = {"1.1": {"male", "female"}, "1.2": {"male", "female", "unspecified", "other"}}
CEDS = {"PK", "KG", *(f"{g:02d}" for g in range(1, 13))}
BOOL = {"true", "false"}
RACE_COLUMNS = (
    "americanIndianOrAlaskaNative", "asian", "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander", "white",
)
EMAIL_DOMAIN = re.compile(r"@([a-z0-9-]+\.)*example\.(org|com|net)$")

Rows = list[dict[str, str]]


class Export:
    """One written zip, parsed: raw bytes per member and rows as dicts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with zipfile.ZipFile(path) as zf:
            self.infos = zf.infolist()
            self.raw = {i.filename: zf.read(i) for i in self.infos}
        self.header: dict[str, list[str]] = {}
        self.rows: dict[str, Rows] = {}
        for name, data in self.raw.items():
            reader = csv.reader(io.StringIO(data.decode("utf-8"), newline=""))
            header = next(reader)
            lines = list(reader)
            assert all(len(line) == len(header) for line in lines), name
            self.header[name] = header
            self.rows[name] = [dict(zip(header, line, strict=True)) for line in lines]

    def __getitem__(self, name: str) -> Rows:
        return self.rows[f"{name}.csv"]

    def ids(self, name: str) -> set[str]:
        return {r["sourcedId"] for r in self[name]}


def split(cell: str) -> list[str]:
    return cell.split(",") if cell else []


def strings(table: pa.Table, column: str) -> list[Any]:
    return table[column].cast(pa.string()).to_pylist()


@pytest.fixture(scope="module")
def district() -> District:
    return generate(load_profile("small"), 1.0, 42)


@pytest.fixture(scope="module")
def exports(district: District, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Export]:
    out = tmp_path_factory.mktemp("oneroster")
    return {v: Export(ex.write_oneroster(district, out / f"or-{v}.zip", v))  # type: ignore[arg-type]
            for v in VERSIONS}


# --- layout ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_members_and_headers_are_exactly_the_sheet(exports: dict[str, Export],
                                                  version: str) -> None:
    export = exports[version]
    assert set(export.raw) == set(HEADERS[version])
    for name, header in HEADERS[version].items():
        first_line = export.raw[name].split(b"\r\n", 1)[0].decode()
        assert first_line == header, name  # unquoted, in order, nothing more
        assert export.header[name] == header.split(","), name


@pytest.mark.parametrize("version", VERSIONS)
def test_manifest(exports: dict[str, Export], version: str) -> None:
    rows = exports[version]["manifest"]
    props = {r["propertyName"]: r["value"] for r in rows}
    assert len(props) == len(rows)  # no property twice
    assert [r["propertyName"] for r in rows[:2]] == ["manifest.version", "oneroster.version"]
    assert props["manifest.version"] == "1.0"
    assert props["oneroster.version"] == version
    assert "synthetic" in props["source.systemName"].lower()
    assert "not real" in props["source.systemName"].lower()
    assert props["source.systemCode"] == "firstbell"
    files = {k.removeprefix("file."): v for k, v in props.items() if k.startswith("file.")}
    assert set(DATA_FILES_11) <= set(files)
    if version == "1.1":
        assert set(files) == set(DATA_FILES_11)
    else:
        assert files["roles"] == "bulk"
    assert set(files.values()) <= {"bulk", "absent"}
    # bulk exactly for the files in the zip
    present = {n.removesuffix(".csv") for n in exports[version].raw} - {"manifest"}
    assert {f for f, mode in files.items() if mode == "bulk"} == present


@pytest.mark.parametrize("version", VERSIONS)
def test_bulk_files_have_empty_status_and_date(exports: dict[str, Export], version: str) -> None:
    for name, rows in exports[version].rows.items():
        if name == "manifest.csv":
            continue
        assert rows, name
        assert all(r["status"] == "" and r["dateLastModified"] == "" for r in rows), name


@pytest.mark.parametrize("version", VERSIONS)
def test_list_cells_are_one_quoted_field(exports: dict[str, Export], version: str) -> None:
    export = exports[version]
    # Every row parsed to exactly the header's width (checked in Export), and the lists that do
    # hold commas are quoted in the raw text.
    classes = export.raw["classes.csv"].decode()
    terms = {r["termSourcedIds"] for r in export["classes"]}
    # Both semesters for the regular day, one term each for summer and evening school.
    assert terms == {"ses-2,ses-3", "ses-8", "ses-9"}
    assert '"ses-2,ses-3"' in classes
    users = export.raw["users.csv"].decode()
    multi = [r["agentSourcedIds"] for r in export["users"] if "," in r["agentSourcedIds"]]
    assert multi
    assert all(f'"{cell}"' in users for cell in multi)
    if version == "1.1":
        multi_org = [r["orgSourcedIds"] for r in export["users"] if "," in r["orgSourcedIds"]]
        assert multi_org  # guardians with children in several schools
        assert all(f'"{cell}"' in users for cell in multi_org)


def test_zip_members_sorted_with_fixed_metadata(exports: dict[str, Export]) -> None:
    for export in exports.values():
        names = [i.filename for i in export.infos]
        assert names == sorted(names)
        for info in export.infos:
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.compress_type == zipfile.ZIP_DEFLATED


# --- references -----------------------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_sourced_ids_unique_across_files(exports: dict[str, Export], version: str) -> None:
    export = exports[version]
    seen: Counter[str] = Counter()
    for name, rows in export.rows.items():
        if name in ("manifest.csv", "demographics.csv"):
            continue
        seen.update(r["sourcedId"] for r in rows)
    assert seen and max(seen.values()) == 1
    # OneRoster: a demographics record carries its user's sourcedId.
    students = {r["sourcedId"] for r in export["users"] if r["sourcedId"].startswith("stu-")}
    assert [r["sourcedId"] for r in export["demographics"]] == sorted(students)


@pytest.mark.parametrize("version", VERSIONS)
def test_every_reference_resolves(exports: dict[str, Export], version: str) -> None:
    e = exports[version]
    orgs = {r["sourcedId"]: r for r in e["orgs"]}
    schools = {k for k, r in orgs.items() if r["type"] == "school"}
    users = {r["sourcedId"]: r for r in e["users"]}
    sessions = {r["sourcedId"]: r for r in e["academicSessions"]}
    courses = e.ids("courses")
    classes = {r["sourcedId"]: r for r in e["classes"]}

    assert [r["type"] for r in orgs.values()].count("district") == 1
    for r in orgs.values():
        assert r["parentSourcedId"] in orgs if r["type"] == "school" else not r["parentSourcedId"]
    for r in sessions.values():
        assert r["parentSourcedId"] in sessions or r["type"] == "schoolYear"
    for r in e["courses"]:
        assert r["orgSourcedId"] in orgs
        assert sessions[r["schoolYearSourcedId"]]["type"] == "schoolYear"
    for r in classes.values():
        assert r["courseSourcedId"] in courses
        assert r["schoolSourcedId"] in schools
        terms = split(r["termSourcedIds"])
        assert terms and (all(sessions[t]["type"] == "semester" for t in terms)
                          or [sessions[t]["type"] for t in terms] == ["term"])
    for r in e["enrollments"]:
        assert r["userSourcedId"] in users
        assert r["schoolSourcedId"] == classes[r["classSourcedId"]]["schoolSourcedId"]
    for r in e["demographics"]:
        assert r["sourcedId"] in users
    for r in users.values():
        assert all(a in users for a in split(r["agentSourcedIds"]))
        if version == "1.1":
            assert split(r["orgSourcedIds"]) and all(o in orgs for o in split(r["orgSourcedIds"]))
        else:
            assert r["primaryOrgSourcedId"] in orgs
    if version == "1.2":
        primaries: Counter[str] = Counter()
        for r in e["roles"]:
            assert r["userSourcedId"] in users
            assert r["orgSourcedId"] in orgs
            primaries[r["userSourcedId"]] += r["roleType"] == "primary"
            if r["roleType"] == "primary":
                assert users[r["userSourcedId"]]["primaryOrgSourcedId"] == r["orgSourcedId"]
        assert set(primaries) == set(users) and set(primaries.values()) == {1}


@pytest.mark.parametrize("version", VERSIONS)
def test_agents_are_symmetric_and_respect_no_access_links(
        district: District, exports: dict[str, Export], version: str) -> None:
    users = exports[version]["users"]
    agents = {r["sourcedId"]: set(split(r["agentSourcedIds"])) for r in users}
    pairs = {(s, g) for s, ga in agents.items() if s.startswith("stu-") for g in ga}
    back = {(s, g) for g, sa in agents.items() if g.startswith("gdn-") for s in sa}
    assert pairs == back
    links = district["guardian_links"].to_pylist()
    visible = {(ex.sourced_id("student", li["student_id"]),
                ex.sourced_id("guardian", li["guardian_id"])) for li in links
               if li["portal_access"]}
    hidden = {(ex.sourced_id("student", li["student_id"]),
               ex.sourced_id("guardian", li["guardian_id"])) for li in links
              if not li["portal_access"]}
    assert hidden  # the small district has custody restrictions to test
    assert pairs == visible
    assert not pairs & hidden


# --- enumerations and values ----------------------------------------------------------------------

@pytest.mark.parametrize("version", VERSIONS)
def test_enumerations_are_valid_for_the_version(exports: dict[str, Export], version: str) -> None:
    e = exports[version]
    assert {r["type"] for r in e["orgs"]} == {"district", "school"}
    assert {r["classType"] for r in e["classes"]} == {"homeroom", "scheduled"}
    assert {r["type"] for r in e["academicSessions"]} <= {
        "gradingPeriod", "semester", "schoolYear", "term"}
    assert {r["role"] for r in e["enrollments"]} == {"student", "teacher"}
    assert {r["primary"] for r in e["enrollments"]} <= BOOL
    assert {r["enabledUser"] for r in e["users"]} == BOOL
    assert {r["sex"] for r in e["demographics"]} <= SEXES[version]
    for column in (*RACE_COLUMNS, "demographicRaceTwoOrMoreRaces", "hispanicOrLatinoEthnicity"):
        assert {r[column] for r in e["demographics"]} == BOOL, column
    grades = [g for f in ("users", "courses", "classes") for r in e[f] for g in split(r["grades"])]
    assert set(grades) <= CEDS and {"PK", "KG", "01", "12"} <= set(grades)
    if version == "1.1":
        roles = {r["role"] for r in e["users"]}
    else:
        roles = {r["role"] for r in e["roles"]}
        assert {r["roleType"] for r in e["roles"]} == {"primary", "secondary"}
    assert roles <= USER_ROLES[version]


@pytest.mark.parametrize("version", VERSIONS)
def test_counts_match_the_district(district: District, exports: dict[str, Export],
                                   version: str) -> None:
    e = exports[version]
    n = {name: t.num_rows for name, t in district.tables.items()}
    assert len(e["users"]) == n["students"] + n["staff"] + n["guardians"]
    assert len(e["enrollments"]) == n["enrollments"] + n["sections"]
    assert Counter(r["role"] for r in e["enrollments"]) == {
        "student": n["enrollments"], "teacher": n["sections"]}
    assert all(r["primary"] == "true" for r in e["enrollments"] if r["role"] == "teacher")
    assert len(e["orgs"]) == 1 + n["schools"]
    assert len(e["courses"]) == n["courses"]
    assert len(e["classes"]) == n["sections"]
    assert len(e["academicSessions"]) == n["academic_sessions"]
    assert len(e["demographics"]) == n["students"]
    if version == "1.2":
        assert len(e["roles"]) >= len(e["users"])


@pytest.mark.parametrize("version", VERSIONS)
def test_staff_roles_orgs_and_enabled(district: District, exports: dict[str, Export],
                                      version: str) -> None:
    e = exports[version]
    users = {r["sourcedId"]: r for r in e["users"]}
    roles = {r["userSourcedId"]: r for r in e["roles"]} if version == "1.2" else {}
    expected = {
        "1.1": {"teacher": "teacher", "aide": "aide", "principal": "administrator",
                "assistant_principal": "administrator", "clerk": "administrator",
                "counselor": "administrator", "central_office": "administrator",
                "district_administrator": "administrator"},
        "1.2": {"teacher": "teacher", "aide": "aide", "principal": "principal",
                "assistant_principal": "siteAdministrator", "clerk": "siteAdministrator",
                "counselor": "counselor", "central_office": "districtAdministrator",
                "district_administrator": "districtAdministrator"},
    }[version]
    staff = district["staff"]
    statuses = strings(staff, "status")
    assert "terminated" in statuses
    seen_roles = set()
    for sid, school, role, status in zip(staff["staff_id"].to_pylist(),
                                         staff["school_id"].to_pylist(), strings(staff, "role"),
                                         statuses, strict=True):
        user = users[ex.sourced_id("staff", sid)]
        assert user["enabledUser"] == ("false" if status == "terminated" else "true")
        assert user["password"] == ""
        org = "org-district" if school == 0 else ex.sourced_id("school", school)
        if version == "1.1":
            assert (user["role"], user["orgSourcedIds"]) == (expected[role], org)
        else:
            role_row = roles[user["sourcedId"]]
            assert (role_row["role"], role_row["orgSourcedId"]) == (expected[role], org)
            assert user["primaryOrgSourcedId"] == org
        seen_roles.add(role)
    assert seen_roles == set(expected)  # every staff role occurs in the small district


@pytest.mark.parametrize("version", VERSIONS)
def test_students(district: District, exports: dict[str, Export], version: str) -> None:
    users = {r["sourcedId"]: r for r in exports[version]["users"]}
    st = district["students"]
    accounts = district["accounts"].to_pylist()
    username = {a["person_id"]: a["username"] for a in accounts if a["person_type"] == "student"}
    ceds = {-1: "PK", 0: "KG", **{g: f"{g:02d}" for g in range(1, 13)}}
    for row in st.select(["student_id", "student_number", "school_id", "grade"]).to_pylist():
        user = users[ex.sourced_id("student", row["student_id"])]
        assert user["identifier"] == row["student_number"]
        assert user["grades"] == ceds[row["grade"]]
        assert user["username"] == username[row["student_id"]]
        assert user["enabledUser"] == "true"
        school = ex.sourced_id("school", row["school_id"])
        assert (user["orgSourcedIds"] if version == "1.1"
                else user["primaryOrgSourcedId"]) == school
        if version == "1.1":
            assert user["role"] == "student"


@pytest.mark.parametrize("version", VERSIONS)
def test_guardians(district: District, exports: dict[str, Export], version: str) -> None:
    e = exports[version]
    users = {r["sourcedId"]: r for r in e["users"]}
    roles: dict[str, list[dict[str, str]]] = defaultdict(list)
    for r in e["roles"] if version == "1.2" else []:
        roles[r["userSourcedId"]].append(r)
    expected_role = {"mother": "parent", "father": "parent", "stepparent": "parent",
                     "guardian": "guardian", "grandparent": "relative", "relative": "relative"}
    g = district["guardians"]
    school_of = dict(zip(district["students"]["student_id"].to_pylist(),
                         district["students"]["school_id"].to_pylist(), strict=True))
    no_email = 0
    for gid, email, phone, relationship in zip(
            g["guardian_id"].to_pylist(), g["email"].to_pylist(), g["phone"].to_pylist(),
            strings(g, "relationship"), strict=True):
        user = users[ex.sourced_id("guardian", gid)]
        assert user["email"] == (email or "")
        no_email += email is None
        assert user["username"]  # required, even without an account
        assert user["phone"] == phone and user["password"] == ""
        children = split(user["agentSourcedIds"])
        schools = sorted({ex.sourced_id("school", school_of[int(c[4:])]) for c in children})
        if version == "1.1":
            assert user["role"] == expected_role[relationship]
            assert split(user["orgSourcedIds"]) == (schools or ["org-district"])
        else:
            assert {r["role"] for r in roles[user["sourcedId"]]} == {expected_role[relationship]}
            assert sorted(r["orgSourcedId"] for r in roles[user["sourcedId"]]) == (
                schools or ["org-district"])
    assert no_email  # the small district has guardians without email


@pytest.mark.parametrize("version", VERSIONS)
def test_no_credentials_and_only_reserved_email_domains(
        district: District, exports: dict[str, Export], version: str) -> None:
    passwords = set(district["accounts"]["password"].to_pylist())
    e = exports[version]
    for name, rows in e.rows.items():
        for r in rows:
            assert passwords.isdisjoint(r.values()), name
    for r in e["users"]:
        assert r["password"] == ""
        if r["email"]:
            assert EMAIL_DOMAIN.search(r["email"]), r["email"]
        if "@" in r["username"]:
            assert EMAIL_DOMAIN.search(r["username"]), r["username"]
    every_email = re.findall(rb"[\w.+-]+@[\w.-]+", b"".join(e.raw.values()))
    assert every_email
    assert all(EMAIL_DOMAIN.search(m.decode()) for m in every_email)


@pytest.mark.parametrize("version", VERSIONS)
def test_demographics(district: District, exports: dict[str, Export], version: str) -> None:
    demo = {r["sourcedId"]: r for r in exports[version]["demographics"]}
    st = district["students"]
    for sid, birth, sex, race in zip(st["student_id"].to_pylist(), st["birth_date"].to_pylist(),
                                     strings(st, "sex"), strings(st, "race"), strict=True):
        r = demo[ex.sourced_id("student", sid)]
        assert (r["birthDate"], r["sex"]) == (birth.isoformat(), sex)
        races = {c for c in RACE_COLUMNS if r[c] == "true"}
        assert (r["hispanicOrLatinoEthnicity"] == "true") == (race == "hispanic")
        assert (r["demographicRaceTwoOrMoreRaces"] == "true") == (race == "multiracial")
        assert len(races) == (0 if race in ("hispanic", "multiracial") else 1)


@pytest.mark.parametrize("version", VERSIONS)
def test_classes_and_enrollments(district: District, exports: dict[str, Export],
                                 version: str) -> None:
    e = exports[version]
    classes = {r["sourcedId"]: r for r in e["classes"]}
    sections = district["sections"]
    year = next(r for r in e["academicSessions"] if r["type"] == "schoolYear")
    for row in sections.select(["section_id", "period", "room", "teacher_id"]).to_pylist():
        c = classes[ex.sourced_id("class", row["section_id"])]
        assert c["periods"] == ("" if row["period"] == 0 else str(row["period"]))
        assert (c["periods"] == "") == (c["classType"] == "homeroom")
        assert c["location"] == row["room"]
        assert c["title"] and c["classCode"]
    for r in e["enrollments"]:
        assert (r["beginDate"], r["endDate"]) == (year["startDate"], year["endDate"])
        assert r["userSourcedId"].startswith("stu-" if r["role"] == "student" else "stf-")
    teachers = {(r["classSourcedId"], r["userSourcedId"]) for r in e["enrollments"]
                if r["role"] == "teacher"}
    assert teachers == {(ex.sourced_id("class", s), ex.sourced_id("staff", t)) for s, t in zip(
        sections["section_id"].to_pylist(), sections["teacher_id"].to_pylist(), strict=True)}


# --- sourcedId helpers ----------------------------------------------------------------------------

def test_sourced_id_helpers_agree_with_the_files(exports: dict[str, Export]) -> None:
    ids = [1, 45, 123, 999_999, 1_234_567]
    for kind in ("school", "student", "staff", "guardian", "course", "class", "session"):
        assert ex.sourced_ids(kind, ids).to_pylist() == [ex.sourced_id(kind, i) for i in ids]
    assert ex.sourced_id("student", 123) == "stu-000123"
    assert ex.org_sourced_id(0) == "org-district"
    assert ex.org_sourced_id(7) == "sch-0007"
    assert ex.org_sourced_ids([0, 7]).to_pylist() == ["org-district", "sch-0007"]
    e = exports["1.2"]
    enr = {r["sourcedId"] for r in e["enrollments"]}
    first = e["enrollments"][0]
    section, student = int(first["classSourcedId"][4:]), int(first["userSourcedId"][4:])
    assert ex.student_enrollment_sourced_id(section, student) in enr
    assert ex.teacher_enrollment_sourced_id(section) in enr
    role = e["roles"][0]
    assert ex.role_sourced_id(role["userSourcedId"], role["orgSourcedId"]) == role["sourcedId"]


# --- determinism and atomic writes ----------------------------------------------------------------

def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("version", VERSIONS)
def test_same_district_same_bytes_other_seed_other_bytes(
        district: District, exports: dict[str, Export], tmp_path: Path, version: str) -> None:
    v: Any = version
    again = ex.write_oneroster(district, tmp_path / "again.zip", v)
    regenerated = ex.write_oneroster(generate(load_profile("small"), 1.0, 42),
                                     tmp_path / "regenerated.zip", v)
    other = ex.write_oneroster(generate(load_profile("small"), 1.0, 43), tmp_path / "other.zip", v)
    assert sha256(again) == sha256(regenerated) == sha256(exports[version].path)
    assert sha256(other) != sha256(again)


def test_failed_write_leaves_the_old_zip_and_no_temp_file(
        district: District, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = ex.write_oneroster(district, tmp_path / "or.zip", "1.1")
    before = target.read_bytes()

    def broken(src: Any) -> pa.Table:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ex, "_users", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        ex.write_oneroster(district, target, "1.1")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["or.zip"]
    with pytest.raises(RuntimeError):
        ex.write_oneroster(district, tmp_path / "new.zip", "1.2")
    assert not (tmp_path / "new.zip").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["or.zip"]


def test_target_is_replaced_only_by_a_complete_zip(
        district: District, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = ex.write_oneroster(district, tmp_path / "or.zip", "1.1")
    before = target.read_bytes()
    real_replace = ex.os.replace
    seen: list[tuple[Path, Path]] = []

    def spy(src: Any, dst: Any) -> None:
        src, dst = Path(src), Path(dst)
        seen.append((src, dst))
        assert dst.read_bytes() == before  # untouched while the new zip was written
        assert src.parent == dst.parent  # same file system: the rename is atomic
        with zipfile.ZipFile(src) as zf:
            assert zf.testzip() is None and "users.csv" in zf.namelist()
        real_replace(src, dst)

    monkeypatch.setattr(ex.os, "replace", spy)
    ex.write_oneroster(district, target, "1.2")
    assert [dst for _, dst in seen] == [target]
    assert Export(target)["manifest"][1]["value"] == "1.2"
    assert [p.name for p in tmp_path.iterdir()] == ["or.zip"]


def test_unknown_version_is_refused(district: District, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"1\.0"):
        ex.write_oneroster(district, tmp_path / "x.zip", "1.0")  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())
