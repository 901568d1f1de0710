"""OneRoster CSV import: a district's own OneRoster 1.1 or 1.2 bulk zip as the staging district.

This module owns reading the zip (manifest first, then each file's header against the sheet of
its version, ``shared/domain/oneroster.md``), validating every row (required fields,
enumerations, dates, references, unique sourcedIds, and what the SIS's keys need, such as unique
usernames), reporting every problem with its file, row and column, and converting the rows to
firstbell's canonical tables (a `District` with the generator's tables, columns and types) plus
the map from the district's sourcedIds to our ids (``sis.oneroster_ids``). Loading is
`staging.seed.seed_district`'s, the generator's path, after everything has been checked.

Files are read in dependency order, so every reference to another file resolves to a row index
as its row is read and only compact columns are kept. Rows are numbered as a spreadsheet shows
them: the header is row 1. Passwords in the export are never read: accounts get passwords drawn
from ``--seed``, as generated accounts do.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
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
from fake_data.export_oneroster import HEADERS, MANIFEST_FILES, RACE_COLUMNS, SEXES, USER_ROLES
from fake_data.pgload import copy_table
from fake_data.profile import DistrictInfo, Profile
from fake_data.students import access_codes
from fake_data.userpool import write_userpool
from firstbell.errors import UserError
from staging.config import SCHEMA
from staging.seed import Progress, SeedResult, seed_district

MAX_ERRORS = 50
MAX_USERNAME = 320  # the longest username the login endpoint accepts
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
ORG_TYPES = frozenset({"department", "school", "district", "local", "state", "national"})
SESSION_TYPES = frozenset({"gradingPeriod", "semester", "schoolYear", "term"})
CLASS_TYPES = frozenset({"homeroom", "scheduled"})
ENROLLMENT_ROLES = frozenset({"administrator", "proctor", "student", "teacher"})
ROLE_TYPES = frozenset({"primary", "secondary"})
GUARDIAN_ROLES = frozenset({"parent", "guardian", "relative"})
# CEDS grade levels to our codes (PK -1, K 0, 1..12); beyond 12 or ungraded: no grade.
GRADES: dict[str, int | None] = {
    "IT": -1, "PR": -1, "PK": -1, "TK": 0, "KG": 0, **{f"{g:02d}": g for g in range(1, 13)},
    "13": None, "PS": None, "UG": None, "Other": None,
}
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
ISO_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?")


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
        with pa.OSFile(str(tmp), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(tmp, path)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest.update(synthetic=False, note=imported.note, source=imported.meta()["source"],
                    sha256=imported.sha256)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n",
                             encoding="utf-8")
    return counts


class Problems:
    """Every problem found, the first `MAX_ERRORS` in full, then how many more."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.shown: list[str] = []
        self.more = 0

    def add(self, where: str, why: str) -> None:
        if len(self.shown) < MAX_ERRORS:
            self.shown.append(f"{where}: {why}")
        else:
            self.more += 1

    def cell(self, file: str, row: int, column: str, value: str, why: str) -> None:
        shown = value if len(value) <= 60 else value[:57] + "..."
        self.add(f"{file}.csv row {row} column {column}", f"value '{shown}' — {why}")

    def raise_any(self) -> None:
        if not self.shown:
            return
        total = len(self.shown) + self.more
        more = f"\n  … and {self.more} more" if self.more else ""
        raise UserError(
            f"{self.source}: {total} problem{'s' if total > 1 else ''}, nothing was loaded:\n"
            + "\n".join(f"  {s}" for s in self.shown) + more
            + "\nFix them in the district's export (or in the CSV files of the zip) and import "
            "again.")


