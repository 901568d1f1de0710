"""oneroster_gradebook: the OneRoster 1.2 Gradebook Service (REST/JSON) for LMS grade pushes.

Categories (``sis.gradebook_categories``, read-only), lineItems (``sis.line_items``) and results
(``sis.scores``): GET with the collection grammar, PUT as create-or-replace by sourcedId (201
created, 200 replaced) and DELETE (204). An LMS keeps the sourcedIds it chooses; the SIS's own
rows answer as ``li-<line_item_id>`` and ``res-<line_item_id>-<student_id>``, ids of that form
are the SIS's and cannot be created by a client. A result is the one score of a student on a
line item: PUT on a new sourcedId for a pair that has only the SIS's blank score takes that
row over; a pair already held by another client sourcedId answers 409. A score above the line
item's resultValueMax is extra credit (LMS grade passback sends it): kept and returned as sent.

DELETE is a hard delete: a deleted line item takes its results with it (the specification also
allows marking them tobedeleted; a hard delete keeps the teacher's gradebook and the portal free
of ghost assignments). Scopes: gradebook.readonly to read, gradebook.createput to PUT,
gradebook.delete to DELETE.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from fake_data.export_oneroster import sourced_id
from staging.api_docs import oneroster_answers
from staging.dates import Day
from staging.db import Database, Row
from staging.oauth import GRADEBOOK_DELETE, GRADEBOOK_READ, GRADEBOOK_WRITE, require_scope
from staging.oneroster_query import compact, fetch_one, iso_datetime, list_response, one_response
from staging.oneroster_sql import (
    Branch,
    Col,
    Collection,
    Ctx,
    Scope,
    const_col,
    id_col,
    modified_sql,
    parse_sourced_id,
)
from staging.oneroster_status import OneRosterError, OneRosterRoute, invalid_data, unknown_object

router = APIRouter(prefix="/ims/oneroster/gradebook/v1p2", tags=["oneroster-gradebook"],
                   route_class=OneRosterRoute, responses=oneroster_answers(400, 401, 403, 404, 429))
Read = Annotated[str, Depends(require_scope(GRADEBOOK_READ))]
Write = Annotated[str, Depends(require_scope(GRADEBOOK_WRITE))]
Delete = Annotated[str, Depends(require_scope(GRADEBOOK_DELETE))]
SourcedId = Annotated[str, Path(min_length=1, max_length=255)]
ScoreStatus = Literal["exempt", "fully graded", "not submitted", "partially graded", "submitted"]
MAX_POINTS = 1000.0
DEFAULT_POINTS = 100.0  # resultValueMax is optional in 1.2; the SIS needs points possible

_LI = re.compile(r"li-(\d{1,10})")
_RES = re.compile(r"res-(\d{1,10})-(\d{1,10})")


def _own_li(value: str) -> int | None:
    m = _LI.fullmatch(value)
    return int(m.group(1)) if m and f"li-{int(m.group(1))}" == value else None


def _own_res(value: str) -> tuple[int, int] | None:
    m = _RES.fullmatch(value)
    if not m:
        return None
    pair = int(m.group(1)), int(m.group(2))
    return pair if f"res-{pair[0]}-{pair[1]}" == value else None


def _li_match(alias: str) -> Any:
    def match(value: str, p: str) -> tuple[str, dict[str, Any]] | None:
        if _LI.fullmatch(value):
            n = _own_li(value)
            return None if n is None or n > 2**31 else (
                f"{alias}.line_item_id = %({p})s AND {alias}.sourced_id IS NULL", {p: n})
        return f"{alias}.sourced_id = %({p})s", {p: value}
    return match


def _res_match(value: str, p: str) -> tuple[str, dict[str, Any]] | None:
    if _RES.fullmatch(value):
        pair = _own_res(value)
        return None if pair is None or max(pair) > 2**31 else (
            f"sc.line_item_id = %({p}a)s AND sc.student_id = %({p}b)s AND sc.sourced_id IS NULL",
            {f"{p}a": pair[0], f"{p}b": pair[1]})
    return "sc.sourced_id = %(" + p + ")s", {p: value}


def _li_sid(alias: str) -> str:
    return f"coalesce({alias}.sourced_id, 'li-' || {alias}.line_item_id)"


# --- categories ---------------------------------------------------------------------------------

CATEGORY = Branch(
    rank=0, table="sis.gradebook_categories gc", keys=("gc.sourced_id",),
    cols={"sourcedId": Col("gc.sourced_id", match=lambda v, p: (f"gc.sourced_id = %({p})s",
                                                                {p: v})),
          "status": Col("gc.status"), "dateLastModified": Col(modified_sql("gc.modified_at"),
                                                             "datetime"),
          "title": Col("gc.title"), "weight": Col("gc.weight::float8", "number")},
    output=f"gc.title, gc.status, gc.weight::float8 AS weight,"
           f" {modified_sql('gc.modified_at')} AS modified")


def _category(r: Row, ctx: Ctx) -> dict[str, Any]:
    return compact({"sourcedId": r["k0"], "status": r["status"],
                    "dateLastModified": iso_datetime(r["modified"]), "title": r["title"],
                    "weight": r["weight"]})


CATEGORIES = Collection("categories", "category", (CATEGORY,),
                        ("sourcedId", "status", "dateLastModified", "title", "weight"),
                        _category, "category")

# --- line items ---------------------------------------------------------------------------------

_LI_TITLE = ("coalesce(li.title, initcap(li.category) || ' due '"
             " || to_char(li.due_date, 'YYYY-MM-DD'))")
LINE_ITEM = Branch(
    rank=0, table="sis.line_items li", keys=("li.line_item_id",),
    joins={"s": "JOIN sis.sections s ON s.section_id = li.section_id",
           "gc": "LEFT JOIN sis.gradebook_categories gc ON gc.category = li.category"},
    cols={"sourcedId": Col(_li_sid("li"), match=_li_match("li")), "status": const_col("active"),
          "dateLastModified": Col(modified_sql("li.modified_at"), "datetime"),
          "title": Col(_LI_TITLE), "description": Col("li.description"),
          # dateTimes in 1.2: the SIS's dates at midnight UTC, as the objects show them.
          "assignDate": Col("(li.assigned_date::timestamp AT TIME ZONE 'UTC')", "datetime"),
          "dueDate": Col("(li.due_date::timestamp AT TIME ZONE 'UTC')", "datetime"),
          "class.sourcedId": id_col("class", "li.section_id"),
          "school.sourcedId": id_col("school", "s.school_id", joins=("s",)),
          "category.sourcedId": Col("gc.sourced_id", joins=("gc",)),
          "resultValueMin": Col("0::float8", "number"),
          "resultValueMax": Col("li.points_possible::float8", "number")},
    output=f"li.sourced_id, {_LI_TITLE} AS title, li.description, li.assigned_date, li.due_date,"
           " li.section_id, s.school_id, gc.sourced_id AS category_sid,"
           " li.points_possible::float8 AS points, coalesce(li.grading_period_id, gp.session_id)"
           f" AS grading_period, {modified_sql('li.modified_at')} AS modified",
    # The grading period of a seeded item: the one its due date falls in.
    extra="LEFT JOIN LATERAL (SELECT session_id FROM sis.academic_sessions WHERE type ="
          " 'gradingPeriod' AND li.due_date BETWEEN start_date AND end_date"
          " ORDER BY session_id LIMIT 1) gp ON true")


def _line_item(r: Row, ctx: Ctx) -> dict[str, Any]:
    return compact({
        "sourcedId": r["sourced_id"] or f"li-{r['k0']}", "status": "active",
        "dateLastModified": iso_datetime(r["modified"]), "title": r["title"],
        "description": r["description"], "assignDate": iso_datetime(r["assigned_date"]),
        "dueDate": iso_datetime(r["due_date"]),
        "class": ctx.ref("classes", sourced_id("class", r["section_id"]), "class"),
        "school": ctx.ref("orgs", sourced_id("school", r["school_id"]), "org"),
        "category": None if r["category_sid"] is None else ctx.ref(
            "categories", r["category_sid"], "category", "gradebook"),
        "gradingPeriod": None if r["grading_period"] is None else ctx.ref(
            "academicSessions", sourced_id("session", r["grading_period"]), "academicSession"),
        "resultValueMin": 0.0, "resultValueMax": r["points"]})


LINE_ITEMS = Collection("lineItems", "lineItem", (LINE_ITEM,),
                        ("sourcedId", "status", "dateLastModified", "title", "description",
                         "assignDate", "dueDate", "class", "school", "category", "gradingPeriod",
                         "resultValueMin", "resultValueMax"), _line_item, "lineItem",
                        sid_is_key=False)

# --- results ------------------------------------------------------------------------------------

# Scores are `real`: read through its shortest text, 21.3 comes back 21.3 (not 21.2999992...).
_SCORE = "sc.score::text::float8"
_SCORE_DATE = "coalesce((sc.updated_at AT TIME ZONE 'UTC')::date, li.due_date)"
RESULT = Branch(
    rank=0, table="sis.scores sc", keys=("sc.line_item_id", "sc.student_id"),
    joins={"li": "JOIN sis.line_items li ON li.line_item_id = sc.line_item_id"},
    cols={"sourcedId": Col("coalesce(sc.sourced_id, 'res-' || sc.line_item_id || '-' ||"
                           " sc.student_id)", match=_res_match),
          "status": const_col("active"),
          "dateLastModified": Col(modified_sql("sc.updated_at"), "datetime"),
          "lineItem.sourcedId": Col(_li_sid("li"), joins=("li",), match=_li_match("li")),
          "student.sourcedId": id_col("student", "sc.student_id"),
          "class.sourcedId": id_col("class", "li.section_id", joins=("li",)),
          "scoreStatus": Col("sc.score_status"), "score": Col(_SCORE, "number"),
          "scoreDate": Col(_SCORE_DATE, "date", joins=("li",)), "comment": Col("sc.comment")},
    output="sc.sourced_id, li.sourced_id AS li_sid, li.section_id, sc.score_status,"
           f" {_SCORE} AS score, sc.comment, {_SCORE_DATE} AS score_date,"
           f" {modified_sql('sc.updated_at')} AS modified")


def _result(r: Row, ctx: Ctx) -> dict[str, Any]:
    li, student = r["k0"], r["k1"]
    return compact({
        "sourcedId": r["sourced_id"] or f"res-{li}-{student}", "status": "active",
        "dateLastModified": iso_datetime(r["modified"]),
        "lineItem": ctx.ref("lineItems", r["li_sid"] or f"li-{li}", "lineItem", "gradebook"),
        "student": ctx.ref("users", sourced_id("student", student), "user"),
        "class": ctx.ref("classes", sourced_id("class", r["section_id"]), "class"),
        "scoreStatus": r["score_status"], "score": r["score"],
        "scoreDate": r["score_date"].isoformat(), "comment": r["comment"]})


RESULTS = Collection("results", "result", (RESULT,),
                     ("sourcedId", "status", "dateLastModified", "lineItem", "student", "class",
                      "scoreStatus", "score", "scoreDate", "comment"), _result, "result",
                     sid_is_key=False)

# --- reads --------------------------------------------------------------------------------------


def _class_id(sid: str) -> int:
    n = parse_sourced_id("class", sid)
    if n is None:
        raise unknown_object("class", sid)
    return n


_CLASS_EXISTS = "EXISTS (SELECT 1 FROM sis.sections WHERE section_id = %(class)s)"


@router.get("/categories", name="getAllCategories")
async def categories(request: Request, _: Read) -> JSONResponse:
    return await list_response(request, CATEGORIES)


@router.get("/categories/{sourcedId}", name="getCategory")
async def category(request: Request, sourcedId: SourcedId, _: Read) -> JSONResponse:
    return await one_response(request, CATEGORIES, sourcedId)


@router.get("/classes/{sourcedId}/categories", name="getCategoriesForClass")
async def class_categories(request: Request, sourcedId: SourcedId, _: Read) -> JSONResponse:
    """The district's categories: every class grades in the same ones."""
    return await list_response(request, CATEGORIES, Scope(
        "TRUE", {"class": _class_id(sourcedId)}, _CLASS_EXISTS, "class", sourcedId))


