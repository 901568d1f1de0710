"""People readiness in the leadership report, beside system readiness: the section read from a
`readiness.json` (`firstbell readiness`, or a rehearsal with `--readiness`), and the one
decision both halves make together.

The combining rule is the metrics file's (`readiness.yaml` → `decision`: e.g. 90% of schools
at every target by go-live); `firstbell readiness` writes its outcome into readiness.json
(`decision`). `gate` adds it to a verdict as `gates.people_readiness`: a system GO with the
people not ready is a NO-GO, with the reason said in the same words the scorecard uses.
"""

from __future__ import annotations

import copy
from typing import Any

RUNBOOK = "runbooks/people-readiness.md"
SHOWN = 5  # schools in the report's table: the ones most in need


def _cell(c: dict[str, Any], kinds: dict[str, str]) -> str:
    """A cell below target in words: shares in percent (now→projected), medians in days."""
    def shown(x: float) -> str:
        return f"{x:.0f} days" if kinds.get(c["metric"]) == "median_days_before" else f"{x:.0%}"

    now, then = c.get("value"), c.get("projected")
    text = "n/a" if now is None else shown(now)
    if then is not None:
        text += f"→{shown(then)}"
    return f"{c['metric']}/{c['role']} {text} (target {shown(c['target'])})"


def section(readiness: dict[str, Any]) -> dict[str, Any]:
    """What the report says of people readiness: the decision and its reasons, schools at
    target now and projected, the schools most in need, the weekly trend, and the actions."""
    summary = readiness["summary"]
    decision = readiness.get("decision") or {}
    ready = decision.get("passed")
    behind = [s for s in readiness["schools"] if not s["at_target"]]
    kinds = {m["name"]: m["kind"] for m in readiness.get("metrics", [])}
    schools = [{"name": s["name"], "students": s["students"], "staff": s["staff"],
                "gap": s["gap"], "chance": s["chance"],
                "below": [_cell(c, kinds) for c in s["cells"] if not c.get("passed")]}
               for s in behind[:SHOWN]]
    projected = summary["projected"]
    actions = []
    if behind:
        names = ", ".join(s["name"] for s in behind[:3])
        actions.append({"action": f"Send on-site trainers to the schools furthest behind"
                                  f" ({names}): their gap weighs most by students affected.",
                        "title": "people readiness: on-site training", "runbook": RUNBOOK})
        actions.append({"action": f"Name a change champion in each of the {len(behind)}"
                                  " schools below target, and track their sandbox practice"
                                  " weekly.", "title": "people readiness: change champions",
                        "runbook": RUNBOOK})
    return {
        "ready": ready, "reasons": list(decision.get("reasons", [])),
        "go_live": readiness["go_live"], "as_of": readiness["as_of"],
        "schools": summary["schools"], "at_target_now": summary["at_target_now"],
        "at_target": summary["at_target"], "projected": projected,
        "students": summary["students"], "students_at_target": summary["students_at_target"],
        "behind": len(behind), "most_in_need": schools,
        "weekly": list(zip(readiness.get("week_ends", []), summary["weekly_at_target"],
                           strict=False)),
        "statement": (f"{'READY' if ready else 'NOT READY'}: {summary['at_target']} of"
                      f" {summary['schools']} schools projected at every target by"
                      f" {readiness['go_live']} ({summary['at_target_now']} now; 90% interval"
                      f" {projected['low']}–{projected['high']})"),
        "actions": actions}


def gate(verdict: dict[str, Any], people: dict[str, Any]) -> dict[str, Any]:
    """The verdict with people readiness as a gate beside the system's: a copy, the people's
    reasons added and a GO turned NO-GO when they are not ready (a data exposure stays what
    it is)."""
    out = copy.deepcopy(verdict)
    if "people_readiness" in out["gates"]:
        return out  # a rehearsal already judged it into verdict.json
    ready = bool(people["ready"])
    out["gates"]["people_readiness"] = {"passed": ready, "statement": people["statement"],
                                        "reasons": people["reasons"]}
    if not ready:
        out["reasons"].append(f"people readiness {people['statement']}")
        if out["verdict"] == "GO":
            out["verdict"], out["exit_code"] = "NO-GO", 3
    return out
