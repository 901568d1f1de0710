"""The runbooks (every markdown file under `runbooks/`) stay true to the repository:

- every relative link and `#anchor` resolves to a file and a GitHub-style heading anchor;
- every `firstbell …` and `locust -f loadtests/locustfile.py …` command they show (in fenced
  blocks, `$ ` prompts and `\\` continuations allowed, and in inline code) exists: its
  subcommand path answers `--help` with exit 0, and every `--option` the line uses is an option
  of that command;
- launch-day.md's go/no-go tables say what `thresholds/launch-thresholds.yaml` says;
- the commands the README and the user docs show pass the same command check (in a console
  block only the `$ ` lines are commands; the rest is output).

The helps are collected once per module in child interpreters, side by side: one calls
`firstbell.cli.main([*path, "--help"])` (what `python -m firstbell.cli PATH --help` runs) for
every command path of the CLI, since an interpreter per path costs about a second each; one
runs `python -m locust -f loadtests/locustfile.py --help`; one prints Locust's parser with the
engine's options (and the Grafana plugin's) registered, which Locust's own `--help` leaves out
because it does not load the locustfile first (locustio/locust#2917).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote

import pytest

from kernel.durations import seconds
from thresholds import Gates, load_thresholds

ROOT = Path(__file__).resolve().parents[2]
RUNBOOKS = ROOT / "runbooks"
PAGES = sorted(RUNBOOKS.rglob("*.md"))
LAUNCH_DAY = RUNBOOKS / "launch-day.md"

FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.MULTILINE)
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"", re.IGNORECASE)
HEADING = re.compile(r"^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
COMMAND = re.compile(r"^(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*(firstbell|locust)(?:\s|$)")
OPTION = re.compile(r"^\[?(--[A-Za-z0-9][A-Za-z0-9_-]*)")
OPERATORS = set("();<>|&")


# --- markdown -------------------------------------------------------------------------------

def split_fences(markdown: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The prose lines (fenced lines blanked, so line numbers stay) and the fenced blocks as
    (line number of their first line, lines)."""
    prose: list[str] = []
    blocks: list[tuple[int, list[str]]] = []
    fence: str | None = None
    for number, line in enumerate(markdown.splitlines(), 1):
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            blocks.append((number + 1, []))
            prose.append("")
        elif fence is not None:
            if line.strip().startswith(fence):
                fence = None
            else:
                blocks[-1][1].append(line)
            prose.append("")
        else:
            prose.append(line)
    return prose, blocks