@router.get("/lineItems", name="getAllLineItems")
async def line_items(request: Request, _: Read) -> JSONResponse:
    return await list_response(request, LINE_ITEMS)


@router.get("/lineItems/{sourcedId}", name="getLineItem")
async def line_item(request: Request, sourcedId: SourcedId, _: Read) -> JSONResponse:
    return await one_response(request, LINE_ITEMS, sourcedId)


@router.get("/classes/{sourcedId}/lineItems", name="getLineItemsForClass")
async def class_line_items(request: Request, sourcedId: SourcedId, _: Read) -> JSONResponse:
    return await list_response(request, LINE_ITEMS, Scope(
        "li.section_id = %(class)s", {"class": _class_id(sourcedId)}, _CLASS_EXISTS, "class",
        sourcedId))


@router.get("/results", name="getAllResults")
async def results(request: Request, _: Read) -> JSONResponse:
    return await list_response(request, RESULTS)


@router.get("/results/{sourcedId}", name="getResult")
async def result(request: Request, sourcedId: SourcedId, _: Read) -> JSONResponse:
    return await one_response(request, RESULTS, sourcedId)


@router.get("/classes/{classSourcedId}/lineItems/{lineItemSourcedId}/results",
            name="getResultsForLineItemForClass")
async def line_item_results(request: Request, classSourcedId: SourcedId,
                            lineItemSourcedId: SourcedId, _: Read) -> JSONResponse:
    found = _li_match("li")(lineItemSourcedId, "li_sid")
    if found is None:
        raise unknown_object("lineItem", lineItemSourcedId)
    match, params = found
    item = (f"SELECT li.line_item_id FROM sis.line_items li WHERE {match}"
            " AND li.section_id = %(class)s")
    return await list_response(request, RESULTS, Scope(
        f"sc.line_item_id IN ({item})", {"class": _class_id(classSourcedId), **params},
        f"EXISTS ({item})", "lineItem", lineItemSourcedId))