def read_oneroster(path: Path, seed: int = 42) -> Imported:
    """Read and check a OneRoster bulk zip; raises `UserError` listing every problem."""
    path = Path(path)
    check_seed(seed)
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
        # Only what describes the district is known: no calendar, levels or shares to generate
        # from (so no generated history for an imported district).
        info: dict[str, Any] = {"name": reader.district_name(path.stem), "city": None,
                                "state": None, "postcode_range": None, "area_codes": []}
        fields: dict[str, Any] = {
            "name": f"import:{path.name}", "basis": {}, "district":
            DistrictInfo.model_construct(**info), "description":
            f"Imported from the OneRoster {reader.version} bulk file {path.name}."}
        profile = Profile.model_construct(**fields)
        note = import_note(reader.version, path.name, digest.hexdigest())
        district, ids, taught, notes = _build(reader, profile, seed, note)
    return Imported(district, ids, taught, reader.version, path.name, digest.hexdigest(),
                    tuple(reader.notes + notes))


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
        if status not in ("", "active", "tobedeleted"):
            self.problems.cell(file, n, "status", status, "use active, tobedeleted or leave it "
                               "empty (bulk files)")
        if row["dateLastModified"] and not ISO_DATETIME.fullmatch(row["dateLastModified"]):
            self.problems.cell(file, n, "dateLastModified", row["dateLastModified"],
                               "not an ISO 8601 date-time (2019-04-22T08:00:00Z); or leave it "
                               "empty")
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
            self.problems.cell(file, n, column, value, f"not a OneRoster {self.version} "
                               f"{file}.{column} value; use one of {', '.join(sorted(allowed))}")
            return ""
        return value

    def _date(self, file: str, n: int, row: dict[str, str], column: str,
              required: bool = False) -> dt.date | None:
        value = row[column]
        if not value:
            if required:
                self._need(file, n, row, column)
            return None
        if ISO_DATE.fullmatch(value):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                pass
        self.problems.cell(file, n, column, value, "not a date; write dates as YYYY-MM-DD "
                           "(ISO 8601), e.g. 2019-04-22")
        return None

    def _bool(self, file: str, n: int, row: dict[str, str], column: str,
              required: bool = False) -> bool | None:
        value = row[column]
        if not value and not required:
            return None
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        self.problems.cell(file, n, column, value, "use true or false")
        return None

    def _ref(self, file: str, n: int, row: dict[str, str], column: str, target: str,
             required: bool = True) -> int:
        """Row index of the referenced record; -1 when absent or unknown (reported)."""
        value = row[column]
        if not value:
            if required:
                self._need(file, n, row, column)
            return -1
        return self._resolve(file, n, column, value, target)

    def _refs(self, file: str, n: int, row: dict[str, str], column: str, target: str,
              required: bool = True) -> list[int]:
        items = split(row[column])
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
        items = split(row[column])
        for item in items:
            if item not in GRADES:
                self.problems.cell(file, n, column, item, "not a CEDS grade level; use PK, KG, "
                                   "01..12 (or IT, PR, TK, 13, PS, UG, Other)")
        return GRADES.get(items[0]) if items else None

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
                      type=self._enum("orgs", n, row, "type", ORG_TYPES),
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
            if year and not (year.isdigit() and len(year) == 4):
                self.problems.cell(f, n, "schoolYear", year, "not a year; use four digits, "
                                   "e.g. 2019 for 2018-19")
            self._put(f, title=self._need(f, n, row, "title"),
                      type=self._enum(f, n, row, "type", SESSION_TYPES), start=start, end=end,
                      year=int(year) if year.isdigit() and len(year) == 4 else None)
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
                      subject=first(row["subjects"]))

    def _users(self) -> None:
        f = "users"
        self.agents: list[tuple[int, str]] = []
        for n, row in self._rows(f):
            enabled = self._bool(f, n, row, "enabledUser", required=True)
            username = self._need(f, n, row, "username")
            if len(username) > MAX_USERNAME:
                self.problems.cell(f, n, "username", username, f"longer than {MAX_USERNAME} "
                                   "characters, too long to log in with; shorten it")
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
            kind = self._enum(f, n, row, "roleType", ROLE_TYPES)
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
            kind = ("" if not role else "student" if role == "student" else
                    "guardian" if role in GUARDIAN_ROLES else "staff")
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
            for value in split(text):
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
            races = [code for code, on in flags.items() if on and code != "hispanic"]
            race = ("hispanic" if flags["hispanic"] else races[0] if len(races) == 1 else
                    "multiracial" if races else None)
            if user >= 0:
                users["demographics"][user] = (birth, sex or None, race)

    def _classes(self) -> None:
        f = "classes"
        self.unnumbered: list[int] = []
        for n, row in self._rows(f):
            self._refs(f, n, row, "termSourcedIds", "academicSessions")
            self._put(f, title=self._need(f, n, row, "title"),
                      grade=self._grade(f, n, row, "grades"),
                      course=self._ref(f, n, row, "courseSourcedId", "courses"),
                      type=self._enum(f, n, row, "classType", CLASS_TYPES),
                      room=row["location"] or None, school=self._school(f, n, row,
                                                                        "schoolSourcedId"),
                      subject=first(row["subjects"]), period=self._period(n, row),
                      teacher=-1, primary=False)
        if self.unnumbered:
            self.notes.append(f"{len(self.unnumbered)} classes have periods without a number "
                              f"(classes.csv rows {', '.join(map(str, self.unnumbered[:5]))}"
                              f"{', …' if len(self.unnumbered) > 5 else ''}): they are given "
                              "period 0 (all day).")

    def _period(self, n: int, row: dict[str, str]) -> int:
        """The class's first period as a number; 0 (all day) when it has none."""
        value = first(row["periods"]) or ""
        digits = re.search(r"\d+", value)
        if value and not digits:
            self.unnumbered.append(n)
        if digits and int(digits.group()) > 127:
            self.problems.cell("classes", n, "periods", value, "period numbers go up to 127")
            return 0
        return int(digits.group()) if digits else 0

    def _enrollments(self) -> None:
        f, classes = "enrollments", self.cols["classes"]
        seen: dict[tuple[int, int], int] = {}
        ignored = co_teachers = 0
        for n, row in self._rows(f):
            section = self._ref(f, n, row, "classSourcedId", "classes")
            school = self._school(f, n, row, "schoolSourcedId")
            user = self._ref(f, n, row, "userSourcedId", "users")
            role = self._enum(f, n, row, "role", ENROLLMENT_ROLES)
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


