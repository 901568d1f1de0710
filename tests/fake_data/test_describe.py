"""`describe`: figures beside the profile's scaled targets, and clear errors on broken folders."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fake_data.describe import describe
from fake_data.output import Request, write_district
from fake_data.profile import load_profile
from fake_data.schools import scaled
from kernel.errors import UserError


@pytest.fixture(scope="module", params=[0.3, 2.0])
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("describe") / f"small-x{request.param:g}"
    write_district(Request(profile="small", scale=request.param, seed=5, formats=("parquet",)),
                   out)
    return out


def test_school_size_mean_target_is_scaled(generated: Path) -> None:
    desc = describe(generated)
    scale = float(desc.manifest["scale"])  # type: ignore[arg-type]
    profile = load_profile("small")
    schools = pq.read_table(generated / "parquet" / "schools.parquet")
    level = schools["level"].cast(pa.string()).to_numpy(zero_copy_only=False)
    size = schools["students"].to_numpy()
    for lv, spec in profile.levels.items():
        students = sum(scaled(n, scale) for n in spec.students_by_grade.values())
        fig = desc.get("school size", f"{lv} mean")
        assert fig.target == pytest.approx(students / scaled(spec.schools, scale, minimum=1))
        # The generated mean is exact (per-grade totals are), so no false deviation shows.
        assert fig.generated == pytest.approx(size[level == lv].mean())
        assert fig.generated == pytest.approx(fig.target)


def test_students_are_counted_by_level(generated: Path) -> None:
    desc = describe(generated)
    scale = float(desc.manifest["scale"])  # type: ignore[arg-type]
    students = pq.read_table(generated / "parquet" / "students.parquet")
    grade = students["grade"].to_numpy()
    by_level = {"elementary": int((grade <= 8).sum()), "high": int((grade >= 9).sum())}
    for lv, spec in load_profile("small").levels.items():
        fig = desc.get("students", f"{lv} (all grades)")
        assert fig.generated == by_level[lv]
        assert fig.target == sum(scaled(n, scale) for n in spec.students_by_grade.values())
    assert sum(by_level.values()) == desc.get("students", "all").generated


def _corrupt_manifest(folder: Path) -> None:
    (folder / "district.json").write_text('{"profile": "small", "scale": ')


def _manifest_field_missing(folder: Path) -> None:
    data = json.loads((folder / "district.json").read_text())
    del data["profile_path"]
    (folder / "district.json").write_text(json.dumps(data))


def _manifest_not_an_object(folder: Path) -> None:
    (folder / "district.json").write_text("[1, 2]")


def _table_missing(folder: Path) -> None:
    (folder / "parquet" / "enrollments.parquet").unlink()


def _table_corrupt(folder: Path) -> None:
    (folder / "parquet" / "staff.parquet").write_bytes(b"not parquet at all")


@pytest.mark.parametrize(("damage", "file", "says"), [
    (_corrupt_manifest, "district.json", "cannot be read as JSON"),
    (_manifest_field_missing, "district.json", "profile_path missing"),
    (_manifest_not_an_object, "district.json", "JSON list"),
    (_table_missing, "parquet/enrollments.parquet", "missing"),
    (_table_corrupt, "parquet/staff.parquet", "cannot be read as Parquet"),
])
def test_broken_folder_is_a_user_error_naming_the_file(
        generated: Path, tmp_path: Path, damage: Callable[[Path], None], file: str,
        says: str) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(generated, folder)
    damage(folder)
    with pytest.raises(UserError) as err:
        describe(folder)
    msg = str(err.value)
    assert str(folder / file) in msg and says in msg and "--force --out" in msg, msg
