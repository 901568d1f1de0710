"""District profiles: the YAML data that says what district to generate, validated with pydantic.

A profile is pure data (numbers with their basis); nothing here generates rows. Built-in profiles
live in ``fake_data/profiles/``; a path to any YAML file works too. Every user mistake in a profile
becomes a :class:`ProfileError` that names the file, the field and the value.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from kernel.errors import UserError
from kernel.files import builtin_names, resolve_named

PROFILE_DIR = Path(__file__).parent / "profiles"

# Grade codes as the generator stores them: PK = -1, K = 0, then 1..12.
GRADE_CODES: dict[str, int] = {"PK": -1, "K": 0, **{str(g): g for g in range(1, 13)}}
Level = Literal["elementary", "high"]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
Count = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]


class ProfileError(UserError):
    """A profile file that cannot be used as written."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _weights(shares: dict[Any, float]) -> dict[Any, float]:
    """A distribution used as weights (normalised when drawn): some share must be above 0."""
    if not sum(shares.values()) > 0:
        raise ValueError("the shares add up to 0; give at least one of them a share above 0")
    return shares


def _grade_codes(grades: Any) -> Any:
    """Grade codes as a profile writes them: each one of PK, K, 1..12, at most once."""
    unknown = [g for g in grades if g not in GRADE_CODES]
    if unknown:
        raise ValueError(f"unknown grade codes {unknown}; use PK, K, 1..12")
    twice = sorted({g for g in grades if list(grades).count(g) > 1}, key=GRADE_CODES.__getitem__)
    if twice:
        raise ValueError(f"grades {twice} are listed more than once; list each grade once")
    return grades


class DistrictInfo(_Strict):
    name: str
    city: str
    state: str = Field(min_length=2, max_length=2)
    postcode_range: tuple[Annotated[int, Field(ge=0, le=99_999)],
                          Annotated[int, Field(ge=0, le=99_999)]]
    area_codes: list[Annotated[int, Field(ge=200, le=999)]] = Field(min_length=1)

    @field_validator("postcode_range")
    @classmethod
    def _postcodes_ordered(cls, value: tuple[int, int]) -> tuple[int, int]:
        low, high = value
        if low > high:
            raise ValueError(f"low ({low}) is above high ({high}); write it as [low, high]")
        return value


class SizeComponent(_Strict):
    """One lognormal mode of school enrollment: a share of the level's schools, median and p90."""

    share: Share
    median: Positive
    p90: Positive

    @model_validator(mode="after")
    def _p90_above_median(self) -> SizeComponent:
        if self.p90 <= self.median:
            raise ValueError(f"p90 ({self.p90}) must be above median ({self.median})")
        return self


class Governance(_Strict):
    charter: Count = 0
    contract: Count = 0


class ClassSize(_Strict):
    target: Positive
    max: Positive

    @model_validator(mode="after")
    def _target_within_max(self) -> ClassSize:
        if self.target > self.max:
            raise ValueError(f"target ({self.target}) is above max ({self.max})")
        return self


class BellTier(_Strict):
    """Tiered starts: `share` of the level's schools ring their first bell at `first_bell`
    (the whole schedule, periods and dismissal, moves with it)."""

    first_bell: dt.time
    share: Annotated[float, Field(gt=0, le=1)]


class BellSchedule(_Strict):
    first_bell: dt.time
    period_minutes: Positive
    passing_minutes: Count
    dismissal: dt.time
    # The distribution of start times across the level's schools; empty: every school at
    # `first_bell`. `first_bell` stays the nominal schedule (seeded timetables use it).
    tiers: list[BellTier] = []

    @field_validator("tiers")
    @classmethod
    def _tier_shares(cls, value: list[BellTier]) -> list[BellTier]:
        total = sum(t.share for t in value)
        if value and abs(total - 1.0) > 1e-6:
            raise ValueError(f"the tiers' shares add up to {total:g}; make them add up to 1")
        times = [t.first_bell for t in value]
        if len(set(times)) != len(times):
            raise ValueError("two tiers ring at the same time; merge them")
        return value