def split(value: str) -> list[str]:
    """A OneRoster list cell: comma-separated values in one field."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def first(value: str) -> str | None:
    items = split(value)
    return items[0] if items else None


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
                 ("enrolled", _I16)),
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


def _build(r: Reader, profile: Profile, seed: int,
           note: str) -> tuple[District, pa.Table, int, list[str]]:
    """The canonical tables, the sourcedId map, and the sections with a teacher (1..taught)."""
    users, orgs, classes = r.cols["users"], r.cols["orgs"], r.cols["classes"]
    sessions, courses, enrollments = r.cols["academicSessions"], r.cols["courses"], \
        r.cols["enrollments"]
    notes: list[str] = []
    people: dict[str, list[int]] = {"student": [], "staff": [], "guardian": []}
    our = [0] * len(r.kind)  # user index -> id within its kind
    for u, kind in enumerate(r.kind):
        people[kind].append(u)
        our[u] = len(people[kind])
    n_schools = len(r.schools)

    # Sections: the ones with a teacher first, so the user pool can leave the others out.
    n_cls = len(classes["sid"])
    order = sorted(range(n_cls), key=lambda c: classes["teacher"][c] < 0)
    taught = sum(1 for c in range(n_cls) if classes["teacher"][c] >= 0)
    if taught < n_cls:
        notes.append(f"{n_cls - taught} classes have no teacher enrollment: their sections have "
                     "no teacher.")
    section_id = [0] * n_cls
    for k, c in enumerate(order):
        section_id[c] = k + 1
    enrolled = [0] * n_cls
    for c in enrollments["section"]:
        enrolled[c] += 1
    first_class: dict[int, int] = {}  # teacher user -> their first section
    for c in order:
        first_class.setdefault(classes["teacher"][c], c)

    # Schools: level, grades and periods from their students and classes.
    st_grades: list[list[int]] = [[] for _ in range(n_schools)]
    cls_grades: list[list[int]] = [[] for _ in range(n_schools)]
    periods = [0] * n_schools
    for u in people["student"]:
        if users["grade"][u] is not None:
            st_grades[r.user_school[u]].append(users["grade"][u])
    for c in range(n_cls):
        grade = classes["grade"][c]
        grade = courses["grade"][classes["course"][c]] if grade is None else grade
        classes["grade"][c] = grade
        if grade is not None:
            cls_grades[classes["school"][c]].append(grade)
        periods[classes["school"][c]] = max(periods[classes["school"][c]], classes["period"][c])
    school: dict[str, list[Any]] = defaultdict(list)
    for k, org in enumerate(r.schools):
        grades = st_grades[k] or cls_grades[k] or [-1, 12]
        high = max(grades) >= 9
        school["school_id"].append(k + 1)
        school["school_code"].append(orgs["identifier"][org] or orgs["sid"][org])
        school["name"].append(orgs["name"][org])
        school["level"].append("high" if high else "elementary")
        school["grade_low"].append(min(grades))
        school["grade_high"].append(max(grades))
        school["periods"].append(periods[k] or (8 if high else 7))
        school["students"].append(len(st_grades[k]))
    for column in ("governance", "street", "city", "state", "postcode", "phone"):
        school[column] = [None] * n_schools

    # Households: students who share a guardian share a household (union-find).
    n_st, n_g = len(people["student"]), len(people["guardian"])
    root = list(range(n_st + n_g))

    def find(x: int) -> int:
        while root[x] != x:
            root[x] = root[root[x]]
            x = root[x]
        return x

    links = sorted(r.links, key=lambda p: (our[p[0]], r.links[p]))
    for s, g in links:
        root[find(our[s] - 1)] = find(n_st + our[g] - 1)
    numbers: dict[int, int] = {}
    household = [numbers.setdefault(find(x), len(numbers) + 1) for x in range(n_st + n_g)]
    phones: dict[int, str | None] = {}
    for k, u in enumerate(people["guardian"]):
        if phones.get(household[n_st + k]) is None:
            phones[household[n_st + k]] = users["phone"][u]

    def demo(u: int, i: int) -> Any:
        d = users["demographics"][u]
        return d[i] if d else None

    st: dict[str, list[Any]] = {"student_id": list(range(1, n_st + 1)),
          "student_number": [users["identifier"][u] or users["sid"][u] for u in people["student"]],
          "school_id": [r.user_school[u] + 1 for u in people["student"]],
          "grade": [users["grade"][u] for u in people["student"]],
          "first_name": [users["given"][u] for u in people["student"]],
          "last_name": [users["family"][u] for u in people["student"]],
          "sex": [demo(u, 1) for u in people["student"]],
          "birth_date": [demo(u, 0) for u in people["student"]],
          "race": [demo(u, 2) for u in people["student"]],
          "household_id": household[:n_st]}
    for column in ("economically_disadvantaged", "english_learner", "iep"):
        st[column] = [False] * n_st  # not in OneRoster: the SIS's default
    # OneRoster has no access codes (the paper letter a parent links a child with): drawn from
    # the seed as generated ones are, so the user pool knows them.
    st["access_code"] = access_codes(seed, n_st).to_pylist()
    relationship = []
    for u in people["guardian"]:
        role, sex = users["role"][u], demo(u, 1)
        relationship.append(role if role != "parent" else
                            {"female": "mother", "male": "father"}.get(sex, "guardian"))
    seen_email: set[str] = set()
    duplicate = []
    for u in people["guardian"]:
        email = (users["email"][u] or "").lower()
        duplicate.append(bool(email) and email in seen_email)
        seen_email.add(email)
    gd: dict[str, list[Any]] = {
          "guardian_id": list(range(1, n_g + 1)), "household_id": household[n_st:],
          "first_name": [users["given"][u] for u in people["guardian"]],
          "last_name": [users["family"][u] for u in people["guardian"]],
          "sex": [demo(u, 1) for u in people["guardian"]], "relationship": relationship,
          "email": [users["email"][u] for u in people["guardian"]], "duplicate_email": duplicate,
          "phone": [users["phone"][u] for u in people["guardian"]]}
    is_first = [i == 0 or links[i - 1][0] != s for i, (s, _) in enumerate(links)]
    gl: dict[str, list[Any]] = {
          "student_id": [our[s] for s, _ in links], "guardian_id": [our[g] for _, g in links],
          "relationship": [relationship[our[g] - 1] for _, g in links],
          "is_primary": is_first, "portal_access": [True] * len(links)}

    sf: dict[str, list[Any]] = defaultdict(list)
    for k, u in enumerate(people["staff"]):
        school_id = r.user_school[u] + 1
        if school_id == 0 and u in first_class:  # a teacher belongs where they teach
            school_id = classes["school"][first_class[u]] + 1
        sf["staff_id"].append(k + 1)
        sf["employee_number"].append(users["identifier"][u] or users["sid"][u])
        sf["school_id"].append(school_id)
        sf["role"].append(_staff_role(users["role"][u], school_id))
        sf["first_name"].append(users["given"][u])
        sf["last_name"].append(users["family"][u])
        sf["sex"].append(demo(u, 1))
        sf["email"].append(users["email"][u])
        sf["room"].append(classes["room"][first_class[u]] if u in first_class else None)
        sf["status"].append("active" if users["enabled"][u] else "terminated")
    for column in ("hire_date", "termination_date", "last_login_date"):
        sf[column] = [None] * len(people["staff"])

    sec: dict[str, list[Any]] = defaultdict(list)
    teams: dict[tuple[int, int], int] = defaultdict(int)
    for c in order:
        key = (classes["school"][c], classes["course"][c])
        teams[key] += 1
        teacher = classes["teacher"][c]
        sec["section_id"].append(section_id[c])
        sec["school_id"].append(classes["school"][c] + 1)
        sec["course_id"].append(classes["course"][c] + 1)
        sec["teacher_id"].append(our[teacher] if teacher >= 0 else None)
        sec["grade"].append(classes["grade"][c])
        sec["subject"].append(classes["subject"][c] or courses["subject"][classes["course"][c]])
        sec["class_type"].append(classes["type"][c])
        sec["period"].append(classes["period"][c])
        sec["team"].append(teams[key])
        sec["room"].append(classes["room"][c])
        sec["capacity"].append(max(enrolled[c], MIN_CAPACITY))
        sec["enrolled"].append(enrolled[c])

    acc: dict[str, list[Any]] = defaultdict(list)
    for kind in ("student", "staff", "guardian"):
        for u in people[kind]:
            acc["person_type"].append(kind)
            acc["person_id"].append(our[u])
            acc["username"].append(users["username"][u])
            acc["email"].append(users["email"][u])
            acc["role"].append(sf["role"][our[u] - 1] if kind == "staff" else kind)
            acc["status"].append("active" if users["enabled"][u] else "disabled")
    acc["user_id"] = list(range(1, len(acc["username"]) + 1))
    acc["password"] = passwords(seed, len(acc["username"])).to_pylist()

    tables = {
        "district": _table("district", {
            "district_id": [1], "name": [profile.district.name], "city": [None],
            "state": [None], "profile": [profile.name], "scale": [1.0], "seed": [seed],
            "synthetic_note": [note]}),
        "schools": _table("schools", school),
        "academic_sessions": _table("academic_sessions", {
            "session_id": list(range(1, len(sessions["sid"]) + 1)),
            "title": sessions["title"], "type": sessions["type"],
            "start_date": sessions["start"], "end_date": sessions["end"],
            "parent_id": [p + 1 if p >= 0 else None for p in sessions["parent"]],
            "school_year": sessions["year"]}),
        "courses": _table("courses", {
            "course_id": list(range(1, len(courses["sid"]) + 1)),
            "course_code": courses["code"], "title": courses["title"],
            "subject": courses["subject"], "grade": courses["grade"],
            "level": [None if g is None else "high" if g >= 9 else "elementary"
                      for g in courses["grade"]]}),
        "students": _table("students", st),
        "households": _table("households", {
            "household_id": list(range(1, len(numbers) + 1)),
            **{c: [None] * len(numbers) for c in ("street", "city", "state", "postcode")},
            "phone": [phones.get(h) for h in range(1, len(numbers) + 1)]}),
        "guardians": _table("guardians", gd),
        "guardian_links": _table("guardian_links", gl),
        "staff": _table("staff", sf),
        "sections": _table("sections", sec),
        "enrollments": _table("enrollments", {
            "section_id": [section_id[c] for c in enrollments["section"]],
            "student_id": [our[u] for u in enrollments["student"]],
            "school_id": [s + 1 for s in enrollments["school"]]}),
        "accounts": _table("accounts", acc),
    }
    ids: dict[str, list[Any]] = defaultdict(list)

    def mapped(kind: str, sids: list[str], numbers_: list[int]) -> None:
        ids["kind"] += [kind] * len(sids)
        ids["sourced_id"] += sids
        ids["id"] += numbers_

    top = [s for s, t in zip(orgs["sid"], orgs["type"], strict=True) if t == "district"][:1]
    mapped("district", top, [1] * len(top))
    mapped("school", [orgs["sid"][o] for o in r.schools], list(range(1, n_schools + 1)))
    mapped("session", sessions["sid"], list(range(1, len(sessions["sid"]) + 1)))
    mapped("course", courses["sid"], list(range(1, len(courses["sid"]) + 1)))
    mapped("class", classes["sid"], section_id)
    for kind, us in people.items():
        mapped(kind, [users["sid"][u] for u in us], [our[u] for u in us])
    sourced = pa.table({"kind": pa.array(ids["kind"], _S), "sourced_id": pa.array(
        ids["sourced_id"], _S), "id": pa.array(ids["id"], _I32)})
    district = District(profile, 1.0, seed, {name: tables[name] for name in TABLES})
    return district, sourced, taught, notes
