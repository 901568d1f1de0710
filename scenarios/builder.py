"""The scenario checked against a district profile and a load target: the ledger's layers
(shared defaults, profile populations, the target's session lengths, the scenario's own,
overrides), every reference (persona, population, factor, bell event, mix knob), the calendar
date, and each activity's windows turned into spreads over clock time. Every mistake is a
ScenarioError naming the file, the field and the value."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from fake_data.profile import Profile
from kernel.clock import hhmm
from loadtests.targets import Target
from scenarios.district import Bells, populations, resolve_date, school_day_problem
from scenarios.ledger import Assumption, Ledger, LedgerError
from scenarios.model import Moment, Scenario, ScenarioError, Window, load_defaults
from scenarios.shapes import Spread

Overrides = Sequence[tuple[Mapping[str, tuple[float, str | None]], str]]


class Builder:
    """A scenario checked against a profile and a target, and turned into the pieces the
    curve is computed from: the ledger, each activity's spreads, the mix, the date."""

    def __init__(self, scenario: Scenario, source: str, profile: Profile,
                 target: Target) -> None:
        self.s, self.source, self.profile, self.target = scenario, source, profile, target
        self.bells = Bells.of(profile)

    def fail(self, where: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: field {where}: {message}")

    def ledger(self, defaults: Path, overrides: Overrides) -> Ledger:
        ledger = Ledger(Assumption(n, a.value, a.unit, a.source, f"defaults {defaults.name}")
                        for n, a in load_defaults(defaults).items())
        for entry in populations(self.profile, self.s.phase):
            ledger.add(entry)
        for persona, think in self.target.session_seconds.items():
            ledger.add(Assumption(f"session_seconds.{persona}", think, "seconds",
                                  f"[E] think times of the {self.target.name} {persona} click"
                                  " path", f"target {self.target.name}"))
        for name, a in self.s.assumptions.items():
            ledger.add(Assumption(name, a.value, a.unit, a.source, f"scenario {self.s.name}"))
        for entry in self.window_lines():
            ledger.add(entry)
        for values, origin in overrides:
            ledger.override(values, origin)
        if "day.remote_share" in ledger:  # the mode of the day: the in-person rest of it
            remote = ledger.entries["day.remote_share"]
            if remote.value > 1:
                raise LedgerError(f"{remote.origin}: day.remote_share is a share of students"
                                  f" (0-1), not {remote.value:g}")
            ledger.add(Assumption("day.in_person_share", 1.0 - remote.value,
                                  "share of students in school that day",
                                  f"[D] 1 - day.remote_share ({remote.value:g}, {remote.source})",
                                  remote.origin))
        return ledger

    def date(self) -> str:
        """The calendar date the day rehearses ("" when any school day), checked: a day
        whose activities follow the bells must be a school day."""
        if self.s.date is None:
            return ""
        try:
            day = resolve_date(self.profile, self.s.date)
        except ValueError as exc:
            raise self.fail("date", str(exc)) from None
        problem = school_day_problem(self.profile, day)
        belled = [w for a in self.s.activities for w in a.windows
                  if w.every or any(m is not None and m.base and ":" not in m.base
                                    for m in (w.start, w.end, w.peak))]
        if problem and belled:
            raise self.fail("date", f"{problem} in profile {self.profile.name!r}'s calendar,"
                            " so no bell rings, but activities follow the bell schedule")
        return day.isoformat()

    def check_references(self, ledger: Ledger) -> None:
        for i, a in enumerate(self.s.activities):
            where = f"activities.{i}"
            if a.persona not in self.target.click_paths:
                raise self.fail(f"{where}.persona", f"target {self.target.name!r} has no click"
                                f" path {a.persona!r} (value {a.persona!r}); its personas:"
                                f" {', '.join(sorted(self.target.click_paths))}")
            for name, kind in ((a.population, "population"), *((f, "factor")
                                                               for f in a.factors)):
                if name not in ledger:
                    raise self.fail(f"{where}.{kind}", f"{name!r} is not in the assumption"
                                    " ledger; declare it under `assumptions` or use one of: "
                                    + ", ".join(sorted(ledger.entries)))
        for persona, spec in self.s.personas.items():
            mix = self.mix(persona, ledger)  # names a missing assumption itself
            try:
                self.target.check_mix({persona: mix})
            except ValueError as exc:
                raise self.fail(f"personas.{persona}", f"{exc} (value {spec.mix!r})") from None
        if self.s.sweep is not None:
            for persona in self.s.sweep.personas:
                if persona not in self.target.click_paths:
                    raise self.fail("sweep.personas", f"target {self.target.name!r} has no"
                                    f" click path {persona!r}; its personas: "
                                    + ", ".join(sorted(self.target.click_paths)))

    def check_overrides_used(self, ledger: Ledger, overrides: Overrides) -> None:
        """An override of a value this scenario never reads would change nothing: refuse it.
        (Derived populations are values of their own: override the one the day uses.)"""
        for values, origin in overrides:
            unused = sorted(set(values) - ledger.used)
            if unused:
                raise LedgerError(f"{origin}: {', '.join(unused)} is not used by scenario"
                                  f" {self.s.name!r}, so overriding it would change nothing;"
                                  " it uses: " + ", ".join(sorted(ledger.used)))

    def mix(self, persona: str, ledger: Ledger) -> dict[str, float]:
        out = {}
        for knob, value in self.s.personas[persona].mix.items():
            if isinstance(value, str):
                if value not in ledger:
                    raise self.fail(f"personas.{persona}.mix.{knob}", f"{value!r} is neither"
                                    " a number nor an assumption of the ledger")
                value = ledger.value(value)
            out[knob] = value
        return out

    def moment(self, m: Moment | None, where: str, base: float | None = None) -> float | None:
        if m is None:
            return None
        if m.base is None:
            if base is None:
                raise self.fail(where, f"an offset ({m.offset:+g} s) needs a clock time or a"
                                " bell event before it, e.g. high.first_bell - 45m")
            return base + m.offset
        if ":" in m.base:
            return float(int(m.base[:2]) * 3600 + int(m.base[3:]) * 60) + m.offset
        times = self.bells.events.get(m.base)
        if times is None:
            raise self.fail(where, f"{m.base!r} is not a bell event of profile"
                            f" {self.profile.name!r}; events: "
                            + ", ".join(sorted(self.bells.events)))
        if len(times) > 1:
            raise self.fail(where, f"{m.base!r} happens {len(times)} times a day; use"
                            f" `every: {m.base}` with offsets")
        return times[0] + m.offset

    # -- windows: their widths and apexes are ledger lines; bells ring in tiers -----------

    def window_name(self, index: int, j: int) -> str:
        a = self.s.activities[index]
        return f"window.{a.name}" + (f".{j + 1}" if len(a.windows) > 1 else "")

    def _nominal(self, w: Window, where: str) -> tuple[float, float, float | None]:
        """The window's from, to and apex at the nominal bells (an `every` window: offsets
        from its event)."""
        base = 0.0 if w.every is not None else None
        lo = self.moment(w.start, f"{where}.from", base)
        hi = self.moment(w.end, f"{where}.to", base)
        assert lo is not None and hi is not None
        if hi <= lo:
            raise self.fail(where, f"the window from {hhmm(lo)} to {hhmm(hi)} is empty or"
                            " backwards; `to` must come after `from`")
        apex = self.moment(w.peak, f"{where}.peak", base) if w.shape == "peak" else None
        if w.shape == "peak" and apex is None:
            apex = (lo + hi) / 2
        if apex is not None and not lo <= apex <= hi:
            raise self.fail(f"{where}.peak", f"the peak {hhmm(apex)} is outside the window"
                            f" {hhmm(lo)}-{hhmm(hi)}")
        return lo, hi, apex

    def window_lines(self) -> list[Assumption]:
        """Every window's width (and a peaked window's apex, minutes after its start) as a
        ledger line, so the plan shows the numbers that shape its peaks and ``--assume`` can
        move them; the source is the window's own, else an estimate of the day file."""
        out = []
        for i, a in enumerate(self.s.activities):
            for j, w in enumerate(a.windows):
                where = f"activities.{i}.windows.{j}"
                lo, hi, apex = self._nominal(w, where)
                name = self.window_name(i, j)
                times = (f"{_text(w.start)} to {_text(w.end)}"
                         + (f", apex {_text(w.peak)}" if w.peak is not None else "")
                         + (f", at every {w.every}" if w.every else ""))
                source = w.source or f"[E] day file {self.s.name}: {times}"
                origin = f"scenario {self.s.name}"
                out.append(Assumption(f"{name}.width_minutes", (hi - lo) / 60, "minutes",
                                      source, origin))
                if apex is not None:
                    out.append(Assumption(f"{name}.apex_minutes", (apex - lo) / 60,
                                          "minutes after the window opens", source, origin))
        return out

    def _tiers(self, w: Window, where: str) -> tuple[tuple[float, float], ...]:
        """The tiered starts a window follows: those of the one level whose bells it names."""
        bases = {m.base for m in (w.start, w.end, w.peak)
                 if m is not None and m.base and ":" not in m.base}
        if w.every:
            bases.add(w.every)
        levels = sorted({b.split(".")[0] for b in bases if b.split(".")[0] in self.bells.tiers})
        tiers = {self.bells.tiers[lv] for lv in levels} - {((0.0, 1.0),)}
        if len(tiers) > 1:
            raise self.fail(where, f"the window follows the bells of {' and '.join(levels)},"
                            " whose schools start in different tiers; place it against one"
                            " level's bells")
        return next(iter(tiers), ((0.0, 1.0),))

    def spreads(self, index: int, ledger: Ledger) -> list[Spread]:
        out: list[Spread] = []
        lo_day, hi_day = self.s.bounds
        for j, w in enumerate(self.s.activities[index].windows):
            where = f"activities.{index}.windows.{j}"
            name = self.window_name(index, j)
            lo0, hi0, apex0 = self._nominal(w, where)
            stretch = ledger.value(f"{name}.width_minutes") * 60 - (hi0 - lo0)
            slide = (ledger.value(f"{name}.apex_minutes") * 60 - (apex0 - lo0)
                     if apex0 is not None else 0.0)
            for shift, tier_share in self._tiers(w, where):
                bases = [None] if w.every is None else self._occurrences(w, where)
                for base in bases:
                    spread = self._spread(w, where, None if base is None else base + shift,
                                          shift, w.share * tier_share / len(bases),
                                          stretch, slide)
                    if spread.lo < lo_day or spread.hi > hi_day:
                        raise self.fail(where, f"the window {hhmm(spread.lo)}-"
                                        f"{hhmm(spread.hi)} falls outside the scenario's day"
                                        f" {self.s.day}" + (f" (bells {shift / 60:+g} min:"
                                                            " a tier)" if shift else ""))
                    out.append(spread)
        return out

    def _occurrences(self, w: Window, where: str) -> list[float | None]:
        assert w.every is not None
        times = self.bells.events.get(w.every)
        if times is None:
            raise self.fail(f"{where}.every", f"{w.every!r} is not a bell event of profile"
                            f" {self.profile.name!r}; events: "
                            + ", ".join(sorted(self.bells.events)))
        return list(times)

    def _spread(self, w: Window, where: str, base: float | None, shift: float, share: float,
                stretch: float, slide: float) -> Spread:
        """One tier's (and one occurrence's) spread: bell moments moved by the tier's
        `shift`, the end by the ledger's change of width, the apex by its change of apex."""
        lo = self._at(w.start, f"{where}.from", base, shift)
        hi = self._at(w.end, f"{where}.to", base, shift)
        assert lo is not None and hi is not None
        hi += stretch
        if hi <= lo:
            raise self.fail(where, f"the window from {hhmm(lo)} to {hhmm(hi)} is empty or"
                            " backwards; `to` must come after `from` (is its width_minutes"
                            " in the ledger 0?)")
        apex = self._at(w.peak, f"{where}.peak", base, shift) if w.shape == "peak" else None
        if w.shape == "peak" and apex is None:
            apex = (lo + hi - stretch) / 2
        if apex is not None:
            apex += slide
            if not lo <= apex <= hi:
                raise self.fail(f"{where}.peak", f"the peak {hhmm(apex)} is outside the"
                                f" window {hhmm(lo)}-{hhmm(hi)} (its apex_minutes and"
                                " width_minutes in the ledger must agree)")
        return Spread(lo, hi, share, apex)

    def _at(self, m: Moment | None, where: str, base: float | None,
            shift: float) -> float | None:
        """A moment, a bell event's moved by the tier's shift (a clock time is not)."""
        t = self.moment(m, where, base)
        if t is None or m is None or m.base is None or ":" in m.base:
            return t
        return t + shift


def _text(m: Moment | None) -> str:
    if m is None:
        return "-"
    off = "" if not m.offset else f" {'+' if m.offset > 0 else '-'} {abs(m.offset) / 60:g}m"
    return f"{m.base or ''}{off}".strip()
