"""The course catalog as data: which course a grade takes in each subject.

Provider-style: plain tables here, one-line lookups below; the scheduler only asks for titles.
"""

from __future__ import annotations

GRADE_LABELS: dict[int, str] = {-1: "PK", 0: "K", **{g: str(g) for g in range(1, 13)}}

# High-school course by subject, for grades 9..12 in order.
HIGH_SCHOOL_COURSES: dict[str, tuple[str, str, str, str]] = {
    "English": ("English I", "English II", "English III", "English IV"),
    "Mathematics": ("Algebra I", "Geometry", "Algebra II", "Precalculus"),
    "Science": ("Biology", "Chemistry", "Physics", "Environmental Science"),
    "Social Studies": ("World Studies", "U.S. History", "Civics", "Economics"),
    "World Language": ("Spanish I", "Spanish II", "Spanish III", "Spanish IV"),
    "Physical Education": (
        "Physical Education I", "Physical Education II", "Physical Education III", "Health",
    ),
    "Elective": ("Visual Arts", "Computer Science", "Music", "Journalism"),
}

SUBJECT_CODES: dict[str, str] = {
    "Homeroom": "HR",
    "English Language Arts": "ELA",
    "English": "ENG",
    "Mathematics": "MTH",
    "Science": "SCI",
    "Social Studies": "SOC",
    "World Language": "WLG",
    "Physical Education": "PHE",
    "Fine Arts": "ART",
    "Elective": "ELE",
}


def course_title(subject: str, grade: int) -> str:
    if subject == "Homeroom":
        return f"Grade {GRADE_LABELS[grade]} Homeroom"
    if 9 <= grade <= 12 and subject in HIGH_SCHOOL_COURSES:
        return HIGH_SCHOOL_COURSES[subject][grade - 9]
    return f"Grade {GRADE_LABELS[grade]} {subject}"


def course_code(subject: str, grade: int) -> str:
    code = SUBJECT_CODES.get(subject) or "".join(w[0] for w in subject.split()).upper()
    return f"{code}-{GRADE_LABELS[grade]}"
