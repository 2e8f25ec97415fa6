"""The studio's exercises as state machines fed by frames and foot contacts.

Each exercise knows its instruction, what the live screen shows (cue, count, time left) and
its summary. They are pure: the kiosk feeds them what the acquisition sees, tests feed them a
simulated or recorded mat. Implemented: backward walk (10 paces over as many passes as it
takes), backward walk with head turns (4 paces over each shoulder), quiet stance (30 s eyes
open, 30 s eyes closed, with the Romberg ratio), Warrior step-back (hold 20 s: the back
foot's load share against the back mark, and steadiness).
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .config import MatConfig
from .gait import MAX_STEP_TIME_S, classify_pass, gait_metrics
from .report import standing_sway
from .steps import Contact


@dataclass(frozen=True)
class ExerciseSpec:
    key: str
    title: str
    instructions: tuple[str, ...]
    target_paces: int = 0
    segment_paces: int = 0
    stance_s: float = 0.0
    hold_s: float = 0.0
    # Where the back heel goes, behind the front foot (a mark on the mat). From one plate the
    # back foot's position cannot be seen once both feet carry weight, so the load share on
    # it is measured against this mark.
    rear_mark_m: float = 0.0


SPECS: dict[str, ExerciseSpec] = {
    "backward_walk": ExerciseSpec(
        "backward_walk",
        "Backward walk, 10 paces",
        (
            "Stand at the front of the mat.",
            "Walk backwards, slowly.",
            "Step off at the end, come round, pick your name again: 10 paces in all.",
        ),
        target_paces=10,
    ),
    "head_turns": ExerciseSpec(
        "head_turns",
        "Backward walk with head turns",
        (
            "Walk backwards slowly.",
            "4 paces looking over your LEFT shoulder,",
            "then 4 paces looking over your RIGHT shoulder.",
        ),
        target_paces=8,
        segment_paces=4,
    ),
    "warrior": ExerciseSpec(
        "warrior",
        "Warrior step-back",
        (
            "Stand near the front of the mat, feet together.",
            "Step one foot back, its heel on the back mark,",
            "and hold Warrior for 20 seconds.",
        ),
        hold_s=20.0,
        rear_mark_m=0.75,
    ),
    "quiet_stance": ExerciseSpec(
        "quiet_stance",
        "Quiet stance",
        (
            "Stand still in the middle of the mat, feet together.",
            "30 seconds eyes open,",
            "then 30 seconds eyes closed.",
        ),
        stance_s=30.0,
    ),
}


def walking_paces(contacts: list[Contact]) -> list[Contact]:
    """The paces of one visit: every step after the two feet stepped on.

    A closing step (the feet together at the end) counts: the member took it, and a count
    on the screen must never go back down once it has gone up.
    """
    steps = [c for c in contacts if not c.retracted]
    return steps[2:]


def walking_gait(passes: list[list[Contact]]) -> dict[str, Any]:
    """Gait metrics of the exercise's paces by the stored report's own definitions (gait.py),
    so the live screen, the summary and the member's history say the same thing."""
    return gait_metrics([classify_pass(p, "backward") for p in passes if len(p) >= 2])


def lateral_sway(paces: list[Contact]) -> float | None:
    """Side-to-side sway of one pass as the report defines it; shown from 3 strides on."""
    strides = [b for b in paces[1:] if not b.double_stance]
    if len(strides) < 3:
        return None
    return walking_gait([paces])["lateral_sway_m"]


@dataclass
class _Visit:
    t_s: float  # its first (pre-roll) frame, on the frames' clock
    contacts: list[Contact] = field(default_factory=list)


