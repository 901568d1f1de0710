"""OneRoster CSV reading: a district's OneRoster 1.1 or 1.2 bulk zip, checked row by row.

This module owns reading the zip (manifest first, then each file's header against the sheet of
its version, ``shared/domain/oneroster.md``), validating every row (required fields,
enumerations, dates, references, unique sourcedIds, and what the SIS's keys need, such as unique
usernames), and collecting every problem with its file, row and column into one `UserError`
(`Problems`). What it hands on is a `Reader` holding the validated rows as compact columns;
turning them into firstbell's canonical tables is `staging.oneroster_import`'s.
The sheet's value sets and the parsing of one cell are `staging.oneroster_cells`'.

Files are read in dependency order, so every reference to another file resolves to a row index
as its row is read and only compact columns are kept. Rows are numbered as a spreadsheet shows
them: the header is row 1. Passwords in the export are never read.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from fake_data.export_oneroster import HEADERS, MANIFEST_FILES, RACE_COLUMNS, SEXES, USER_ROLES
from kernel.errors import UserError
from staging import oneroster_cells as cells
from staging.oneroster_problems import Problems

READ_ORDER = ("orgs", "academicSessions", "courses", "users", "roles", "demographics", "classes",
              "enrollments")
NEEDED = {"1.1": {"orgs", "academicSessions", "courses", "users", "classes", "enrollments"}}
NEEDED["1.2"] = NEEDED["1.1"] | {"roles"}
_REQUIRED = {  # the sheet's required columns (*)
    "orgs": ("sourcedId", "name", "type"),
    "users": ("sourcedId", "enabledUser", "username", "givenName", "familyName"),
    "courses": ("sourcedId", "title", "orgSourcedId"),
    "classes": ("sourcedId", "title", "courseSourcedId", "classType", "schoolSourcedId",
                "termSourcedIds"),
    "enrollments": ("sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
    "academicSessions": ("sourcedId", "title", "type", "startDate", "endDate", "schoolYear"),
    "demographics": ("sourcedId",),
    "roles": ("sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId"),
}


def read_zip(path: Path) -> tuple[Reader, str]:
    """Read and check a OneRoster bulk zip: its validated rows, and the zip's sha256.

    Raises `UserError` listing every problem: rows are only handed on when all are valid."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                digest.update(chunk)
        zf = zipfile.ZipFile(path)
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror or exc}). Pass the path of the "
                        "district's OneRoster bulk export (.zip).") from exc
    except zipfile.BadZipFile as exc:
        raise UserError(f"{path}: not a zip file ({exc}). A OneRoster bulk export is a .zip "
                        "holding manifest.csv and the CSV files.") from exc
    with zf:
        reader = Reader(path.name, zf)
        reader.read_all()
        reader.problems.raise_any()
    return reader, digest.hexdigest()


class Demographics(NamedTuple):
    """One user's demographics.csv row, as ``cols["users"]["demographics"]`` holds it (None for a
    user without one)."""

    birth_date: dt.date | None
    sex: str | None
    race: str | None


