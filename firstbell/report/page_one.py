"""Page one of the report: what leadership reads before anything else, the same facts in the
HTML, the Markdown and report.json (under "page_one"). The decision and its reasons in two
sentences; the day's worst moment in people's terms (`moment.py`); latency then against the
thresholds; the headroom and what saturates first; the scope (which system, personas, day,
scale, speed, what was not covered); the three actions that matter most, with runbooks.

`facts` is page one as (label, text) lines, written once here, so that the three formats
cannot say different things."""

from __future__ import annotations

from typing import Any

from firstbell.report.charts import seconds_label

CAPACITY_RUNBOOK = "runbooks/launch-day.md#capacity"
EVIDENCE_RUNBOOK = "runbooks/launch-day.md#t-7-d-to-t-5-d-final-rehearsal-the-evidence-pack"
GENERATOR_RUNBOOK = "runbooks/alerts/firstbell-generator-saturated.md"
TARGETS_DOC = "docs/targets.md"
WATCH_RUNBOOK = "runbooks/launch-day.md#day-1-watch"
GAME_DAY_RUNBOOK = "runbooks/rehearsal.md"
POOL_FULL = 0.9  # a database pool this full at its peak is the first thing to run out


def decision(verdict: dict[str, Any]) -> str:
    if verdict["gates"]["data_exposures"]["measured"] > verdict["gates"]["data_exposures"][
            "allowed"]:
        return "DATA EXPOSURE"
    return str(verdict["verdict"])


def headroom(verdict: dict[str, Any], capacity: dict[str, Any] | None,
             computed: float | None) -> dict[str, Any]:
    """The headroom as measured: the verdict's capacity gate when the rehearsal filled it, else
    the run's capacity.json (a rehearsal's headroom steps or a `firstbell capacity` search)."""
    gate = verdict["gates"]["capacity_headroom"]
    cap = capacity or {}
    out: dict[str, Any] = {"required": gate.get("required"), "measured": None, "passed": None,
                           "limited_by": None, "statement": None, "source": None,
                           "first_failure": cap.get("first_failure")}
    if gate.get("measured") is not None:
        out.update(measured=gate["measured"], passed=gate.get("passed"),
                   limited_by=gate.get("limited_by") or cap.get("limited_by"),
                   statement=gate.get("statement") or cap.get("statement"), source="verdict")
    elif cap.get("kind") == "headroom":
        out.update(measured=cap.get("held"), passed=cap.get("headroom_passed"),
                   limited_by=cap.get("limited_by"), statement=cap.get("statement"),
                   source="rehearsal")
    elif capacity is not None and computed is None and cap.get("forecast_peak"):
        computed = cap.get("headroom")  # against the search's own forecast peak
    if out["source"] is None and capacity is not None and computed is not None:
        out.update(measured=round(computed, 2), passed=computed >= float(gate["required"]),
                   limited_by="server", source="capacity search",
                   statement=f"sustained {cap.get('sustainable_rate', 0):.3g} sessions/s,"
                             f" {computed:.2f}× the forecast peak (a `firstbell capacity`"
                             " search)")
    if out["statement"] is None:
        out["statement"] = "not measured" if out["measured"] is None else \
            f"{out['measured']:g}× the forecast peak"
    return out


def saturates_first(saturation: dict[str, Any] | None,
                    room: dict[str, Any]) -> dict[str, Any]:
    """What runs out first: the staging SIS's own gauges (a local Prometheus scraped it) when
    one of them was at its limit, else what broke first above the headroom, else what the
    gauges show, else not measured."""
    failure = room.get("first_failure") or {}
    sat = saturation or {}
    used, size, waiting = (sat.get(k) for k in ("db_pool_in_use", "db_pool_max",
                                                "db_pool_waiting"))
    detail = None
    if saturation:
        parts = []
        if used is not None:
            parts.append(f"database pool at most {used:g}" + (f" of {size:g}" if size else ""))
        if waiting:
            parts.append(f"{waiting:g} requests waiting for a connection")
        if sat.get("sis_cpu") is not None:
            parts.append(f"SIS CPU {sat['sis_cpu']:.2g} cores")
        if sat.get("sis_in_flight") is not None:
            parts.append(f"{sat['sis_in_flight']:g} requests in flight")
        detail = ", ".join(parts) or None
        if waiting or (used is not None and size and used >= POOL_FULL * size):
            return {"resource": "database pool", "source": "prometheus", "detail": detail}
    if failure.get("resource"):
        return {"resource": failure["resource"], "source": "headroom",
                "detail": failure.get("reason") or detail}
    if saturation:
        return {"resource": None, "source": "prometheus",
                "detail": f"nothing ran out at the peak ({detail})" if detail else None}
    return {"resource": None, "source": None, "detail": None}