def slug(title: str) -> str:
    """GitHub's heading anchor: markup dropped, lower case, punctuation removed, spaces to
    hyphens."""
    title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", title)
    title = re.sub(r"<[^>]+>", "", title)
    return re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    """Every anchor a page has: its headings (duplicates get -1, -2 …) and explicit
    `<a id>`/`<a name>` tags."""
    prose, _ = split_fences(markdown)
    seen: dict[str, int] = {}
    out = set(HTML_ANCHOR.findall(markdown))
    for line in prose:
        match = HEADING.match(line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            out.add(base if count == 0 else f"{base}-{count}")
    return out


def link_problems(page: Path, markdown: str) -> tuple[int, list[str]]:
    """How many relative links the page has, and the ones that do not resolve."""
    prose, _ = split_fences(markdown)
    text = CODE_SPAN.sub("", "\n".join(prose))
    targets = LINK.findall(text) + REFERENCE.findall(text)
    checked, problems = 0, []
    for target in targets:
        if SCHEME.match(target):
            continue
        checked += 1
        file, _, anchor = target.partition("#")
        file = unquote(file)
        if not file:
            if anchor not in anchors(markdown):
                problems.append(f"{target}: this page has no heading with that anchor")
            continue
        dest = (ROOT / file.lstrip("/") if file.startswith("/") else page.parent / file).resolve()
        if not dest.is_relative_to(ROOT):
            problems.append(f"{target}: points outside the repository")
        elif not dest.is_file():
            problems.append(f"{target}: no such file ({dest.relative_to(ROOT)})")
        elif anchor and dest.suffix == ".md":
            if anchor not in anchors(dest.read_text(encoding="utf-8")):
                problems.append(f"{target}: {dest.relative_to(ROOT)} has no heading with the"
                                f" anchor #{anchor}")
        elif anchor and not re.fullmatch(r"L\d+(-L\d+)?", anchor):
            problems.append(f"{target}: #{anchor} is not a line anchor of a non-markdown file")
    return checked, problems


# --- commands -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Shown:
    """A command a runbook shows: where, and its words (environment assignments, the prompt,
    comments and anything after a shell operator removed)."""

    where: str
    words: tuple[str, ...]

    @property
    def tool(self) -> str:
        return self.words[0]


def words_of(line: str) -> tuple[str, ...] | None:
    """The words of one shell line if it runs firstbell or locust, else None."""
    line = line.strip().removeprefix("$ ").strip()
    if not COMMAND.match(line):
        return None
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    words = []
    for word in lexer:
        if set(word) <= OPERATORS:
            break
        words.append(word)
    while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
        words.pop(0)
    return tuple(words) if len(words) > 1 else None


def shown_commands(name: str, markdown: str) -> list[Shown]:
    """Commands in fenced blocks (one per logical line, `\\` joining lines) and in inline code
    spans of the prose."""
    prose, blocks = split_fences(markdown)
    found = []
    for first, lines in blocks:
        logical, start = "", first
        # A console block prompts its commands with `$ `; its other lines are output.
        console = any(line.lstrip().startswith("$ ") for line in lines)
        for offset, line in enumerate(lines):
            if console and not logical and not line.lstrip().startswith("$ "):
                continue
            if not logical:
                start = first + offset
            stripped = line.rstrip()
            if stripped.endswith("\\"):
                logical += stripped[:-1] + " "
                continue
            words = words_of(logical + line)
            logical = ""
            if words:
                found.append(Shown(f"{name}:{start}", words))
    text = "\n".join(prose)
    for match in CODE_SPAN.finditer(text):
        words = words_of(" ".join(match.group(2).split()))
        if words:
            line = text.count("\n", 0, match.start()) + 1
            found.append(Shown(f"{name}:{line} (inline)", words))
    return found


def help_options(text: str) -> set[str]:
    """The long options a help text declares (click's and argparse's layouts: an option line
    is indented two spaces and starts with a dash, after the first section heading)."""
    options: set[str] = set()
    in_sections = False
    for line in text.splitlines():
        if re.match(r"^[^\s].*:\s*$", line) and not line.lower().startswith("usage:"):
            in_sections = True
        elif in_sections:
            match = re.match(r"^ {2}(-\S.*?)(?: {2,}|$)", line)
            if match:
                options.update(re.findall(r"--[A-Za-z0-9][A-Za-z0-9_-]*", match.group(1)))
    return options


@dataclass(frozen=True)
class Helps:
    firstbell: dict[str, dict[str, object]]  # "staging fault set" -> {code, group, help}
    locust_code: int
    locust: str


def command_problems(shown: Shown, helps: Helps) -> list[str]:
    """Why a shown command does not exist as shown (empty when it does)."""
    rest = list(shown.words[1:])
    if shown.tool == "locust":
        if helps.locust_code != 0:
            return [f"{shown.where}: `locust -f loadtests/locustfile.py --help` exited"
                    f" {helps.locust_code}"]
        problems = []
        for flag in ("-f", "--locustfile"):
            if flag in rest[:-1]:
                for file in rest[rest.index(flag) + 1].split(","):  # Locust reads -f a.py,b.py
                    if not (ROOT / file).is_file():
                        problems.append(f"{shown.where}: locustfile {file} does not exist")
        known = help_options(helps.locust)
        problems += [f"{shown.where}: locust has no option {option}"
                     for option in _options(rest) if option not in known]
        return problems
    path: list[str] = []
    while rest and " ".join([*path, rest[0]]) in helps.firstbell:
        path.append(rest.pop(0))
    command = " ".join(["firstbell", *path])
    info = helps.firstbell[" ".join(path)]
    if info["code"] != 0:
        return [f"{shown.where}: `{command} --help` exited {info['code']}"]
    if info["group"] and (not rest or rest[:1] in (["…"], ["..."])):
        return []  # `firstbell staging` named in prose, or `firstbell …`: a placeholder
    if info["group"] and rest != ["--help"]:
        word = rest[0] if rest else "(nothing)"
        return [f"{shown.where}: `{command}` has no subcommand {word!r}"]
    known = help_options(str(info["help"]))
    return [f"{shown.where}: `{command}` has no option {option}"
            for option in _options(rest) if option not in known]


def _options(words: list[str]) -> list[str]:
    out = []
    for word in words:
        match = OPTION.match(word)
        if match:
            out.append(match.group(1))
    return out


FIRSTBELL_HELPS = """
import contextlib, io, json, sys
import typer
from firstbell.cli import app, main

def walk(command, path):
    subs = getattr(command, "commands", None)
    yield path, subs is not None
    for name, sub in sorted((subs or {}).items()):
        yield from walk(sub, [*path, name])

helps = {}
for path, group in walk(typer.main.get_command(app), []):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main([*path, "--help"])
    helps[" ".join(path)] = {"code": code, "group": group, "help": out.getvalue()}
json.dump(helps, sys.stdout)
"""

LOCUST_OPTIONS = """
import sys
sys.argv = ["locust", "-f", "loadtests/locustfile.py"]
import loadtests.locustfile  # registers the engine's options on Locust's parser
import firstbell.locust_grafana  # and the Grafana plugin's
from locust.argument_parser import get_parser
print(get_parser().format_help())
"""


@pytest.fixture(scope="module")
def helps() -> Helps:
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "TYPER_USE_RICH": "0", "COLUMNS": "200", "PYTHONPATH": path}
    argvs = {"firstbell": [sys.executable, "-c", FIRSTBELL_HELPS],
             "locust": [sys.executable, "-m", "locust", "-f", "loadtests/locustfile.py",
                        "--help"],
             "locust_options": [sys.executable, "-c", LOCUST_OPTIONS]}
    running = {name: subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
               for name, argv in argvs.items()}
    done = {name: (proc, *proc.communicate(timeout=120)) for name, proc in running.items()}
    firstbell, out, err = done["firstbell"]
    assert firstbell.returncode == 0, err
    options, options_out, options_err = done["locust_options"]
    assert options.returncode == 0, options_err
    locust, locust_out, _ = done["locust"]
    return Helps(json.loads(out), int(locust.returncode), locust_out + options_out)