class Reader:
    """The zip's files, checked row by row, kept as compact columns (`cols[file][column]`)."""

    def __init__(self, source: str, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.problems = Problems(source)
        self.version = ""
        self.members: dict[str, zipfile.ZipInfo] = {}
        self.notes: list[str] = []
        self.cols: dict[str, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
        self.ids: dict[str, dict[str, int]] = defaultdict(dict)  # file: sourcedId -> index
        self.rows: dict[str, list[int]] = defaultdict(list)  # file: row number per index
        self.deleted: dict[str, set[str]] = defaultdict(set)
        self.usernames: dict[str, int] = {}
        self.kind: list[str] = []  # per user: student, staff, guardian ("" when unknown)

    # --- files ---------------------------------------------------------------------------------

    def read_all(self) -> None:
        if not self._manifest():
            return
        # Headers first: rows under a wrong header cannot be read, and every reference to them
        # would be reported too.
        for file in READ_ORDER:
            if file in self.members:
                next(self._records(file, *self._sheet(file)), None)
        if self.problems.shown:
            return
        for file in READ_ORDER:
            if file in self.members:
                getattr(self, f"_{file}")()
            if file == ("users" if self.version == "1.1" else "roles"):
                self._people()

    def _manifest(self) -> bool:
        files = [i for i in self.zf.infolist() if not i.is_dir()]
        manifests = [i for i in files if i.filename.rsplit("/", 1)[-1] == "manifest.csv"]
        if not manifests:
            self.problems.add("manifest.csv", "not in the zip; a OneRoster bulk export has "
                              "manifest.csv (propertyName,value) beside its CSV files. Export "
                              "the district again as OneRoster 1.1 or 1.2 CSV")
            return False
        top = min(manifests, key=lambda i: i.filename.count("/"))  # a zip of a folder is fine
        prefix = top.filename[: -len("manifest.csv")]
        for info in files:
            rest = info.filename[len(prefix):]
            if info.filename.startswith(prefix) and rest.endswith(".csv") and "/" not in rest:
                self.members[rest[:-4]] = info
        props: dict[str, tuple[int, str]] = {}
        for n, values in self._records("manifest", ("propertyName", "value")):
            props[values[0]] = (n, values[1])
        n, version = props.get("oneroster.version", (0, ""))
        if not n:
            self.problems.add("manifest.csv", "no oneroster.version row; add one (value 1.1 or "
                              "1.2, the version the files follow)")
            return False
        if version not in ("1.1", "1.2"):
            self.problems.cell("manifest", n, "value", version, "not a oneroster.version "
                               "firstbell imports; export the district as OneRoster 1.1 or 1.2")
            return False
        self.version = version
        listed = set(MANIFEST_FILES[version])  # type: ignore[index]
        for prop, (n, value) in props.items():
            file = prop.removeprefix("file.")
            if not prop.startswith("file.") or file not in listed:
                continue
            if value not in ("bulk", "delta", "absent"):
                self.problems.cell("manifest", n, "value", value,
                                   f"not a file mode for {prop}; use bulk, delta or absent")
            elif value == "delta":
                self.problems.cell("manifest", n, "value", value, f"{file}.csv is a delta; "
                                   "seeding needs the whole district: export in bulk mode")
            elif value == "bulk" and file not in self.members:
                self.problems.cell("manifest", n, "value", value, f"{prop} is bulk but the zip "
                                   f"has no {file}.csv; add the file or mark it absent")
                listed.discard(file)  # reported once
            elif value == "absent":
                self.members.pop(file, None)
        for file in sorted(NEEDED[version] - set(self.members)):
            if file in listed:
                self.problems.add(f"{file}.csv", f"not in the zip (or marked absent); firstbell "
                                  f"needs {file}.csv to build the district: export it in bulk "
                                  "mode")
        skipped = sorted(set(self.members) - set(READ_ORDER) - {"manifest"})
        if skipped:
            self.notes.append(f"not imported (firstbell seeds rosters, not gradebooks or "
                              f"resources): {', '.join(f + '.csv' for f in skipped)}.")
        return True

    def _records(self, file: str, required: tuple[str, ...],
                 sheet: tuple[str, ...] | None = None) -> Iterator[tuple[int, list[str]]]:
        """Rows of `file` as value lists in `sheet`'s column order ("" for a column the file
        leaves out), after checking its header; `required` columns must be in the header."""
        info = self.members.get(file)
        if info is None:
            self.problems.add(f"{file}.csv", "not in the zip")
            return
        order = list(sheet or required)
        n = 1
        try:
            with self.zf.open(info) as raw:
                rows = csv.reader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""),
                                  strict=True)
                header = next(rows, None)
                header = header and [h.strip() for h in header]  # "role " is still role
                if header is None:
                    self.problems.add(f"{file}.csv", "empty; a CSV file starts with its header")
                if header is None or not self._header_ok(file, header, required, order):
                    return
                at = [header.index(c) if c in header else -1 for c in order]
                for n, values in enumerate(rows, start=2):
                    if not values:
                        continue  # a blank line
                    if len(values) != len(header):
                        self.problems.add(f"{file}.csv row {n}", f"{len(values)} fields but the "
                                          f"header has {len(header)}; quote values that hold a "
                                          "comma")
                        continue
                    nul = next((c for c, v in zip(header, values, strict=True) if "\0" in v),
                               None)
                    if nul is not None:  # PostgreSQL text cannot hold it: the load would fail
                        self.problems.add(f"{file}.csv row {n} column {nul}", "holds a NUL"
                                          " character (byte 0); remove it")
                        continue
                    yield n, [values[i] if i >= 0 else "" for i in at]
        except UnicodeDecodeError:
            self.problems.add(f"{file}.csv row {n + 1}", "not UTF-8 text; save it as UTF-8")
        except (csv.Error, zipfile.BadZipFile, OSError) as exc:
            self.problems.add(f"{file}.csv row {n + 1}", f"not readable CSV ({exc})")

    def _header_ok(self, file: str, header: list[str], required: tuple[str, ...],
                   sheet: list[str]) -> bool:
        ok = True
        other = HEADERS["1.2" if self.version == "1.1" else "1.1"].get(file, ())
        for i, column in enumerate(header):
            if column in header[:i]:
                self.problems.add(f"{file}.csv row 1 column {column}", "appears twice in the "
                                  "header; keep one")
                ok = False
            elif column not in sheet:
                hint = (f" (it is a OneRoster {'1.2' if self.version == '1.1' else '1.1'} "
                        "column: check oneroster.version in manifest.csv)"
                        if column in other else "")
                self.problems.add(f"{file}.csv row 1 column {column}", f"not a column of "
                                  f"{file}.csv in OneRoster {self.version or '1.x'}{hint}; "
                                  f"remove it or fix its spelling ({', '.join(sheet)})")
                ok = False
        for column in required:
            if column not in header:
                self.problems.add(f"{file}.csv row 1 column {column}", "required column "
                                  "missing from the header; add it")
                ok = False
        return ok

    def _sheet(self, file: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The required columns and the whole header of a data file in this version."""
        required = _REQUIRED[file] + (("orgSourcedIds", "role") if file == "users"
                                      and self.version == "1.1" else ())
        return required, HEADERS[self.version][file]  # type: ignore[index]

    def _rows(self, file: str) -> Iterator[tuple[int, dict[str, str]]]:
        """Kept rows of a data file as dicts; each row's sourcedId is registered first."""
        required, sheet = self._sheet(file)
        for n, values in self._records(file, required, sheet):
            row = dict(zip(sheet, values, strict=True))
            if self._register(file, n, row):
                yield n, row

    def _register(self, file: str, n: int, row: dict[str, str]) -> bool:
        sid, status = row["sourcedId"], row["status"]
        if status not in cells.STATUSES:
            self.problems.cell(file, n, "status", status, cells.STATUS_WHY)
        modified = row["dateLastModified"]
        if modified and not cells.ISO_DATETIME.fullmatch(modified):
            self.problems.cell(file, n, "dateLastModified", modified, cells.DATETIME_WHY)
        if not sid:
            self.problems.cell(file, n, "sourcedId", sid, "required; every row needs one")
            return False
        first = self.ids[file].get(sid)
        if first is not None or sid in self.deleted[file]:
            where = f"row {self.rows[file][first]}" if first is not None else "another row"
            self.problems.cell(file, n, "sourcedId", sid, f"already used by {where}; "
                               f"sourcedIds must be unique within {file}.csv")
            return False
        if status == "tobedeleted":
            self.deleted[file].add(sid)
            return False
        self.ids[file][sid] = len(self.rows[file])
        self.rows[file].append(n)
        self.cols[file]["sid"].append(sid)
        return True

    # --- cells ---------------------------------------------------------------------------------

    def _need(self, file: str, n: int, row: dict[str, str], column: str) -> str:
        value = row[column]
        if not value:
            self.problems.cell(file, n, column, value, f"required; every {file}.csv row needs "
                               f"a {column}")
        return value

    def _enum(self, file: str, n: int, row: dict[str, str], column: str,
              allowed: frozenset[str], required: bool = True) -> str:
        value = row[column]
        if not value:
            return self._need(file, n, row, column) if required else ""
        if value not in allowed:
            self.problems.cell(file, n, column, value,
                               cells.enum_why(self.version, file, column, allowed))
            return ""
        return value

    def _date(self, file: str, n: int, row: dict[str, str], column: str,
              required: bool = False) -> dt.date | None:
        value = row[column]
        date = cells.parse_date(value)  # None when empty
        if not value and required:
            self._need(file, n, row, column)
        elif value and date is None:
            self.problems.cell(file, n, column, value, cells.DATE_WHY)
        return date

    def _bool(self, file: str, n: int, row: dict[str, str], column: str,
              required: bool = False) -> bool | None:
        value = row[column]
        flag = cells.parse_bool(value)  # None when empty
        if flag is None and (value or required):  # an empty required cell is not a boolean
            self.problems.cell(file, n, column, value, cells.BOOL_WHY)
        return flag

    def _ref(self, file: str, n: int, row: dict[str, str], column: str, target: str,
             required: bool = True) -> int:
        """Row index of the referenced record; -1 when absent or unknown (reported)."""
        value = row[column]
        if not value and required:
            self._need(file, n, row, column)
        return self._resolve(file, n, column, value, target) if value else -1

    def _refs(self, file: str, n: int, row: dict[str, str], column: str, target: str,
              required: bool = True) -> list[int]:
        items = cells.split(row[column])
        if not items and required:
            self._need(file, n, row, column)
        return [i for i in (self._resolve(file, n, column, v, target) for v in items) if i >= 0]

    def _resolve(self, file: str, n: int, column: str, value: str, target: str) -> int:
        i = self.ids[target].get(value)
        if i is not None:
            return i
        why = (f"refers to a {target}.csv record marked tobedeleted; remove the reference"
               if value in self.deleted[target] else
               f"no {target}.csv record has this sourcedId; add it there or fix the reference")
        self.problems.cell(file, n, column, value, why)
        return -1

    def _grade(self, file: str, n: int, row: dict[str, str], column: str) -> int | None:
        """The first grade of the list (our code), None when there is none."""
        items = cells.split(row[column])
        for item in cells.bad_grades(items):
            self.problems.cell(file, n, column, item, cells.GRADE_WHY)
        return cells.GRADES.get(items[0]) if items else None

    def _school(self, file: str, n: int, row: dict[str, str], column: str) -> int:
        """The school (0-based school number) of a referenced org, -1 if it is not one."""
        org = self._ref(file, n, row, column, "orgs")
        if org >= 0 and self.org_school[org] < 0:
            kind = self.cols["orgs"]["type"][org] or "org of unknown type"
            self.problems.cell(file, n, column, row[column], f"org is a {kind}, not a school "
                               "(or a department of one); refer to the school")
        return self.org_school[org] if org >= 0 else -1

    def _put(self, file: str, **values: Any) -> None:
        cols = self.cols[file]
        for key, value in values.items():
            cols[key].append(value)

    # --- one method per file, in READ_ORDER ----------------------------------------------------

    def _orgs(self) -> None:
        parents: list[tuple[int, str]] = []
        for n, row in self._rows("orgs"):
            self._put("orgs", name=self._need("orgs", n, row, "name"),
                      type=self._enum("orgs", n, row, "type", cells.ORG_TYPES),
                      identifier=row["identifier"])
            parents.append((n, row["parentSourcedId"]))
        parent = [self._resolve("orgs", n, "parentSourcedId", p, "orgs") if p else -1
                  for n, p in parents]
        kinds = self.cols["orgs"]["type"]
        self.schools = [i for i, t in enumerate(kinds) if t == "school"]
        number = {org: k for k, org in enumerate(self.schools)}
        self.org_school: list[int] = []
        for org in range(len(kinds)):
            hops = 0  # a department belongs to the school above it
            while org >= 0 and kinds[org] == "department" and hops < 10:
                org, hops = parent[org], hops + 1
            self.org_school.append(number.get(org, -1))

    def _academicSessions(self) -> None:
        f = "academicSessions"
        parents: list[tuple[int, str]] = []
        for n, row in self._rows(f):
            start = self._date(f, n, row, "startDate", required=True)
            end = self._date(f, n, row, "endDate", required=True)
            if start and end and end < start:
                self.problems.cell(f, n, "endDate", row["endDate"], f"before the startDate "
                                   f"{start}; swap them or fix the date")
            year = self._need(f, n, row, "schoolYear")
            if year and cells.parse_year(year) is None:
                self.problems.cell(f, n, "schoolYear", year, cells.YEAR_WHY)
            self._put(f, title=self._need(f, n, row, "title"),
                      type=self._enum(f, n, row, "type", cells.SESSION_TYPES), start=start, end=end,
                      year=cells.parse_year(year))
            parents.append((n, row["parentSourcedId"]))
        self.cols[f]["parent"] = [self._resolve(f, n, "parentSourcedId", p, f) if p else -1
                                  for n, p in parents]

    def _courses(self) -> None:
        f = "courses"
        for n, row in self._rows(f):
            self._ref(f, n, row, "schoolYearSourcedId", "academicSessions", required=False)
            self._ref(f, n, row, "orgSourcedId", "orgs")
            self._put(f, title=self._need(f, n, row, "title"), code=row["courseCode"] or None,
                      grade=self._grade(f, n, row, "grades"),
                      subject=cells.first(row["subjects"]))

    def _users(self) -> None:
        f = "users"
        self.agents: list[tuple[int, str]] = []
        for n, row in self._rows(f):
            enabled = self._bool(f, n, row, "enabledUser", required=True)
            username = self._need(f, n, row, "username")
            if len(username) > cells.MAX_USERNAME:
                self.problems.cell(f, n, "username", username, cells.USERNAME_WHY)
            elif username in self.usernames:
                self.problems.cell(f, n, "username", username, f"already the username of row "
                                   f"{self.usernames[username]}; usernames must be unique (each "
                                   "one is a login)")
            elif username:
                self.usernames[username] = n
            if self.version == "1.1":
                role = self._enum(f, n, row, "role", USER_ROLES["1.1"])
                orgs = self._refs(f, n, row, "orgSourcedIds", "orgs")
            else:
                role = ""  # from roles.csv
                primary = self._ref(f, n, row, "primaryOrgSourcedId", "orgs", required=False)
                orgs = [primary] if primary >= 0 else []
            self._put(f, enabled=enabled is not False, username=username, role=role, orgs=orgs,
                      given=self._need(f, n, row, "givenName"),
                      family=self._need(f, n, row, "familyName"),
                      identifier=row["identifier"] or None, email=row["email"] or None,
                      phone=row["phone"] or row["sms"] or None,
                      grade=self._grade(f, n, row, "grades"), demographics=None)
            self.agents.append((n, row["agentSourcedIds"]))

    def _roles(self) -> None:
        f, users = "roles", self.cols["users"]
        primary_at: dict[int, int] = {}
        for n, row in self._rows(f):
            user = self._ref(f, n, row, "userSourcedId", "users")
            kind = self._enum(f, n, row, "roleType", cells.ROLE_TYPES)
            role = self._enum(f, n, row, "role", USER_ROLES["1.2"])
            org = self._ref(f, n, row, "orgSourcedId", "orgs")
            self._date(f, n, row, "beginDate")
            self._date(f, n, row, "endDate")
            if user < 0 or not kind or not role:
                continue
            if kind == "secondary":
                users["orgs"][user].append(org)
            elif user in primary_at:
                self.problems.cell(f, n, "roleType", kind, f"the user already has a primary "
                                   f"role at row {primary_at[user]}; make one of them secondary")
            else:
                primary_at[user] = n
                users["role"][user] = role
                users["orgs"][user].insert(0, org)  # the primary role's org comes first

    def _people(self) -> None:
        """Each user's kind, school and our staff role; then the agents (guardian links)."""
        users, f = self.cols["users"], "users"
        self.user_school: list[int] = []
        numbers: dict[str, int] = {}  # student number -> row: a unique key in the SIS
        for u, role in enumerate(users["role"]):
            kind = cells.user_kind(role)
            if not role and self.version == "1.2":
                self.problems.cell(f, self.rows[f][u], "sourcedId", users["sid"][u], "no "
                                   "primary role in roles.csv; add a roles.csv row with "
                                   "roleType primary for this user")
            school = next((self.org_school[o] for o in users["orgs"][u]
                           if o >= 0 and self.org_school[o] >= 0), -1)
            if kind == "student" and school < 0:
                column = "orgSourcedIds" if self.version == "1.1" else "sourcedId"
                self.problems.cell(f, self.rows[f][u], column, users["sid"][u], "a student "
                                   "must belong to a school, and none of this student's orgs "
                                   "is a school (or a department of one); add the school")
            if kind == "student":
                number = users["identifier"][u] or users["sid"][u]
                if number in numbers:
                    self.problems.cell(f, self.rows[f][u], "identifier", number, f"the "
                                       f"student number of row {numbers[number]} too; a "
                                       "student's identifier must be unique")
                numbers.setdefault(number, self.rows[f][u])
            self.kind.append(kind)
            self.user_school.append(school)
        self.links: dict[tuple[int, int], int] = {}  # (student, guardian): order of listing
        for u, (n, text) in enumerate(self.agents):
            for value in cells.split(text):
                agent = self._resolve(f, n, "agentSourcedIds", value, "users")
                if agent < 0 or self.kind[u] in ("", "staff") or not self.kind[agent]:
                    continue  # staff's agents are not modelled; a missing role is reported
                want = "guardian" if self.kind[u] == "student" else "student"
                if self.kind[agent] != want:
                    self.problems.cell(f, n, "agentSourcedIds", value, f"the agents of a "
                                       f"{self.kind[u]} must be {want}s; this one is a "
                                       f"{self.kind[agent]} (row "
                                       f"{self.rows[f][agent]})")
                    continue
                pair = (u, agent) if want == "guardian" else (agent, u)
                self.links.setdefault(pair, len(self.links))

    def _demographics(self) -> None:
        f, users = "demographics", self.cols["users"]
        for n, row in self._rows(f):
            user = self._resolve(f, n, "sourcedId", row["sourcedId"], "users")
            birth = self._date(f, n, row, "birthDate")
            sex = self._enum(f, n, row, "sex", SEXES[self.version], required=False)  # type: ignore[index]
            flags = {code: self._bool(f, n, row, column) for code, column in RACE_COLUMNS.items()}
            if user >= 0:
                users["demographics"][user] = Demographics(birth, sex or None,
                                                          cells.race(flags))

    def _classes(self) -> None:
        f = "classes"
        self.unnumbered: list[int] = []
        for n, row in self._rows(f):
            terms = self._refs(f, n, row, "termSourcedIds", "academicSessions")
            self._put(f, title=self._need(f, n, row, "title"), term=terms[0] if terms else -1,
                      grade=self._grade(f, n, row, "grades"),
                      course=self._ref(f, n, row, "courseSourcedId", "courses"),
                      type=self._enum(f, n, row, "classType", cells.CLASS_TYPES),
                      room=row["location"] or None, school=self._school(f, n, row,
                                                                        "schoolSourcedId"),
                      subject=cells.first(row["subjects"]), period=self._period(n, row),
                      teacher=-1, primary=False)
        if self.unnumbered:
            self.notes.append(f"{len(self.unnumbered)} classes have periods without a number "
                              f"(classes.csv rows {', '.join(map(str, self.unnumbered[:5]))}"
                              f"{', …' if len(self.unnumbered) > 5 else ''}): they are given "
                              "period 0 (all day).")

    def _period(self, n: int, row: dict[str, str]) -> int:
        """The class's first period as a number; 0 (all day) when it has none."""
        value = cells.first(row["periods"]) or ""
        number = cells.period_number(value)
        if value and number is None:
            self.unnumbered.append(n)
        if number is not None and number > cells.MAX_PERIOD:
            self.problems.cell("classes", n, "periods", value, cells.PERIOD_WHY)
            return 0
        return number or 0

    def _enrollments(self) -> None:
        f, classes = "enrollments", self.cols["classes"]
        seen: dict[tuple[int, int], int] = {}
        ignored = co_teachers = 0
        for n, row in self._rows(f):
            section = self._ref(f, n, row, "classSourcedId", "classes")
            school = self._school(f, n, row, "schoolSourcedId")
            user = self._ref(f, n, row, "userSourcedId", "users")
            role = self._enum(f, n, row, "role", cells.ENROLLMENT_ROLES)
            primary = self._bool(f, n, row, "primary")
            self._date(f, n, row, "beginDate")
            self._date(f, n, row, "endDate")
            if section < 0 or user < 0 or not self.kind[user] or role not in ("student",
                                                                              "teacher"):
                ignored += role in ("administrator", "proctor")
                continue
            want = "student" if role == "student" else "staff"
            if self.kind[user] != want:
                self.problems.cell(f, n, "userSourcedId", row["userSourcedId"], f"enrolled as "
                                   f"{role} but the user is a {self.kind[user]} (users.csv row "
                                   f"{self.rows['users'][user]}); fix the role")
            elif role == "student":
                if (section, user) in seen:
                    self.problems.cell(f, n, "userSourcedId", row["userSourcedId"], f"already "
                                       f"enrolled in this class at row {seen[section, user]}; "
                                       "keep one enrollment per student and class")
                else:
                    seen[section, user] = n
                    self._put(f, section=section, student=user, school=school)
            elif classes["teacher"][section] < 0 or (primary and not classes["primary"][section]):
                co_teachers += classes["teacher"][section] >= 0
                classes["teacher"][section], classes["primary"][section] = user, bool(primary)
            else:
                co_teachers += 1
        if co_teachers:
            self.notes.append(f"{co_teachers} co-teacher enrollments not imported: a section "
                              "has one teacher in firstbell (the primary one).")
        if ignored:
            self.notes.append(f"{ignored} administrator/proctor enrollments not imported.")

    def district_name(self, fallback: str) -> str:
        orgs = self.cols["orgs"]
        return next((name for name, t in zip(orgs["name"], orgs["type"], strict=True)
                     if t == "district"), fallback)
