"""`form` extracts with `submit: true`: the fields a browser submits with a form (RosarioSIS's
Take Attendance form: a checked radio per student, comments, selects), not only its hidden
inputs; and the loader refuses `submit` without `form`."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from loadtests.targetfile.extract import compile_extract
from loadtests.targetfile.model import Extract

PAGE = """<html><body>
<form action="Side.php" method="POST"><input type="hidden" name="side" value="1"></form>
<form action="Modules.php?modname=Attendance/TakeAttendance.php&amp;table=0&amp;period=389"
      method="POST">
  <select name="school_period"><option value="51">Homeroom</option>
    <option value="52" selected>Period 1</option></select>
  <select name="month_date"><option value="11">November</option><option value="12">December
  </option></select>
  <input type="hidden" name="token" value="t-1">
  <input type="radio" name="attendance[3380]" value="CODE_10">
  <input type="radio" name="attendance[3380]" value="CODE_18" checked />
  <input type="radio" name="attendance[3354]" value="CODE_10" checked>
  <input type="radio" name="attendance[3354]" value="CODE_18">
  <input type="radio" name="attendance[3999]" value="CODE_18" checked disabled>
  <input type="text" name="comment[3380]" value="">
  <input type="text" name="comment[3354]" value="late bus">
  <input type="checkbox" name="notify" value="Y">
  <input type="checkbox" name="remember" checked>
  <textarea name="note">first day</textarea>
  <input type="submit" name="save" value="Save">
  <input type="text" value="no name">
</form></body></html>"""


def _extract(spec: Extract) -> object:
    response: Any = httpx.Response(200, html=PAGE)   # what the engine's Response reads
    return compile_extract("x", spec).matches(response)


def test_submit_gives_what_a_browser_posts() -> None:
    found = _extract(Extract(form='form[action*="TakeAttendance.php"]', submit=True))
    assert found == [{
        "school_period": "52", "month_date": "11", "token": "t-1",
        "attendance[3380]": "CODE_18", "attendance[3354]": "CODE_10",
        "comment[3380]": "", "comment[3354]": "late bus", "remember": "on",
        "note": "first day"}]


def test_without_submit_only_hidden_inputs() -> None:
    found = _extract(Extract(form='form[action*="TakeAttendance.php"]'))
    assert found == [{"token": "t-1"}]


@pytest.mark.parametrize("spec", [{"regex": "x", "submit": True},
                                  {"form": "form", "field": "token", "submit": True}])
def test_submit_goes_with_form_alone(spec: dict[str, object]) -> None:
    with pytest.raises(ValidationError, match="submit goes with form"):
        Extract(**spec)
