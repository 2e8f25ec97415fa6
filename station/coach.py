"""The coach: the exercise of each visit, for whoever chose it, and its summary in words.

Subscribed to the runtime's events (visit started and ended, every contact, every frame), it
runs the chosen exercise (station.core.exercises), tells the kiosk what to show through the
live stream ("exercise" events only when the view changes) and, when an exercise is
finished, its summary in plain words, compared with the member's earlier runs and with
published markers: information, never a diagnosis.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from station.core.config import MatConfig
from station.core.exercises import SPECS, Exercise, ExerciseSpec, start
from station.core.gait import analyse_walking
from station.core.quality import QualityLimits, session_quality, worst_quality
from station.core.report import idle_noise
from station.core.support import combined_support, support_words
from station.events import ContactReported, Event, FrameSeen, VisitClosed, VisitStarted
from station.live import LiveHub
from station.selection import DEFAULT_EXERCISE, SelectionDesk

CLAIM_WINDOW_S = 120.0  # a guest may save their run to their history this long after it

# Changes smaller than these are "about the same" (typical session-to-session variation).
NOISE_MARGINS = {
    "speed_m_per_s": 0.05,
    "step_length_m": 0.02,
    "cadence_steps_per_min": 5.0,
    "romberg_mean_velocity": 0.2,
    "eyes_open_velocity_m_per_s": 0.002,
}
HIGHER_IS_BETTER = {
    "speed_m_per_s": True,
    "step_length_m": True,
    "cadence_steps_per_min": True,
    "romberg_mean_velocity": False,
    "eyes_open_velocity_m_per_s": False,
}


def compare(current: float | None, previous: list[float], key: str) -> str | None:
    """better / same / worse than the mean of earlier runs, with the stated noise margin."""
    if current is None or not previous:
        return None
    ref = sum(previous) / len(previous)
    margin = NOISE_MARGINS[key]
    if abs(current - ref) <= margin:
        return "same"
    better = (current > ref) == HIGHER_IS_BETTER[key]
    return "better" if better else "worse"


def plain_words(summary: dict[str, Any], comparisons: dict[str, str | None]) -> list[str]:
    """A few sentences a member reads at a glance."""
    lines = []
    word = {"better": "better than", "same": "about the same as", "worse": "less than"}
    key = summary["exercise"]
    if key in ("backward_walk", "head_turns"):
        paces, target = summary["paces"], SPECS[key].target_paces
        of = f" of {target}" if paces < target else ""
        # a walk-up (nobody chose on the kiosk) may walk either way: only what the mat saw
        way = summary.get("direction", "backward")
        said = {"backward": " backwards", "forward": " forwards"}.get(way, "")
        lines.append(f"You walked {paces}{of} paces{said}.")
        if summary.get("step_length_m"):
            lines.append(
                f"Steps {100 * summary['step_length_m']:.0f} cm long, "
                f"{summary['cadence_steps_per_min']:.0f} a minute."
            )
        speed = summary.get("speed_m_per_s")
        if speed and way != "backward":
            unknown = "the mat could not tell which way you walked"
            why = "this walk was forwards" if way == "forward" else unknown
            lines.append(f"Walking speed {speed:.2f} m/s.")
            lines.append(f"The backward-walking markers of the studies are left out: {why}.")
        elif speed:
            lines.append(f"Backward walking speed {speed:.2f} m/s.")
            if comparisons.get("speed_m_per_s"):
                lines.append(f"That is {word[comparisons['speed_m_per_s']]} your last sessions.")
            # published markers, worded as information about studies, never about the member
            lines.append(
                "For information: in a study of older adults (Fritz et al. 2013), those who "
                "had fallen walked backwards slower than 0.6 m/s."
            )
            lines.append(
                f"At this speed 3 m backwards takes {summary['time_for_3_m_s']:.1f} s; "
                "a study used 4.5 s or more as its marker (Carter et al.). Not a diagnosis."
            )
        if key == "head_turns":
            widths = [
                f"looking {side} {100 * summary[f'{side}_step_width_m']:.0f} cm"
                for side in ("left", "right")
                if summary.get(f"{side}_step_width_m")
            ]  # a pass that ended before the right shoulder's paces has no right width
            if widths:
                lines.append(f"Step width {', '.join(widths)}.")
    elif key == "warrior":
        if summary.get("held_s"):
            lines.append(f"You held Warrior for {summary['held_s']:.0f} seconds.")
            lines.append(
                f"About {100 * summary['rear_share']:.0f} % of your weight was on your back foot."
            )
            velocity = 100 * summary["sway_velocity_m_per_s"]
            lines.append(f"Steadiness: you swayed {velocity:.1f} cm per second.")
        else:
            lines.append("The hold did not start: step back onto the mark and hold still.")
    elif key == "quiet_stance":
        ratio = summary.get("romberg_mean_velocity")
        eo = summary.get("eyes_open", {}).get("mean_velocity_m_per_s")
        if eo:
            lines.append(f"Eyes open: you swayed {100 * eo:.1f} cm per second.")
        if ratio:
            lines.append(f"With eyes closed you swayed {ratio:.1f} times as much.")
            if comparisons.get("romberg_mean_velocity"):
                lines.append(f"That is {word[comparisons['romberg_mean_velocity']]} before.")
    return lines


@dataclass
class Run:
    exercise: Exercise
    member_id: int | None
    key: int  # identifies the run to the store (claims refer to it)
    baseline_lateral_sway_m: float | None = None
    session_keys: list[int] = field(default_factory=list)
    last_view: dict[str, Any] | None = None
    reports: list[Any] = field(default_factory=list)  # each visit's stored report


@dataclass
class Claimable:
    """A guest's finished run that its member may still save to their history."""

    result: dict[str, Any]
    until: float  # on the coach's clock
    claimed_by: int | None = None