class LevelSpec(_Strict):
    schools: Positive
    governance: Governance = Governance()
    students_by_grade: dict[str, Count]
    school_size: list[SizeComponent] = Field(min_length=1)
    class_size: ClassSize
    homeroom_grades: list[str]
    departmentalized_grades: list[str]
    subjects: list[str] = Field(min_length=1)
    periods: Annotated[int, Field(ge=1, le=10)]
    sections_per_teacher: Annotated[int, Field(ge=1, le=10)]
    bell_schedule: BellSchedule

    _known_grades = field_validator(
        "students_by_grade", "homeroom_grades", "departmentalized_grades")(_grade_codes)

    @field_validator("school_size")
    @classmethod
    def _shares_add_up(cls, value: list[SizeComponent]) -> list[SizeComponent]:
        total = sum(c.share for c in value)
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"the shares add up to {total:g}; make them add up to 1")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> LevelSpec:
        taught = self.homeroom_grades + self.departmentalized_grades
        in_both = [g for g in self.homeroom_grades if g in self.departmentalized_grades]
        if in_both:
            raise ValueError(f"grades {in_both} are in both homeroom_grades and "
                             "departmentalized_grades; list each grade in one of them")
        if sorted(taught, key=GRADE_CODES.__getitem__) != sorted(
            self.students_by_grade, key=GRADE_CODES.__getitem__
        ):
            raise ValueError(
                f"homeroom_grades + departmentalized_grades ({taught}) must list exactly the "
                f"grades of students_by_grade ({list(self.students_by_grade)}), each once")
        if self.departmentalized_grades and len(self.subjects) > self.periods:
            raise ValueError(f"{len(self.subjects)} subjects do not fit in {self.periods} periods")
        if self.governance.charter + self.governance.contract > self.schools:
            raise ValueError("charter + contract schools exceed the level's schools")
        return self

    @property
    def students(self) -> int:
        return sum(self.students_by_grade.values())


class PerSchoolRange(_Strict):
    min: Count
    max: Count

    @model_validator(mode="after")
    def _ordered(self) -> PerSchoolRange:
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) is above max ({self.max}); make min at most max")
        return self


class StaffSpec(_Strict):
    employees: Positive
    teachers: Positive
    principals: Count
    assistant_principals_per_school: PerSchoolRange
    clerks_per_school: PerSchoolRange
    high_school_students_per_counselor: Positive
    counselors_per_elementary: Count
    central_office: Count
    district_administrators: Count
    terminated_share: Share

    @model_validator(mode="after")
    def _teachers_within_employees(self) -> StaffSpec:
        if self.teachers > self.employees:
            raise ValueError(f"teachers ({self.teachers}) exceed employees ({self.employees})")
        return self


class Demographics(_Strict):
    race: dict[
        Literal["hispanic", "black", "white", "asian", "multiracial", "native_american",
                "pacific_islander"],
        Share,
    ]
    female_share: Share
    economically_disadvantaged: Share
    english_learner: Share
    iep: Share

    _race_weights = field_validator("race")(_weights)


class Families(_Strict):
    children_per_household: dict[Positive, Share]
    guardians_per_household: dict[Positive, Share]
    sibling_share_target: Share
    no_email_share: Share
    duplicate_email_share: Share
    no_access_link_share: Share

    _household_weights = field_validator(
        "children_per_household", "guardians_per_household")(_weights)


class Portal(_Strict):
    activation: dict[Literal["cutover_day", "first_semester", "steady_state"], Share]
    phase: Literal["cutover_day", "first_semester", "steady_state"]

    @model_validator(mode="after")
    def _phase_has_a_rate(self) -> Portal:
        if self.phase not in self.activation:
            raise ValueError(f"phase '{self.phase}' has no rate in activation; add "
                             f"activation.{self.phase}")
        return self


class ProgramSpec(_Strict):
    """Summer or evening school: who takes it and what, in a session of its own."""

    grades: list[str] = Field(min_length=1)
    share: Share
    subjects: list[str] = Field(min_length=1)
    periods: Annotated[int, Field(ge=1, le=10)]
    class_size: ClassSize
    schools_per_site: Annotated[int, Field(ge=1)] = 1

    @model_validator(mode="after")
    def _consistent(self) -> ProgramSpec:
        unknown = [g for g in self.grades if g not in GRADE_CODES]
        if unknown:
            raise ValueError(f"unknown grade codes {unknown}; use PK, K, 1..12")
        if len(self.subjects) > self.periods:
            raise ValueError(f"{len(self.subjects)} subjects do not fit in {self.periods} periods")
        return self


