from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support.profiles import profile_variant

from fake_data.profile import ProfileError, builtin_profiles, load_profile


def _write(tmp_path: Path, change) -> Path:
    return profile_variant(tmp_path, change, name="custom.yaml")


def test_builtin_profiles_load_with_the_published_numbers() -> None:
    assert builtin_profiles() == ["cps", "small"]
    cps = load_profile("cps")
    assert cps.students == 361_314
    assert cps.levels["elementary"].schools + cps.levels["high"].schools == 642
    assert cps.staff.teachers == 21_334 and cps.staff.employees == 37_375
    assert 4_900 <= load_profile("small").students <= 5_100


def _leaves(node: Any, path: str) -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _leaves(value, f"{path}.{key}")
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            yield from _leaves(value, f"{path}.{i}")
    else:
        yield path, node


def _covered(path: str, basis: dict[str, str]) -> bool:
    """A basis path covers itself and everything below it."""
    return any(path == b or path.startswith(b + ".") for b in basis)


@pytest.mark.parametrize("name", ["cps", "small"])
def test_every_number_of_the_profile_has_a_basis(name: str) -> None:
    profile = load_profile(name)
    data = profile.model_dump()
    numbers = [
        (path, value)
        for section in ("levels", "staff", "demographics", "families", "portal", "calendar",
                        "district")
        for path, value in _leaves(data[section], section)
        # numbers, dates and times; grade and subject lists too (the profile chose them)
        if isinstance(value, int | float | dt.date | dt.time)
        or re.search(r"\.(subjects|homeroom_grades|departmentalized_grades)\.", path)
    ]
    assert len(numbers) > 100
    missing = [path for path, _ in numbers if not _covered(path, profile.basis)]
    assert missing == [], f"{name}: add a basis entry ([S] source, [D] or [E]) for {missing}"


def test_a_basis_path_covers_what_is_below_it() -> None:
    basis = {"calendar.semesters": "[E]"}
    assert _covered("calendar.semesters", basis)
    assert _covered("calendar.semesters.0.start", basis)
    assert not _covered("calendar.semesters_extra", basis)
    assert not _covered("calendar", basis)


@pytest.mark.parametrize("name", ["cps", "small"])
def test_every_basis_note_is_marked_and_sources_are_named(name: str) -> None:
    profile = load_profile(name)
    for path, note in profile.basis.items():
        assert re.match(r"\[[SDE]\]", note), f"{path}: {note!r} starts with no [S], [D] or [E]"
        for source in re.findall(r"\[S\]([^;]*)", note):
            assert len(source.strip()) > 10, f"{path}: [S] without its source: {note!r}"
    estimates = profile.estimates()
    assert estimates == {k: v for k, v in profile.basis.items() if v.startswith("[E]")}
    assert "families.children_per_household" in estimates
    assert "staff.teachers" not in estimates  # published ([S]) or derived ([D])


def test_unknown_field_names_file_field_and_value(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["staff"].update(techers=5))
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    msg = str(err.value)
    assert str(path) in msg and "staff.techers" in msg and "5" in msg and "unknown field" in msg


def test_negative_count_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["levels"]["high"]["students_by_grade"].update({"9": -4}))
    with pytest.raises(ProfileError, match=r"levels\.high\.students_by_grade\.9' = -4"):
        load_profile(str(path))


def test_basis_must_name_a_real_field(tmp_path: Path) -> None:
    path = _write(tmp_path, lambda d: d["basis"].update({"staff.nurses": "[E]"}))
    with pytest.raises(ProfileError, match=r"staff\.nurses"):
        load_profile(str(path))


def test_unknown_profile_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match="profile 'nope' not found"):
        load_profile("nope")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ProfileError, match="not valid YAML"):
        load_profile(str(bad))


def _grade_in_two_levels(d: dict[str, Any]) -> None:
    d["levels"]["high"]["students_by_grade"]["8"] = 5
    d["levels"]["high"]["departmentalized_grades"].append("8")


@pytest.mark.parametrize(
    ("change", "field", "value", "fix"),
    [
        (lambda d: d["levels"]["high"].update(departmentalized_grades=["9", "10", "11", "13"]),
         "levels.high.departmentalized_grades", "'13'", "use PK, K, 1..12"),
        (lambda d: d["levels"]["elementary"].update(homeroom_grades=["PK", "K", "1", "2", "3",
                                                                      "4", "5", "Kindergarten"]),
         "levels.elementary.homeroom_grades", "'Kindergarten'", "use PK, K, 1..12"),
        (lambda d: d["levels"]["elementary"]["homeroom_grades"].append("6"),
         "levels.elementary", "['6']", "list each grade in one of them"),
        (_grade_in_two_levels, "levels", "grade 8", "give each grade to one level"),
        (lambda d: d["families"].update(guardians_per_household={1: 0.0, 2: 0.0}),
         "families.guardians_per_household", "{1: 0.0, 2: 0.0}", "share above 0"),
        (lambda d: d["families"].update(children_per_household={1: 0}),
         "families.children_per_household", "{1: 0}", "share above 0"),
        (lambda d: d["demographics"].update(race={"hispanic": 0.0, "black": 0.0}),
         "demographics.race", "'hispanic': 0.0", "share above 0"),
        (lambda d: d["levels"]["high"].update(
            school_size=[{"share": 0.0, "median": 300, "p90": 600}]),
         "levels.high.school_size", "'share': 0.0", "add up to 1"),
        (lambda d: d["staff"].update(assistant_principals_per_school={"min": 3, "max": 1}),
         "staff.assistant_principals_per_school", "'min': 3", "make min at most max"),
        (lambda d: d["district"].update(postcode_range=[62712, 62701]),
         "district.postcode_range", "[62712, 62701]", "[low, high]"),
        (lambda d: d["portal"].update(activation={"cutover_day": 0.0}),
         "portal", "steady_state", "add activation.steady_state"),
    ],
    ids=["grade-code-departmentalized", "grade-code-homeroom", "grade-twice-in-level",
         "grade-in-two-levels", "guardians-sum-0", "children-sum-0", "race-sum-0",
         "school-size-sum-0", "range-min-above-max", "postcode-low-above-high",
         "phase-without-rate"],
)
def test_inconsistent_profiles_are_refused_naming_field_and_value(
        tmp_path: Path, change, field: str, value: str, fix: str) -> None:
    path = _write(tmp_path, change)
    with pytest.raises(ProfileError) as err:
        load_profile(str(path))
    msg = str(err.value)
    assert str(path) in msg and f"field '{field}'" in msg and value in msg and fix in msg, msg