class ClaimError(Exception):
    """No guest run may be claimed now (none, too late, or already saved)."""


class Coach:
    """Runs the exercise of each visit, for whoever the visit's selection says.

    It learns of visits only from the runtime's events (`handle`), and of choices only
    from the selection desk, which the acquisition consults when a visit starts: a choice
    applies to the next visit only. When a visit ends, or a choice goes unused for the
    desk's lifetime, the kiosk returns to "Guest" and the picker and every member unlock
    is revoked (`lock_epoch` moves on). A member's unfinished multi-pass exercise waits
    for them to pick themselves again before anyone else steps on; a guest's run ends
    with its visit and may be claimed by its member (name and PIN) for `claim_window_s`.
    """

    KINDS = (FrameSeen, ContactReported, VisitStarted, VisitClosed)  # the events it follows

    def __init__(
        self,
        hub: LiveHub,
        history: Any = None,
        store: Any = None,
        desk: SelectionDesk | None = None,
        claim_window_s: float = CLAIM_WINDOW_S,
        mat: MatConfig | None = None,
        quality_limits: QualityLimits | None = None,
    ) -> None:
        """`history(member_id, exercise) -> list of earlier summaries` (from the store);
        `store` has save_run(result) and claim_run(run_key, session_keys, member_id); `mat`
        for the quality mark's checks of the cells and the platform's edges, and
        `quality_limits` its limits (the config's `[quality]`, as the report has them)."""
        self.hub = hub
        self.mat = mat
        self.quality_limits = quality_limits
        self.history = history
        self.store = store
        self.desk = desk or SelectionDesk()
        self.claim_window_s = claim_window_s
        self.clock = self.desk.clock
        self.run: Run | None = None
        self.paused: tuple[Run, float] | None = None  # a member's unfinished run, since when
        self.claimable: Claimable | None = None
        self.last_summary: dict[str, Any] | None = None
        self.lock_epoch = 0  # member unlocks made in an earlier epoch are void
        self._run_keys = itertools.count(1)
        self._lock = threading.RLock()

    # --- from the kiosk (web threads) -------------------------------------------------
    def select(self, exercise: str, member_id: int | None) -> None:
        """A choice for the next visit (see SelectionDesk)."""
        if exercise not in SPECS:
            raise KeyError(exercise)
        with self._lock:
            self.desk.choose(member_id, exercise)
            self.last_summary = None
        if self.run is None:
            self._publish(self._idle_view())

    def step_away(self, member_id: int) -> None:
        """The member looks at their own data (history, phone link), not at the mat: their
        choice no longer stands for the next visit. Someone else may step on meanwhile; that
        visit is a guest's (of the exercise chosen), unless the member chooses again."""
        with self._lock:
            choice = self.desk.current()
            if choice is None or choice.member_id != member_id:
                return
            self.desk.choose(None, choice.exercise)
        if self.run is None:
            self._publish(self._idle_view())

    def reset(self, reason: str) -> None:
        """Back to "Guest" and the picker; every member unlock is revoked."""
        with self._lock:
            self.desk.clear()
            self.lock_epoch += 1
            epoch = self.lock_epoch
        self.hub.publish(
            "selection", json.dumps({"member_id": None, "reason": reason, "epoch": epoch})
        )
        if self.run is None:
            self._publish(self._idle_view())

    def claim(self, member_id: int) -> dict[str, Any]:
        """Save the last guest run to this member's history (their PIN already checked)."""
        with self._lock:
            c = self.claimable
            if c is None or self.clock() > c.until:
                raise ClaimError("there is no guest run to save now (2 minutes have passed?)")
            if c.claimed_by is not None:
                raise ClaimError("this run has already been saved to a history")
            c.claimed_by = member_id
            c.result["member_id"] = member_id
        if self.store is not None:
            self.store.claim_run(c.result["run_key"], c.result["session_keys"], member_id)
        return c.result

    def state(self) -> dict[str, Any]:
        with self._lock:
            view = self.run.last_view if self.run else None
            choice = self.desk.current()
            c = self.claimable
            claim_left = max(0.0, c.until - self.clock()) if c and c.claimed_by is None else 0.0
            return {
                "selection": None
                if choice is None
                else {"member_id": choice.member_id, "exercise": choice.exercise},
                "view": view or self._idle_view(),
                "summary": self.last_summary,
                "claim_left_s": round(claim_left),
                "lock_epoch": self.lock_epoch,
            }

    # --- from the runtime (the event bus, on the coach's own thread) ---------------------
    def handle(self, event: Event) -> None:
        """Subscriber of the runtime's events, with its own thread: the member's earlier runs
        are read from the database here, never on the 80 Hz acquisition thread."""
        if isinstance(event, FrameSeen):
            self._frame(event)
        elif isinstance(event, ContactReported):
            if self.run is not None:
                self.run.exercise.contact(event.contact)
                self._changed()
        elif isinstance(event, VisitStarted):
            self._visit_started(event)
        elif isinstance(event, VisitClosed):
            self._visit_ended(event)

    def _visit_started(self, event: VisitStarted) -> None:
        if event.exercise not in SPECS:
            return  # a visit with no exercise (no kiosk choice): nothing to coach
        with self._lock:
            paused, self.paused = self.paused, None
            self.last_summary = None
            self.claimable = None  # the next person is on: the summary screen is gone
        if paused and (paused[0].member_id, paused[0].exercise.spec.key) == (
            event.member_id,
            event.exercise,
        ):
            run = paused[0]  # the same member again: the passes add up
        else:
            if paused:
                self._finish(paused[0], announce=False)
            run = Run(
                start(event.exercise), event.member_id, next(self._run_keys),
                self._baseline(event.member_id, event.exercise),
            )  # fmt: skip
        run.session_keys.append(event.key)
        run.exercise.visit_started(event.t_s)
        with self._lock:
            self.run = run
        self._changed()

    def _visit_ended(self, event: VisitClosed) -> None:
        run = self.run
        with self._lock:
            self.run = None
        if run is not None:
            run.reports.append(self._visit_marks(event))
            r = event.recording
            if r is not None:  # the sway figures take out this mat's noise, as the report's
                run.exercise.heard_the_empty_mat(idle_noise(r.t_s, r.fz_n, r.forces_n), self.mat)
            run.exercise.visit_ended(event.t_s)
            # only a walk's paces add up over passes; a stance or a hold stepped off early
            # starts again, so there is nothing to keep waiting for
            walk = bool(run.exercise.spec.target_paces)
            if run.exercise.done or run.member_id is None or not walk:
                self._finish(run, announce=True)
            else:
                with self._lock:
                    self.paused = (run, self.clock())
        self.reset("visit ended")

    def _visit_marks(self, event: VisitClosed) -> dict[str, Any]:
        """A visit's hand on the wall and quality mark, as its stored report has them.

        Worked out here as well as in the report (ReportBuilder, another thread): the run's
        summary must not wait for the report, nor the next visit's start overtake it.
        """
        r = event.recording
        if r is None:
            return {}
        quality = session_quality(
            r.t_s, r.fz_n, r.x_m, r.y_m, r.forces_n, self.mat, limits=self.quality_limits,
            **(r.station or {}),
        )  # fmt: skip
        direction = r.expected_direction
        if direction not in ("backward", "forward"):  # a walk-up: the way the report tells
            direction = analyse_walking(r.detector.visits, direction)[1]
        return {"support": r.support, "quality": quality, "direction": direction}

    def _frame(self, event: FrameSeen) -> None:
        run = self.run
        if run is not None:
            run.exercise.frame(event.t_s, event.fz_n, event.x_m, event.y_m)
            if run.exercise.timed:  # a countdown moves with the clock; others with events
                self._changed()
            return
        if self.desk.expire() is not None:
            self.reset("nobody stepped on")
        paused = self.paused
        if paused and self.clock() - paused[1] > self.desk.lifetime_s:
            with self._lock:
                self.paused = None
            self._finish(paused[0], announce=False)
            self._publish(self._idle_view())  # the picker's "walk kept" note goes

    # --- internals -----------------------------------------------------------------------
    def _finish(self, run: Run, announce: bool) -> None:
        """Summarise and store a run; on the kiosk too when `announce`."""
        ex = run.exercise
        if not (ex.done or getattr(ex, "pace_count", lambda: 0)() > 0):
            if announce:  # nothing measured, nothing stored: the member still hears why
                self._announce(
                    {
                        "exercise": ex.spec.key,
                        "title": ex.spec.title,
                        "member_id": run.member_id,
                        "finished": False,
                        "measured": False,
                        "words": [nothing_measured_words(ex.spec)],
                    },
                    claimable=False,
                )
            return
        summary = ex.summary()
        if ex.spec.target_paces:  # which way the paces went (a walk-up's, as the mat saw)
            summary["direction"] = run_direction([r.get("direction") for r in run.reports])
        support = combined_support([r.get("support") for r in run.reports])
        earlier = self.history(run.member_id, summary["exercise"]) if self.history else []
        # a walk-up's forward walk, saved to a history later, is no yardstick for a backward
        # one (nor the other way round)
        way = summary.get("direction")
        earlier = [s for s in earlier if s.get("direction", way) == way]
        comparisons = {}
        for k in NOISE_MARGINS:
            current = _metric(summary, k)
            previous = [v for v in (_metric(s, k) for s in earlier) if v is not None]
            comparisons[k] = compare(current, previous, k)
        result = {
            "exercise": summary["exercise"],
            "title": SPECS[summary["exercise"]].title,
            "member_id": run.member_id,
            "finished": ex.done,
            "summary": summary,
            "comparisons": comparisons,
            "words": plain_words(summary, comparisons) + support_words(support),
            "support": support,
            "quality": worst_quality([r.get("quality") for r in run.reports]),
            "session_keys": list(run.session_keys),
            "run_key": run.key,
        }
        if self.store is not None:
            self.store.save_run(dict(result))
        if announce:
            self._announce(result, claimable=run.member_id is None)

    def _announce(self, result: dict[str, Any], claimable: bool) -> None:
        """The summary on the kiosk; a guest's run can be saved to a history for a while."""
        with self._lock:
            self.last_summary = result
            if claimable:
                self.claimable = Claimable(result, self.clock() + self.claim_window_s)
        shown = {**result, "claim_left_s": self.claim_window_s if claimable else 0}
        self.hub.publish("exercise_summary", json.dumps(shown, default=_json_default))

    def _baseline(self, member_id: int | None, exercise: str) -> float | None:
        """The member's usual side-to-side sway while walking: the median of earlier runs."""
        if self.history is None or member_id is None:
            return None
        earlier = [s.get("lateral_sway_m") for s in self.history(member_id, exercise)]
        kept = sorted(v for v in earlier if isinstance(v, int | float))
        return kept[len(kept) // 2] if kept else None

    def _idle_view(self) -> dict[str, Any]:
        choice = self.desk.current()
        spec = SPECS[choice.exercise if choice else DEFAULT_EXERCISE]
        return {
            "exercise": spec.key,
            "title": spec.title,
            "phase": "idle",
            "cue": "Step on the mat to begin",
            "instructions": list(spec.instructions),
            "chosen": choice is not None,
            "carry_on": self._carry_on(),
        }

    def _carry_on(self) -> dict[str, Any] | None:
        """A member's unfinished walk, kept for their next pass (no name: the screen is public)."""
        paused = self.paused
        if paused is None:
            return None
        run, ex = paused[0], paused[0].exercise
        if not ex.spec.target_paces:
            return None  # only a walk counted in paces goes on over passes
        choice = self.desk.current()
        return {
            "title": ex.spec.title,
            "paces": ex.pace_count(),
            "target": ex.spec.target_paces,
            "left_s": max(0, round(self.desk.lifetime_s - (self.clock() - paused[1]))),
            # the member has picked their name and the walk again: the next pass adds up
            "resumes": choice is not None
            and (choice.member_id, choice.exercise) == (run.member_id, ex.spec.key),
        }

    def _changed(self) -> None:
        run = self.run
        if run is None:
            return
        view = run.exercise.view()
        view["title"] = SPECS[run.exercise.spec.key].title
        view["member"] = run.member_id is not None
        if "lateral_sway_m" in view:
            view["baseline_lateral_sway_m"] = run.baseline_lateral_sway_m
        if view != run.last_view:
            run.last_view = view
            self._publish(view)

    def _publish(self, view: dict[str, Any]) -> None:
        self.hub.publish("exercise", json.dumps(view, default=_json_default))


def _metric(summary: dict[str, Any], key: str) -> float | None:
    if key == "eyes_open_velocity_m_per_s":
        return (summary.get("eyes_open") or {}).get("mean_velocity_m_per_s")
    value = summary.get(key)
    return float(value) if isinstance(value, int | float) else None


def run_direction(directions: list[str | None]) -> str:
    """The way a run's passes went: the one every visit agrees on, else "unknown" (a visit
    with no recording says nothing; a walk-up with no pass along the mat is "unknown")."""
    told = {d if d in ("backward", "forward") else "unknown" for d in directions if d}
    if not told:
        return "backward"  # the walking exercises' own way
    return told.pop() if len(told) == 1 else "unknown"


def nothing_measured_words(spec: ExerciseSpec) -> str:
    """Why a visit gave the exercise no result, and what it needs (the recording is kept)."""
    if spec.target_paces:
        need = "a few paces walking backwards along the mat"
    elif spec.stance_s:
        need = f"{spec.stance_s:g} seconds of standing still with the eyes open, then closed"
    elif spec.hold_s:
        need = f"a {spec.hold_s:g}-second hold"
    else:
        need = "more time on the mat"
    return f"Nothing to measure this time: it needs {need}. No result was added."


def _json_default(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
