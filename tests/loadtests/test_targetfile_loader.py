"""Loading target files: the shipped JSON Schema is the models', and every broken file is
refused with one clear message naming the file, the line, the field (as spelled in the file)
and the value, never a traceback."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from kernel.errors import USAGE_ERROR_EXIT, UserError
from loadtests.targetfile.loader import TargetFileError, load_target_file
from loadtests.targetfile.schema import SCHEMA_FILE, render

GOOD = """\
version: 1
name: demo
hosts: [sis.example.org]
session: {carrier: cookie}
login:
  steps:
    - name: login page
      group: auth
      request: {url: /login}
      extract:
        hidden: {form: "form#login"}
    - name: login post
      metric: auth.login
      request:
        method: POST
        url: /login
        form: "{{ hidden }}"
personas:
  guardian:
    mix: {report_share: 0.5}
    steps:
      - name: home
        metric: portal.home
        request: {url: /home}
        extract:
          kids: {jsonpath: "$.students[*].id", all: true}
      - for_each: kids
        as: kid
        steps:
          - name: grades
            metric: portal.grades
            request: {url: "/students/{{ kid }}/grades"}
            probability: "{{ mix.report_share }}"
      - probe: peek
probes:
  peek:
    as: guardian
    other: {values: "{{ user.forbidden_students }}"}
    request: {url: "/students/{{ other.value }}/grades"}
    metric: portal.grades