class Span(_Strict):
    name: str
    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.end < self.start:
            raise ValueError(f"{self.name}: end {self.end} is before start {self.start}")
        return self


class Calendar(_Strict):
    school_year: Span
    semesters: list[Span] = Field(min_length=1)
    grading_periods: list[Span] = Field(min_length=1)
    summer_session: Span
    evening_school: Span
    holidays: list[Span] = []
    cutover_date: dt.date

    def history_days_available(self) -> int:
        """How many school days the school year has before the cutover date."""
        span = (self.cutover_date - self.school_year.start).days
        return len(self.school_days(before=self.cutover_date, count=max(0, span)))

    def school_days(self, before: dt.date, count: int) -> list[dt.date]:
        """The `count` school days (weekdays in the year, not holidays) just before `before`."""
        days: list[dt.date] = []
        day = before - dt.timedelta(days=1)
        while len(days) < count and day >= self.school_year.start:
            if day.weekday() < 5 and not any(h.start <= day <= h.end for h in self.holidays):
                days.append(day)
            day -= dt.timedelta(days=1)
        return days[::-1]


class Profile(_Strict):
    name: str
    description: str
    district: DistrictInfo
    levels: dict[Level, LevelSpec]
    staff: StaffSpec
    demographics: Demographics
    families: Families
    portal: Portal
    calendar: Calendar
    programs: dict[Literal["summer_school", "evening_school"], ProgramSpec] = {}
    basis: dict[str, str] = {}

    @field_validator("levels")
    @classmethod
    def _each_grade_in_one_level(cls, value: dict[Level, LevelSpec]) -> dict[Level, LevelSpec]:
        seen: dict[str, str] = {}
        for level, spec in value.items():
            for grade in spec.students_by_grade:
                if grade in seen:
                    raise ValueError(
                        f"grade {grade} is in both levels.{seen[grade]}.students_by_grade and "
                        f"levels.{level}.students_by_grade; give each grade to one level")
                seen[grade] = level
        return value

    @model_validator(mode="after")
    def _basis_paths_exist(self) -> Profile:
        data = self.model_dump()
        for path in self.basis:
            node: Any = data
            for part in path.split("."):
                if not isinstance(node, dict) or part not in node:
                    raise ValueError(f"basis names '{path}', which is not a field of the profile")
                node = node[part]
        return self

    @property
    def students(self) -> int:
        return sum(level.students for level in self.levels.values())

    def estimates(self) -> dict[str, str]:
        """Dotted paths of the numbers that are estimates ([E]), with their note."""
        return {k: v for k, v in self.basis.items() if v.startswith("[E]")}


def builtin_profiles() -> list[str]:
    return builtin_names(PROFILE_DIR)


def resolve_profile_path(name_or_path: str) -> Path:
    return resolve_named(name_or_path, PROFILE_DIR)


def load_profile(name_or_path: str) -> Profile:
    """Load a built-in profile by name (``cps``) or any profile YAML by path."""
    path = resolve_profile_path(name_or_path)
    if not path.is_file():
        raise ProfileError(
            f"profile '{name_or_path}' not found: no file {path}. "
            f"Use a built-in profile ({', '.join(builtin_profiles())}) or a path to a YAML file."
        )
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ProfileError(
            f"{path}: not valid YAML ({exc}). Fix the syntax and try again."
        ) from exc
    except UnicodeDecodeError as exc:
        raise ProfileError(f"{path}: not a text file (byte {exc.start} is not UTF-8); a profile"
                           " is a UTF-8 YAML file like fake_data/profiles/small.yaml.") from None
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: a profile must be a YAML mapping, found {type(raw).__name__}.")
    try:
        return Profile.model_validate(raw)
    except ValidationError as exc:
        raise ProfileError(_describe_validation_error(path, exc)) from exc


def _describe_validation_error(path: Path, exc: ValidationError) -> str:
    lines = [f"{path}: the profile is not valid."]
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"]) or "(top level)"
        value = err.get("input")
        shown = repr(value)
        if isinstance(value, dict) and len(shown) > 100:
            shown = "{…}"
        if err["type"] == "extra_forbidden":
            lines.append(
                f"  field '{field}' = {shown}: unknown field; remove it or fix its spelling."
            )
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
            lines.append(f"  field '{field}' = {shown}: {message}.")
    lines.append("Fix these fields and run the command again.")
    return "\n".join(lines)