# --- the tests ------------------------------------------------------------------------------

def _id(page: Path) -> str:
    return str(page.relative_to(RUNBOOKS))


def test_the_runbooks_are_there() -> None:
    names = {_id(p) for p in PAGES}
    assert {"README.md", "launch-day.md", "rehearsal.md", "alerts/README.md"} <= names
    assert len([n for n in names if n.startswith("alerts/firstbell-")]) == 7


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_links_and_anchors_resolve(page: Path) -> None:
    checked, problems = link_problems(page, page.read_text(encoding="utf-8"))
    assert not problems, "\n".join(problems)
    assert checked > 0, f"{_id(page)} links nowhere: is the link pattern still right?"


def test_every_runbook_is_in_the_index() -> None:
    index = (RUNBOOKS / "README.md").read_text(encoding="utf-8")
    linked = {(RUNBOOKS / target.partition("#")[0]).resolve()
              for target in LINK.findall(index) if not SCHEME.match(target)}
    missing = [_id(p) for p in PAGES if p.name != "README.md" and p.resolve() not in linked]
    assert not missing, f"runbooks/README.md does not list {missing}"


@pytest.mark.parametrize("page", PAGES, ids=_id)
def test_commands_shown_exist_with_their_options(page: Path, helps: Helps) -> None:
    shown = shown_commands(_id(page), page.read_text(encoding="utf-8"))
    problems = [p for s in shown for p in command_problems(s, helps)]
    assert not problems, "\n".join(problems)


# The README and the user docs show commands too: they must stay true (same check).
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")),
        ROOT / "deploy/kubernetes/README.md"]


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_commands_in_the_readme_and_docs_exist(page: Path, helps: Helps) -> None:
    shown = shown_commands(str(page.relative_to(ROOT)), page.read_text(encoding="utf-8"))
    problems = [p for s in shown for p in command_problems(s, helps)]
    assert not problems, "\n".join(problems)


def test_the_command_check_sees_the_commands(helps: Helps) -> None:
    shown = [s for p in PAGES for s in shown_commands(_id(p), p.read_text(encoding="utf-8"))]
    tools = [s.tool for s in shown]
    assert tools.count("firstbell") >= 90 and tools.count("locust") >= 1
    assert len(helps.firstbell) >= 20 and "staging fault set" in helps.firstbell
    assert {"--latency", "--error-rate", "--rate-limit", "--pool-size", "--stall"} <= \
        help_options(str(helps.firstbell["staging fault set"]["help"]))
    assert {"--host", "--processes", "--plan", "--userpool"} <= help_options(helps.locust)


