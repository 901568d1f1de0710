"""Invariants of a generated district, over the seeded small district and the full cps one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from faker.providers.person.en_US import Provider as PersonProvider
from support.profiles import profile_variant

from fake_data.district import District, generate
from fake_data.profile import load_profile
from fake_data.sessions import SCHOOL_YEAR_ID
from fake_data.students import age_on
from kernel.errors import UserError


def _col(table: pa.Table, name: str) -> np.ndarray:
    col = table[name]
    if pa.types.is_dictionary(col.type):
        col = col.cast(pa.string())
    return col.to_numpy(zero_copy_only=False)


@pytest.fixture(params=["small", "cps"])
def district(request: pytest.FixtureRequest) -> District:
    return request.getfixturevalue(request.param)


def test_counts_match_the_profile(district: District) -> None:
    profile = district.profile
    students = district["students"].num_rows
    assert abs(students - profile.students) <= 0.005 * profile.students
    level = _col(district["schools"], "level")
    for name, spec in profile.levels.items():
        assert (level == name).sum() == spec.schools  # exact
    staff = district["staff"]
    active = _col(staff, "status") == "active"
    teachers = ((_col(staff, "role") == "teacher") & active).sum()
    assert abs(teachers - profile.staff.teachers) <= 0.01 * profile.staff.teachers
    assert active.sum() == profile.staff.employees
    assert (~active).sum() >= 1  # a few terminated staff stay on file


def test_published_cps_figures(cps: District) -> None:
    grade = _col(cps["students"], "grade")
    assert (grade == -1).sum() == 17_668 and (grade == 0).sum() == 24_128
    assert ((grade >= 1) & (grade <= 8)).sum() == 213_651
    assert (grade >= 9).sum() == 105_867
    gov = _col(cps["schools"], "governance")
    assert (gov == "charter").sum() == 118 and (gov == "contract").sum() == 9
    assert 1_300_000 <= cps["enrollments"].num_rows <= 1_500_000
    race = _col(cps["students"], "race")
    assert abs((race == "hispanic").mean() - 0.467) < 0.005
    assert abs(_col(cps["students"], "english_learner").mean() - 0.187) < 0.005


def test_age_is_consistent_with_grade(district: District) -> None:
    students = district["students"]
    birth = students["birth_date"].cast(pa.int32()).to_numpy()
    year_start = district.profile.calendar.school_year.start
    age = age_on(birth, dt.date(year_start.year, 9, 1))
    assert np.array_equal(age, _col(students, "grade").astype(int) + 5)


def test_every_section_has_a_teacher_and_room_for_its_students(district: District) -> None:
    sections, staff = district["sections"], district["staff"]
    teacher = _col(sections, "teacher_id")
    assert np.all(_col(staff, "role")[teacher - 1] == "teacher")
    assert np.all(_col(staff, "status")[teacher - 1] == "active")
    counts = np.bincount(_col(district["enrollments"], "section_id"),
                         minlength=sections.num_rows + 1)[1:]
    assert np.array_equal(counts, _col(sections, "enrolled"))
    assert np.all(counts <= _col(sections, "capacity"))
    assert np.all(counts >= 1)


def test_no_one_is_in_two_sections_in_the_same_period(district: District) -> None:
    sections, enrollments = district["sections"], district["enrollments"]
    slot = _col(sections, "period").astype(np.int64) * 64 + _col(sections, "session_id")
    e_section = _col(enrollments, "section_id")
    student_slot = _col(enrollments, "student_id").astype(np.int64) * 4096 + slot[e_section - 1]
    assert len(np.unique(student_slot)) == len(student_slot)
    teacher_slot = _col(sections, "teacher_id").astype(np.int64) * 4096 + slot
    assert len(np.unique(teacher_slot)) == len(teacher_slot)
    day = _col(sections, "session_id") == SCHOOL_YEAR_ID
    per_teacher = np.bincount(_col(sections, "teacher_id")[day])
    levels = district.profile.levels.values()
    assert per_teacher.max() <= max(s.sections_per_teacher for s in levels)


def test_students_take_every_subject_of_their_grade(small: District) -> None:
    day_sections = _col(small["sections"], "session_id") == SCHOOL_YEAR_ID
    day = day_sections[_col(small["enrollments"], "section_id") - 1]
    enrollments = small["enrollments"].filter(pa.array(day))
    per_student = np.bincount(_col(enrollments, "student_id"))[1:]
    grade = _col(small["students"], "grade")
    assert np.all(per_student[grade <= 5] == 1)  # one homeroom
    assert np.all(per_student[(grade >= 6) & (grade <= 8)] == 6)
    assert np.all(per_student[grade >= 9] == 7)
    # A section's students are all in its school and its grade.
    e_section = _col(enrollments, "section_id")
    e_student = _col(enrollments, "student_id")
    assert np.array_equal(_col(small["sections"], "grade")[e_section - 1], grade[e_student - 1])
    assert np.array_equal(_col(small["sections"], "school_id")[e_section - 1],
                          _col(small["students"], "school_id")[e_student - 1])


def test_siblings_share_every_guardian_and_keep_access(district: District) -> None:
    links, students = district["guardian_links"], district["students"]
    household = _col(students, "household_id")
    l_student = _col(links, "student_id")
    l_guardian = _col(links, "guardian_id")
    g_household = _col(district["guardians"], "household_id")
    assert np.array_equal(g_household[l_guardian - 1], household[l_student - 1])
    guardians_per_household = np.bincount(g_household)
    links_per_student = np.bincount(l_student, minlength=len(household) + 1)[1:]
    assert np.array_equal(links_per_student, guardians_per_household[household])
    access = _col(links, "portal_access")
    with_access = np.bincount(l_student[access], minlength=len(household) + 1)[1:]
    assert np.all(with_access >= 1)
    siblings = np.bincount(household)[household] > 1
    assert 0.40 <= siblings.mean() <= 0.50
    # Siblings are found across schools too.
    school = _col(students, "school_id")
    order = np.lexsort((school, household))
    same_house = household[order][1:] == household[order][:-1]
    assert (same_house & (school[order][1:] != school[order][:-1])).any()


def test_anomalies_are_seeded(cps: District) -> None:
    guardians, links = cps["guardians"], cps["guardian_links"]
    email = guardians["email"]
    assert 0.02 < pc.mean(pc.is_null(email).cast(pa.int8())).as_py() < 0.05
    dup = _col(guardians, "duplicate_email")
    assert dup.sum() > 100
    values = _col(guardians.filter(pc.is_valid(email)), "email")
    assert len(values) - len(np.unique(values)) == pytest.approx(dup.sum(), rel=0.05)
    assert 0.01 <= (~_col(links, "portal_access")).mean() <= 0.02


def test_synthetic_by_construction(small: District) -> None:
    emails = np.concatenate([
        _col(small["accounts"], "email"),
        _col(small["guardians"].filter(pc.is_valid(small["guardians"]["email"])), "email"),
    ])
    domains = {e.rsplit("@", 1)[1] for e in emails}
    assert all(d.split(".")[-2:] in (["example", "org"], ["example", "com"], ["example", "net"])
               for d in domains), domains
    phones = np.concatenate([_col(small["guardians"], "phone"), _col(small["households"], "phone"),
                             _col(small["schools"], "phone")])
    numbers = np.array([int(p[-4:]) for p in phones])
    assert all(p[5:11] == " 555-0" for p in phones[:50])
    assert numbers.min() >= 100 and numbers.max() <= 199
    faker_names = set(PersonProvider.first_names_female) | set(PersonProvider.first_names_male)
    assert set(_col(small["students"], "first_name")) <= faker_names
    assert set(_col(small["students"], "last_name")) <= set(PersonProvider.last_names)
    assert "SYNTHETIC" in small["district"]["synthetic_note"][0].as_py()


def test_accounts_cover_everyone_who_can_log_in(small: District) -> None:
    accounts = small["accounts"]
    assert len(np.unique(_col(accounts, "username"))) == accounts.num_rows
    kind = _col(accounts, "person_type")
    assert (kind == "student").sum() == small["students"].num_rows
    assert (kind == "staff").sum() == small["staff"].num_rows
    with_email = pc.sum(pc.is_valid(small["guardians"]["email"])).as_py()
    assert (kind == "guardian").sum() == with_email
    status = _col(accounts, "status")
    terminated = (_col(small["staff"], "status") == "terminated").sum()
    assert (status == "disabled").sum() == terminated
    activation = (status[kind == "guardian"] == "active").mean()
    assert abs(activation - small.profile.portal.activation["steady_state"]) < 0.05
    assert all(len(p) == 16 and p.startswith("Fb1!") for p in _col(accounts, "password"))


def test_same_seed_same_district_other_seed_differs(small: District) -> None:
    again = generate(small.profile, scale=1.0, seed=42)
    for name, table in small.tables.items():
        assert table.equals(again[name]), name
    other = generate(small.profile, scale=1.0, seed=43)
    assert not other["students"].equals(small["students"])
    assert not other["accounts"]["password"].equals(small["accounts"]["password"])


@pytest.mark.parametrize("scale", [0.001, 0.1, 2.0])
def test_scale_multiplies_the_population(scale: float) -> None:
    profile = load_profile("small" if scale > 1 else "cps")
    d = generate(profile, scale=scale, seed=1)
    expected = sum(round(n * scale) for lv in profile.levels.values()
                   for n in lv.students_by_grade.values())
    assert d["students"].num_rows == expected
    assert d["schools"].num_rows == sum(max(1, round(lv.schools * scale))
                                        for lv in profile.levels.values())


@pytest.mark.parametrize("scale", [0.0, 0.0005, 10.5, -1.0])
def test_scale_out_of_range_is_refused(scale: float) -> None:
    with pytest.raises(UserError, match=f"--scale = {scale}"):
        generate(load_profile("small"), scale=scale, seed=1)


def test_a_scale_that_leaves_no_students_is_refused() -> None:
    with pytest.raises(UserError, match="would have no students"):
        generate(load_profile("small"), scale=0.001, seed=1)


def test_staff_deviations_from_the_profile_are_warnings(cps: District) -> None:
    small = generate(load_profile("small"), scale=0.1, seed=42)
    staff = small["staff"]
    active = _col(staff, "status") == "active"
    teachers = int(((_col(staff, "role") == "teacher") & active).sum())
    target = round(small.profile.staff.teachers * 0.1)
    assert teachers > target  # the schedule must be staffed, so there are more teachers ...
    [warning] = [w for w in small.warnings if w.startswith("teachers:")]
    assert f"generated {teachers}" in warning and f"= {target}" in warning  # ... and it says so
    assert cps.warnings == ()


def test_tiny_scale_warns_about_employees_too() -> None:
    tiny = generate(load_profile("small"), scale=0.00136, seed=1)
    active = int((_col(tiny["staff"], "status") == "active").sum())
    assert active > round(520 * 0.00136)
    assert any(w.startswith("employees (active):") and f"generated {active}" in w
               for w in tiny.warnings)


def test_more_principals_than_schools_is_a_warning(tmp_path: Path) -> None:
    path = profile_variant(tmp_path, lambda d: d["staff"].update(principals=11), name="p.yaml")
    district = generate(load_profile(str(path)), scale=1.0, seed=1)
    staff = district["staff"]
    principals = ((_col(staff, "role") == "principal") & (_col(staff, "status") == "active")).sum()
    assert principals == district["schools"].num_rows == 8
    assert any(w.startswith("principals: generated 8, 3 fewer") for w in district.warnings)


def test_seed_out_of_range_is_refused() -> None:
    for seed in (-1, 2**63):
        with pytest.raises(UserError, match=f"--seed = {seed}"):
            generate(load_profile("small"), scale=0.1, seed=seed)


# Invariants over several seeds and scales (each district generated once for all the checks).
SAMPLES = [("small", seed, scale) for scale in (0.3, 1.0, 2.0) for seed in (1, 2, 3)]
SAMPLES.append(("cps", 1, 0.05))


@pytest.fixture(scope="module", params=SAMPLES, ids=[f"{p}-seed{s}-x{x:g}" for p, s, x in SAMPLES])
def sample(request: pytest.FixtureRequest) -> District:
    name, seed, scale = request.param
    return generate(load_profile(name), scale=scale, seed=seed)


def test_sample_every_section_has_an_active_teacher_of_its_school(sample: District) -> None:
    sections, staff = sample["sections"], sample["staff"]
    teacher = _col(sections, "teacher_id")
    assert np.all(_col(staff, "role")[teacher - 1] == "teacher")
    assert np.all(_col(staff, "status")[teacher - 1] == "active")
    assert np.array_equal(_col(staff, "school_id")[teacher - 1], _col(sections, "school_id"))


def test_sample_enrollments_match_sections_and_capacity(sample: District) -> None:
    sections, enrollments = sample["sections"], sample["enrollments"]
    e_section = _col(enrollments, "section_id")
    counts = np.bincount(e_section, minlength=sections.num_rows + 1)[1:]
    assert np.array_equal(counts, _col(sections, "enrolled"))
    assert np.all(counts <= _col(sections, "capacity"))
    e_student = _col(enrollments, "student_id")
    assert np.array_equal(_col(sections, "school_id")[e_section - 1],
                          _col(enrollments, "school_id"))
    # The regular day is in the student's own school; summer and evening school at a site
    # school of the same level.
    day = _col(sections, "session_id")[e_section - 1] == SCHOOL_YEAR_ID
    home = _col(sample["students"], "school_id")[e_student - 1]
    assert np.array_equal(_col(sections, "school_id")[e_section - 1][day], home[day])
    level = _col(sample["schools"], "level")
    assert np.array_equal(level[_col(sections, "school_id")[e_section - 1] - 1], level[home - 1])


def test_sample_no_period_conflicts(sample: District) -> None:
    sections, enrollments = sample["sections"], sample["enrollments"]
    # A period is a time slot within its session (summer and evening school are other terms).
    slot = _col(sections, "period").astype(np.int64) * 64 + _col(sections, "session_id")
    student_slot = (_col(enrollments, "student_id").astype(np.int64) * 4096
                    + slot[_col(enrollments, "section_id") - 1])
    assert len(np.unique(student_slot)) == len(student_slot)
    teacher_slot = _col(sections, "teacher_id").astype(np.int64) * 4096 + slot
    assert len(np.unique(teacher_slot)) == len(teacher_slot)


def test_sample_guardian_links_are_consistent(sample: District) -> None:
    links, students = sample["guardian_links"], sample["students"]
    household = _col(students, "household_id")
    l_student, l_guardian = _col(links, "student_id"), _col(links, "guardian_id")
    g_household = _col(sample["guardians"], "household_id")
    assert np.array_equal(g_household[l_guardian - 1], household[l_student - 1])
    pairs = l_student.astype(np.int64) * (len(g_household) + 1) + l_guardian
    assert len(np.unique(pairs)) == len(pairs)  # each link once
    links_per_student = np.bincount(l_student, minlength=len(household) + 1)[1:]
    assert np.array_equal(links_per_student, np.bincount(g_household)[household])
    primary = _col(links, "is_primary")
    assert np.array_equal(np.bincount(l_student[primary], minlength=len(household) + 1)[1:],
                          np.ones(len(household), dtype=np.int64))
    access = _col(links, "portal_access")
    assert np.all(access[primary])  # only a non-primary guardian is ever denied
    assert np.all(np.bincount(l_student[access], minlength=len(household) + 1)[1:] >= 1)


def test_sample_usernames_are_unique(sample: District) -> None:
    accounts = sample["accounts"]
    usernames = _col(accounts, "username")
    assert len(np.unique(usernames)) == len(usernames) == accounts.num_rows
    assert len(np.unique(_col(accounts, "user_id"))) == accounts.num_rows


def test_summer_and_evening_school_have_sections_of_their_own(cps: District) -> None:
    sessions = {r["title"]: r["session_id"] for r in cps["academic_sessions"].to_pylist()}
    cal = cps.profile.calendar
    sections = cps["sections"]
    session = _col(sections, "session_id")
    grade = _col(sections, "grade")
    for program, title in (("summer_school", cal.summer_session.name),
                           ("evening_school", cal.evening_school.name)):
        spec = cps.profile.programs[program]
        mine = session == sessions[title]
        assert mine.sum() > 100
        assert set(grade[mine].tolist()) <= {int(g) for g in spec.grades}
        enrolled = _col(sections, "enrolled")[mine]
        assert enrolled.max() <= spec.class_size.max
        # About the profile's share of the program's grades takes it (each student once per
        # subject).
        takers = enrolled.sum() / len(spec.subjects)
        in_grades = np.isin(_col(cps["students"], "grade"), [int(g) for g in spec.grades]).sum()
        assert abs(takers / in_grades - spec.share) < 0.01
    titles = set(_col(cps["courses"], "title"))
    assert "Summer School Reading (Grade 3)" in titles