class Exercise:
    """Base: visits (step on ... step off), contacts and frames, a live view, a summary."""

    # Whether the live view moves with the clock (a countdown) or only with contacts and
    # visits: an untimed view need not be rebuilt on every frame.
    timed = False

    def __init__(self, spec: ExerciseSpec) -> None:
        self.spec = spec
        self.visits: list[_Visit] = []
        self.done = False
        self.t_start: float | None = None
        self.t_now = 0.0
        # the empty mat's frames of the visit (times, per-cell forces) and the mat: the sway
        # figures take the mat's own noise out, as the stored report's do
        self.empty_mat: tuple[np.ndarray, np.ndarray] | None = None
        self.mat: MatConfig | None = None

    def heard_the_empty_mat(
        self, empty_mat: tuple[np.ndarray, np.ndarray] | None, mat: MatConfig | None
    ) -> None:
        """The mat's noise, measured on its empty frames of the visit just ended."""
        if empty_mat is not None:
            self.empty_mat, self.mat = empty_mat, mat

    def sway(self, pts: np.ndarray) -> dict[str, Any]:
        """Sway of (t, x, y, fz) frames by the report's method (docs/validation.md); its
        `t_start_s` counts from the last visit's first frame, as the stored session does."""
        t0 = self.visits[-1].t_s if self.visits else float(pts[0, 0])
        x, y, fz = pts[:, 1], pts[:, 2], pts[:, 3]
        return standing_sway(pts[:, 0], x, y, fz, t0, self.empty_mat, self.mat)

    # events
    def visit_started(self, t: float) -> None:
        if self.done:
            return  # finished: later visits belong to the next exercise
        self.visits.append(_Visit(t))
        if self.t_start is None:
            self.t_start = t

    def contact(self, contact: Contact) -> None:
        if self.done:
            return
        if not self.visits:
            self.visit_started(contact.t_s)
        visit = self.visits[-1]
        # a contact is reported again when it is made final or retracted (a new event,
        # never a change to the one reported before): the latest report replaces it
        for i, known in enumerate(visit.contacts):
            if known.index == contact.index:
                visit.contacts[i] = contact
                return
        visit.contacts.append(contact)

    def frame(self, t: float, fz: float, x: float | None, y: float | None) -> None:
        self.t_now = t

    def visit_ended(self, t: float) -> None:
        pass

    # what the screen shows
    def view(self) -> dict[str, Any]:
        raise NotImplementedError

    def summary(self) -> dict[str, Any]:
        raise NotImplementedError

    def paces(self) -> list[list[Contact]]:
        return [walking_paces(v.contacts) for v in self.visits]


class BackwardWalk(Exercise):
    """Count paces to the target; passes accumulate until it is reached."""

    def paces(self) -> list[list[Contact]]:
        """Each pass's paces up to the target: steps taken after it (on the way off the mat)
        are not the exercise's, so the summary counts what the live screen counted."""
        out, left = [], self.spec.target_paces
        for visit in self.visits:
            counted = walking_paces(visit.contacts)[: max(left, 0)]
            left -= len(counted)
            out.append(counted)
        return out

    def pace_count(self) -> int:
        return sum(len(p) for p in self.paces())

    def visit_ended(self, t: float) -> None:
        if self.pace_count() >= self.spec.target_paces:
            self.done = True

    def live_cadence(self) -> int | None:
        """Steps a minute over the last few paces of this pass, for the live screen."""
        paces = self.paces()[-1] if self.visits else []
        times = [c.t_s for c in paces[-4:]]
        gaps = [b - a for a, b in itertools.pairwise(times) if 0 < b - a <= MAX_STEP_TIME_S]
        return round(60.0 / (sum(gaps) / len(gaps))) if gaps else None

    def view(self) -> dict[str, Any]:
        n = min(self.pace_count(), self.spec.target_paces)
        left = self.spec.target_paces - n
        if self.done:
            cue = "Well done!"
        elif not self.visits:
            cue = "Step onto the front of the mat"
        elif left > 0:
            cue = f"{left} more" if n else "Walk backwards, slowly"
        else:
            cue = "Step off the mat"
        return {
            "exercise": self.spec.key,
            "paces": n,
            "target": self.spec.target_paces,
            "cue": cue,
            "done": self.done,
            "cadence_steps_per_min": self.live_cadence(),
            "lateral_sway_m": lateral_sway(self.paces()[-1]) if self.visits else None,
        }

    def summary(self) -> dict[str, Any]:
        gait = walking_gait(self.paces())
        speed = gait["speed_m_per_s"]
        return {
            "exercise": self.spec.key,
            "paces": self.pace_count(),
            "passes": len(self.visits),
            "step_length_m": gait["step_length_m"],
            "cadence_steps_per_min": gait["cadence_steps_per_min"],
            "speed_m_per_s": speed,
            # the 3 m backward walk test (Carter 2019): the time 3 m takes at this speed
            "time_for_3_m_s": 3.0 / speed if speed else None,
            "lateral_sway_m": gait["lateral_sway_m"],
        }


