"""Click paths for the reference staging SIS (`staging/`), over HTTP only: how its users log in,
one session per persona, and the security probes those sessions run.

Endpoint labels are ``<route group>.<action>`` (``portal.grades``, ``attendance.daily_post``);
a persona's sessions log in as rows of the user pool of the same name, except the OneRoster
`integration` client, whose identities are OAuth clients given to the engine.

`guardian_unregistered` (cutover-day registration) and the teacher's password resets read email
from the SIS's test mailbox: run the SIS with ``FIRSTBELL_DEV_MAILBOX=1`` for them.
"""

from __future__ import annotations

from loadtests.browser import ClickPath
from loadtests.targets.staging import (
    clerk,
    district_admin,
    guardian,
    integration,
    login,
    probes,
    registration,
    student,
    teacher,
)

# In its own module: the district admin's deactivated-login probe replays it.
LOGIN = login.LOGIN

CLICK_PATHS: dict[str, ClickPath] = {
    "teacher": teacher.session,
    "student": student.session,
    "guardian": guardian.session,
    "guardian_unregistered": registration.session,
    "clerk": clerk.session,
    "district_admin": district_admin.session,
    "integration": integration.session,
}

PROBES: tuple[str, ...] = probes.NAMES

# Think seconds per session at think scale 1 (the paths' think means added up, rounded): only
# the engine's first guess, replaced by measured session lengths as soon as sessions end.
SESSION_SECONDS = {"teacher": 50.0, "student": 40.0, "guardian": 40.0,
                   "guardian_unregistered": 60.0, "clerk": 45.0, "district_admin": 45.0,
                   "integration": 9.0}

# The click-path mix: persona -> knob -> default. Each path reads its knobs as
# ``browser.options.get(knob, DEFAULT)``, so a plan's ``mix`` changes them per run; shares are
# the probability of a step per session (0-1), counts a number (periods, pages, days). A knob
# listed here and read nowhere would change nothing; the engine refuses unlisted ones.
MIX: dict[str, dict[str, float]] = {
    "teacher": {"grade_share": teacher.GRADE_SHARE, "max_periods": teacher.MAX_PERIODS,
                "password_reset_share": teacher.PASSWORD_RESET_SHARE,
                "per_cell_share": teacher.PER_CELL_SHARE,
                "term_grade_share": teacher.TERM_GRADE_SHARE},
    "student": {"attendance_share": student.ATTENDANCE_SHARE},
    "guardian": {"report_card_share": guardian.REPORT_CARD_SHARE},
    "guardian_unregistered": {},
    "clerk": {"export_share": clerk.EXPORT_SHARE, "max_searches": clerk.MAX_SEARCHES},
    "district_admin": {"report_days": district_admin.REPORT_DAYS},
    "integration": {"page_size": integration.PAGE_SIZE,
                    "concurrency": integration.CONCURRENCY,
                    "max_pages": integration.MAX_PAGES},
}

# The personas' own pools, then those the paths borrow from (`terminated_staff`, `clerk`) or
# look up in (`student`, for a guardian's child's classes).
POOL_PERSONAS: tuple[str, ...] = (*CLICK_PATHS, "terminated_staff")
# Loaded by every run: a district admin borrows clerks and terminated staff for the
# deactivation probes, a guardian looks up their children in the student pool.
SHARED_POOLS: tuple[str, ...] = ("student", "clerk", "terminated_staff")
