"""Who is calling, and what they may touch: authorization by ownership, enforced on the server.

A guardian sees only their children (never one whose link is no-access), a student only
themselves, a teacher only their sections and those sections' students, school staff only their
school, a district administrator everything. Anything else answers 404 (it may not exist, as far
as the caller knows) or 403 (the role cannot use that endpoint), never data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from fastapi import Request

from staging.db import Database
from staging.errors import ApiError, forbidden, not_found

SESSION_COOKIE = "sis_session"
SCHOOL_OFFICE_ROLES = ("clerk", "principal", "assistant_principal", "counselor")
ADMIN = "district_administrator"


@dataclass(frozen=True)
class Principal:
    user_id: int
    role: str
    person_type: str
    person_id: int
    school_id: int | None
    token_hash: bytes

    @property
    def is_admin(self) -> bool:
        return self.role == ADMIN


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip() or None
    return request.cookies.get(SESSION_COOKIE)


SESSION_QUERY = """
UPDATE sis.sessions s SET last_seen_at = now()
FROM sis.accounts a
LEFT JOIN sis.staff sf ON a.person_type = 'staff' AND sf.staff_id = a.person_id
LEFT JOIN sis.students st ON a.person_type = 'student' AND st.student_id = a.person_id
WHERE s.token_hash = %(token)s AND s.ended_at IS NULL
  AND s.last_seen_at > now() - make_interval(secs => %(idle)s)
  AND s.created_at > now() - make_interval(secs => %(lifetime)s)
  AND a.user_id = s.user_id AND a.status = 'active'
  -- Terminated in HR but the account left on: still refused (the CPS 2018 fired-employee case).
  AND (a.person_type <> 'staff' OR sf.status = 'active')
RETURNING a.user_id, a.role::text AS role, a.person_type::text AS person_type, a.person_id,
          coalesce(sf.school_id, st.school_id) AS school_id
"""


async def current_principal(request: Request) -> Principal:
    """The caller's session, refreshed; 401 when missing, idle too long, older than the
    absolute lifetime, or the account is off."""
    token = _token(request)
    if not token:
        raise ApiError(401, "unauthenticated", "log in first",
                       {"WWW-Authenticate": "Bearer"})
    db: Database = request.app.state.db
    digest = token_hash(token)
    settings = request.app.state.settings
    row = await db.fetchrow("auth.session", SESSION_QUERY, {
        "token": digest, "idle": settings.session_idle_minutes * 60,
        "lifetime": settings.session_max_hours * 3600})
    if row is None:
        raise ApiError(401, "session_expired", "the session is not valid; log in again",
                       {"WWW-Authenticate": "Bearer"})
    return Principal(row["user_id"], row["role"], row["person_type"], row["person_id"],
                     row["school_id"], digest)


def require_role(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise forbidden(f"role {principal.role} cannot use this endpoint")


STUDENT_VISIBLE = """
SELECT st.student_id, st.school_id FROM sis.students st
WHERE st.student_id = %(student)s AND (
     %(role)s = 'district_administrator'
  OR (%(role)s = 'student' AND st.student_id = %(person)s)
  OR (%(role)s = 'guardian' AND EXISTS (
        SELECT 1 FROM sis.guardian_links l WHERE l.student_id = st.student_id
        AND l.guardian_id = %(person)s AND l.portal_access))
  OR (%(role)s = 'teacher' AND EXISTS (
        SELECT 1 FROM sis.enrollments e JOIN sis.sections s ON s.section_id = e.section_id
        WHERE e.student_id = st.student_id AND s.teacher_id = %(person)s))
  OR (%(role)s = ANY(%(office)s) AND st.school_id = %(school)s))
"""


async def ensure_student_visible(db: Database, p: Principal, student_id: int) -> int:
    """404 unless the caller may see this student; returns the student's school."""
    row = await db.fetchrow("authz.student", STUDENT_VISIBLE, {
        "student": student_id, "role": p.role, "person": p.person_id,
        "office": list(SCHOOL_OFFICE_ROLES), "school": p.school_id})
    if row is None:
        raise not_found("student")
    return int(row["school_id"])


async def ensure_section_taught(db: Database, p: Principal, section_id: int) -> dict[str, object]:
    """404 unless the caller teaches this section (or is a district administrator)."""
    row = await db.fetchrow(
        "authz.section",
        "SELECT section_id, school_id, teacher_id, period, grade, class_type::text AS class_type"
        " FROM sis.sections WHERE section_id = %(section)s"
        " AND (%(admin)s OR teacher_id = %(person)s)",
        {"section": section_id, "admin": p.is_admin,
         "person": p.person_id if p.role == "teacher" else -1})
    if row is None:
        raise not_found("section")
    return row


def ensure_school_office(p: Principal, school_id: int) -> None:
    """School office staff of that school, or a district administrator."""
    if p.is_admin:
        return
    require_role(p, *SCHOOL_OFFICE_ROLES)
    if p.school_id != school_id:
        raise not_found("school")
