"""What a scenario reads from the district profile: the populations that generate traffic
(students, guardians, teachers by level, clerks, administrators) as ledger entries with their
derivation, and the bell schedule's events (first bell, every period start, dismissal) as
clock times a scenario's windows are placed against."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from fake_data.profile import Profile
from scenarios.ledger import Assumption


def _mean(shares: dict[int, float]) -> float:
    total = sum(shares.values())
    return sum(k * v for k, v in shares.items()) / total


def school_day_problem(profile: Profile, day: dt.date) -> str | None:
    """Why `day` has no school day in the profile's calendar, or None when it has one."""
    cal = profile.calendar
    if not cal.school_year.start <= day <= cal.school_year.end:
        return f"{day} is outside school year {cal.school_year.name}"
    if day.weekday() >= 5:
        return f"{day} is a {day.strftime('%A')}"
    holiday = next((h.name for h in cal.holidays if h.start <= day <= h.end), None)
    return f"{day} is {holiday}, a holiday" if holiday else None


def resolve_date(profile: Profile, spec: str) -> dt.date:
    """``first_day``, ``cutover``, ``end:<grading period>`` or ``YYYY-MM-DD`` in the
    profile's calendar."""
    cal = profile.calendar
    if spec == "first_day":
        return cal.school_year.start
    if spec == "cutover":
        return cal.cutover_date
    if spec.startswith("end:"):
        name = spec[4:].strip()
        period = next((g for g in cal.grading_periods if g.name == name), None)
        if period is None:
            raise ValueError(f"{spec!r}: profile {profile.name!r} has no grading period"
                             f" {name!r}; its periods: "
                             + ", ".join(g.name for g in cal.grading_periods))
        return period.end
    try:
        return dt.date.fromisoformat(spec)
    except ValueError:
        raise ValueError(f"{spec!r} is not a date; write first_day, cutover, end:<grading"
                         " period> (e.g. end:Quarter 2) or YYYY-MM-DD") from None


def _clock(t: dt.time) -> float:
    return t.hour * 3600 + t.minute * 60 + t.second


def populations(profile: Profile, phase: str) -> list[Assumption]:
    """The traffic-generating populations of `profile`, each with how it was obtained; the
    portal activation share of `phase` (cutover_day, first_semester, steady_state)."""
    origin = f"profile {profile.name}"
    basis = profile.basis
    out: list[Assumption] = []

    def add(name: str, value: float, unit: str, source: str) -> None:
        out.append(Assumption(name, float(value), unit, source, origin))

    students = profile.students
    add("students", students, "people", "[D] sum of levels.*.students_by_grade")
    for level, spec in profile.levels.items():
        add(f"students.{level}", spec.students, "people",
            f"[D] sum of levels.{level}.students_by_grade")
        add(f"schools.{level}", spec.schools, "schools",
            basis.get(f"levels.{level}.schools", "[E]"))
        add(f"periods.{level}", spec.periods, "periods a day",
            basis.get(f"levels.{level}.periods", "[E]"))
        add(f"sections_per_teacher.{level}", spec.sections_per_teacher, "sections",
            basis.get(f"levels.{level}.sections_per_teacher", "[E]"))
    fam = profile.families
    households = students / _mean(fam.children_per_household)
    add("guardians", round(households * _mean(fam.guardians_per_household)), "people",
        "[D] students / mean children per household x mean guardians per household"
        " (families.*)")
    staff = profile.staff
    add("teachers", staff.teachers, "people", basis.get("staff.teachers", "[E]"))
    for level, spec in profile.levels.items():
        add(f"teachers.{level}", round(staff.teachers * spec.students / students), "people",
            f"[D] teachers x share of students in {level} schools")
    schools = sum(spec.schools for spec in profile.levels.values())
    add("schools", schools, "schools", "[D] sum of levels.*.schools")
    add("clerks", round(schools * (staff.clerks_per_school.min + staff.clerks_per_school.max)
                        / 2), "people", "[D] schools x mean of staff.clerks_per_school")
    add("district_admins", staff.district_administrators, "people",
        basis.get("staff.district_administrators", "[E]"))
    enrollments = sum(spec.students * spec.periods for spec in profile.levels.values())
    add("oneroster.rows", students + round(households * _mean(fam.guardians_per_household))
        + staff.employees + enrollments, "rows",
        "[D] users (students + guardians + employees) + enrollments (students x periods)")
    activation: dict[str, float] = {str(k): v for k, v in profile.portal.activation.items()}
    add("portal.activation", activation.get(phase, 0.0), "share",
        f"{basis.get('portal.activation', '[E]')} (phase {phase})")
    return out


@dataclass(frozen=True)
class Bells:
    """Clock times (seconds after midnight) of the school day's events, by name:
    ``<level>.first_bell``, ``<level>.period_start`` (every period), ``<level>.dismissal``,
    at the level's nominal schedule; and each level's tiered starts, ``tiers[level]`` =
    ((seconds after the nominal first bell, share of the level's schools), ...): a window
    placed against a level's bells is spread over its tiers, each with its share."""

    events: dict[str, tuple[float, ...]]
    tiers: dict[str, tuple[tuple[float, float], ...]] = field(default_factory=dict)

    @classmethod
    def of(cls, profile: Profile) -> Bells:
        events: dict[str, tuple[float, ...]] = {}
        tiers: dict[str, tuple[tuple[float, float], ...]] = {}
        for level, spec in profile.levels.items():
            bell = spec.bell_schedule
            first = _clock(bell.first_bell)
            step = (bell.period_minutes + bell.passing_minutes) * 60
            events[f"{level}.first_bell"] = (first,)
            events[f"{level}.period_start"] = tuple(first + k * step
                                                    for k in range(spec.periods))
            events[f"{level}.dismissal"] = (_clock(bell.dismissal),)
            tiers[level] = tuple((_clock(t.first_bell) - first, t.share)
                                 for t in bell.tiers) or ((0.0, 1.0),)
        return cls(events, tiers)