def test_the_checks_catch_what_is_wrong(helps: Helps) -> None:
    """The checkers themselves, on a page with one mistake of every kind."""
    page = """# Title
## Go / no-go: the *criteria*

See [here](#go--no-go-the-criteria), [there](#nowhere), [alerts](alerts/README.md#alert-runbooks),
[gone](alerts/missing.md) and [outside](../../../etc/passwd).

```console
$ firstbell staging fault set --latency portal=1s \\
    --jitter 5
$ FIRSTBELL_X=1 firstbell staging restart
$ firstbell run smoke --target http://127.0.0.1:8700 --userpool pool | tee log  # --ok
$ locust -f loadtests/locustfile.py --plan plan.json --no-such-flag
echo firstbell is not a command here
```

Run `firstbell plan back-to-school
--windows 07:30-08:30` first.
"""
    checked, links = link_problems(RUNBOOKS / "example.md", page)
    assert checked == 5
    assert [problem.split(":")[0] for problem in links] == [
        "#nowhere", "alerts/missing.md", "../../../etc/passwd"]
    shown = shown_commands("example.md", page)
    assert [s.where for s in shown] == ["example.md:8", "example.md:10", "example.md:11",
                                        "example.md:12", "example.md:16 (inline)"]
    problems = [p for s in shown for p in command_problems(s, helps)]
    assert problems == [
        "example.md:8: `firstbell staging fault set` has no option --jitter",
        "example.md:10: `firstbell staging` has no subcommand 'restart'",
        "example.md:12: locust has no option --no-such-flag",
        "example.md:16 (inline): `firstbell plan` has no option --windows",
    ]


def test_github_anchors() -> None:
    assert slug("T-3 d: go / no-go meeting") == "t-3-d-go--no-go-meeting"
    assert slug("`firstbell report RUN_DIR [--baseline OTHER_RUN]`") == \
        "firstbell-report-run_dir---baseline-other_run"
    assert slug("Importing a district's own OneRoster export") == \
        "importing-a-districts-own-oneroster-export"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n### A ###\n") == {"a", "a-1", "a-2"}


# --- launch-day.md against the launch thresholds ---------------------------------------------

def tables(markdown: str) -> Iterator[list[list[str]]]:
    """Each pipe table of the prose as rows of cells (the header first, no separator row)."""
    prose, _ = split_fences(markdown)
    rows: list[list[str]] = []
    for line in [*prose, ""]:
        if line.lstrip().startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(re.fullmatch(r":?-{3,}:?", c) for c in cells):
                rows.append(cells)
        elif rows:
            yield rows
            rows = []


def table(first_header: str) -> list[list[str]]:
    found = [t for t in tables(LAUNCH_DAY.read_text(encoding="utf-8"))
             if t[0][0].lower() == first_header]
    assert len(found) == 1, f"launch-day.md needs one table whose first column is" \
                            f" '{first_header}'"
    return found[0]


def _latency(cell: str) -> float | None:
    return None if cell in ("—", "-", "") else seconds(cell.removesuffix("×"))


def _ratio(cell: str) -> float | None:
    if cell in ("—", "-", ""):
        return None
    match = re.fullmatch(r"([\d.]+)(?:\s*\(([\d.]+)\s*%\))?", cell)
    assert match, f"error ratio cell {cell!r}: write it as 0.005 (0.5%)"
    ratio = float(match.group(1))
    if match.group(2) is not None:
        assert math.isclose(float(match.group(2)) / 100, ratio), cell
    return ratio


def _first_number(cell: str) -> float:
    match = re.search(r"\d+(?:\.\d+)?", cell)
    assert match, cell
    return float(match.group())


def test_go_no_go_objectives_are_the_launch_thresholds() -> None:
    thresholds = load_thresholds()
    header, *rows = table("objective group")
    column = {name: next(i for i, h in enumerate(header) if h.lower().startswith(name))
              for name in ("p95", "p99", "error ratio", "abortable")}
    shown = {row[0].strip("`"): row for row in rows}
    assert sorted(shown) == sorted(thresholds.objectives)
    for group, objective in thresholds.objectives.items():
        row = shown[group]
        assert _latency(row[column["p95"]]) == objective.p95, (group, "p95")
        assert _latency(row[column["p99"]]) == objective.p99, (group, "p99")
        assert _ratio(row[column["error ratio"]]) == objective.error_ratio, (group, "errors")
        assert row[column["abortable"]] == ("yes" if objective.abortable else "no"), group


def test_go_no_go_gates_are_the_launch_thresholds() -> None:
    thresholds = load_thresholds()
    _, *rows = table("gate")
    bars = {row[0].strip("`"): row[1] for row in rows}
    assert sorted(bars) == sorted(["arrivals.min_ratio", *Gates.model_fields])
    assert _first_number(bars["arrivals.min_ratio"]) == thresholds.arrivals.min_ratio
    assert _first_number(bars["data_exposures"]) == thresholds.gates.data_exposures
    assert _first_number(bars["capacity_headroom"]) == thresholds.gates.capacity_headroom


def test_go_no_go_judging_rules_are_the_defaults() -> None:
    d = load_thresholds().defaults
    text = " ".join(LAUNCH_DAY.read_text(encoding="utf-8").split())
    assert f"its `for` ({d.for_ / 60:g} minute)" in text
    assert f"a {d.window / 60:g}-minute window with at least {d.min_requests} requests" in text