class HeadTurns(BackwardWalk):
    """4 paces looking over the left shoulder, then 4 over the right; compared per side."""

    def segments(self) -> dict[str, list[tuple[int, Contact]]]:
        """The paces over each shoulder, each with the visit (pass) it belongs to."""
        flat = [(v, c) for v, paces in enumerate(self.paces()) for c in paces]
        n = self.spec.segment_paces
        return {"left": flat[:n], "right": flat[n : 2 * n]}

    def view(self) -> dict[str, Any]:
        base = super().view()
        n = self.pace_count()
        if not self.done and self.visits:
            side = "LEFT" if n < self.spec.segment_paces else "RIGHT"
            base["cue"] = f"Look over your {side} shoulder"
            base["shoulder"] = side.lower()
        return base

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        for side, contacts in self.segments().items():
            widths, mids = [], []
            for (va, a), (vb, b) in itertools.pairwise(contacts):
                if va != vb or b.double_stance:
                    continue  # a step across two passes, or the feet closing: not a stride
                widths.append(abs(b.y_m - a.y_m))
                mids.append(((a.x_m + b.x_m) / 2, (a.y_m + b.y_m) / 2))
            sway = None
            if len(mids) >= 3:
                pts = np.array(mids)
                slope, icpt = np.polyfit(pts[:, 0], pts[:, 1], 1)
                dev = pts[:, 1] - (slope * pts[:, 0] + icpt)
                sway = float(np.sqrt(np.mean(dev**2)))
            elif len(mids) == 2:
                sway = float(abs(mids[1][1] - mids[0][1]) / 2)
            out[f"{side}_step_width_m"] = float(np.mean(widths)) if widths else None
            out[f"{side}_lateral_sway_m"] = sway
        return out


class QuietStance(Exercise):
    """Stand still: 30 s eyes open, then 30 s eyes closed; sway of each and their ratio."""

    SETTLE_S = 1.0  # after the second foot is down, before the clock starts
    timed = True

    def __init__(self, spec: ExerciseSpec) -> None:
        super().__init__(spec)
        self.t_still: float | None = None
        # (t, x, y, fz) of each phase
        self.frames: dict[str, list[tuple[float, ...]]] = {"open": [], "closed": []}

    def contact(self, contact: Contact) -> None:
        super().contact(contact)
        visit = self.visits[-1]
        if len(visit.contacts) >= 2 and self.t_still is None:
            # both feet down: the clock starts a moment later (frame time, not contact time,
            # so it runs on the same clock as the frames whatever the contact's time base)
            self.t_still = max(self.t_now, contact.t_s) + self.SETTLE_S

    def phase(self) -> str:
        if self.done:
            return "done"
        if self.t_still is None or self.t_now < self.t_still:
            return "waiting"
        elapsed = self.t_now - self.t_still
        if elapsed < self.spec.stance_s:
            return "open"
        if elapsed < 2 * self.spec.stance_s:
            return "closed"
        return "done"

    def frame(self, t: float, fz: float, x: float | None, y: float | None) -> None:
        super().frame(t, fz, x, y)
        phase = self.phase()
        if phase in ("open", "closed") and x is not None and y is not None:
            self.frames[phase].append((t, x, y, fz))
        elif phase == "done":
            self.done = True

    def visit_ended(self, t: float) -> None:
        if self.phase() in ("open", "closed"):
            self.t_still = None  # stepped off early: start again on the next visit
            self.frames = {"open": [], "closed": []}

    def view(self) -> dict[str, Any]:
        phase = self.phase()
        left = None
        if phase in ("open", "closed") and self.t_still is not None:
            end = self.t_still + self.spec.stance_s * (1 if phase == "open" else 2)
            left = max(0, math.ceil(end - self.t_now))
        cue = {
            "waiting": "Step onto the middle of the mat and stand still",
            "open": "Eyes open. Stand still.",
            "closed": "Close your eyes. Stand still.",
            "done": "Well done! Open your eyes and step off.",
        }[phase]
        return {
            "exercise": self.spec.key,
            "phase": phase,
            "seconds_left": left,
            "cue": cue,
            "done": phase == "done",
        }

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"exercise": self.spec.key}
        for phase in ("open", "closed"):
            pts = np.array(self.frames[phase]) if self.frames[phase] else np.zeros((0, 4))
            out[f"eyes_{phase}"] = self.sway(pts) if len(pts) > 16 else {}
        eo, ec = out["eyes_open"], out["eyes_closed"]
        for key in ("mean_velocity_m_per_s", "ellipse95_area_m2"):
            a, b = eo.get(key), ec.get(key)
            out[f"romberg_{key.split('_m')[0]}"] = (b / a) if a and b else None
        return out


