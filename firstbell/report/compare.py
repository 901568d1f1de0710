"""Rehearsals side by side: what changed since an earlier run (`--baseline`: the objectives
that moved, the headroom, p95 at the peak) and the history of the verdicts in a folder of
run directories (`firstbell report --history runs/`), newest first."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kernel.errors import UserError

# An objective "moved" when its result flipped or its value changed by a tenth of its threshold
# (a p95 from 10 to 18 ms against 1 s is noise to leadership; from 300 to 500 ms is not).
MOVED = 0.1


def baseline_diff(current: dict[str, Any], base: dict[str, Any]) -> list[dict[str, Any]]:
    """Each objective's whole-run value now and in the baseline run."""
    before = {o["name"]: o for o in base["verdict"]["objectives"]}
    rows = []
    for o in current["verdict"]["objectives"]:
        b = before.get(o["name"])
        if b is None:
            continue
        rows.append({"objective": o["name"], "measure": o["measure"],
                     "threshold": o["threshold"], "now": o["whole_run"],
                     "baseline": b["whole_run"],
                     "change": (o["whole_run"] - b["whole_run"])
                     if o["whole_run"] is not None and b["whole_run"] is not None else None,
                     "passed_now": o["passed"], "passed_baseline": b["passed"]})
    return rows


def _moved(row: dict[str, Any]) -> bool:
    if row["passed_now"] != row["passed_baseline"]:
        return True
    now, then = row["now"], row["baseline"]
    if now is None or then is None:
        return (now is None) != (then is None)
    return abs(now - then) >= MOVED * abs(row["threshold"])


def _peak_p95(data: dict[str, Any]) -> dict[str, float | None]:
    return {r["group"]: r["p95"] for r in data["page_one"]["worst_moment"]["latency"]}


def changes(current: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """What changed since the baseline run: decision, the objectives that moved, the headroom,
    p95 per group in the busiest hour."""
    diff = baseline_diff(current, base)
    now_p95, then_p95 = _peak_p95(current), _peak_p95(base)
    room_now = current["page_one"]["headroom"]
    room_then = base["page_one"]["headroom"]
    return {
        "run_id": base["run_id"], "run": base["run_dir"],
        "decision": {"now": current["page_one"]["decision"],
                     "baseline": base["page_one"]["decision"]},
        "objectives_moved": [r for r in diff if _moved(r)],
        "headroom": {"now": room_now["measured"], "baseline": room_then["measured"],
                     "now_statement": room_now["statement"],
                     "baseline_statement": room_then["statement"]},
        "p95_at_peak": [{"group": g, "now": now_p95.get(g), "baseline": then_p95.get(g)}
                        for g in sorted(set(now_p95) | set(then_p95), key=lambda g: (g == "*", g))],
        "diff": diff}


def previous_run(run_dir: Path) -> Path | None:
    """The newest run of the same scenario in the same folder that started before `run_dir`
    (what `--baseline last` compares with)."""
    here = _json(run_dir / "run.json") or {}
    scenario, started = here.get("plan", {}).get("scenario"), here.get("started_at") or 0
    best: tuple[float, Path] | None = None
    for other in run_dir.resolve().parent.iterdir():
        run = _json(other / "run.json") if other.resolve() != run_dir.resolve() else None
        if not run or not (other / "verdict.json").is_file():
            continue
        at = run.get("started_at") or 0
        if run.get("plan", {}).get("scenario") == scenario and at < started and \
                (best is None or at > best[0]):
            best = (at, other)
    return best[1] if best else None


def _json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None


def short_headroom(room: dict[str, Any]) -> str:
    """``2.75×``, ``≥ 4× (load generator)``, ``≥ 6× (ceiling)`` or ``not measured``."""
    if room["measured"] is None:
        return "not measured"
    limited = room.get("limited_by")
    if limited in ("generator", "ceiling", "budget"):
        why = {"generator": "load generator"}.get(limited, limited)
        return f"≥ {room['measured']:g}× ({why})"
    return f"{room['measured']:g}×"


def history(folder: Path, load: Any) -> list[dict[str, Any]]:
    """One row per run directory in `folder` (those with run.json and verdict.json), newest
    first: when, scenario, decision, headroom, p95 at the peak, the failed objectives. A run
    directory that cannot be read is a row saying so, not the end of the table."""
    if not folder.is_dir():
        raise UserError(f"option --history: {folder}: no such folder; give the folder that"
                        " holds the run directories (runs/)")
    rows = []
    for run_dir in sorted(p for p in folder.iterdir() if (p / "verdict.json").is_file()):
        try:
            data = load(run_dir)
        except (UserError, KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            why = str(exc).splitlines()[0].replace(f"{run_dir}/", "").replace(f"{run_dir}", "")
            rows.append({"run": run_dir.name, "started_at": 0, "scenario": None,
                         "decision": "unreadable", "headroom": None,
                         "headroom_statement": why.lstrip(": ")[:160], "headroom_short": "n/a",
                         "p95_at_peak": None, "failed": [], "system": None})
            continue
        page = data["page_one"]
        overall = next((r for r in page["worst_moment"]["latency"] if r["group"] == "*"), None)
        rows.append({
            "run": run_dir.name, "started_at": data["rehearsed"]["started_at"] or 0,
            "scenario": data["rehearsed"]["scenario"], "decision": page["decision"],
            "headroom": page["headroom"]["measured"],
            "headroom_statement": page["headroom"]["statement"],
            "headroom_short": short_headroom(page["headroom"]),
            "p95_at_peak": overall["p95"] if overall else None,
            "failed": [o["name"] for o in data["verdict"]["objectives"] if not o["passed"]],
            "system": data["rehearsed"]["system"]})
    if not rows:
        raise UserError(f"option --history: {folder}: no run directories there (folders with"
                        " run.json and verdict.json, as `firstbell run` and `firstbell"
                        " rehearse` write them under runs/)")
    return sorted(rows, key=lambda r: (-float(r["started_at"]), r["run"]))
