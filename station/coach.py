"""The coach: which exercise the kiosk has chosen, its run over the member's visits, the words.

Fed by the acquisition thread (session start and end, every contact report, every frame), it
runs the chosen exercise (station.core.exercises), tells the kiosk what to show through the
live stream ("exercise" events only when the view changes) and, when an exercise is
finished, its summary in plain words, compared with the member's earlier runs and with
published markers: information, never a diagnosis.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from station.core.exercises import SPECS, Exercise, start
from station.core.steps import Contact
from station.live import LiveHub

IDLE_AFTER_S = 60.0  # an unfinished exercise is dropped after this long off the mat

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
        lines.append(f"You walked {summary['paces']} paces backwards.")
        if summary.get("step_length_m"):
            lines.append(
                f"Steps {100 * summary['step_length_m']:.0f} cm long, "
                f"{summary['cadence_steps_per_min']:.0f} a minute."
            )
        speed = summary.get("speed_m_per_s")
        if speed:
            lines.append(f"Backward walking speed {speed:.2f} m/s.")
            if comparisons.get("speed_m_per_s"):
                lines.append(f"That is {word[comparisons['speed_m_per_s']]} your last sessions.")
            lines.append(
                "For information: in a study of older adults, all who had fallen walked "
                "backwards slower than 0.6 m/s (Fritz et al. 2013)."
            )
            lines.append(
                f"At this speed 3 m backwards takes {summary['time_for_3_m_s']:.1f} s "
                "(4.5 s or more is the marker in Carter et al.). Not a diagnosis."
            )
        if key == "head_turns" and summary.get("left_step_width_m"):
            lines.append(
                f"Step width looking left {100 * summary['left_step_width_m']:.0f} cm, "
                f"looking right {100 * (summary.get('right_step_width_m') or 0):.0f} cm."
            )
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
class Selection:
    exercise: str = "backward_walk"
    member_id: int | None = None  # None: a guest


@dataclass
class Run:
    exercise: Exercise
    member_id: int | None
    baseline_lateral_sway_m: float | None = None
    session_keys: list[int] = field(default_factory=list)
    last_view: dict[str, Any] | None = None
    ended_t: float | None = None


class Coach:
    def __init__(self, hub: LiveHub, history: Any = None) -> None:
        """`history(member_id, exercise) -> list of earlier summaries` (from the store)."""
        self.hub = hub
        self.history = history
        self.selection = Selection()
        self.run: Run | None = None
        self.last_summary: dict[str, Any] | None = None
        self.finished: list[dict[str, Any]] = []  # summaries waiting to be stored
        self._lock = threading.Lock()
        self._on_mat = False

    # --- from the kiosk (web threads) -------------------------------------------------
    def select(self, exercise: str, member_id: int | None) -> None:
        if exercise not in SPECS:
            raise KeyError(exercise)
        with self._lock:
            self.selection = Selection(exercise, member_id)
            if self.run is not None and not self.run.exercise.done and not self._on_mat:
                self.run = None  # a new choice replaces an unfinished one
            self.last_summary = None
        self._publish(self._idle_view())

    def state(self) -> dict[str, Any]:
        with self._lock:
            view = self.run.last_view if self.run else None
            return {
                "selection": self.selection.__dict__.copy(),
                "view": view or self._idle_view(),
                "summary": self.last_summary,
            }

    # --- from the acquisition thread ---------------------------------------------------
    def session_started(self, t: float, key: int) -> None:
        with self._lock:
            self._on_mat = True
            if self.run is None or self.run.exercise.done:
                sel = self.selection
                self.run = Run(start(sel.exercise), sel.member_id, self._baseline(sel))
                self.last_summary = None
            self.run.session_keys.append(key)
            self.run.exercise.visit_started(t)
        self._changed()

    def contact(self, contact: Contact) -> None:
        if self.run is not None:
            self.run.exercise.contact(contact)
            self._changed()

    def frame(self, t: float, fz: float, x: float | None, y: float | None) -> None:
        run = self.run
        if run is None:
            return
        run.exercise.frame(t, fz, x, y)
        if not self._on_mat and run.ended_t is not None and t - run.ended_t > IDLE_AFTER_S:
            with self._lock:
                self.run = None  # left unfinished: back to idle
            self._publish(self._idle_view())
            return
        if run.exercise.timed:  # a countdown moves with the clock; other views with events
            self._changed()

    def session_ended(self, t: float, key: int) -> None:
        run = self.run
        with self._lock:
            self._on_mat = False
        if run is None:
            return
        run.exercise.visit_ended(t)
        run.ended_t = t
        if run.exercise.done:
            self._finish(run)
        self._changed()

    def drain(self) -> list[dict[str, Any]]:
        """Finished exercises not yet handed to the store."""
        with self._lock:
            out, self.finished = self.finished, []
        return out

    # --- internals -----------------------------------------------------------------------
    def _finish(self, run: Run) -> None:
        summary = run.exercise.summary()
        earlier = self.history(run.member_id, summary["exercise"]) if self.history else []
        comparisons = {}
        for k in NOISE_MARGINS:
            current = _metric(summary, k)
            previous = [v for v in (_metric(s, k) for s in earlier) if v is not None]
            comparisons[k] = compare(current, previous, k)
        result = {
            "exercise": summary["exercise"],
            "title": SPECS[summary["exercise"]].title,
            "member_id": run.member_id,
            "summary": summary,
            "comparisons": comparisons,
            "words": plain_words(summary, comparisons),
            "session_keys": list(run.session_keys),
        }
        with self._lock:
            self.last_summary = result
            self.finished.append(result)
        self.hub.publish("exercise_summary", json.dumps(result, default=_json_default))

    def _baseline(self, sel: Selection) -> float | None:
        """The member's usual side-to-side sway while walking: the median of earlier runs."""
        if self.history is None or sel.member_id is None:
            return None
        earlier = [s.get("lateral_sway_m") for s in self.history(sel.member_id, sel.exercise)]
        kept = sorted(v for v in earlier if isinstance(v, int | float))
        return kept[len(kept) // 2] if kept else None

    def _idle_view(self) -> dict[str, Any]:
        spec = SPECS[self.selection.exercise]
        return {
            "exercise": spec.key,
            "title": spec.title,
            "phase": "idle",
            "cue": "Step on the mat to begin",
            "instructions": list(spec.instructions),
        }

    def _changed(self) -> None:
        run = self.run
        if run is None:
            return
        view = run.exercise.view()
        view["title"] = SPECS[run.exercise.spec.key].title
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


def _json_default(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return str(value)
