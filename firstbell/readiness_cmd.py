"""`firstbell readiness`: the per-school people-readiness scorecard. Reads a roster and an
activity log (or generates both), prints the schools most in need and the one answer, and
writes readiness.json, the ranking, a CSV per school and the Prometheus files into --out, all
at once (a failure leaves nothing half-written). Exit 0 ready, 3 not ready, 2 bad input."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import tempfile
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fake_data.activity import Window, build_activity, write_activity
from fake_data.district import generate
from fake_data.profile import load_profile
from firstbell.cli_options import DISTRICT_PROFILE, DISTRICT_SCALE, DISTRICT_SEED
from kernel.errors import EXIT_GO, EXIT_NO_GO, UserError
from readiness import (
    Activity,
    Metrics,
    Result,
    Roster,
    decision,
    evaluate,
    exports,
    from_district,
    load_activity,
    load_csv,
    load_district_folder,
    load_metrics,
    load_oneroster,
    load_oneroster_zip,
    parse_columns,
)

MARKER = "readiness.json"


def _date(option: str, text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise UserError(f"option {option} = '{text}': not a date; write YYYY-MM-DD, e.g. "
                        "2019-04-22.") from None


def _roster(district: Path | None, roster: Path | None, orgs: Path | None, roles: Path | None,
            columns: str | None) -> Roster:
    if district is not None:
        return load_district_folder(district)
    assert roster is not None
    if columns:
        return load_csv(roster, parse_columns(columns))
    if roster.suffix == ".zip":
        return load_oneroster_zip(roster)
    if orgs is None:
        raise UserError(f"option --roster = '{roster}': a OneRoster users.csv needs --orgs "
                        "orgs.csv (and --roles roles.csv for 1.2); any other CSV needs "
                        "--columns 'person=…,school=…,role=…'.")
    return load_oneroster(roster, orgs, roles)


def _inputs(district: Path | None, roster: Path | None, orgs: Path | None, roles: Path | None,
            columns: str | None, activity: Path | None, generate_: bool, metrics: Metrics,
            profile: str, scale: float, seed: int, out: Path) -> tuple[Roster, Activity]:
    sources = sum(x is not None and x is not False for x in (district, roster, generate_ or None))
    if sources != 1:
        raise UserError("give the roster one way: --district DIR, --roster FILE (with --orgs"
                        " or --columns as needed), or --generate.")
    if generate_:
        if activity is not None:
            raise UserError(f"option --activity = '{activity}': --generate scores the log it "
                            "generates; leave out one of the two.")
        made = generate(load_profile(profile), scale, seed)
        log = out / "activity.csv"
        write_activity(build_activity(made, Window(made.profile.calendar.cutover_date), seed),
                       log)
        staff = from_district(made)
        return staff, load_activity(log, staff, metrics)
    staff = _roster(district, roster, orgs, roles, columns)
    if activity is None:
        if district is not None and (district / "activity.csv").is_file():
            activity = district / "activity.csv"
        else:
            raise UserError("option --activity: the sandbox's activity log is needed (CSV or "
                            "JSON lines: person, time, action), or --generate.")
    return staff, load_activity(activity, staff, metrics)


def score_into(out: Path, metrics: Metrics, *, district: Path | None = None,
               activity: Path | None = None, generated: tuple[str, float, int] | None = None
               ) -> tuple[Result, bool, list[str]]:
    """People readiness of a district written into the folder `out` (a rehearsal's run
    directory): readiness.json with its decision, schools.csv and a CSV per school; from the
    district folder and a log (`activity`, else the folder's activity.csv), or a district and
    sandbox log generated from (profile, scale, seed). What `firstbell rehearse --readiness`
    adds beside the system's verdict."""
    profile, scale, seed = generated or ("", 1.0, 0)
    staff, log = _inputs(None if generated else district, None, None, None, None, activity,
                         generated is not None, metrics, profile, scale, seed, out)
    when = metrics.go_live or staff.go_live
    if when is None:
        raise UserError("the go-live date is not known: set go_live in the metrics file")
    result = evaluate(staff, log, metrics, when, None)
    passed, reasons = decision(result, metrics.decision)
    exports.write_json(result, out / MARKER, (passed, reasons))
    exports.write_schools(result, out / "schools.csv")
    exports.write_people(result, staff, log, metrics, out / "schools")
    return result, passed, reasons


def _check_out(out: Path) -> None:
    if out.exists() and (not out.is_dir() or (any(out.iterdir())
                                              and not (out / MARKER).is_file())):
        raise UserError(f"option --out = '{out}': exists and is not an earlier readiness "
                        f"output (no {MARKER}); name a new folder.")


def _cell_text(result: Result, school_rank: int) -> str:
    """The school's cells below target: value so far, projection, target."""
    kinds = {m["name"]: m["kind"] for m in result.metrics}
    failing = result.schools[school_rank].failing()
    parts = []
    for c in failing[:3]:
        if kinds[c.metric] == "share_by":
            shown = f"{c.value or 0:.0%}" + (f"→{c.projected:.0%}" if c.projected is not None
                                              else "")
            parts.append(f"{c.metric}/{c.role} {shown} (≥{c.target:.0%})")
        else:
            parts.append(f"{c.metric}/{c.role} {c.value or 0:.0f} d (≥{c.target:g} d)")
    more = len(failing) - len(parts)
    return "; ".join(parts) + (f" +{more}" if more > 0 else "")


def render(result: Result, passed: bool, reasons: list[str], top: int,
           console: Console) -> None:
    weight = "students" if result.has_students else "staff"
    table = Table(title=f"Schools most in need (gap × {weight}), as of {result.as_of}, "
                        f"go-live {result.go_live}",
                  title_justify="left", show_edge=False)
    for name, justify in (("#", "right"), ("school", "left"), ("students", "right"),
                          ("staff", "right"), ("gap", "right"), ("chance", "right"),
                          ("below target (now→projected)", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for i, s in enumerate(result.schools[:top]):
        if s.at_target and s.gap == 0:
            break
        table.add_row(str(i + 1), escape(s.name), f"{s.students:,}", f"{s.staff:,}",
                      f"{s.gap:.0%}", "" if s.chance is None else f"{s.chance:.0%}",
                      escape(_cell_text(result, i)))
    console.print(table)
    p = result.projection
    console.print(f"Schools at every target: {result.at_target_now} of {len(result.schools)} "
                  f"now; {result.at_target} projected at go-live (expected {p.expected:.0f}, "
                  f"90% {p.low}–{p.high}).", highlight=False)
    for r in reasons:
        console.print(f"  {escape(r)}", highlight=False)
    console.print(f"People readiness: [bold]{'READY' if passed else 'NOT READY'}[/]",
                  highlight=False)


def readiness(
    district: Path | None = typer.Option(None, "--district", envvar="FIRSTBELL_DISTRICT",
                                         help="A folder `firstbell district generate` wrote"
                                              " (its activity.csv is the log unless"
                                              " --activity)."),
    roster: Path | None = typer.Option(None, "--roster", envvar="FIRSTBELL_ROSTER",
                                       help="A OneRoster export zip, a OneRoster users.csv"
                                            " (with --orgs) or any staff CSV (with"
                                            " --columns)."),
    orgs: Path | None = typer.Option(None, "--orgs", envvar="FIRSTBELL_ORGS",
                                     help="OneRoster orgs.csv (with a users.csv --roster)."),
    roles: Path | None = typer.Option(None, "--roles", envvar="FIRSTBELL_ROLES",
                                      help="OneRoster 1.2 roles.csv (with a 1.2 users.csv"
                                           " --roster)."),
    columns: str | None = typer.Option(None, "--columns", envvar="FIRSTBELL_COLUMNS",
                                       help="A staff CSV's columns: 'person=COL,school=COL,"
                                            "role=COL[,school_name=COL,students=COL,"
                                            "active=COL]'."),
    activity: Path | None = typer.Option(None, "--activity", envvar="FIRSTBELL_ACTIVITY",
                                         help="The sandbox's activity log: CSV or .jsonl"
                                              " (person, time, action)."),
    generate_: bool = typer.Option(False, "--generate", envvar="FIRSTBELL_GENERATE",
                                   help="Generate the district (--profile, --scale, --seed)"
                                        " and its sandbox log."),
    profile: str = DISTRICT_PROFILE,
    scale: float = DISTRICT_SCALE,
    seed: int = DISTRICT_SEED,
    metrics_file: Path | None = typer.Option(None, "--metrics", envvar="FIRSTBELL_METRICS",
                                             help="Metrics file (default: the built-in"
                                                  " readiness/readiness.yaml)."),
    go_live: str | None = typer.Option(None, "--go-live", envvar="FIRSTBELL_GO_LIVE",
                                       help="Go-live date YYYY-MM-DD (default: the metrics"
                                            " file's, else the district's cutover)."),
    as_of: str | None = typer.Option(None, "--as-of", envvar="FIRSTBELL_AS_OF",
                                     help="Judge as of this date (default: the log's last"
                                          " day)."),
    out: Path | None = typer.Option(None, "--out", envvar="FIRSTBELL_READINESS_OUT",
                                    help="Output folder (default runs/readiness-<UTC time>)."),
    top: int = typer.Option(10, "--top", envvar="FIRSTBELL_TOP",
                            help="Schools shown in the table."),
) -> None:
    """Score people readiness per school against the metrics file; rank the schools most in need.

    Exit 0 when the metrics file's combine rules say ready, 3 when not, 2 on bad input.

    Example: firstbell readiness --district out/cps --out runs/readiness
    """
    metrics = load_metrics(metrics_file)
    when = _date("--go-live", go_live)
    until = _date("--as-of", as_of)
    target = out or Path("runs") / f"readiness-{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}"
    _check_out(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
    try:
        staff, log = _inputs(district, roster, orgs, roles, columns, activity, generate_,
                             metrics, profile, scale, seed, work)
        if generate_:  # the log is read from the work folder; name it where it will be
            log = dataclasses.replace(log, source=str(target / "activity.csv"))
        when = when or metrics.go_live or staff.go_live
        if when is None:
            raise UserError("option --go-live: the go-live date is not known; give --go-live "
                            "YYYY-MM-DD or set go_live in the metrics file.")
        result = evaluate(staff, log, metrics, when, until)
        passed, reasons = decision(result, metrics.decision)
        exports.write_json(result, work / "readiness.json", (passed, reasons))
        exports.write_schools(result, work / "schools.csv")
        exports.write_people(result, staff, log, metrics, work / "schools")
        exports.write_prometheus(result, work / "readiness.prom")
        exports.write_history(result, work / "readiness-history.om")
        if target.exists():
            shutil.rmtree(target)
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    console = Console(width=120)
    for warning in result.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    render(result, passed, reasons, top, console)
    console.print(f"Wrote {target}/readiness.json, schools.csv, schools/ "
                  f"({len(result.schools)} CSVs), readiness.prom, readiness-history.om",
                  highlight=False)
    raise typer.Exit(EXIT_GO if passed else EXIT_NO_GO)