@router.get("/classes/{classSourcedId}/students/{studentSourcedId}/results",
            name="getResultsForStudentForClass")
async def student_results(request: Request, classSourcedId: SourcedId,
                          studentSourcedId: SourcedId, _: Read) -> JSONResponse:
    section = _class_id(classSourcedId)
    student = parse_sourced_id("student", studentSourcedId)
    if student is None:
        raise unknown_object("student", studentSourcedId)
    return await list_response(request, RESULTS, Scope(
        "sc.student_id = %(student)s AND sc.line_item_id IN (SELECT line_item_id FROM"
        " sis.line_items WHERE section_id = %(class)s)", {"class": section, "student": student},
        f"{_CLASS_EXISTS} AND EXISTS (SELECT 1 FROM sis.students WHERE student_id = %(student)s)",
        "class or student", f"{classSourcedId}/{studentSourcedId}"))

# --- writes -------------------------------------------------------------------------------------


def _day(value: Any) -> Any:
    """assignDate/dueDate are dateTimes in 1.2; the SIS keeps the (local) date."""
    if isinstance(value, str):
        try:
            return dt.datetime.fromisoformat(value).date()
        except ValueError:
            return value  # pydantic reports it
    return value


class Ref(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sourcedId: str = Field(min_length=1, max_length=255)
    type: str | None = Field(default=None, max_length=64)
    href: str | None = Field(default=None, max_length=2000)


class LineItemIn(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    sourcedId: str | None = Field(default=None, max_length=255)
    status: Literal["active"] = "active"
    title: str = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    assignDate: Day
    dueDate: Day
    class_: Ref = Field(alias="class")
    school: Ref | None = None
    category: Ref
    gradingPeriod: Ref | None = None
    resultValueMin: float | None = Field(default=None, ge=0, le=0)  # scores start at 0
    resultValueMax: float = Field(default=DEFAULT_POINTS, gt=0, le=MAX_POINTS)

    _dates = field_validator("assignDate", "dueDate", mode="before")(_day)


class ResultIn(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)
    sourcedId: str | None = Field(default=None, max_length=255)
    status: Literal["active"] = "active"
    lineItem: Ref
    student: Ref
    class_: Ref | None = Field(default=None, alias="class")
    scoreStatus: ScoreStatus
    score: float | None = Field(default=None, ge=0, le=MAX_POINTS)
    comment: str | None = Field(default=None, max_length=2000)


class LineItemBody(BaseModel):
    lineItem: LineItemIn


class ResultBody(BaseModel):
    result: ResultIn


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _check_sid(path_sid: str, body_sid: str | None) -> None:
    if body_sid is not None and body_sid != path_sid:
        raise invalid_data(f"the body's sourcedId {body_sid!r} is not the URL's {path_sid!r}")


LINE_ITEM_CONTEXT = """
SELECT (SELECT school_id FROM sis.sections WHERE section_id = %(section)s) AS school_id,
       (SELECT category FROM sis.gradebook_categories WHERE sourced_id = %(category)s
          AND status = 'active') AS category,
       (SELECT line_item_id FROM sis.line_items li WHERE {match} FOR UPDATE) AS existing,
       (SELECT section_id FROM sis.line_items li WHERE {match}) AS existing_section,
       %(period)s::int IS NULL OR EXISTS (SELECT 1 FROM sis.academic_sessions
          WHERE session_id = %(period)s AND type = 'gradingPeriod') AS period_ok
"""
_LI_VALUES = ("section_id = %(section)s, category = %(category)s, title = %(title)s,"
              " description = %(description)s, assigned_date = %(assigned)s, due_date = %(due)s,"
              " points_possible = %(points)s, grading_period_id = %(period)s, modified_at = now()")


@router.put("/lineItems/{sourcedId}", name="putLineItem", responses=oneroster_answers(409))
async def put_line_item(request: Request, sourcedId: SourcedId, body: LineItemBody,
                        _: Write) -> JSONResponse:
    """Create (201) or replace (200) a line item; the SIS's li-<n> ids only replace."""
    item = body.lineItem
    _check_sid(sourcedId, item.sourcedId)
    if item.dueDate < item.assignDate:
        raise invalid_data("dueDate is before assignDate")
    section = parse_sourced_id("class", item.class_.sourcedId)
    period = parse_sourced_id("session", item.gradingPeriod.sourcedId) \
        if item.gradingPeriod else None
    if section is None or (item.gradingPeriod and period is None):
        raise invalid_data("unknown class or gradingPeriod reference")
    found = _li_match("li")(sourcedId, "sid")
    match, params = found if found else ("FALSE", {})
    db = _db(request)
    async with db.connection() as conn, conn.transaction():
        [ctx] = await db.run(conn, "oneroster.line_item.context",
                             LINE_ITEM_CONTEXT.format(match=match),
                             {"section": section, "category": item.category.sourcedId,
                              "period": period, **params})
        if ctx["school_id"] is None:
            raise invalid_data(f"class {item.class_.sourcedId!r} does not exist")
        if item.school and item.school.sourcedId != sourced_id("school", ctx["school_id"]):
            raise invalid_data(f"class {item.class_.sourcedId!r} is not at school "
                               f"{item.school.sourcedId!r}")
        if ctx["category"] is None:
            raise invalid_data(f"category {item.category.sourcedId!r} does not exist")
        if not ctx["period_ok"]:
            raise invalid_data(f"{item.gradingPeriod.sourcedId!r} is not a grading period"
                               if item.gradingPeriod else "unknown gradingPeriod")
        values = {"section": section, "category": ctx["category"], "title": item.title,
                  "description": item.description, "assigned": item.assignDate,
                  "due": item.dueDate, "points": item.resultValueMax, "period": period,
                  "sid": sourcedId}
        if ctx["existing"] is not None:
            if ctx["existing_section"] != section:
                raise invalid_data("a line item cannot move to another class; delete it and"
                                   " create a new one")
            await db.run(conn, "oneroster.line_item.replace",
                         f"UPDATE sis.line_items SET {_LI_VALUES} WHERE line_item_id = %(id)s",
                         {**values, "id": ctx["existing"]})
        elif _LI.fullmatch(sourcedId):
            raise invalid_data(f"{sourcedId!r}: li-<number> ids are the SIS's own; choose"
                               " another sourcedId")
        else:
            await db.run(conn, "oneroster.line_item.create",
                         "INSERT INTO sis.line_items (sourced_id, section_id, category, title,"
                         " description, assigned_date, due_date, points_possible,"
                         " grading_period_id, modified_at) VALUES (%(sid)s, %(section)s,"
                         " %(category)s, %(title)s, %(description)s, %(assigned)s, %(due)s,"
                         " %(points)s, %(period)s, now())", values)
    obj = await fetch_one(request, LINE_ITEMS, sourcedId)
    return JSONResponse({"lineItem": obj}, 200 if ctx["existing"] is not None else 201)


RESULT_CONTEXT = """
SELECT li.line_item_id, li.section_id, li.points_possible::float8 AS points,
       EXISTS (SELECT 1 FROM sis.enrollments e JOIN sis.students st
           ON st.student_id = e.student_id AND st.enrollment_status = 'active'
           WHERE e.section_id = li.section_id AND e.student_id = %(student)s) AS enrolled,
       (SELECT coalesce(sc.sourced_id, '') FROM sis.scores sc WHERE sc.line_item_id
           = li.line_item_id AND sc.student_id = %(student)s FOR UPDATE) AS pair_sid,
       old.line_item_id AS old_item, old.student_id AS old_student
FROM sis.line_items li
LEFT JOIN LATERAL (SELECT sc.line_item_id, sc.student_id FROM sis.scores sc
    WHERE {old} FOR UPDATE) old ON true
WHERE {item}
"""
_SCORE_VALUES = ("score = %(score)s, score_status = %(status)s, comment = %(comment)s,"
                 " updated_at = now()")


@router.put("/results/{sourcedId}", name="putResult", responses=oneroster_answers(409))
async def put_result(request: Request, sourcedId: SourcedId, body: ResultBody,
                     _: Write) -> JSONResponse:
    """Create (201) or replace (200) the result of a student on a line item."""
    res = body.result
    _check_sid(sourcedId, res.sourcedId)
    if res.scoreStatus == "fully graded" and res.score is None:
        raise invalid_data("a fully graded result needs a score")
    student = parse_sourced_id("student", res.student.sourcedId)
    item = _li_match("li")(res.lineItem.sourcedId, "li_sid")
    old = _res_match(sourcedId, "res_sid")
    own = _RES.fullmatch(sourcedId) is not None
    if student is None or item is None or (own and old is None):
        raise invalid_data("unknown lineItem or student reference" if not own or old
                           else f"{sourcedId!r}: res-<n>-<n> ids are the SIS's own")
    db = _db(request)
    async with db.connection() as conn, conn.transaction():
        rows = await db.run(conn, "oneroster.result.context",
                            RESULT_CONTEXT.format(item=item[0], old=(old or ("FALSE", {}))[0]),
                            {"student": student, **item[1], **(old or ("", {}))[1]})
        if not rows:
            raise invalid_data(f"lineItem {res.lineItem.sourcedId!r} does not exist")
        ctx = rows[0]
        pair = (ctx["line_item_id"], student)
        if res.class_ and res.class_.sourcedId != sourced_id("class", ctx["section_id"]):
            raise invalid_data("the result's class is not its lineItem's class")
        if not ctx["enrolled"]:
            raise invalid_data(f"student {res.student.sourcedId!r} is not enrolled in the"
                               " lineItem's class")
        if own and _own_res(sourcedId) != pair:
            raise invalid_data(f"{sourcedId!r} names another lineItem and student")
        existed = ctx["old_item"] is not None
        moving = existed and (ctx["old_item"], ctx["old_student"]) != pair
        if ctx["pair_sid"] not in (None, "") and (moving or not existed):
            raise OneRosterError(409, "invaliddata", "this student already has a result on"
                                 f" this lineItem: {ctx['pair_sid']!r}")
        values = {"score": res.score, "status": res.scoreStatus, "comment": res.comment,
                  "sid": None if own else sourcedId, "item": pair[0], "student": pair[1],
                  "old_item": ctx["old_item"], "old_student": ctx["old_student"]}
        if moving and ctx["pair_sid"] == "":  # the SIS's blank score of the pair gives way
            await db.run(conn, "oneroster.result.displace", "DELETE FROM sis.scores WHERE"
                         " line_item_id = %(item)s AND student_id = %(student)s", values)
        if existed:
            await db.run(conn, "oneroster.result.replace",
                         f"UPDATE sis.scores SET line_item_id = %(item)s, student_id ="
                         f" %(student)s, {_SCORE_VALUES} WHERE line_item_id = %(old_item)s"
                         " AND student_id = %(old_student)s", values)
        else:  # new, or taking over the SIS's blank score of the pair
            # A pair created meanwhile by another client is not taken over (the WHERE).
            written = await db.run(
                conn, "oneroster.result.create",
                "INSERT INTO sis.scores (line_item_id, student_id, sourced_id, score,"
                " score_status, comment, updated_at) VALUES (%(item)s, %(student)s, %(sid)s,"
                " %(score)s, %(status)s, %(comment)s, now()) ON CONFLICT (line_item_id,"
                f" student_id) DO UPDATE SET sourced_id = excluded.sourced_id, {_SCORE_VALUES}"
                " WHERE sis.scores.sourced_id IS NULL RETURNING 1", values)
            if not written:
                raise OneRosterError(409, "invaliddata", "this student already has a result"
                                     " on this lineItem")
    obj = await fetch_one(request, RESULTS, sourcedId)
    return JSONResponse({"result": obj}, 200 if existed else 201)


@router.delete("/lineItems/{sourcedId}", status_code=204, name="deleteLineItem")
async def delete_line_item(request: Request, sourcedId: SourcedId, _: Delete) -> Response:
    """Hard delete: the line item and all its results."""
    found = _li_match("li")(sourcedId, "sid")
    if found is None:
        raise unknown_object("lineItem", sourcedId)
    [row] = await _db(request).fetch(
        "oneroster.line_item.delete",
        f"WITH li AS (DELETE FROM sis.line_items li WHERE {found[0]} RETURNING line_item_id),"
        " gone AS (DELETE FROM sis.scores sc USING li WHERE sc.line_item_id = li.line_item_id"
        " RETURNING 1) SELECT (SELECT count(*) FROM li) AS items,"
        " (SELECT count(*) FROM gone) AS results", found[1])
    if not row["items"]:
        raise unknown_object("lineItem", sourcedId)
    return Response(status_code=204)


@router.delete("/results/{sourcedId}", status_code=204, name="deleteResult")
async def delete_result(request: Request, sourcedId: SourcedId, _: Delete) -> Response:
    found = _res_match(sourcedId, "sid")
    rows = await _db(request).fetch(
        "oneroster.result.delete",
        f"DELETE FROM sis.scores sc WHERE {found[0]} RETURNING 1", found[1]) if found else []
    if not rows:
        raise unknown_object("result", sourcedId)
    return Response(status_code=204)