def sentences(verdict: dict[str, Any], room: dict[str, Any], system: str,
              not_rehearsed: list[str]) -> list[str]:
    """The decision and its reasons in two sentences: why, then the margin and the scope."""
    said = decision(verdict)
    failed = [o["name"] for o in verdict["objectives"] if not o["passed"]]
    exposures = verdict["gates"]["data_exposures"]["measured"]
    why = []
    if said == "DATA EXPOSURE":
        why.append(f"a security probe read data it must not ({exposures} exposure(s))")
    if failed:
        why.append(f"{len(failed)} launch objective(s) failed ({', '.join(failed)})")
    if room["passed"] is False and room["measured"] is not None:
        why.append(f"the headroom, {room['measured']:g}×, is below the {room['required']:g}×"
                   " required")
    elif room["passed"] is False and room["statement"] != "not measured":
        why.append(f"the headroom was not demonstrated ({room['statement']})")
    people = verdict["gates"].get("people_readiness")
    if people and not people["passed"]:
        why.append(f"people readiness is {people['statement']}")
    if verdict.get("aborted"):
        why.append("the run was stopped early")
    # a load process lost mid-run: the plan's load was not all sent (hub_loop.judge)
    why.extend(r for r in verdict.get("reasons", []) if r.startswith("load process "))
    if said == "GO":
        span = "the part of the day that ran" if verdict.get("partial") else "the day"
        first = (f"GO: all {len(verdict['objectives'])} launch objectives held through {span}"
                 " and no security probe read data it must not.")
    else:
        reasons = "; ".join(why) or "; ".join(verdict.get("reasons", [])) or "see the reasons"
        first = f"{said}: {reasons}."
    scope = f"the system rehearsed was {system}"
    if not_rehearsed:
        scope += f", without {', '.join(not_rehearsed)}"
    statement = room["statement"]
    margin = ("Headroom was not measured" if statement == "not measured"
              else f"Headroom: {statement}")
    return [first, f"{margin}; {scope}."]


def top_actions(verdict: dict[str, Any], failed_actions: list[dict[str, str]],
                room: dict[str, Any], system: str,
                not_rehearsed: list[str]) -> list[dict[str, str]]:
    """The three actions that matter most, most urgent first, each with its runbook."""
    out = [{"action": a["action"], "title": a["alert"], "runbook": a["runbook"]}
           for a in failed_actions]
    limited = room.get("limited_by")
    if room["measured"] is None:
        out.append({"action": "Measure the headroom: `firstbell rehearse` steps the peak up"
                              " until an objective fails (or `firstbell capacity`).",
                    "title": "launch checklist: capacity", "runbook": CAPACITY_RUNBOOK})
    elif limited == "generator":
        out.append({"action": f"Headroom is {room['statement']}: measure beyond it with more"
                              " load processes (`--workers`) or a bigger load machine.",
                    "title": "FirstbellGeneratorSaturated", "runbook": GENERATOR_RUNBOOK})
    elif room["passed"] is False:
        resource = (room.get("first_failure") or {}).get("resource")
        out.append({"action": f"Add capacity{f' to the {resource}' if resource else ''}: the"
                              f" SIS held {room['measured']:g}×, {room['required']:g}× is"
                              " required; rehearse again after.",
                    "title": "launch checklist: capacity", "runbook": CAPACITY_RUNBOOK})
    if not_rehearsed:
        out.append({"action": f"Rehearse {', '.join(not_rehearsed)} too: this rehearsal left"
                              " them out (--drop-persona: the target does not play them, or"
                              " they were set aside), so the decision says nothing of them.",
                    "title": "target files", "runbook": TARGETS_DOC})
    if system.startswith("firstbell's reference"):
        out.append({"action": "Rehearse the vendor's SIS with a target file: this run drove"
                              " firstbell's reference SIS, not the district's.",
                    "title": "target files", "runbook": TARGETS_DOC})
    resource = (room.get("first_failure") or {}).get("resource")
    if resource and room["passed"] is not False:
        out.append({"action": f"Watch the {resource} on launch day: above the headroom it is"
                              " what ran out first.",
                    "title": "day 1: watch", "runbook": WATCH_RUNBOOK})
    out.append({"action": "Rehearse again after any change to the SIS, its data or its"
                          " configuration, and keep the report as launch evidence.",
                "title": "final rehearsal: the evidence pack", "runbook": EVIDENCE_RUNBOOK})
    out.append({"action": "Run a game day: break the staging SIS on purpose and time how the"
                          " responders notice, diagnose and mitigate.",
                "title": "game day", "runbook": GAME_DAY_RUNBOOK})
    return out[:3]


def _pair(x: dict[str, Any], fmt: str = "{:,.0f}") -> str:
    f = "n/a" if x["forecast"] is None else fmt.format(x["forecast"])
    a = "not measured" if x["achieved"] is None else fmt.format(x["achieved"])
    return f"forecast {f}, achieved {a}"


