"""The synthetic district in RosarioSIS's own tables, bulk-loaded with COPY.

How the district's tables map onto RosarioSIS 12's (``rosariosis.sql``):

- the calendar, moved by whole weeks so that today is a school day inside a quarter (RosarioSIS
  edits attendance and grades only in today's quarter; ``calendar.py`` says how) -> one school
  year ``syear`` (the year the school year starts, RosarioSIS's convention); per school:
  ``school_marking_periods`` (the year as FY, the semesters as SEM, the grading periods as QTR
  under their semester), ``attendance_calendars`` (one default calendar) and
  ``attendance_calendar`` (every weekday of the year that is not a holiday);
- ``schools`` -> ``schools`` (plus, per school, the install's own school settings copied the way
  RosarioSIS's Copy School does: ``config``, ``program_config``, ``attendance_codes``, report
  card grade scales and grades), ``school_gradelevels`` (PK..12 within the school's range, each
  pointing to the next) and ``school_periods`` (Homeroom and Period 1..N, timed by the level's
  bell schedule);
- ``courses`` -> ``course_subjects`` and ``courses`` per school (RosarioSIS's courses belong to
  a school; one per district course a school has sections of);
- ``sections`` -> ``course_periods`` (one each, the year's FY marking period; summer and evening
  school terms, which RosarioSIS cannot hold outside FY/SEM/QTR, are full-year course periods
  whose title names the term) and ``course_period_school_periods`` (their period, Monday to
  Friday); per course period, two gradebook assignments per quarter of two assignment types
  per teacher and course (``gradebook.py``), so the Gradebook has cells to fill;
- ``students`` -> ``students`` (gender, ethnicity, birth date in RosarioSIS's custom fields;
  username and password from ``accounts``) and ``student_enrollment`` (their school and grade
  from the first day of the year, open-ended, code "Beginning of Year");
- ``enrollments`` -> ``schedule`` (open-ended from the section's term start);
- ``staff`` -> ``staff``: teachers and aides as ``teacher``, school leaders, clerks and
  counselors as ``admin`` of their school, central office and district administrators as
  ``admin`` of every school, terminated staff as ``none`` (RosarioSIS refuses their login);
- ``guardians`` with an account -> ``staff`` with profile ``parent`` (portal activated) or
  ``none`` (not activated yet: "Your account has not yet been activated");
- ``guardian_links`` with portal access, of activated guardians -> ``students_join_users``.

Ids: RosarioSIS's install leaves a demo school, users and student in year 2024. They stay; the
district's rows take the ids after them (``base + district id``), which the user pool records.
Every table is written with one ``COPY`` from CSV made by Arrow, in one transaction, with the
foreign-key triggers off (``session_replication_role = replica``: the rows are consistent by
construction, and checking each schedule row against three tables made the COPY the slowest
step); afterwards each serial sequence
is set to its column's maximum, so RosarioSIS's own inserts continue after the seeded rows.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

from fake_data.district import District
from sis.rosariosis.bulk import copy
from sis.rosariosis.calendar import Calendar, Shift, calendar_shift
from sis.rosariosis.gradebook import seed_gradebook
from sis.rosariosis.ids import SERIALS, Bases, Progress, Seeded, read_bases

GRADE_SHORT = {-1: "PK", 0: "KG", **{g: f"{g:02d}" for g in range(1, 13)}}
GRADE_TITLE = {-1: "Pre-Kindergarten", 0: "Kindergarten", 1: "1st", 2: "2nd", 3: "3rd",
               **{g: f"{g}th" for g in range(4, 13)}}
ETHNICITY = {"white": "White, Non-Hispanic", "black": "Black, Non-Hispanic",
             "native_american": "Amer. Indian or Alaskan Native",
             "asian": "Asian or Pacific Islander", "pacific_islander": "Asian or Pacific Islander",
             "hispanic": "Hispanic", "multiracial": "Other"}
ADMIN_ROLES = ("principal", "assistant_principal", "clerk", "counselor")
DISTRICT_ROLES = ("central_office", "district_administrator")
PROFILE_ID = {"admin": 1, "teacher": 2, "parent": 3}
def _strings(values: object) -> pa.Array:
    return pc.cast(values, pa.string())


def _np(column: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return column.to_numpy(zero_copy_only=False) if isinstance(column, pa.Array) else \
        column.combine_chunks().to_numpy(zero_copy_only=False)


class _Seeder:
    def __init__(self, conn: psycopg.Connection, district: District, bases: Bases,
                 hashes: Callable[[], pa.Array], progress: Progress, shift: Shift) -> None:
        self.conn, self.d, self.b = conn, district, bases
        self.hashes = hashes
        self.progress = progress
        self.cal = Calendar.of(district, shift)
        self.syear = self.cal.syear
        self.out = Seeded(self.syear)
        schools = district["schools"]
        self.n_schools = schools.num_rows
        self.school_ids = bases.school + _np(schools["school_id"]).astype(np.int64)
        self.out.school_ids = self.school_ids

    def _copy(self, name: str, table: pa.Table) -> None:
        start = time.perf_counter()
        rows = copy(self.conn, name, table)
        self.out.rows[name] = self.out.rows.get(name, 0) + rows
        self.out.seconds[f"copy {name}"] = time.perf_counter() - start
        self.progress(name, rows)

    def _sql(self, label: str, statement: str, params: dict[str, int]) -> None:
        start = time.perf_counter()
        for part in statement.split(";"):
            if part.strip():
                self.conn.execute(part, {k: v for k, v in params.items()
                                         if f"%({k})s" in part})
        self.out.seconds[label] = time.perf_counter() - start

    # -- schools and their settings ------------------------------------------------------
    def schools(self) -> None:
        s = self.d["schools"]
        names = s["name"]
        self._copy("schools", pa.table({
            "syear": pa.array(np.full(s.num_rows, self.syear)),
            "id": pa.array(self.school_ids),
            "title": names,
            "address": s["street"], "city": s["city"], "state": s["state"],
            "zipcode": s["postcode"], "phone": s["phone"],
            "school_number": s["school_code"],
            "short_name": pc.utf8_slice_codeunits(names, 0, 25),
            "reporting_gp_scale": pa.array(np.full(s.num_rows, 4)),
        }))
        params = {"syear": self.syear, "tid": self.b.template_school,
                  "tyear": self.b.template_syear, "lo": self.b.school + 1,
                  "hi": int(self.school_ids.max())}
        self._sql("copy school settings", """
            INSERT INTO student_enrollment_codes (syear, title, short_name, type, default_code,
                                                  sort_order)
            SELECT %(syear)s, title, short_name, type, default_code, sort_order
            FROM student_enrollment_codes c WHERE syear = %(tyear)s
              AND NOT EXISTS (SELECT 1 FROM student_enrollment_codes WHERE syear = %(syear)s);
            INSERT INTO config (school_id, title, config_value)
            SELECT s.id, c.title, c.config_value FROM config c, schools s
            WHERE c.school_id = %(tid)s AND s.syear = %(syear)s AND s.id BETWEEN %(lo)s AND %(hi)s;
            INSERT INTO program_config (syear, school_id, program, title, value)
            SELECT %(syear)s, s.id, c.program, c.title, c.value FROM program_config c, schools s
            WHERE c.school_id = %(tid)s AND c.syear = %(tyear)s AND s.syear = %(syear)s
              AND s.id BETWEEN %(lo)s AND %(hi)s;
            INSERT INTO attendance_codes (syear, school_id, title, short_name, type, state_code,
                                          default_code, table_name, sort_order)
            SELECT %(syear)s, s.id, c.title, c.short_name, c.type, c.state_code, c.default_code,
                   c.table_name, c.sort_order FROM attendance_codes c, schools s
            WHERE c.school_id = %(tid)s AND c.syear = %(tyear)s AND s.syear = %(syear)s
              AND s.id BETWEEN %(lo)s AND %(hi)s;
            INSERT INTO report_card_grade_scales (syear, school_id, title, comment, hr_gpa_value,
                hhr_gpa_value, sort_order, rollover_id, gp_scale, gp_passing_value,
                hrs_gpa_value)
            SELECT %(syear)s, s.id, c.title, c.comment, c.hr_gpa_value, c.hhr_gpa_value,
                   c.sort_order, c.id, c.gp_scale, c.gp_passing_value, c.hrs_gpa_value
            FROM report_card_grade_scales c, schools s
            WHERE c.school_id = %(tid)s AND c.syear = %(tyear)s AND s.syear = %(syear)s
              AND s.id BETWEEN %(lo)s AND %(hi)s;
            INSERT INTO report_card_grades (syear, school_id, title, comment, break_off,
                                            gpa_value, grade_scale_id, sort_order)
            SELECT %(syear)s, n.school_id, g.title, g.comment, g.break_off, g.gpa_value, n.id,
                   g.sort_order
            FROM report_card_grades g JOIN report_card_grade_scales n
              ON n.rollover_id = g.grade_scale_id AND n.syear = %(syear)s
             AND n.school_id BETWEEN %(lo)s AND %(hi)s
            WHERE g.school_id = %(tid)s AND g.syear = %(tyear)s;
            UPDATE config SET config_value = 'Yes' WHERE school_id = 0 AND title = 'LOGIN';
        """, params)

    def calendars(self) -> None:
        n = self.n_schools
        cal_ids = self.b.calendar + np.arange(1, n + 1)
        self.calendar_ids = cal_ids
        self._copy("attendance_calendars", pa.table({
            "school_id": pa.array(self.school_ids), "title": pa.array(["Main"] * n),
            "syear": pa.array(np.full(n, self.syear)), "calendar_id": pa.array(cal_ids),
            "default_calendar": pa.array(["Y"] * n)}))
        days = self.cal.school_days()
        minutes = np.array([
            self._day_minutes(level) for level in
            _np(self.d["schools"]["level"].cast(pa.string()))], dtype=np.int64)
        self._copy("attendance_calendar", pa.table({
            "syear": pa.array(np.full(n * len(days), self.syear)),
            "school_id": pa.array(np.repeat(self.school_ids, len(days))),
            "school_date": pa.array(days * n, pa.date32()),
            "minutes": pa.array(np.repeat(minutes, len(days))),
            "calendar_id": pa.array(np.repeat(cal_ids, len(days)))}))
        k = len(self.cal.mps)
        mp_ids = self.b.marking_period + 1 + np.arange(n * k).reshape(n, k)
        self.mp_ids = mp_ids
        rows: dict[str, list[object]] = {c: [] for c in (
            "marking_period_id", "syear", "mp", "school_id", "parent_id", "title", "short_name",
            "sort_order", "start_date", "end_date", "post_start_date", "post_end_date",
            "does_grades", "does_comments")}
        for i, school in enumerate(self.school_ids):
            for j, (mp, title, short, start, end, parent, order) in enumerate(self.cal.mps):
                grades = mp in ("QTR", "SEM")
                values = (int(mp_ids[i, j]), self.syear, mp, int(school),
                          None if parent is None else int(mp_ids[i, parent]), title, short,
                          order, start, end, end - dt.timedelta(days=2) if grades else None,
                          end if grades else None, "Y" if mp == "QTR" else None,
                          "Y" if mp == "QTR" else None)
                for column, value in zip(rows, values, strict=True):
                    rows[column].append(value)
        self._copy("school_marking_periods", pa.table(rows))

    def _day_minutes(self, level: str) -> int:
        bell = self.d.profile.levels[level].bell_schedule  # type: ignore[index]
        start = bell.first_bell.hour * 60 + bell.first_bell.minute
        return bell.dismissal.hour * 60 + bell.dismissal.minute - start

    def grades_and_periods(self) -> None:
        s = self.d["schools"]
        lows, highs = _np(s["grade_low"]).astype(int), _np(s["grade_high"]).astype(int)
        levels = _np(s["level"].cast(pa.string()))
        periods = _np(s["periods"]).astype(int)
        g_rows: dict[str, list[object]] = {c: [] for c in (
            "id", "school_id", "short_name", "title", "next_grade_id", "sort_order")}
        self.grade_id: dict[tuple[int, int], int] = {}
        next_id = self.b.gradelevel
        for i, school in enumerate(self.school_ids):
            grades = list(range(lows[i], highs[i] + 1))
            ids = [next_id + 1 + k for k in range(len(grades))]
            next_id += len(grades)
            for k, g in enumerate(grades):
                self.grade_id[(i, g)] = ids[k]
                for column, value in zip(g_rows, (
                        ids[k], int(school), GRADE_SHORT[g], GRADE_TITLE[g],
                        ids[k + 1] if k + 1 < len(ids) else None, k + 1), strict=True):
                    g_rows[column].append(value)
        self._copy("school_gradelevels", pa.table(g_rows))
        p_rows: dict[str, list[object]] = {c: [] for c in (
            "period_id", "syear", "school_id", "sort_order", "title", "short_name", "length",
            "start_time", "end_time", "attendance")}
        self.period_id: dict[tuple[int, int], int] = {}
        self.period_title: dict[tuple[int, int], str] = {}
        next_id = self.b.period
        for i, school in enumerate(self.school_ids):
            bell = self.d.profile.levels[levels[i]].bell_schedule
            first = bell.first_bell.hour * 60 + bell.first_bell.minute
            step = bell.period_minutes + bell.passing_minutes
            for p in range(0, periods[i] + 1):
                next_id += 1
                title = "Homeroom" if p == 0 else f"Period {p}"
                begin = first + max(p - 1, 0) * step
                self.period_id[(i, p)] = next_id
                self.period_title[(i, p)] = title
                for p_column, cell in zip(p_rows, (
                        next_id, self.syear, int(school), p + 1, title,
                        "HR" if p == 0 else f"{p:02d}",
                        10 if p == 0 else bell.period_minutes,
                        f"{begin // 60:02d}:{begin % 60:02d}",
                        f"{(begin + bell.period_minutes) // 60:02d}:"
                        f"{(begin + bell.period_minutes) % 60:02d}", "Y"), strict=True):
                    p_rows[p_column].append(cell)
        self._copy("school_periods", pa.table(p_rows))

    # -- courses and course periods -------------------------------------------------------
    def courses(self) -> None:
        sec, courses = self.d["sections"], self.d["courses"]
        sec_school = _np(sec["school_id"]).astype(np.int64) - 1  # 0-based
        sec_course = _np(sec["course_id"]).astype(np.int64)
        c_subject = _np(courses["subject"].cast(pa.string()))
        c_title = _np(courses["title"])
        c_code = _np(courses["course_code"])
        c_grade = _np(courses["grade"]).astype(int)
        pairs = np.unique(sec_school * (courses.num_rows + 1) + sec_course)
        p_school, p_course = pairs // (courses.num_rows + 1), pairs % (courses.num_rows + 1)
        # subjects per school, in first-seen order of the school's courses
        subject_id: dict[tuple[int, str], int] = {}
        subj_rows: dict[str, list[object]] = {c: [] for c in (
            "syear", "school_id", "subject_id", "title", "short_name", "sort_order")}
        for school, course in zip(p_school, p_course, strict=True):
            key = (int(school), str(c_subject[course - 1]))
            if key not in subject_id:
                subject_id[key] = self.b.subject + len(subject_id) + 1
                order = sum(1 for k in subject_id if k[0] == key[0])
                for column, value in zip(subj_rows, (
                        self.syear, int(self.school_ids[school]), subject_id[key], key[1],
                        key[1][:25], order), strict=True):
                    subj_rows[column].append(value)
        self._copy("course_subjects", pa.table(subj_rows))
        course_ids = self.b.course + 1 + np.arange(len(pairs))
        self.course_of_pair = dict(zip(pairs.tolist(), course_ids.tolist(), strict=True))
        self.pair_stride = courses.num_rows + 1
        self._copy("courses", pa.table({
            "syear": pa.array(np.full(len(pairs), self.syear)),
            "course_id": pa.array(course_ids),
            "subject_id": pa.array([subject_id[(int(s), str(c_subject[c - 1]))]
                                    for s, c in zip(p_school, p_course, strict=True)]),
            "school_id": pa.array(self.school_ids[p_school]),
            "grade_level": pa.array([self.grade_id.get((int(s), int(c_grade[c - 1])))
                                     for s, c in zip(p_school, p_course, strict=True)],
                                    pa.int64()),
            "title": pa.array(c_title[p_course - 1]),
            "short_name": pa.array([str(x)[:25] for x in c_code[p_course - 1]]),
            "credit_hours": pa.array(np.ones(len(pairs))),
        }))

    def staff_ids(self) -> None:
        """Staff ids: the district's staff first, then guardians with an account."""
        n_staff = self.d["staff"].num_rows
        self.out.staff_ids = self.b.staff + np.arange(1, n_staff + 1)
        accounts = self.d["accounts"]
        g = accounts.filter(pc.equal(accounts["person_type"].cast(pa.string()), "guardian"))
        self.guardian_accounts = g
        guardian_staff = np.zeros(self.d["guardians"].num_rows + 1, dtype=np.int64)
        guardian_staff[_np(g["person_id"])] = self.b.staff + n_staff + 1 + np.arange(g.num_rows)
        self.out.guardian_staff_ids = guardian_staff  # indexed by guardian id (0: none)

    def course_periods(self) -> None:
        sec, staff = self.d["sections"], self.d["staff"]
        n = sec.num_rows
        school = _np(sec["school_id"]).astype(np.int64) - 1
        course = _np(sec["course_id"]).astype(np.int64)
        period = _np(sec["period"]).astype(int)
        teacher = _np(sec["teacher_id"]).astype(np.int64)
        session = _np(sec["session_id"]).astype(int)
        team = _np(sec["team"]).astype(int)
        codes = _np(self.d["courses"]["course_code"])
        first, last = _np(staff["first_name"].cast(pa.string())), \
            _np(staff["last_name"].cast(pa.string()))
        session_title = {s["session_id"]: self.cal.shift.retitle(s["title"]) for s in
                         self.d["academic_sessions"].to_pylist()}
        term = {sid for sid, k in self.cal.session_mp.items() if k == 0} - {1}
        cp_ids = self.b.course_period + _np(sec["section_id"]).astype(np.int64)
        self.out.course_period_ids = cp_ids
        mp_index = np.array([self.cal.session_mp[s] for s in session])
        mp_ids = self.mp_ids[school, mp_index]
        short = [f"{codes[c - 1]}-{t:02d}"[:25] for c, t in zip(course, team, strict=True)]
        titles = [
            f"{self.period_title[(s, p)]} - {sh} - {first[t - 1]} {last[t - 1]}"
            + (f" ({session_title[ses]})" if ses in term else "")
            for s, p, sh, t, ses in zip(school, period, short, teacher, session, strict=True)]
        self.cp_course = np.array([self.course_of_pair[s * self.pair_stride + c]
                                   for s, c in zip(school, course, strict=True)], np.int64)
        self.cp_mp = mp_ids
        self.cp_school = school
        today = self.cal.shift.today or dt.date.today()
        self.out.course_period_begun = np.array(
            [self.cal.session_start[s] <= today for s in session], bool)
        self.cp_teacher = self.out.staff_ids[teacher - 1]
        self._copy("course_periods", pa.table({
            "syear": pa.array(np.full(n, self.syear)),
            "school_id": pa.array(self.school_ids[school]),
            "course_period_id": pa.array(cp_ids),
            "course_id": pa.array(self.cp_course),
            "title": pa.array(titles),
            "short_name": pa.array(short),
            "mp": pa.array([self.cal.mps[k][0] for k in mp_index]),
            "marking_period_id": pa.array(mp_ids),
            "teacher_id": pa.array(self.out.staff_ids[teacher - 1]),
            "room": pc.utf8_slice_codeunits(_strings(sec["room"]), 0, 10),
            "total_seats": sec["capacity"], "filled_seats": sec["enrolled"],
            "does_attendance": pa.array([",0,"] * n),
            "gender_restriction": pa.array(["N"] * n),
            "parent_id": pa.array(cp_ids),
            "calendar_id": pa.array(self.calendar_ids[school]),
            "credits": pa.array(np.ones(n)),
        }))
        self._copy("course_period_school_periods", pa.table({
            "course_period_school_periods_id": pa.array(np.arange(1, n + 1)),
            "course_period_id": pa.array(cp_ids),
            "period_id": pa.array([self.period_id[(s, p)] for s, p in zip(school, period,
                                                                              strict=True)]),
            "days": pa.array([self.cal.shift.days_letters] * n),
        }))

    def gradebooks(self) -> None:
        quarters = self.cal.quarters()
        seed_gradebook(self.conn, self._copy, [self.cal.mps[k][3:5] for k in quarters],
                       self.mp_ids[:, quarters], self.out.course_period_ids, self.cp_teacher,
                       self.cp_course, self.cp_school)

    # -- people ----------------------------------------------------------------------------
    def _accounts(self, kind: str) -> tuple[pa.Table, pa.Array]:
        """The accounts of one person type and their hashes (waiting for the hasher once)."""
        if not hasattr(self, "_hashed"):
            start = time.perf_counter()
            self._hashed = self.hashes()  # aligned with district["accounts"] rows
            self.out.seconds["wait for password hashes"] = time.perf_counter() - start
        accounts = self.d["accounts"]
        mine = pa.array(_np(accounts["person_type"].cast(pa.string())) == kind)
        return accounts.filter(mine), self._hashed.filter(mine)

    def people(self) -> None:
        self._staff(*self._accounts("staff"), *self._accounts("guardian"))

    def students(self) -> None:
        self._students(*self._accounts("student"))
        self._links()

    def _students(self, accounts: pa.Table, hashes: pa.Array) -> None:
        st = self.d["students"]
        n = st.num_rows
        ids = self.b.student + _np(st["student_id"]).astype(np.int64)
        self.out.student_ids = ids
        order = np.argsort(_np(accounts["person_id"]))  # accounts in student id order
        school = _np(st["school_id"]).astype(np.int64) - 1
        grade = _np(st["grade"]).astype(int)
        sex = _np(st["sex"].cast(pa.string()))
        race = _np(st["race"].cast(pa.string()))
        self._copy("students", pa.table({
            "student_id": pa.array(ids),
            "last_name": pc.utf8_slice_codeunits(_strings(st["last_name"]), 0, 50),
            "first_name": pc.utf8_slice_codeunits(_strings(st["first_name"]), 0, 50),
            "username": accounts["username"].take(pa.array(order)),
            "password": hashes.take(pa.array(order)),
            "custom_200000000": pa.array(np.where(sex == "female", "Female", "Male")),
            "custom_200000001": pa.array([ETHNICITY.get(r, "Other") for r in race]),
            "custom_200000004": st["birth_date"],
        }))
        start = self.cal.profile.school_year.start
        code = self.conn.execute(
            "SELECT id FROM student_enrollment_codes WHERE syear = %s AND short_name = 'EBY'",
            [self.syear]).fetchone()
        self._copy("student_enrollment", pa.table({
            "id": pa.array(self.b.enrollment + np.arange(1, n + 1)),
            "syear": pa.array(np.full(n, self.syear)),
            "school_id": pa.array(self.school_ids[school]),
            "student_id": pa.array(ids),
            "grade_id": pa.array([self.grade_id[(int(s), int(g))]
                                  for s, g in zip(school, grade, strict=True)]),
            "start_date": pa.array([start] * n, pa.date32()),
            "enrollment_code": pa.array([code[0] if code else None] * n, pa.int64()),
            "next_school": pa.array(self.school_ids[school]),
            "calendar_id": pa.array(self.calendar_ids[school]),
        }))
        e = self.d["enrollments"]
        section = _np(e["section_id"]).astype(np.int64) - 1
        sec = self.d["sections"]
        sec_school = _np(sec["school_id"]).astype(np.int64) - 1
        sec_session = _np(sec["session_id"]).astype(int)
        starts = np.array([self.cal.session_start[s] for s in sec_session],
                          dtype="datetime64[D]")
        m = e.num_rows
        self._copy("schedule", pa.table({
            "syear": pa.array(np.full(m, self.syear)),
            "school_id": pa.array(self.school_ids[sec_school[section]]),
            "student_id": pa.array(self.b.student + _np(e["student_id"]).astype(np.int64)),
            "start_date": pa.array(starts[section]),
            "course_id": pa.array(self.cp_course[section]),
            "course_period_id": pa.array(self.out.course_period_ids[section]),
            "mp": pa.array(["FY"] * m),
            "marking_period_id": pa.array(self.cp_mp[section]),
        }))

    def _staff(self, staff_accounts: pa.Table, staff_hashes: pa.Array,
               guardian_accounts: pa.Table, guardian_hashes: pa.Array) -> None:
        staff = self.d["staff"]
        n = staff.num_rows
        order = np.argsort(_np(staff_accounts["person_id"]))
        role = _np(staff["role"].cast(pa.string()))
        active = _np(staff["status"].cast(pa.string())) == "active"
        school = _np(staff["school_id"]).astype(np.int64) - 1
        profile = np.where(np.isin(role, (*ADMIN_ROLES, *DISTRICT_ROLES)), "admin", "teacher")
        profile = np.where(active, profile, "none")
        # A teacher's schools: their own and those of their sections (RosarioSIS lists a
        # teacher's course periods of the current school only).
        sec = self.d["sections"]
        schools_of: dict[int, set[int]] = {i: {int(school[i])} for i in range(n)}
        # RosarioSIS opens a teacher's session in their current school, on its first course
        # period: a teacher whose home school holds only classes not begun yet (summer school
        # in December) starts in a school where they teach today.
        teaching: dict[int, set[int]] = {}
        today = self.cal.shift.today or dt.date.today()
        for t, s, ses in zip(_np(sec["teacher_id"]).astype(int) - 1,
                             _np(sec["school_id"]).astype(int) - 1,
                             _np(sec["session_id"]).astype(int), strict=True):
            schools_of[int(t)].add(int(s))
            if self.cal.session_start[int(ses)] <= today:
                teaching.setdefault(int(t), set()).add(int(s))
        current = np.array([school[i] if not teaching.get(i) or school[i] in teaching[i]
                            else min(teaching[i]) for i in range(n)], np.int64)
        schools = [None if role[i] in DISTRICT_ROLES else
                   "," + ",".join(str(self.school_ids[s]) for s in sorted(schools_of[i])) + ","
                   for i in range(n)]
        g = self.d["guardians"]
        gid = _np(guardian_accounts["person_id"]).astype(np.int64)
        g_active = _np(guardian_accounts["status"].cast(pa.string())) == "active"
        g_profile = np.where(g_active, "parent", "none")
        m = guardian_accounts.num_rows
        self.active_guardians = gid[g_active]
        self._copy("staff", pa.table({
            "syear": pa.array(np.full(n + m, self.syear)),
            "staff_id": pa.array(np.r_[self.out.staff_ids, self.out.guardian_staff_ids[gid]]),
            "current_school_id": pa.array([*self.school_ids[current].tolist(), *[None] * m],
                                          pa.int64()),
            "first_name": pa.concat_arrays([
                _strings(staff["first_name"]).combine_chunks(),
                _strings(g["first_name"]).combine_chunks().take(pa.array(gid - 1))]),
            "last_name": pa.concat_arrays([
                _strings(staff["last_name"]).combine_chunks(),
                _strings(g["last_name"]).combine_chunks().take(pa.array(gid - 1))]),
            "username": pa.concat_arrays([
                staff_accounts["username"].combine_chunks().take(pa.array(order)),
                guardian_accounts["username"].combine_chunks()]),
            "password": pa.concat_arrays([staff_hashes.take(pa.array(order)), guardian_hashes]),
            "email": pa.concat_arrays([
                staff["email"].combine_chunks(), guardian_accounts["email"].combine_chunks()]),
            "profile": pa.array(np.r_[profile, g_profile]),
            "profile_id": pa.array([PROFILE_ID.get(p) for p in np.r_[profile, g_profile]],
                                   pa.int64()),
            "schools": pa.array(schools + [None] * m, pa.string()),
        }))
    def _links(self) -> None:
        links = self.d["guardian_links"]
        access = _np(links["portal_access"])
        l_guardian = _np(links["guardian_id"]).astype(np.int64)
        l_staff = self.out.guardian_staff_ids[l_guardian]
        active_staff = np.zeros(len(self.out.guardian_staff_ids), dtype=bool)
        active_staff[self.active_guardians] = True
        keep = access.astype(bool) & active_staff[l_guardian] & (l_staff > 0)
        self._copy("students_join_users", pa.table({
            "student_id": pa.array(self.b.student
                                   + _np(links["student_id"]).astype(np.int64)[keep]),
            "staff_id": pa.array(l_staff[keep]),
        }))

    def sequences(self) -> None:
        start = time.perf_counter()
        for table, column in SERIALS:
            self.conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), "
                f"greatest((SELECT max({column}) FROM {table}), 1))")
        self.conn.execute("ANALYZE")
        self.out.seconds["sequences + analyze"] = time.perf_counter() - start


def seed(conn: psycopg.Connection, district: District, hashes: Callable[[], pa.Array],
         progress: Progress | None = None, shift: Shift | None = None) -> Seeded:
    """Write `district` into the freshly installed RosarioSIS database `conn` (one transaction).

    `hashes` returns the password hashes, aligned with ``district["accounts"]`` rows; it is
    called only when the students and staff are written, so hashing overlaps the rest.
    `shift` moves the calendar (default: so that today is a school day, `calendar_shift`).
    """
    seeder = _Seeder(conn, district, read_bases(conn), hashes, progress or (lambda _n, _r: None),
                     shift or calendar_shift(district))
    with conn.transaction():
        # The rows are consistent by construction (tests/sis check it): no per-row foreign-key
        # triggers while copying (superuser only; back to normal at the end of the transaction).
        conn.execute("SET LOCAL session_replication_role = replica")
        seeder.schools()
        seeder.calendars()
        seeder.grades_and_periods()
        seeder.courses()
        seeder.staff_ids()
        seeder.people()
        seeder.course_periods()
        seeder.gradebooks()
        seeder.students()
    seeder.sequences()
    return seeder.out