"""


def test_good_file_loads(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(GOOD)
    t = load_target_file(tmp_path / "t.yaml")
    assert list(t.personas) == ["guardian"] and list(t.probes) == ["peek"]


def test_shipped_schema_is_the_models() -> None:
    assert SCHEMA_FILE.read_text(encoding="utf-8") == render(), \
        "regenerate: python -m loadtests.targetfile.schema"
    schema = json.loads(render())
    step = schema["$defs"]["Step"]["properties"]
    assert "json" in schema["$defs"]["Request"]["properties"] and "metric" in step
    assert "as" in schema["$defs"]["ForEach"]["properties"]


def test_shipped_portal_target_loads() -> None:
    folder = Path(__file__).resolve().parents[2] / "targets" / "staging-portal"
    t = load_target_file(folder)
    assert set(t.personas) == {"guardian", "student"}


# (replace this line of GOOD, with this text; the field and value the message must name).
# The replacement line carries "#<" where the error must point.
BROKEN: dict[str, tuple[str, str, str, str] | tuple[str, str, str, str, int]] = {
    "unknown top-level field": ("hosts: [sis.example.org]",
                                "hosts: [sis.example.org]\nhostz: [a] #<", "hostz", "['a']"),
    "wrong version": ("version: 1", "version: 2 #<", "version", "2"),
    "unknown method": ("        request: {url: /home}",
                       "        request: {url: /home, method: FETCH} #<",
                       "personas.guardian.steps.0.request.method", "'FETCH'"),
    "metric in capitals": ("        metric: portal.home", "        metric: Portal.Home #<",
                           "personas.guardian.steps.0.metric", "Portal.Home"),
    "unknown field in a step": ("        metric: portal.home",
                                "        metric: portal.home\n        wait: 3 #<",
                                "personas.guardian.steps.0.wait", "3"),
    "two extract sources": ("          kids: {jsonpath: \"$.students[*].id\", all: true}",
                            "          kids: {jsonpath: \"$.x\", regex: \"a\"} #<",
                            "personas.guardian.steps.0.extract.kids", "'regex': 'a'"),
    "regex that does not compile": (
        "          kids: {jsonpath: \"$.students[*].id\", all: true}",
        "          kids: {regex: \"(a\"} #<", "personas.guardian.steps.0.extract.kids", "(a"),
    "bad jsonpath": ("          kids: {jsonpath: \"$.students[*].id\", all: true}",
                     "          kids: {jsonpath: \"$..[\", all: true} #<",
                     "personas.guardian.steps.0.extract.kids.jsonpath", "$..["),
    "bad css selector": ("        hidden: {form: \"form#login\"}",
                         "        hidden: {form: \"form[[\"} #<",
                         "login.steps.0.extract.hidden.form", "form[["),
    "unclosed template": ("        request: {url: /home}",
                          "        request: {url: \"/home/{{ user.id\"} #<",
                          "personas.guardian.steps.0.request.url", "/home/{{ user.id"),
    "expression in a template": ("        request: {url: /home}",
                                 "        request: {url: \"/h/{{ a + b }}\"} #<",
                                 "personas.guardian.steps.0.request.url", "{{ a + b }}"),
    "unknown filter": ("        request: {url: /home}",
                       "        request: {url: \"/h/{{ user.id | upper }}\"} #<",
                       "personas.guardian.steps.0.request.url", "upper"),
    "variable used before it is extracted": (
        "        request: {url: /home}", "        request: {url: \"/h/{{ kids }}\"} #<",
        "personas.guardian.steps.0.request.url", "{{ kids }}"),
    "for_each item outside its loop": (
        "      - probe: peek",
        "      - {name: x, group: portal, request: {url: \"/s/{{ kid }}\"}} #<",
        "personas.guardian.steps.2.request.url", "{{ kid }}"),
    "undeclared mix knob": ("            probability: \"{{ mix.report_share }}\"",
                            "            probability: \"{{ mix.nope }}\" #<",
                            "personas.guardian.steps.1.steps.0.probability", "mix.nope"),
    "other outside a probe": ("        request: {url: /home}",
                              "        request: {url: \"/h/{{ other.value }}\"} #<",
                              "personas.guardian.steps.0.request.url", "other.value"),
    "probe step naming no probe": ("      - probe: peek", "      - probe: peak #<",
                                   "personas.guardian.steps.2.probe", "peak"),
    "probe as an unknown persona": ("    as: guardian", "    as: teacher #<",
                                    "probes.peek.as", "teacher"),
    "probe metric in capitals": ("    metric: portal.grades", "    metric: Portal #<",
                                 "probes.peek.metric", "Portal"),
    "think min above max": ("      - probe: peek", "      - think: {min: 5, max: 2} #<",
                            "personas.guardian.steps.2.think", "'min': 5"),
    "think of two shapes": ("      - probe: peek", "      - think: {mean: 5, recorded: 2} #<",
                            "personas.guardian.steps.2.think", "'recorded': 2"),
    "field given twice": ("        metric: portal.home",
                          "        metric: portal.home\n        metric: portal.x #<",
                          "personas.guardian.steps.0.metric", "metric"),
    "status that is no HTTP status": ("        metric: portal.home",
                                      "        metric: portal.home\n"
                                      "        check: {status: [999]} #<",
                                      "personas.guardian.steps.0.check.status", "999"),
    "plays an unknown day persona": ("    mix: {report_share: 0.5}",
                                     "    mix: {report_share: 0.5}\n    plays: parent #<",
                                     "personas.guardian.plays", "parent"),
    "csv pool whose file is missing": ("    mix: {report_share: 0.5}",
                                       "    mix: {report_share: 0.5}\n    pool: {csv: acc.csv,"
                                       " columns: {username: u, password: p}} #<",
                                       "personas.guardian.pool.csv", "acc.csv"),
    "csv pool without a password column": (
        "    mix: {report_share: 0.5}",
        "    mix: {report_share: 0.5}\n    pool: {csv: a.csv, columns: {username: u}} #<",
        "personas.guardian.pool.columns", "username"),
    "for_each without as": ("        as: kid", "        pick: {count: all} #<",
                            "personas.guardian.steps.1.as", "(missing)", -1),
    "url on another host": ("        request: {url: /home}",
                            "        request: {url: \"https://evil.example.com/x\"} #<",
                            "personas.guardian.steps.0.request.url", "evil.example.com"),
    "bearer session without a token": ("session: {carrier: cookie}",
                                       "session: {carrier: bearer} #<", "session", "bearer"),
    "request with two bodies": ("        form: \"{{ hidden }}\"",
                                "        form: \"{{ hidden }}\"\n        json: {a: 1} #<",
                                "login.steps.1.request", "'json'", -4),
    "step with neither metric nor group": ("        metric: portal.home",
                                           "        probability: 0.5 #<",
                                           "personas.guardian.steps.0", "'home'", -1),
    "persona name with capitals": ("  guardian:", "  Guardian: #<", "personas.Guardian",
                                   "Guardian"),
}


@pytest.mark.parametrize("case", BROKEN, ids=list(BROKEN))
def test_broken_file(tmp_path: Path, case: str) -> None:
    old, new, field, value, *delta = BROKEN[case]
    lines = GOOD.splitlines()
    assert lines.count(old) == 1, old
    text = "\n".join(new if t == old else t for t in lines) + "\n"
    # the line the error names: the marked one (or `delta` lines above it)
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "#<" in t) + sum(delta)
    path = tmp_path / "target.yaml"
    path.write_text(text)
    with pytest.raises(TargetFileError) as err:
        load_target_file(path)
    message = str(err.value)
    assert isinstance(err.value, UserError) and err.value.exit_code == USAGE_ERROR_EXIT
    assert f"{path}:{line}: field {field}:" in message, message
    assert value in message.split(f"field {field}:", 1)[1].splitlines()[0], message
    assert "Traceback" not in message


def test_error_in_a_persona_file_names_that_file(tmp_path: Path) -> None:
    (tmp_path / "personas").mkdir()
    (tmp_path / "target.yaml").write_text(textwrap.dedent("""\
        version: 1
        name: demo
        hosts: [sis.example.org]
        login:
          steps:
            - {name: login, metric: auth.login, request: {method: POST, url: /login}}
        """))
    (tmp_path / "personas" / "student.yaml").write_text(textwrap.dedent("""\
        steps:
          - name: home
            metric: portal.home
            request: {url: "/s/{{ me }}"}
        """))
    with pytest.raises(TargetFileError) as err:
        load_target_file(tmp_path)
    assert f"{tmp_path / 'personas' / 'student.yaml'}:4: field personas.student.steps.0" \
           ".request.url:" in str(err.value)


def test_not_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("version: 1\nname: demo\nhosts: [a\n")
    with pytest.raises(TargetFileError, match=rf"{path}:\d+: not YAML"):
        load_target_file(path)
