from __future__ import annotations

from pathlib import Path

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


def test_every_estimate_is_marked_and_resolves() -> None:
    estimates = load_profile("cps").estimates()
    assert "families.children_per_household" in estimates
    assert all(note.startswith("[E]") for note in estimates.values())


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