def facts(page: dict[str, Any]) -> list[dict[str, str]]:
    """Page one as lines of (label, text): what HTML, Markdown and JSON all say."""
    m, room, sat, scope = (page["worst_moment"], page["headroom"], page["saturates_first"],
                           page["scope"])
    hour = (f"{m['hour'][0]}-{m['hour'][1]}" if m["hour"] else "n/a")
    if m["hour_minutes"] is not None and m["hour_minutes"] < 60:
        hour += f", the whole {m['hour_minutes']}-minute window"
    out = [{"label": "Decision", "text": " ".join(page["sentences"])},
           {"label": f"Logins in the busiest hour ({hour})", "text": _pair(m["logins"])},
           {"label": "Sessions starting per second at the peak"
                     + (f" ({m['peak_at']})" if m["peak_at"] else ""),
            "text": _pair(m["arrival_rate"], "{:,.1f}")},
           {"label": "Sessions in flight", "text": _pair(m["in_flight"])},
           {"label": "People logged in (session lifetime)",
            "text": "n/a" if m["logged_in"]["forecast"] is None
            else f"forecast {m['logged_in']['forecast']:,.0f}"},
           {"label": "Requests per second at the peak",
            "text": "not measured" if m["requests_per_second"]["achieved"] is None
            else f"achieved {m['requests_per_second']['achieved']:,.1f}"}]
    lat = [f"{r['group'] if r['group'] != '*' else 'all requests'} p95"
           f" {seconds_label(r['p95'])}"
           + (f" (threshold {seconds_label(r['p95_threshold'])})" if r["p95_threshold"] else "")
           + f", p99 {seconds_label(r['p99'])}"
           + (f" (threshold {seconds_label(r['p99_threshold'])})" if r["p99_threshold"] else "")
           + ("" if r["within"] else ": OVER")
           for r in m["latency"]]
    out.append({"label": f"Latency in the busiest hour ({hour})",
                "text": "; ".join(lat) if lat else "not measured"})
    out.append({"label": "Headroom", "text": room["statement"]
                + (f" (required {room['required']:g}×)" if room["required"] else "")})
    what = sat["resource"] or "not measured"
    if sat["resource"] is None and sat["detail"]:
        what = sat["detail"]
    elif sat["detail"]:
        what += f" ({sat['detail']})"
    out.append({"label": "What saturates first", "text": what})
    if page.get("people"):
        out.append({"label": "People readiness", "text": page["people"]["statement"]})
    personas = ", ".join(scope["personas"]) or "n/a"
    out.append({"label": "Scope", "text": (
        f"{scope['system']}; {scope['title']} ({scope['scenario']})"
        + (f", {scope['date']}" if scope["date"] else "")
        + (f", {scope['window'][0]}-{scope['window'][1]}" if scope["window"] else "")
        + f"; district profile {scope['profile'] or 'n/a'}, scale {scope['scale']:g},"
        f" speed {scope['speed']:g}; personas {personas}")})
    out.append({"label": "Not covered", "text": "; ".join(scope["not_covered"])})
    return out


def scope(rehearsed: dict[str, Any], personas: list[str], room: dict[str, Any],
          saturation: dict[str, Any] | None, partial: bool) -> dict[str, Any]:
    """What the decision covers, and in words what it does not."""
    not_covered = [f"{p}: left out (--drop-persona)" for p in rehearsed["not_rehearsed"]]
    if rehearsed["system"].startswith("firstbell's reference"):
        not_covered.append("the district's own (vendor) SIS: this run drove firstbell's"
                           " reference SIS")
    if room["measured"] is None:
        not_covered.append("load above the forecast peak (headroom not measured)")
    if saturation is None:
        not_covered.append("the SIS's own resources (no Prometheus scraped the run)")
    if partial:
        not_covered.append("the rest of the day: the run was interrupted")
    return {"system": rehearsed["system"], "scenario": rehearsed["scenario"],
            "title": rehearsed["title"], "date": rehearsed["date"],
            "window": rehearsed["window"], "profile": rehearsed["profile"],
            "scale": float(rehearsed["scale"] or 1.0), "speed": float(rehearsed["speed"] or 1.0),
            "personas": personas, "not_rehearsed": rehearsed["not_rehearsed"],
            "not_covered": not_covered or ["nothing the report knows of"]}


def build(data: dict[str, Any], moment: dict[str, Any], personas: list[str]) -> dict[str, Any]:
    """Page one from the report's data (`data.load`) and the worst moment."""
    verdict, rehearsed = data["verdict"], data["rehearsed"]
    room = headroom(verdict, data["capacity"], data["headroom"])
    page: dict[str, Any] = {
        "decision": decision(verdict),
        "sentences": sentences(verdict, room, rehearsed["system"], rehearsed["not_rehearsed"]),
        "worst_moment": moment, "headroom": room,
        "saturates_first": saturates_first(data["saturation"], room),
        "scope": scope(rehearsed, personas, room, data["saturation"],
                       bool(data["totals"]["partial"])),
        "actions": top_actions(verdict, data["actions"], room, rehearsed["system"],
                               rehearsed["not_rehearsed"]),
        "people": data.get("people")}
    people = data.get("people")
    if people and not people["ready"] and people["actions"]:
        # the people half is as much a launch blocker as a failed objective: its first action
        # goes right after the system's most urgent one
        page["actions"] = (page["actions"][:1] + people["actions"][:1]
                           + page["actions"][1:])[:3]
    page["facts"] = facts(page)
    return page