class Warrior(Exercise):
    """Step back into Warrior and hold: the back foot's share of the load, and steadiness."""

    SETTLE_S = 1.0  # after the back foot lands, before the hold's clock starts
    timed = True

    def __init__(self, spec: ExerciseSpec) -> None:
        super().__init__(spec)
        self.recent: deque[tuple[float, float, float]] = deque()  # (t, x, y), the last second
        self.front: tuple[float, float] | None = None
        self.t_hold: float | None = None
        self.hold: list[tuple[float, ...]] = []  # (t, x, y, fz, rear share)

    def contact(self, contact: Contact) -> None:
        super().contact(contact)
        if self.done or self.t_hold is not None:
            return
        steps = [c for c in self.visits[-1].contacts if not c.retracted]
        if len(steps) < 3 or contact is not steps[2]:
            return
        # the back foot has landed: before that, the front foot carried everything. (The
        # contact is reported on the frame it was detected; its time, on the frames' clock,
        # is that frame's time less the detection delay, whatever the contact's time base.)
        t_contact = self.t_now - (contact.t_detected_s - contact.t_s)
        before = [p for p in self.recent if t_contact - 0.35 <= p[0] <= t_contact - 0.05]
        if not before:
            before = list(self.recent)[-10:]
        if before:
            self.front = (
                float(np.median([p[1] for p in before])),
                float(np.median([p[2] for p in before])),
            )
            self.t_hold = self.t_now + self.SETTLE_S

    def frame(self, t: float, fz: float, x: float | None, y: float | None) -> None:
        super().frame(t, fz, x, y)
        if x is None or y is None:
            return
        self.recent.append((t, x, y))
        while self.recent and self.recent[0][0] < t - 1.0:
            self.recent.popleft()
        phase = self.phase()
        if phase == "hold" and self.front is not None:
            back = abs(x - self.front[0]) / self.spec.rear_mark_m
            self.hold.append((t, x, y, fz, min(max(back, 0.0), 1.0)))
        elif phase == "done":
            self.done = True

    def visit_ended(self, t: float) -> None:
        if self.phase() in ("settle", "hold"):
            self.t_hold = None  # stepped off before the end: again on the next visit
            self.hold = []

    def phase(self) -> str:
        if self.done:
            return "done"
        if not self.visits or len([c for c in self.visits[-1].contacts]) < 2:
            return "waiting"
        if self.t_hold is None:
            return "step_back"
        if self.t_now < self.t_hold:
            return "settle"
        return "hold" if self.t_now < self.t_hold + self.spec.hold_s else "done"

    def view(self) -> dict[str, Any]:
        phase = self.phase()
        left = None
        if phase == "hold" and self.t_hold is not None:
            left = max(0, math.ceil(self.t_hold + self.spec.hold_s - self.t_now))
        share = self.hold[-1][4] if self.hold and phase == "hold" else None
        cue = {
            "waiting": "Step onto the front of the mat, feet together",
            "step_back": "Step one foot back onto the mark",
            "settle": "Find your Warrior",
            "hold": "Hold. Breathe.",
            "done": "Well done! Step forward and rest.",
        }[phase]
        return {
            "exercise": self.spec.key,
            "phase": phase,
            "seconds_left": left,
            "cue": cue,
            "rear_share": None if share is None else round(share, 3),
            "done": phase == "done",
        }

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"exercise": self.spec.key}
        if len(self.hold) < 16:
            return {**out, "held_s": 0.0}
        pts = np.array(self.hold)
        sway = self.sway(pts)
        return {
            **out,
            "held_s": float(pts[-1, 0] - pts[0, 0]),
            "rear_share": float(np.mean(pts[:, 4])),
            "rear_share_sd": float(np.std(pts[:, 4])),
            "sway_velocity_m_per_s": sway["mean_velocity_m_per_s"],
            "rms_ml_m": sway["rms_ml_m"],
            "rms_ap_m": sway["rms_ap_m"],
        }


def _mean(values: list[float | None]) -> float | None:
    kept = [v for v in values if v is not None]
    return float(np.mean(kept)) if kept else None


KINDS = {
    "backward_walk": BackwardWalk,
    "head_turns": HeadTurns,
    "warrior": Warrior,
    "quiet_stance": QuietStance,
}


def start(key: str) -> Exercise:
    """A fresh run of the exercise called `key` (see SPECS)."""
    return KINDS[key](SPECS[key])
