"""The driver: `record` reads a HAR, filters it, takes the secrets out, correlates, names the
steps and writes (or merges into) a target folder, and returns a `Report` of what it did and of
what the user still has to edit (values it could not correlate, request by request)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from loadtests.targetfile.model import DAY_PERSONAS, NAME
from recordings import correlate, drafts, filters, har, secrets, writer
from recordings.errors import RecordingError

MAX_THINK = 30.0


@dataclass
class Report:
    """What a conversion did; `lines()` is what the command prints (secrets masked)."""

    har: str
    persona: str
    written: list[Path]
    entries: int
    dropped: dict[str, int]
    steps: dict[str, int]                       # role -> count
    session: str
    correlated: list[str] = field(default_factory=list)
    unresolved: list[tuple[str, str, str]] = field(default_factory=list)  # step, where, value
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        dropped = ", ".join(f"{n} {why}" for why, n in sorted(self.dropped.items())) or "none"
        out = [f"Wrote {', '.join(str(p) for p in self.written)}.",
               f"{self.entries} recorded requests; dropped: {dropped}.",
               f"Steps: {self.steps.get('login', 0)} login, {self.steps.get('persona', 0)}"
               f" {self.persona}, {self.steps.get('logout', 0)} logout; session carried by"
               f" {self.session}."]
        if self.correlated:
            out.append("Correlated:")
            out += [f"  {line}" for line in self.correlated]
        if self.unresolved:
            out.append("Not correlated (still recorded values; edit them):")
            out += [f"  step {step!r}, {where}: {value}" for step, where, value in self.unresolved]
        else:
            out.append("Every dynamic-looking value was correlated.")
        out += [f"Note: {n}" for n in self.notes]
        return out


def record(har_path: Path | str, persona: str, into: Path | str = "target", *,
           password: str | None = None, username: str | None = None, plays: str | None = None,
           name: str | None = None, rules: filters.FilterRules | None = None,
           max_think: float = MAX_THINK) -> Report:
    """Convert the recording at `har_path` into persona `persona` of the target in `into`."""
    har_path, into = Path(har_path), Path(into)
    _check_names(har_path, persona, plays)
    entries = har.load(har_path)
    if not entries:
        raise RecordingError(har_path, "log.entries", [], "the recording holds no request",
                             "Record again with the dev tools open before the first page")
    kept = filters.apply(entries, rules or filters.FilterRules())
    if not kept.kept:
        why = ", ".join(f"{n} {r}" for r, n in kept.dropped.items())
        raise RecordingError(har_path, "log.entries", f"{len(entries)} entries ({why})",
                             "nothing is left after dropping static assets and third-party"
                             " hosts", "Name the target's host with --host, or keep a type"
                             " with --keep-type")
    steps = drafts.build(kept.kept, entries, kept.hosts, max_think)
    found = secrets.collect(steps)
    login = secrets.find_login(steps, har_path, password)
    secrets.apply_login(steps, login, found, username)
    session = secrets.session_carrier(steps, login, found)
    result = correlate.correlate(steps, found)
    drafts.name_all(steps)
    roles = {r: [(d.page, writer.step_data(d)) for d in steps if d.role == r]
             for r in ("login", "persona", "logout")}
    if not roles["persona"]:
        raise RecordingError(har_path, "log.entries", f"{len(kept.kept)} requests kept",
                             "no request is left for the persona between the login and the"
                             " logout", "Record the pages the persona visits after logging in")
    masked: list[tuple[str, str, str]] = []
    roles = {r: [(found.mask(page), secrets.scrub(s, found, s["name"], masked))
                 for page, s in pairs]
             for r, pairs in roles.items()}
    origins = _origins(kept.kept, kept.hosts)
    persona_head: dict[str, Any] = {"plays": plays or persona}
    if login is None:
        persona_head["login"] = False
    persona_data = {**persona_head, "steps": [s for _, s in roles["persona"]]}
    report = Report(har=har_path.name, persona=persona, written=[], entries=len(entries),
                    dropped=dict(kept.dropped), steps={r: len(v) for r, v in roles.items()},
                    session=session["carrier"])
    files = _files(into, har_path, persona, name, origins, session, roles, persona_head,
                   persona_data, login is not None, report)
    writer.write_files(into, files)
    report.written = list(files)
    by_index = {i: d.name for i, d in enumerate(steps)}
    report.correlated = [
        f"{f.var} from {correlate.TYPES[f.source.kind]} of {by_index[f.producer]!r},"
        f" used by {', '.join(sorted({by_index[i] for i, _ in f.uses}))}"
        for f in result.correlated]
    report.unresolved = [(by_index[u.draft], u.where, u.value) for u in result.unresolved]
    report.unresolved += [(where.split(".")[0], f"{where} (a recorded {label}, masked)", "***")
                          for where, label, _ in masked]
    if login is None:
        report.notes.append("no login found (no --password and no field named like one):"
                            " the persona is anonymous (login: false)")
    return report


def _check_names(har_path: Path, persona: str, plays: str | None) -> None:
    if not NAME.match(persona):
        raise RecordingError(har_path, "--persona", persona, "a persona name is lower case"
                             " letters, digits and _ (starting with a letter)",
                             "Name it like guardian or teacher_grades")
    if plays is None and persona not in DAY_PERSONAS:
        raise RecordingError(har_path, "--persona", persona,
                             "this is not a day persona, so the converter cannot tell whom it"
                             " plays", f"Say which with --plays ({', '.join(DAY_PERSONAS)})")
    if plays is not None and plays not in DAY_PERSONAS:
        raise RecordingError(har_path, "--plays", plays, "this is not a day persona",
                             f"Use one of {', '.join(DAY_PERSONAS)}")


def _origins(kept: list[har.Entry], hosts: list[str]) -> list[str]:
    origins: list[str] = []
    for host in hosts:
        entry = next((e for e in kept if e.host == host), None)
        if entry is not None and entry.origin not in origins:
            origins.append(entry.origin)
    return origins


def _files(into: Path, har_path: Path, persona: str, name: str | None, origins: list[str],
           session: dict[str, Any], roles: dict[str, list[tuple[str, dict[str, Any]]]],
           persona_head: dict[str, Any], persona_data: dict[str, Any], logs_in: bool,
           report: Report) -> dict[Path, str]:
    """The files to write (validated together with what `into` already holds)."""
    existing, personas = writer.read_existing(into)
    personas[persona] = persona_data
    files: dict[Path, str] = {}
    if existing is None:
        target_name = name or re.sub(r"[^a-z0-9]+", "_", into.resolve().name.lower()).strip("_")
        if not NAME.match(target_name):
            target_name = "target"
        head = {"version": 1, "name": target_name, "hosts": origins, "session": session}
        login = roles["login"] if logs_in else []
        success = {"status": [roles["login"][-1][1]["check"]["status"][0]]} if login else None
        target: dict[str, Any] = {**head}
        if login:
            target["login"] = {"steps": [s for _, s in login], "success": success}
        if roles["logout"]:
            target["logout"] = [s for _, s in roles["logout"]]
        writer.validate(into, target, personas)
        files[into / writer.TARGET_FILE] = writer.render_target(head, login, success,
                                                                roles["logout"], har_path.name)
    else:
        writer.validate(into, existing, personas)
        report.notes.append(f"kept the existing {into / writer.TARGET_FILE} (hosts, session,"
                            " login, logout); this recording's login and logout were not"
                            " written")
        missing = [o for o in origins if o not in existing.get("hosts", [])]
        if missing:
            report.notes.append(f"this recording's host {', '.join(missing)} is not among the"
                                " target's hosts; add it if it is the same system")
        _check_login_vars(existing, roles, report)
    files[into / writer.PERSONAS_DIR / f"{persona}.yaml"] = writer.render_persona(
        persona, persona_head, roles["persona"], har_path.name)
    return files


def _check_login_vars(existing: dict[str, Any], roles: dict[str, list[tuple[str, Any]]],
                      report: Report) -> None:
    """Variables this recording's login extracted that its persona uses but the kept login
    does not extract."""
    ours = {v for _, s in roles["login"] for v in s.get("extract", {})}
    theirs = {v for s in (existing.get("login") or {}).get("steps", [])
              for v in (s.get("extract") or {})}
    text = str([s for _, s in roles["persona"]])
    needed = sorted(v for v in ours - theirs if "{{ " + v + " }}" in text)
    if needed:
        report.notes.append(f"the persona uses {', '.join(needed)}, which the kept login does"
                            " not extract: add those extracts to target.yaml's login")
