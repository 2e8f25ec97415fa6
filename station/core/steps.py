"""Foot contacts from one plate's centre of pressure: a causal, streaming detector.

One plate sees one CoP and one total force. During single support the CoP dwells under the
stance foot (rolling along it); when the other foot lands, the CoP moves quickly from the old
foot towards the new one as the weight transfers (docs/design.md). So the detector segments the
CoP into dwells ("plateaus") and transfers:

- From an empty mat, a contact is the total force crossing `contact_n`.
- On a loaded mat, a transfer is the CoP moving faster than `move_speed`, ending when it dwells
  again. During the transfer CoP = (F_old P_old + F_new P_new) / Fz, so the force already on
  the new foot is F_new = Fz * s, with s the CoP's progress from the old foot's (extrapolated)
  track towards the new foot. The contact time is where F_new crosses `contact_n`: the same
  definition as a force threshold under each foot, recovered from the combined signal.
- A transfer that ends where a foot already stands (`same_foot_*` tolerances) is a weight
  shift (standing, or getting ready to step), not a contact.
- Turning on the spot, the CoP rests on each foot in turn and each pivot moves it only a few
  cm: a move from a rest (`pivot_*`) counts as leaving the foot, and a rest off the line of
  the two before it (`rest_*`) is a foot put down, dated back to when the CoP left that rest.
  A pivot pauses halfway between the feet: the new foot is mirrored about where the CoP
  rested on the old one, and after a pivot, leaving a short still rest is the next pivot
  (`pivot_follow_*`, docs/validation.md "Turning at the end of the mat").
- Foot placement is the mean CoP over the plateau that follows the contact; a plateau that
  turns out to be double stance (a weight shift follows) is corrected to the foot's own
  position assuming equal load on both feet (a foot closed beside a walking step: about where
  that step's CoP had rolled to; the feet model keeps the mirror about its placement,
  `Contact.model_xy`). Stepping on and off the mat the other foot is
  on the floor, unseen: the first and last foot's single support is taken to start or end
  one double support (as measured between feet on the mat) from the mat's edge events.

Each contact is reported as it firms up: provisionally as soon as the transfer is
unmistakable (`Contact.t_detected_s`, tens of milliseconds after contact, for live feedback),
again when the CoP settles on the new foot (refined contact time), and finally when its single
support ends (`final=True`), with its placement. A provisional report that turns out to be a
weight shift is withdrawn (`retracted=True`). The offline `analyze` runs this same class
over a recording.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class StepConfig:
    contact_n: float = 30.0  # force on the new foot that marks contact
    min_load_n: float = 40.0  # below this the mat counts as empty
    step_on_lookback_s: float = 0.1  # stepping on: how far back to look for the contact_n crossing
    move_speed_m_per_s: float = 0.6  # CoP faster than this: a transfer may be under way
    dwell_speed_m_per_s: float = 0.3  # CoP slower than this: dwelling on a foot
    dwell_frames: int = 3  # consecutive slow frames that end a transfer
    # A move to another foot crosses the step width, or goes further along the mat than the
    # CoP can roll along one foot; anything less is the roll or sway under the same foot.
    min_lateral_m: float = 0.045
    min_longitudinal_m: float = 0.24
    # A transfer ending this close to a foot already down is a weight shift onto it: close
    # across the mat, looser along it (a placement is the rolling CoP's mean, not the heel).
    same_foot_lateral_m: float = 0.04
    same_foot_longitudinal_m: float = 0.10
    trend_s: float = 0.06  # the old foot's track is extrapolated from this much of it
    # A short step across the mat is dated from the CoP's progress across only; the old
    # foot's place is where the CoP was this long before the crossing (the load leaving it
    # moves the CoP a little before the new foot carries contact_n).
    across_lead_s: float = 0.05
    # The second foot stepping on beside the first is dated again once the CoP has dwelt
    # this long where that transfer settled (the middle of the feet; the transfer itself
    # ends before it gets there), looking no further back than second_on_lookback_s
    # before the transfer was noticed.
    second_on_settle_s: float = 0.3
    second_on_lookback_s: float = 0.3
    max_roll_speed_m_per_s: float = 1.5  # the CoP rolls along a foot no faster than this
    max_side_speed_m_per_s: float = 0.05  # and moves across the mat under it no faster
    ramp_lateral_speed_m_per_s: float = 0.1  # sideways faster than this: leaving the foot
    max_transfer_s: float = 0.9  # a transfer still moving after this is ended anyway
    # Standing: both feet down, the CoP moves along the line between them as the weight
    # shifts. A transfer that stays this close to that segment is a weight shift.
    stand_off_line_m: float = 0.03  # across the line between the feet (settling point)
    stand_path_off_line_m: float = 0.045  # across it, anywhere on the way
    stand_beyond_foot_m: float = 0.05  # along it, past either foot
    # Standing (the weight has shifted between the feet since the last step): a short step
    # shows as the CoP settling off that line; a step back onto nearly the same place (a
    # shuffle from standing) only as the CoP then rolling clearly away from both feet soon
    # after (the new foot's roll towards its heel), which dates the step to that shift.
    stand_step_off_line_m: float = 0.035
    stand_roll_away_m: float = 0.07
    stand_roll_within_s: float = 1.2
    # Back from a shift onto one foot (at least this far), settling this far off the line
    # the CoP came by: the foot it left was put down elsewhere.
    stand_shift_min_m: float = 0.04
    stand_return_off_line_m: float = 0.03
    # Walking (not standing), the CoP leaving the stance foot's single support this far
    # across the mat: a foot closed beside it (a short walk ends with the feet together, the
    # CoP going only to their middle, half a step width). The CoP strays 2 cm under one foot.
    closing_lateral_m: float = 0.035
    # A pivot step (turning on the spot): the CoP stood still on one foot, then moved this
    # far or more to another place. No roll along the foot hides it, so a short move counts.
    pivot_min_m: float = 0.06
    pivot_still_s: float = 0.3  # still: the CoP rested (rest_box_m, below) this long
    pivot_within_s: float = 0.6  # and moved off it no longer than this before
    pivot_keep_load: float = 0.8  # share of the still load kept on the mat throughout
    pivot_follow_min_m: float = 0.04  # the next pivot of a turn may move this little
    # a transfer starting this soon after a weight shift ended, the same way (cosine), goes
    # on from it: the new foot landed during that shift
    continue_within_s: float = 0.1
    continue_min_cos: float = 0.7
    # Resting points: where the CoP stays within rest_box_m for rest_s. In a stepping turn
    # it rests on each foot in turn (single support), each pivot landing a foot off the line
    # of the last two rests; a weight shift between feet that stay put keeps to that line.
    rest_box_m: float = 0.02
    rest_s: float = 0.2
    rest_apart_m: float = 0.05  # rests closer than this are the same place
    rest_off_line_m: float = 0.03  # a new rest this far off the line of the last two
    rest_lateral_m: float = 0.03  # each of the two moves this far across the mat (to a foot)
    rest_single_s: float = 0.6  # the rest it left was this short (single support) ...
    rest_gap_s: float = 0.6  # ... and reached and left this soon
    rest_found_s: float = 0.15  # a contact found this soon before the rest it left is it
    rest_redate_s: float = 0.05  # and is re-dated if it is further off than this
    rest_path_off_m: float = 0.02  # (the CoP's path between the rests keeping this straight)


@dataclass
class Contact:
    """One foot contact. Positions in the mat frame (m), times in source seconds."""

    index: int
    t_s: float
    x_m: float
    y_m: float
    t_detected_s: float
    kind: str = "step"  # "step_on" (from an empty mat) or "step"
    final: bool = False
    retracted: bool = False  # reported provisionally, then found to be a weight shift
    foot: str = ""  # filled in by the pass analysis (needs the facing direction)
    double_stance: bool = False
    t_plateau_start_s: float = math.nan
    t_plateau_end_s: float = math.nan
    transfer_s: float = 0.0  # duration of the weight transfer onto this foot
    plateau_xy: list[tuple[float, float, float]] = field(default_factory=list, repr=False)
    # Where the detector's feet model and the foot labels take this foot to stand, when it
    # differs from x_m, y_m (a foot closed beside a walking step: StepDetector._closing_beside_xy)
    model_at: tuple[float, float] | None = field(default=None, repr=False)

    @property
    def model_xy(self) -> tuple[float, float]:
        """The place the detector's rules and the foot labels read (see model_at)."""
        return self.model_at if self.model_at is not None else (self.x_m, self.y_m)


@dataclass
class _FeetDown:
    """Where the two feet on the mat stand, as far as the CoP has shown them.

    `a` is where the weight was when the newer foot landed (the older foot, in single
    support); `b` where the CoP first settled after it. If that settling was shared by both
    feet, the newer foot stands at `b_far`, the mirror of `a` about it (equal load), until
    the CoP shows which: the CoP never goes past a foot, so reaching `b_far` confirms it,
    and settling beyond either end moves that end out.
    """

    a: tuple[float, float]
    b: tuple[float, float]
    b_far: tuple[float, float] | None

    def _axis(self) -> tuple[float, float, float, float, float]:
        ax, ay = self.a
        bx, by = self.b_far or self.b
        length = max(math.hypot(bx - ax, by - ay), 1e-6)
        return ax, ay, (bx - ax) / length, (by - ay) / length, length

    def off(self, px: float, py: float) -> tuple[float, float]:
        """(distance across the line between the feet, distance past the nearer foot)."""
        ax, ay, ux, uy, length = self._axis()
        along = (px - ax) * ux + (py - ay) * uy
        across = abs((py - ay) * ux - (px - ax) * uy)
        return across, max(-along, along - length, 0.0)

    def settled(self, px: float, py: float, tolerance_m: float) -> None:
        """The CoP dwelt at (px, py) after a weight shift: learn where the feet are."""
        ax, ay, ux, uy, length = self._axis()
        along = (px - ax) * ux + (py - ay) * uy
        if self.b_far is not None and math.dist((px, py), self.b_far) <= tolerance_m:
            self.b, self.b_far = self.b_far, None
        elif along > length:
            self.b, self.b_far = (px, py), None
        elif along < 0:
            self.a = (px, py)


@dataclass
class _Shift:
    """The last weight shift while standing, kept in case it turns out to have been a step."""

    t_contact_s: float  # when the force on the foot it went to crossed contact_n
    t_start_s: float
    t_end_s: float
    x_to: float  # where the weight went
    y_to: float


@dataclass
class _Frame:
    t: float
    fz: float
    x: float
    y: float


class StepDetector:
    """Feed frames in time order with update(); collect contacts as they are reported."""

    def __init__(self, config: StepConfig | None = None) -> None:
        self.cfg = config or StepConfig()
        self.contacts: list[Contact] = []
        self._recent: deque[_Frame] = deque(maxlen=256)
        self._state = "empty"
        self._plateau: list[_Frame] = []
        self._transfer: list[_Frame] = []
        self._slow = 0
        self._provisional_sent = False
        self._stance: Contact | None = None  # the foot the CoP dwells on
        self._visit_contacts: list[Contact] = []  # contacts since the mat was last empty
        self.visits: list[list[Contact]] = []
        self.shifts: list[tuple[float, float]] = []  # weight shifts between standing feet
        self._pending: Contact | None = None
        self._support_lead: list[_Frame] = []  # single support before the plateau settled
        # the stance foot's double support at landing (from its contact to the old foot's
        # off), as the decomposition measured it: see _single_support_end
        self._landing_overlap: tuple[Contact, float] | None = None
        self._step_on_load: list[_Frame] = []  # stepping on, until the CoP first settled
        self._support_from: float | None = None  # the stance foot's single support began
        self._roll_from: float | None = None  # its dwell as the facing cue reads it began
        self._feet: _FeetDown | None = None  # both feet down: where they stand
        self._standing = False  # the weight has shifted between them since the last step
        self._last_shift: _Shift | None = None
        self._shift_line: tuple[tuple[float, float], tuple[float, float]] | None = None
        self._away = 0  # consecutive dwell frames clearly away from both feet
        self._drift_from = 0  # index in the plateau a slow drift is measured from
        # (t, x, y, fz) where the CoP last stood still, and the still box being filled
        self._still: tuple[float, float, float, float, float] | None = None
        # resting points [t_start, t_end, x, y, fz], distinct places, the latest last
        self._rests: list[list[float]] = []
        self._rest_x = self._rest_y = self._rest_t0 = self._rest_fz = 0.0
        self._rest_n = 0
        self._rest: list[float] | None = None  # the rest the CoP is in, if it is kept
        self._rest_seen = False  # the CoP has rested long enough in the box being filled
        # the contact last found by a transfer from a still rest, and that rest's place
        self._left_rest: tuple[Contact, float, float] | None = None
        self._pivot: Contact | None = None  # the last contact found as a pivot of a turn
        self._single_support = False  # the stance foot's plateau is its single support
        self._support_y: float | None = None  # across the mat, where it stood alone
        self._support_median: tuple[float, float] | None = None  # (plateau start t, y)
        # the last foot put down, while the CoP rests between it and the foot before
        # (a foot closing, the second stepping on, a pivot of a turn): see _feet_beside
        self._closed: Contact | None = None
        # those feet, for the plateau ending at a frame (_feet_beside: once per transfer)
        self._beside: tuple[_Frame, int, _FeetDown] | None = None
        # the second foot stepping on, to be dated again where the CoP settles: the contact,
        # the frames of its transfer and of the first foot before it, and the transfer's end
        self._second_on: tuple[Contact, list[_Frame], float] | None = None
        # the foot last put down while a walking step bore the weight, that step, and where
        # along the mat the step's CoP was at the landing (see _closing_beside_xy)
        self._landed_beside: tuple[Contact, Contact, float] | None = None

    # ---- public ---------------------------------------------------------------------

    def update(self, t: float, fz: float, x: float | None, y: float | None) -> list[Contact]:
        """Process one frame; returns contacts reported on this frame (provisional or final)."""
        cfg = self.cfg
        xf = math.nan if x is None else float(x)
        yf = math.nan if y is None else float(y)
        frame = _Frame(t, fz, xf, yf)
        self._recent.append(frame)
        out: list[Contact] = []
        if self._state == "empty":
            if fz >= cfg.min_load_n and not math.isnan(xf):
                out += self._step_on(frame)
            return out
        if fz < cfg.min_load_n or math.isnan(xf):
            out += self._leave(frame.t)
            return out
        rested = self._track_rest(frame)
        speed = self._speed()
        if self._state == "dwell":
            if speed is not None and speed > cfg.move_speed_m_per_s:
                self._start_moving([*self._ramp(), frame])
            else:
                self._plateau.append(frame)
                out += self._check_rolled_away(frame)
                if rested:
                    out += self._check_pivot(frame)
                self._check_drift()
                if self._second_on is not None:
                    self._settle_second_on(frame)
        else:  # moving
            self._transfer.append(frame)
            out += self._maybe_provisional(frame)
            if speed is not None and speed < cfg.dwell_speed_m_per_s:
                self._slow += 1
            else:
                self._slow = 0
            too_long = frame.t - self._transfer[0].t > cfg.max_transfer_s
            if self._slow >= cfg.dwell_frames or too_long:
                out += self._end_transfer()
        return out

    def finish(self) -> list[Contact]:
        """End of the record: finalise whatever is still open."""
        if self._state == "empty":
            return []
        t = self._recent[-1].t if self._recent else 0.0
        return self._leave(t)

    # ---- internals ------------------------------------------------------------------

    def _speed(self) -> float | None:
        if len(self._recent) < 3:
            return None
        a, b = self._recent[-3], self._recent[-1]
        if math.isnan(a.x) or b.t <= a.t:
            return None
        return math.hypot(b.x - a.x, b.y - a.y) / (b.t - a.t)

    def _step_on(self, frame: _Frame) -> list[Contact]:
        t_contact = self._load_crossing(frame)
        contact = Contact(len(self.contacts), t_contact, frame.x, frame.y, frame.t, "step_on")
        self.contacts.append(contact)
        self._visit_contacts = [contact]
        self._stance = contact
        # The load is still arriving: treat it as a transfer until the CoP settles.
        self._state = "moving"
        self._transfer = [frame]
        self._plateau = []
        self._drift_from = 0
        self._slow = 0
        self._provisional_sent = True
        return [contact]

    def _load_crossing(self, frame: _Frame) -> float:
        """When the load on an empty mat passed contact_n, interpolated between two frames.

        The mat counts as occupied only from min_load_n, but a foot touches at contact_n: on a
        slow step on, the load may pass contact_n a frame or more before min_load_n, so walk
        back through the frames that already carried contact_n (at most step_on_lookback_s).
        """
        contact_n = self.cfg.contact_n
        recent = self._recent
        above = frame
        i = len(recent) - 2  # recent[-1] is this frame
        while i >= 0:
            before = recent[i]
            if before.fz < contact_n:
                if above.t > before.t and above.fz > before.fz:
                    u = (contact_n - before.fz) / (above.fz - before.fz)
                    return before.t + u * (above.t - before.t)
                return above.t
            if frame.t - before.t > self.cfg.step_on_lookback_s:
                break
            above = before
            i -= 1
        return above.t

    def _ramp(self) -> list[_Frame]:
        """The end of the plateau where the CoP was already speeding up into this transfer.

        A slow transfer (short steps, long double support) crosses move_speed well after it
        began; those frames belong to the transfer, not to the old foot's track.
        """
        plateau = self._plateau
        limit = self._recent[-1].t - 0.25
        i = len(plateau)
        previous_speed = math.inf
        # Across the mat only: under one foot the CoP hardly moves sideways, while it may roll
        # along the foot quickly; a transfer to the other foot always crosses.
        while i >= 3 and plateau[i - 1].t > limit:
            a, b = plateau[i - 3], plateau[i - 1]
            speed = abs(b.y - a.y) / max(b.t - a.t, 1e-6)
            if speed < self.cfg.ramp_lateral_speed_m_per_s or speed > previous_speed:
                break
            previous_speed = speed
            i -= 1
        ramp = plateau[i:]
        if len(plateau) - len(ramp) < 3:  # keep enough of the old foot to follow its track
            return []
        self._plateau = plateau[:i]
        return ramp

    def _start_moving(self, frames: list[_Frame]) -> None:
        self._support_y = self._single_support_y()
        self._state = "moving"
        self._transfer = frames
        self._slow = 0
        self._provisional_sent = False

    def _track_rest(self, frame: _Frame) -> bool:
        """Follow the resting points; True when the CoP has just come to rest somewhere new."""
        cfg = self.cfg
        half = cfg.rest_box_m / 2
        n = self._rest_n
        if not n or abs(frame.x - self._rest_x) > half or abs(frame.y - self._rest_y) > half:
            self._rest_x, self._rest_y, self._rest_fz = frame.x, frame.y, frame.fz
            self._rest_t0, self._rest_n, self._rest = frame.t, 1, None
            self._rest_seen = False
            return False
        self._rest_x += (frame.x - self._rest_x) / (n + 1)
        self._rest_y += (frame.y - self._rest_y) / (n + 1)
        self._rest_fz += (frame.fz - self._rest_fz) / (n + 1)
        self._rest_n = n + 1
        if frame.t - self._rest_t0 < cfg.rest_s:
            return False
        self._still = (frame.t, self._rest_x, self._rest_y, self._rest_fz, self._rest_t0)
        if self._rest is not None:  # resting on: the rest lasts longer
            self._rest[1:4] = [frame.t, self._rest_x, self._rest_y]
            return False
        if self._rest_seen:
            return False
        self._rest_seen = True
        rest = [self._rest_t0, frame.t, self._rest_x, self._rest_y, self._rest_fz]
        rests = self._rests
        if rests and math.dist(rests[-1][2:4], rest[2:4]) < cfg.rest_apart_m:
            return False  # the same place again
        self._rest = rest
        rests.append(rest)
        del rests[:-3]
        return len(rests) == 3

    def _check_pivot(self, frame: _Frame) -> list[Contact]:
        """The CoP came to rest off the line of its last two rests, soon after a short one:
        a foot was put down elsewhere (a pivot step), landing when the CoP left that rest."""
        cfg = self.cfg
        (_, q1_end, q1x, q1y, _), q2, p = self._rests
        q2_start, q2_end, q2x, q2y, q2_fz = q2
        if (
            p[0] - q2_end > cfg.rest_gap_s
            or q2_start - q1_end > cfg.rest_gap_s
            or q2_end - q2_start > cfg.rest_single_s
        ):
            return []
        lx, ly = q2x - q1x, q2y - q1y
        across = abs((p[2] - q2x) * ly - (p[3] - q2y) * lx) / max(math.hypot(lx, ly), 1e-6)
        if across < cfg.rest_off_line_m or min(abs(ly), abs(p[3] - q2y)) < cfg.rest_lateral_m:
            return []
        between = [f for f in self._recent if q2_end <= f.t <= p[0]]
        if not between or min(f.fz for f in between) < cfg.pivot_keep_load * q2_fz:
            return []
        dx, dy = p[2] - q2x, p[3] - q2y
        d2 = dx * dx + dy * dy
        # a pivot moves straight from one rest to the other; walking rolls along the stance
        # foot first, and the new foot's load is not the CoP's progress between the rests
        norm = math.sqrt(d2)
        straight = all(
            abs((f.x - q2x) * dy - (f.y - q2y) * dx) <= cfg.rest_path_off_m * norm for f in between
        )
        t_contact = between[0].t
        before = None
        for f in between:  # the load on the new foot: the CoP's progress towards it
            share = min(max(((f.x - q2x) * dx + (f.y - q2y) * dy) / d2, 0.0), 1.0)
            force = share * f.fz
            if force >= cfg.contact_n:
                t_contact = f.t
                if before is not None:
                    u = (cfg.contact_n - before[1]) / max(force - before[1], 1e-9)
                    t_contact = before[0] + u * (f.t - before[0])
                break
            before = (f.t, force)
        for c in self._visit_contacts:
            if not c.retracted and q2_end - cfg.rest_found_s <= c.t_s <= p[0] + 0.05:
                if abs(c.t_s - t_contact) <= cfg.rest_redate_s or not straight:
                    return []
                c.t_s = t_contact
                return [c]
        out = self._close_plateau()
        contact = Contact(len(self.contacts), t_contact, p[2], p[3], frame.t)
        self.contacts.append(contact)
        self._visit_contacts.append(contact)
        self._stance = contact
        self._pivot = self._closed = contact
        self._plateau = [f for f in self._plateau if f.t >= p[0]]
        self._support_lead = []
        self._drift_from = 0
        # it may rest between the feet (a stand follows): then the foot is the mirror
        self._feet = _FeetDown((q2x, q2y), (p[2], p[3]), (2 * p[2] - q2x, 2 * p[3] - q2y))
        self._standing = False
        self._shift_line = None
        self._last_shift = None
        return [*out, contact]

    def _check_drift(self) -> None:
        """A slow weight shift never reaches move_speed: catch it by how far it strays across.

        Under one foot the CoP strays across the mat by 2 cm at most; a plateau whose CoP
        has moved min_lateral across from where it began is a transfer, begun where it left.
        """
        plateau = self._plateau
        first = min(self._drift_from, len(plateau))  # after a weight shift: its new place
        if len(plateau) - first < 6:
            return
        anchor = sum(f.y for f in plateau[first : first + 4]) / 4
        strayed = abs(plateau[-1].y - anchor)
        if strayed < self.cfg.min_lateral_m:
            # a foot closing beside the stance foot moves the CoP only half a step width
            support_y = self._single_support_y() if strayed > 0.02 else None
            if support_y is None or abs(plateau[-1].y - support_y) < self.cfg.closing_lateral_m:
                return
            anchor = support_y
        split = len(plateau) - 1
        while split > first + 4 and abs(plateau[split - 1].y - anchor) >= 0.01:
            split -= 1
        self._plateau = plateau[:split]
        self._start_moving(plateau[split:])

    def _leave(self, t: float) -> list[Contact]:
        # a move still under way when the mat empties went to no foot on the mat: it is the
        # last foot's own CoP, rolling off it
        rolling_off = self._transfer if self._state == "moving" else []
        out = self._close_plateau(
            support_until=self._single_support_end(t), rolling_off=rolling_off
        )
        self._state = "empty"
        self._step_on_load = []
        self._plateau = []
        self._drift_from = 0
        self._transfer = []
        if self._visit_contacts:
            self.visits.append(self._visit_contacts)
        self._visit_contacts = []
        self._stance = None
        self._still = None
        self._rests = []
        self._rest = None
        self._rest_n = 0
        self._left_rest = None
        self._pivot = None
        self._feet = None
        self._standing = False
        self._single_support = False
        self._shift_line = None
        self._last_shift = None
        self._second_on = None
        return out

    def _single_support_end(self, t_empty: float) -> float | None:
        """When the last foot on the mat lost its single support, as it leaves the mat.

        Its next foot lands off the mat, on the floor, where the plate cannot see it. A foot
        shares about as much of its stance with the other foot when it leaves as when it
        landed (both are the walker's double support), so its single support ended that long
        before the mat emptied. Without it, the foot's roll off the mat (towards the toe
        forwards, the heel backwards) pulls its placement along the walk.
        """
        landing = self._landing_overlap
        if landing is None or landing[0] is not self._stance:
            return None
        return t_empty - landing[1]

    def _step_on_support_start(self, t_contact: float | None, t_off: float | None) -> float | None:
        """When the foot that stepped on the mat began its single support.

        The other foot was still on the floor, out of the plate's sight. As when leaving
        (_single_support_end), the first foot shared about as long with it as it shares with
        the foot now landing on the mat (from t_contact to t_off, when it let go of it).
        """
        stance = self._stance
        if stance is None or stance.kind != "step_on" or t_off is None or t_contact is None:
            return None
        return stance.t_s + (t_off - t_contact)

    def _plateau_mean(self) -> tuple[float, float] | None:
        if not self._plateau:
            return None
        return (
            sum(f.x for f in self._plateau) / len(self._plateau),
            sum(f.y for f in self._plateau) / len(self._plateau),
        )

    def _old_track(self, t_end: float) -> tuple[float, float, float, float, float]:
        """The stance foot's CoP track up to t_end: position at t_end and velocity.

        Fitted over the trend_s before t_end, so a foot that is still rolling quickly along
        itself when the other lands is followed, not mistaken for the transfer.
        """
        frames = [f for f in self._plateau + self._transfer if f.t <= t_end]
        tail = [f for f in frames if f.t >= t_end - self.cfg.trend_s]
        if len(tail) < 3:
            end = frames[-1] if frames else self._plateau[-1]
            return end.x, end.y, 0.0, 0.0, end.t
        n = len(tail)
        mt = sum(f.t for f in tail) / n
        mx = sum(f.x for f in tail) / n
        my = sum(f.y for f in tail) / n
        stt = sum((f.t - mt) ** 2 for f in tail)
        vx = sum((f.t - mt) * (f.x - mx) for f in tail) / stt
        vy = sum((f.t - mt) * (f.y - my) for f in tail) / stt
        # under one foot the CoP hardly moves across the mat: a sideways trend is the
        # weight already leaving for the other foot (a slow transfer), not the foot's track
        side_cap = self.cfg.max_side_speed_m_per_s
        y_end = my + vy * (t_end - mt)
        if abs(vy) > side_cap:
            # the foot is where the CoP was before it began to leave: the window's start
            vy = math.copysign(side_cap, vy)
            y_end = (tail[0].y + tail[1].y) / 2 + vy * (t_end - (tail[0].t + tail[1].t) / 2)
        speed = math.hypot(vx, vy)
        cap = self.cfg.max_roll_speed_m_per_s
        if speed > cap:
            vx, vy = vx * cap / speed, vy * cap / speed
        return mx + vx * (t_end - mt), y_end, vx, vy, t_end

    def _is_step_move(self, dx: float, dy: float) -> bool:
        return abs(dy) >= self.cfg.min_lateral_m or abs(dx) >= self.cfg.min_longitudinal_m

    def _left_foot(self, x: float, y: float) -> bool:
        """Has the CoP at (x, y) moved far enough to be on its way to another foot?

        Measured from the transfer's start; for the second foot stepping on, also from the
        first foot's mean (the CoP then goes only half a step width, to the middle, and may
        already be on its way when the transfer is noticed).
        """
        x0, y0 = self._transfer_start()
        if self._is_step_move(x - x0, y - y0):
            return True
        still = self._still
        if (
            still is not None
            and still[0] - still[4] >= self.cfg.pivot_still_s
            and self._transfer[0].t - still[0] <= self.cfg.pivot_within_s
            and math.hypot(x - still[1], y - still[2]) >= self.cfg.pivot_min_m
            # the whole weight stays on the mat: a foot stepping off the mat unloads
            and min(f.fz for f in self._transfer) >= self.cfg.pivot_keep_load * still[3]
        ):
            return True
        if len(self._visit_contacts) == 1 and self._plateau and not self._standing:
            mx, my = self._plateau_mean() or (x0, y0)
            return self._is_step_move(x - mx, y - my)
        return self._closing_beside(y)

    def _single_support_y(self) -> float | None:
        """Across the mat, where the stance foot carried the weight alone: the median of its
        plateau (robust to the start of a slow transfer at its end). None while standing,
        or when the plateau is not one foot's single support.

        Taken once per plateau, when first asked for (the CoP then begins to leave the
        foot): sorting the growing plateau on every frame would cost the core its speed.
        """
        if self._standing or not self._single_support:
            return None
        start = self._drift_from
        if len(self._plateau) - start < 6:
            return None
        key = self._plateau[start].t
        if self._support_median is None or self._support_median[0] != key:
            ys = sorted(f.y for f in self._plateau[start:])
            self._support_median = (key, ys[len(ys) // 2])
        return self._support_median[1]

    def _settles_between(self, y_new: float) -> bool:
        """Across the mat, did the CoP settle nearer the middle of the stance foot and the
        one before it than that foot? A walking step lands level with the foot before it
        (on the other side of the stance foot); a foot closing beside the stance foot leaves
        the CoP in the middle."""
        down = self._visit_contacts[-2:]
        if len(down) < 2:
            return True
        before, stance = down
        y_stance = self._support_y if self._support_y is not None else stance.model_xy[1]
        y_before = before.model_xy[1]
        return abs(y_new - (y_stance + y_before) / 2) < abs(y_new - y_before)

    def _closing_beside(self, y: float) -> bool:
        """Walking, the CoP left the stance foot's single support across the mat by
        closing_lateral_m: the other foot has come down beside it."""
        support_y = self._support_y
        return support_y is not None and abs(y - support_y) >= self.cfg.closing_lateral_m

    def _transfer_start(self) -> tuple[float, float]:
        if self._plateau:
            return self._plateau[-1].x, self._plateau[-1].y
        return self._transfer[0].x, self._transfer[0].y

    def _maybe_provisional(self, frame: _Frame) -> list[Contact]:
        """Report the contact as soon as the CoP has clearly left for a new foot."""
        if self._provisional_sent or not self._plateau:
            return []
        if not self._left_foot(frame.x, frame.y):
            return []
        if self._within_stance(frame):
            return []  # a weight shift so far: a count that rose and fell would be a phantom
        x0, y0 = self._transfer_start()
        moved = math.hypot(frame.x - x0, frame.y - y0)
        # Heading for a foot already on the mat: wait, it may be a weight shift.
        dx, dy = (frame.x - x0) / moved, (frame.y - y0) / moved
        for _, _, fx, fy in self._known_feet():
            to_foot = math.hypot(fx - x0, fy - y0)
            if to_foot < self.cfg.min_lateral_m or (fy - y0) * dy < 0:
                continue  # the foot it leaves, or one on the other side: not where it goes
            cos = ((fx - x0) * dx + (fy - y0) * dy) / to_foot
            # a weight shift runs along the line between the feet; a step from standing
            # leaves it (the second foot from standing would otherwise wait for the dwell)
            across = abs((frame.y - y0) * (fx - x0) - (frame.x - x0) * (fy - y0)) / to_foot
            if across > self.cfg.stand_path_off_line_m:
                continue
            if cos > 0.8 and to_foot < 2.5 * moved + self.cfg.same_foot_lateral_m:
                return []
        contact = Contact(len(self.contacts), math.nan, frame.x, frame.y, frame.t)
        contact.t_s = self._contact_time(frame.x, frame.y) or frame.t
        self._provisional_sent = True
        self._pending = contact
        return [contact]

    def _known_feet(self) -> list[tuple[str, Contact, float, float]]:
        """Where the CoP may settle without a new foot landing: (kind, foot, x, y).

        - "previous": the foot before the stance foot, still down;
        - "mirror": the stance foot itself, if the plateau so far was double stance (the
          CoP then sat halfway, so the foot stands mirrored about it from the previous);
        - "stance": the stance foot's final place, once its plateau has been closed;
        - "middle": halfway between the two, both feet down in a stride (a pause);
        - "rested": where the CoP rested still before it came to the stance foot (that
          foot's own place, see _mirror_anchor), while the stance plateau is open.
        """
        feet: list[tuple[str, Contact, float, float]] = []
        stance = self._stance
        if stance is None:
            return feet
        idx = self._visit_contacts.index(stance) if stance in self._visit_contacts else -1
        previous = self._visit_contacts[idx - 1] if idx >= 1 else None
        mean = self._plateau_mean()
        here = stance.model_xy if stance.final else mean
        if previous is not None:
            px, py = previous.model_xy
            feet.append(("previous", previous, px, py))
            if mean is not None and not stance.final:
                ox, oy = self._mirror_anchor(stance, previous)
                feet.append(("mirror", stance, 2 * mean[0] - ox, 2 * mean[1] - oy))
            if here is not None:
                feet.append(("middle", stance, (here[0] + px) / 2, (here[1] + py) / 2))
        if stance.final:
            feet.append(("stance", stance, *stance.model_xy))
        elif self._left_rest is not None and self._left_rest[0] is stance:
            feet.append(("rested", stance, self._left_rest[1], self._left_rest[2]))
        return feet

    def _contact_time(self, x_new: float, y_new: float) -> float | None:
        """When the force on the new foot crossed contact_n, from the CoP decomposition.

        The old foot's track is first taken from the end of the plateau, then refitted up
        to the contact time found, until it settles (a foot rolling fast at the heel would
        otherwise look like weight leaving it early).
        """
        if not self._plateau:
            return None
        across = self._across_crossing(x_new, y_new)
        if across is not None:
            return across
        t_end = self._plateau[-1].t
        t_contact = None
        for _ in range(2):
            found = self._crossing(x_new, y_new, self._old_track(t_end))
            if found is None:
                return t_contact
            if t_contact is not None and abs(found - t_contact) < 0.002:
                return found
            t_contact = found
            t_end = max(self._plateau[-1].t, found)
        return t_contact

    def _second_on_frames(self, contact: Contact) -> tuple[Contact, list[_Frame], float]:
        """The second foot stepping on beside the first: keep its transfer, and the first
        foot before it, to date it again once the CoP has settled (_settle_second_on)."""
        cfg = self.cfg
        since = self._transfer[0].t - cfg.second_on_lookback_s - cfg.across_lead_s - cfg.trend_s
        return contact, [f for f in self._recent if f.t >= since], self._transfer[-1].t

    def _settle_second_on(self, frame: _Frame) -> None:
        """Date the second foot stepping on from where the CoP settled between the feet.

        The mat already carries the whole weight, on the first foot, so only the CoP's
        progress across says how much the new foot carries: half the weight once the CoP
        is in the middle of the two, where it settles. The transfer ends (the CoP slows
        down) before it gets there, so that settling point is taken a little later: the
        median across the mat over second_on_settle_s of the dwell that follows.
        """
        contact, frames, t_end = self._second_on
        if contact.final or contact.retracted or self._stance is not contact:
            self._second_on = None
            return
        if frame.t - t_end < self.cfg.second_on_settle_s:
            return
        self._second_on = None
        ys = sorted(f.y for f in self._plateau if t_end <= f.t)
        if len(ys) < 3:
            return
        found = self._second_on_crossing(frames, ys[len(ys) // 2])
        if found is not None:
            contact.t_s = found

    def _second_on_crossing(self, frames: list[_Frame], y_middle: float) -> float | None:
        """When the force on the second foot crossed contact_n: walked back from the end of
        its transfer to the last frame under contact_n, the first foot's place across taken
        just before that crossing (60 ms ending across_lead_s before it, as for a short
        step), moved back until it settles.

        Starting late and moving back, the first crossing that agrees with its own window
        is taken: the first foot's sway before the load arrived (a few mm, the size of the
        new foot's first 30 N) cannot pull the date earlier than the CoP's rise.
        """
        cfg = self.cfg
        t_contact = frames[-1].t
        limit = frames[0].t + cfg.across_lead_s + cfg.trend_s
        found = None
        for _ in range(16):
            y_old = self._side_before(frames, t_contact)
            if y_old is None:
                return found
            span = y_middle - y_old
            if abs(span) < cfg.closing_lateral_m / 2:
                # already in the middle: the transfer was noticed late, look earlier
                t_contact -= cfg.trend_s
                continue
            crossed = later = None
            for f in reversed(frames):
                if f.t < limit:
                    return found
                # half the weight on each foot with the CoP in the middle
                force = min(max((f.y - y_old) / span, 0.0), 1.0) * f.fz / 2
                if force < cfg.contact_n:
                    if later is not None:
                        u = (cfg.contact_n - force) / max(later[1] - force, 1e-9)
                        crossed = f.t + u * (later[0] - f.t)
                    break
                later = (f.t, force)
            if crossed is None:
                return found
            if found is not None and abs(crossed - found) < 0.002:
                return crossed
            found = t_contact = crossed
        return found

    def _side_before(self, frames: list[_Frame], t_contact: float) -> float | None:
        """Across the mat, where the old foot was just before the load began to leave it:
        the CoP's mean over trend_s ending across_lead_s before the contact time found."""
        end = t_contact - self.cfg.across_lead_s
        window = [f.y for f in frames if end - self.cfg.trend_s <= f.t <= end]
        return sum(window) / len(window) if len(window) >= 3 else None

    def _across_crossing(self, x_new: float, y_new: float) -> float | None:
        """A short step, mostly across the mat: when the new foot's load crossed contact_n,
        from the CoP's progress across the mat only.

        The new foot lands on its toe or heel and its CoP rolls along it while the weight
        arrives, so where the CoP settles is not where the load arrived, and progress along
        the mat dates a short step late. Across the mat the CoP under a foot hardly moves.
        The old foot's place across is where the CoP was just before the load began to
        leave it: the window is moved back to end at the crossing found, until it settles.
        """
        cfg = self.cfg
        down = self._visit_contacts[-2:]
        x0, y0 = self._transfer_start()
        if len(down) < 2 or abs(x_new - x0) >= abs(y_new - y0) + 0.05:
            return None  # stepping on, or clearly along the mat (before fitting the track)
        x0, y0, _, _, _ = self._old_track(self._plateau[-1].t)
        if abs(x_new - x0) >= abs(y_new - y0):
            return None  # a step along the mat
        frames = self._plateau[-64:] + self._transfer
        # a foot closing beside the stance foot settles the CoP only halfway to it, often
        # still moving: that foot comes down where it stood before, across the mat
        y_foot = down[0].model_xy[1] if self._settles_between(y_new) else y_new
        t_contact = self._plateau[-1].t
        found = None
        for _ in range(3):
            end = t_contact - cfg.across_lead_s
            y_old = self._side_before(frames, t_contact)
            if y_old is None:
                return found
            span = y_foot - y_old
            if abs(y_new - y_old) < cfg.closing_lateral_m or abs(span) < cfg.closing_lateral_m:
                return None
            crossed = below = None
            for f in frames:
                if f.t <= end:
                    continue
                force = min(max((f.y - y_old) / span, 0.0), 1.0) * f.fz
                if force < cfg.contact_n:
                    below, crossed = (f.t, force), None
                elif crossed is None:
                    crossed = f.t
                    if below is not None:
                        u = (cfg.contact_n - below[1]) / (force - below[1])
                        crossed = below[0] + u * (f.t - below[0])
            if crossed is None:
                return found
            if found is not None and abs(crossed - found) < 0.002:
                return crossed
            found = t_contact = crossed
        return found

    def _crossing(
        self, x_new: float, y_new: float, track: tuple[float, float, float, float, float]
    ) -> float | None:
        x0, y0, vx, vy, t0 = track
        ux, uy = x_new - x0, y_new - y0
        dist = math.hypot(ux, uy)
        if dist < 1e-6:
            return None
        ux, uy = ux / dist, uy / dist
        crossed = None
        below = None
        for f in self._plateau[-4:] + self._transfer:
            ox, oy = x0 + vx * (f.t - t0), y0 + vy * (f.t - t0)
            d = (x_new - ox) * ux + (y_new - oy) * uy
            if d <= 1e-6:
                continue
            share = ((f.x - ox) * ux + (f.y - oy) * uy) / d
            force = min(max(share, 0.0), 1.0) * f.fz
            if force < self.cfg.contact_n:
                below = (f.t, force)
                crossed = None
            elif crossed is None:
                crossed = f.t
                if below is not None:
                    tb, fb = below
                    u = (self.cfg.contact_n - fb) / (force - fb)
                    crossed = tb + u * (f.t - tb)
        return crossed

    def _end_transfer(self) -> list[Contact]:
        cfg = self.cfg
        tail = self._transfer[-cfg.dwell_frames :]
        x_new = sum(f.x for f in tail) / len(tail)
        y_new = sum(f.y for f in tail) / len(tail)
        out: list[Contact] = []
        pending = self._pending
        self._pending = None
        if not self._plateau:
            # settling after stepping on from an empty mat
            self._step_on_load = self._transfer[: -len(tail)]
            self._plateau = list(tail)
            self._drift_from = 0
            self._state = "dwell"
            if self._stance is not None:
                self._stance.transfer_s = tail[-1].t - self._stance.t_s
            return out
        x0, y0 = self._transfer_start()
        small_step = (
            self._standing
            and self._feet is not None
            and self._feet.off(x_new, y_new)[0] > cfg.stand_step_off_line_m
        ) or self._leaves_shift_line(x0, y0, x_new, y_new)
        follows = self._pivot_follows(x_new, y_new)
        if not small_step and not follows and not self._left_foot(x_new, y_new):
            # the roll along the foot, sway or a wobble: the plateau goes on
            self._plateau += self._transfer
            self._state = "dwell"
            return self._retract(pending)
        left_line = self._leaves_shift_line(x0, y0, x_new, y_new)
        pivot = follows or small_step  # a foot put down from standing may start a turn
        turning = follows  # no shift onto both feet because of how turns go (below)
        for kind, foot, fx, fy in [] if left_line else self._known_feet():
            if kind == "middle" and (
                follows
                or self._off_standing_line(x_new, y_new)
                or self._off_pivot_middle(x_new, y_new)
            ):
                pivot = turning = True
                continue
            if self._lands_on(kind, foot, fx, fy, x_new, y_new):
                # a weight shift between feet already down, not a new foot
                self._note_shift(x_new, y_new, tail[-1].t)
                if self._feet is not None:
                    self._feet.settled(x_new, y_new, cfg.same_foot_lateral_m)
                out += self._retract(pending)
                if kind in ("previous", "mirror", "rested"):
                    out += self._close_plateau(double_stance=True, other=foot)
                else:  # "middle": the plateau so far was single support; "stance": closed
                    out += self._close_plateau()
                if kind == "previous":
                    self._stance = foot
                self._plateau = list(tail)
                self._drift_from = 0
                self._state = "dwell"
                return out
        if not left_line and not follows and self._stays_between_feet(x_new, y_new):
            # standing: the weight moved between the two feet down, none of them moved
            self._note_shift(x_new, y_new, tail[-1].t)
            self._feet.settled(x_new, y_new, cfg.same_foot_lateral_m)
            self._plateau += self._transfer
            self._drift_from = len(self._plateau) - len(tail)
            self._state = "dwell"
            return self._retract(pending)
        t_contact = self._contact_time(x_new, y_new)
        if turning:  # a turn's pivot may have paused halfway: its load came before the pause
            t_contact = self._continued_shift_time(x_new, y_new, t_contact)
        if follows:
            t_contact = self._time_from_rest(x_new, y_new, t_contact)
        t_off = self._old_foot_off(x_new, y_new, t_contact)
        t_let_go = self._let_go(x_new, y_new, t_contact)
        since = self._step_on_support_start(t_contact, t_let_go)
        beside = self._stance
        out += self._close_plateau(until=t_contact, support_from=since)
        # the foot the weight came from: the nearer of the two down, at its placement
        down = self._visit_contacts[-2:]
        old = min(down, key=lambda c: math.dist(c.model_xy, (x0, y0)), default=None)
        ax, ay = old.model_xy if old is not None and old.final else (x0, y0)
        contact = pending or Contact(len(self.contacts), math.nan, x_new, y_new, tail[-1].t)
        contact.index = len(self.contacts)
        contact.t_s = t_contact if t_contact is not None else self._transfer[0].t
        contact.x_m, contact.y_m = x_new, y_new
        contact.transfer_s = tail[-1].t - contact.t_s
        self.contacts.append(contact)
        # a foot closed beside the stance foot: the CoP now rests between the two
        between = self._settles_between(y_new)
        self._single_support = not between
        closed = between and len(self._visit_contacts) >= 2  # (two feet down before it)
        self._landed_beside = None
        if not pivot and beside is not None and beside.kind == "step" and not beside.double_stance:
            x_beside = self._old_track(max(self._plateau[-1].t, contact.t_s))[0]
            self._landed_beside = (contact, beside, x_beside)
        self._visit_contacts.append(contact)
        self._stance = contact
        # a pivot of a turn from a still rest: the foot it left stands where the CoP rested
        rested = self._rested_before_transfer() if pivot else None
        self._left_rest = (contact, rested[1], rested[2]) if rested is not None else None
        self._pivot = contact if pivot else None
        self._feet = _FeetDown((ax, ay), (x_new, y_new), (2 * x_new - ax, 2 * y_new - ay))
        # the second foot stepping on beside the first (not walking on): the member stands
        # on both from here
        self._standing = (
            len(self._visit_contacts) == 2
            and self._visit_contacts[0].kind == "step_on"
            and abs(x_new - ax) < cfg.same_foot_longitudinal_m
        )
        self._shift_line = ((ax, ay), (x_new, y_new)) if self._standing else None
        self._second_on = self._second_on_frames(contact) if self._standing else None
        self._last_shift = None
        # the CoP rests between the feet: a short walk closed, the second foot stepped on
        # beside the first, or a pivot of a turn
        self._closed = contact if closed or self._standing or pivot else None
        # the new foot's single support begins when the old foot lets go, not when the CoP
        # has stopped rolling along the new foot
        start = t_off if t_off is not None else tail[0].t
        if t_let_go is not None and t_contact is not None:
            self._landing_overlap = (contact, t_let_go - t_contact)
        self._support_from = t_let_go if t_let_go is not None else start
        self._roll_from = start
        lead_from = min(start, self._support_from)
        self._support_lead = [f for f in self._transfer[: -len(tail)] if f.t >= lead_from]
        self._plateau = list(tail)
        self._drift_from = 0
        self._state = "dwell"
        out.append(contact)  # first report, or an update: where the CoP settled on the foot
        return out

    def _old_foot_off(self, x_new: float, y_new: float, after: float | None) -> float | None:
        """When the force left on the old foot fell under contact_n (decomposition)."""
        if not self._plateau or after is None:
            return None
        x0, y0, vx, vy, t0 = self._old_track(max(self._plateau[-1].t, after))
        for f in self._transfer:
            if f.t <= after:
                continue
            ox, oy = x0 + vx * (f.t - t0), y0 + vy * (f.t - t0)
            dx, dy = x_new - ox, y_new - oy
            d2 = dx * dx + dy * dy
            if d2 < 1e-8:
                continue
            share = ((f.x - ox) * dx + (f.y - oy) * dy) / d2
            if (1.0 - share) * f.fz < self.cfg.contact_n:
                return f.t
        return None

    def _let_go(self, x_new: float, y_new: float, after: float | None) -> float | None:
        """When the old foot let go, for where the new foot's single support begins.

        The decomposition of _old_foot_off takes the new foot to stand where the CoP
        settled. That is where its CoP had rolled to by then; while the old foot let go it
        was still nearer the landing end (forwards, on a force plate, a heel-to-toe roll
        behind: the off comes up to 0.2 s late, the placement towards the toe). So the new
        foot is followed as the old one is, its track fitted where the CoP settled on it
        and run back in time, and the progress counts each axis by how surely the new
        foot's CoP is known on it: along the mat anywhere on its roll (min_longitudinal),
        across within same_foot_lateral.
        Where the CoP settled the roll has slowed, so that track still lags. Once the old
        foot is found gone, the new foot's track is fitted again over the trend_s from
        there, where it first stood alone, and the off found again with it, until it comes
        no earlier. Only for feet a roll apart along the mat: closer, as in a shuffle or a
        pivot, the two feet's tracks mix there.
        """
        if not self._plateau or after is None:
            return None
        old = self._old_track(max(self._plateau[-1].t, after))
        t_let_go = self._progress_off(old, self._new_track(), after)
        if t_let_go is None or abs(x_new - old[0]) <= self.cfg.min_longitudinal_m:
            return t_let_go
        while True:  # ends: each pass moves the off to an earlier frame of the transfer
            end = t_let_go + self.cfg.trend_s
            alone = [f for f in self._transfer if t_let_go <= f.t <= end]
            if len(alone) < 3:
                return t_let_go
            again = self._progress_off(old, self._fit_track(alone), after)
            if again is None or again >= t_let_go:
                return t_let_go
            t_let_go = again

    def _progress_off(
        self,
        old: tuple[float, float, float, float, float],
        new: tuple[float, float, float, float, float],
        after: float,
    ) -> float | None:
        """The first transfer frame after `after` where the old foot carries under
        contact_n: the CoP's progress from the old foot's track to the new foot's."""
        x0, y0, vx, vy, t0 = old
        nx, ny, nvx, nvy, nt = new
        w_along = 1.0 / self.cfg.min_longitudinal_m**2
        w_across = 1.0 / self.cfg.same_foot_lateral_m**2
        for f in self._transfer:
            if f.t <= after:
                continue
            ox, oy = x0 + vx * (f.t - t0), y0 + vy * (f.t - t0)
            dx = nx + nvx * (f.t - nt) - ox
            dy = ny + nvy * (f.t - nt) - oy
            d2 = w_along * dx * dx + w_across * dy * dy
            if d2 < 1e-8 * w_along:
                continue
            share = (w_along * (f.x - ox) * dx + w_across * (f.y - oy) * dy) / d2
            if (1.0 - share) * f.fz < self.cfg.contact_n:
                return f.t
        return None

    def _new_track(self) -> tuple[float, float, float, float, float]:
        """The new foot's CoP track where the transfer settled: position and velocity.

        Fitted over the last trend_s of the transfer (_fit_track).
        """
        end = self._transfer[-1].t
        return self._fit_track([f for f in self._transfer if f.t >= end - self.cfg.trend_s])

    def _fit_track(self, frames: list[_Frame]) -> tuple[float, float, float, float, float]:
        """A foot's CoP track over these frames: mean position and time, and velocity.

        With the limits of _old_track: a foot's CoP rolls along the mat no faster than
        max_roll_speed, and hardly across.
        """
        n = len(frames)
        mt = sum(f.t for f in frames) / n
        mx = sum(f.x for f in frames) / n
        my = sum(f.y for f in frames) / n
        stt = sum((f.t - mt) ** 2 for f in frames)
        if n < 3 or stt <= 0.0:
            return mx, my, 0.0, 0.0, mt
        vx = sum((f.t - mt) * (f.x - mx) for f in frames) / stt
        vy = sum((f.t - mt) * (f.y - my) for f in frames) / stt
        side_cap = self.cfg.max_side_speed_m_per_s
        vy = max(-side_cap, min(side_cap, vy))
        cap = self.cfg.max_roll_speed_m_per_s
        speed = math.hypot(vx, vy)
        if speed > cap:
            vx, vy = vx * cap / speed, vy * cap / speed
        return mx, my, vx, vy, mt

    def _lands_on(
        self, kind: str, foot: Contact, fx: float, fy: float, x_new: float, y_new: float
    ) -> bool:
        """Did the CoP settle on this foot already down (a weight shift, not a new foot)?

        The foot lifted last may land again just behind where it stood (a short, shuffling
        step), so for it only a return onto the footprint its own CoP drew counts.
        """
        cfg = self.cfg
        if kind == "rested":  # a still rest is the foot's own place, not a rolled mean
            return math.dist((x_new, y_new), (fx, fy)) <= cfg.same_foot_lateral_m
        if abs(y_new - fy) > cfg.same_foot_lateral_m:
            return False
        if kind == "previous" and foot.plateau_xy:
            xs = [p[1] for p in foot.plateau_xy]
            return min(xs) - 0.02 <= x_new <= max(xs) + 0.02
        if kind == "middle" and self._closes_beside_stance(fx, x_new, y_new):
            return False
        return abs(x_new - fx) <= cfg.same_foot_longitudinal_m

    def _rested_before_transfer(self) -> tuple[float, float, float, float, float] | None:
        """The still rest (see _still) the transfer under way left, if it left one.

        Resting still on one foot is single support on a foot that does not roll (turning
        on the spot); where the CoP rested is that foot's own place, better than the mean of
        a plateau that rolled.
        """
        still = self._still
        cfg = self.cfg
        transfer_start = self._transfer[0].t
        if (
            still is None
            or still[0] - still[4] < cfg.pivot_still_s
            or transfer_start - still[0] > cfg.pivot_within_s
            or self._transfer[-1].t - transfer_start > cfg.max_transfer_s
            or min(f.fz for f in self._transfer) < cfg.pivot_keep_load * still[3]
        ):
            return None
        return still

    def _mirror_anchor(self, stance: Contact, previous: Contact) -> tuple[float, float]:
        """The foot the stance foot's double stance is mirrored about (see _FeetDown).

        The previous foot's placement, unless the CoP came to the stance foot straight from
        resting still on another foot: that foot is where it rested. In a stepping turn the
        CoP pauses halfway between the pivoting feet, and the previous placement (a rolled
        mean) would put the mirrored foot off by several cm.
        """
        if self._left_rest is not None and self._left_rest[0] is stance:
            return self._left_rest[1], self._left_rest[2]
        return previous.model_xy

    def _closing_beside_xy(
        self, stance: Contact, previous: Contact, mx: float, my: float, y_previous: float
    ) -> tuple[float, float] | None:
        """Where a foot closed beside a walking step stands, from the CoP they shared
        (mean mx, my); None for any other foot in double stance.

        Sharing the weight, the CoP sits halfway between the two feet's own CoPs. The
        walking foot's own CoP was not at its placement then: that is the mean of its single
        support, and it had rolled on along the mat (to the heel walking backwards, the toes
        forwards) by the time the closing foot landed. So along the mat the closing foot is
        mirrored about where that CoP was at the landing (its track, as the contact time
        reads it); across, about its placement. The detector's rules and the foot labels
        keep the mirror about the placement, on which they were tuned (Contact.model_at).
        """
        landed = self._landed_beside
        if landed is None or landed[0] is not stance or landed[1] is not previous:
            return None
        x = 2 * mx - landed[2]
        if abs(x - previous.model_xy[0]) > self.cfg.same_foot_longitudinal_m:
            return None  # not beside it: a step along the mat that the weight came back from
        return x, 2 * my - y_previous

    def _off_pivot_middle(self, x_new: float, y_new: float) -> bool:
        """The CoP left a still rest on the stance foot and settled clearly past the middle
        between it and the previous foot's footprint, on the previous foot's side: a pivot
        step (that foot was put down elsewhere), not a shift onto both feet.

        "Middle" is loose along the mat (a placement is the mean of a rolling CoP); with the
        stance foot resting still, its place is known, and the previous foot's footprint
        is the stretch its own CoP drew. Past the middle on the other side, the CoP may
        still be rolling on the stance foot itself.
        """
        stance = self._stance
        rested = self._rested_before_transfer()
        if rested is None or stance is None or stance not in self._visit_contacts:
            return False
        idx = self._visit_contacts.index(stance)
        if idx < 1 or not self._visit_contacts[idx - 1].plateau_xy:
            return False
        xs = [p[1] for p in self._visit_contacts[idx - 1].plateau_xy]
        margin = 0.02  # as for a foot landing again on its own footprint (_lands_on)
        if sum(xs) / len(xs) > rested[1]:
            return x_new > (rested[1] + max(xs)) / 2 + margin
        return x_new < (rested[1] + min(xs)) / 2 - margin

    def _continued_shift_time(
        self, x_new: float, y_new: float, t_contact: float | None
    ) -> float | None:
        """A transfer that carries on, the same way, from a weight shift that ended just
        before it: the CoP paused halfway (a pivot of a turn, the weight passing through both
        feet), and the new foot took its load during that shift. Dated from where the CoP
        was before the shift, by its progress towards the new foot.
        """
        shift = self._last_shift
        cfg = self.cfg
        if (
            shift is None
            or t_contact is None
            or self._transfer[0].t - shift.t_end_s > cfg.continue_within_s
        ):
            return t_contact
        before = [f for f in self._recent if f.t <= shift.t_start_s and not math.isnan(f.x)]
        if not before:
            return t_contact
        x0, y0 = before[-1].x, before[-1].y
        ax, ay = shift.x_to - x0, shift.y_to - y0
        bx, by = x_new - shift.x_to, y_new - shift.y_to
        norm = math.hypot(ax, ay) * math.hypot(bx, by)
        if norm < 1e-9 or (ax * bx + ay * by) / norm < cfg.continue_min_cos:
            return t_contact
        earlier = self._progress_crossing(x0, y0, x_new, y_new, before=self._transfer[-1].t)
        if earlier is None or earlier < shift.t_start_s - 0.1:
            return t_contact
        return min(earlier, t_contact)

    def _time_from_rest(self, x_new: float, y_new: float, t_contact: float | None) -> float | None:
        """A pivot that left a still rest: the new foot took its load no earlier than the
        CoP's progress from that rest towards it says (a slow drift before the move may have
        started the transfer early, and the decomposition's date with it)."""
        rested = self._rested_before_transfer()
        if rested is None:
            return t_contact
        found = self._progress_crossing(
            rested[1], rested[2], x_new, y_new, before=self._transfer[-1].t
        )
        if found is None or (t_contact is not None and found <= t_contact):
            return t_contact
        return found

    def _pivot_follows(self, x_new: float, y_new: float) -> bool:
        """The next pivot of a stepping turn: the stance foot was itself a pivot, the CoP
        rested still on it for a single support (the other foot in the air) and left that
        rest by pivot_follow_min_m.

        In a turn the lifted foot often lands a few cm from where it stood, and the CoP stops
        halfway on the way to it: taken alone, that looks like a shift back onto both feet.
        """
        stance = self._stance
        if stance is None or stance is not self._pivot:
            return False
        rested = self._rested_before_transfer()
        # single support is short (rest_single_s); a longer rest is a stand on both feet
        return (
            rested is not None
            and rested[0] - rested[4] <= self.cfg.rest_single_s
            and math.dist((x_new, y_new), rested[1:3]) >= self.cfg.pivot_follow_min_m
        )

    def _off_standing_line(self, x_new: float, y_new: float) -> bool:
        """Standing, the CoP settled clearly off the line between the two feet down.

        Shared between both feet, the CoP sits on that line, so settling "between" them off
        it is a foot put down elsewhere: the first pivot of a turn after the feet closed
        side by side, where the line runs across the mat and the "middle" of the two
        placements is as close along the mat as the foot that pivoted.
        """
        feet = self._feet
        if not self._standing or feet is None:
            return False
        return feet.off(x_new, y_new)[0] > self.cfg.stand_step_off_line_m

    def _closes_beside_stance(self, x_middle: float, x_new: float, y_new: float) -> bool:
        """Walking, did the CoP settle across the mat from the stance foot, level with it
        rather than halfway back along the stride? Then the lifted foot closed beside it (the
        end of a short walk) instead of both feet staying down in a pause: a contact, not a
        weight shift.

        After a short step (a shuffle) the stride's middle is within the along-the-mat
        tolerance of where a closing step puts the CoP, so this is told by which is nearer.
        """
        stance = self._stance
        if not self._single_support or stance is None:
            return False
        mean = self._plateau_mean()
        if mean is None and not stance.final:
            return False
        x_stance, y_stance = stance.model_xy if stance.final else mean
        if abs(y_new - y_stance) < self.cfg.closing_lateral_m:
            return False  # feet along the mat (a turn): level says nothing
        return abs(x_new - x_stance) < abs(x_new - x_middle)

    def _within_stance(self, frame: _Frame) -> bool:
        """Standing, has the CoP so far kept to the corridor between the two feet down?

        The live report waits while it does: a weight shift never leaves it, a foot lifted
        and put down elsewhere takes the CoP out of it (the final decision is the same test
        on the settled transfer, _stays_between_feet). Standing begins with the first weight
        shift, or with the feet side by side at the end of a short walk (_feet_beside).
        """
        feet = self._feet_beside() or (self._feet if self._standing else None)
        return feet is not None and self._path_in_corridor((*self._transfer, frame), feet)

    def _feet_beside(self) -> _FeetDown | None:
        """A foot came down and the CoP rests between it and the foot before (a short walk
        closing, the second foot stepping on, a pivot of a turn): until the first weight
        shift, the two feet side by side, level with where the CoP rests between them.

        Shifting the weight onto either foot, before stepping off, walking on or the next
        pivot, takes the CoP to that foot's middle. The foot before was placed where its CoP
        rolled while it bore the weight alone (walking, or stepping on), up to 7 cm along
        the mat from its middle, and the new foot is mirrored about that placement (twice
        as far off): a shift towards either looked like the way to a new foot and was
        reported, then taken back when the CoP settled. Halfway through a turn the feet
        stand along the mat and the corridor is narrower than they are: a pivot of a few
        cm then waits for the CoP to settle (the end of the transfer, 0.1 s later).
        For the live report only; the placements stay as they are, and after a shift the
        feet are learnt from where the CoP settled (_FeetDown).
        """
        stance = self._stance
        down = self._visit_contacts[-2:]
        if (
            stance is None
            or stance is not self._closed
            or stance.final
            or len(down) < 2
            or down[-1] is not stance
            or not self._plateau
        ):
            return None
        # the plateau stays as it is while a transfer goes on: its mean is taken once
        last, count = self._plateau[-1], len(self._plateau)
        cached = self._beside
        if cached is not None and cached[0] is last and cached[1] == count:
            return cached[2]
        mx, my = self._plateau_mean() or (last.x, last.y)
        y_before = down[0].model_xy[1]
        feet = _FeetDown((mx, y_before), (mx, 2 * my - y_before), None)
        self._beside = (last, count, feet)
        return feet

    def _stays_between_feet(self, x_new: float, y_new: float) -> bool:
        """Did this transfer keep to the line between the two feet down (a weight shift)?"""
        feet = self._feet
        if feet is None:
            return False
        across, beyond = feet.off(x_new, y_new)
        if across > self.cfg.stand_off_line_m or beyond > self.cfg.stand_beyond_foot_m:
            return False
        return self._path_in_corridor(self._transfer)

    def _path_in_corridor(self, frames: Iterable[_Frame], feet: _FeetDown | None = None) -> bool:
        """Every frame within the corridor between the two feet down: 4.5 cm across the
        line between them, 5 cm past either foot (the way a weight shift goes)."""
        feet = feet or self._feet
        if feet is None:
            return False
        cfg = self.cfg
        for f in frames:
            across, beyond = feet.off(f.x, f.y)
            if across > cfg.stand_path_off_line_m or beyond > cfg.stand_beyond_foot_m:
                return False
        return True

    def _leaves_shift_line(self, x0: float, y0: float, x_new: float, y_new: float) -> bool:
        """Back from a weight shift onto one foot, the CoP settled off the line it came by.

        Shifting onto a foot and back, the CoP goes and returns along the line between the
        feet; if the foot it left was lifted and put down elsewhere (a pivot step of a turn,
        a short step from standing), the CoP comes back to a new line.
        """
        line = self._shift_line
        if line is None or not self._standing:
            return False
        (mx, my), (sx, sy) = line
        length = math.hypot(sx - mx, sy - my)
        cfg = self.cfg
        if length < cfg.stand_shift_min_m or math.hypot(x0 - sx, y0 - sy) > cfg.stand_off_line_m:
            return False
        across = abs((x_new - sx) * (my - sy) - (y_new - sy) * (mx - sx)) / length
        along = ((x_new - sx) * (mx - sx) + (y_new - sy) * (my - sy)) / length
        # back to about where it came from; beyond that the line is extrapolated too far
        return 0.0 < along <= 1.5 * length and across > cfg.stand_return_off_line_m

    def _note_shift(self, x_new: float, y_new: float, t_end: float) -> None:
        """A weight shift between the feet down: from now on the member is standing."""
        self.shifts.append((self._transfer[0].t, t_end))
        self._standing = True
        self._closed = None  # the feet down are learnt from the shifts from here on
        # the foot the weight left: where the CoP was furthest from where it went, lately
        since = self._transfer[0].t - 1.0
        x0, y0 = max(
            ((f.x, f.y) for f in self._recent if f.t >= since and not math.isnan(f.x)),
            key=lambda p: math.dist(p, (x_new, y_new)),
        )
        self._shift_line = ((x0, y0), (x_new, y_new))
        t_contact = self._progress_crossing(x0, y0, x_new, y_new)
        if t_contact is not None:
            self._last_shift = _Shift(t_contact, self._transfer[0].t, t_end, x_new, y_new)
        self._away = 0

    def _progress_crossing(
        self, x0: float, y0: float, x1: float, y1: float, before: float = math.inf
    ) -> float | None:
        """When the force on a foot at (x1, y1) crossed contact_n, the other foot at (x0, y0).

        The CoP's progress between two feet standing still is the share of the weight on
        the second one; found by going back through the recent frames.
        """
        dx, dy = x1 - x0, y1 - y0
        d2 = dx * dx + dy * dy
        if d2 < 1e-6:
            return None
        later = None
        for f in reversed(self._recent):
            if f.t > before:
                continue
            if math.isnan(f.x):
                return None
            force = min(max(((f.x - x0) * dx + (f.y - y0) * dy) / d2, 0.0), 1.0) * f.fz
            if force < self.cfg.contact_n:
                if later is None:
                    return None
                t_later, f_later = later
                u = (self.cfg.contact_n - force) / max(f_later - force, 1e-9)
                return f.t + u * (t_later - f.t)
            later = (f.t, force)
        return None

    def _check_rolled_away(self, frame: _Frame) -> list[Contact]:
        """Standing, the CoP rolls clearly away from both feet just after a shift: that
        shift was a foot landing close to where it stood (a shuffle from standing)."""
        shift = self._last_shift
        feet = self._feet
        if shift is None or feet is None or frame.t - shift.t_end_s > self.cfg.stand_roll_within_s:
            return []
        # rolling along the foot it went to: away along the mat, not across to another foot
        along_foot = abs(frame.y - shift.y_to) <= self.cfg.same_foot_lateral_m
        if abs(frame.x - shift.x_to) <= self.cfg.stand_roll_away_m or not along_foot:
            self._away = 0
            return []
        self._away += 1
        if self._away < self.cfg.dwell_frames:
            return []
        # a foot had landed where the CoP dwelt before rolling away: date it by the load
        # arriving there from the foot the weight was on before
        self._last_shift = None
        away = self.cfg.stand_roll_away_m
        rolling = [
            f for f in self._plateau if abs(f.x - shift.x_to) <= away and f.t > shift.t_end_s
        ]
        landed = rolling[-8:] or self._plateau[:1]
        x1 = sum(f.x for f in landed) / len(landed)
        y1 = sum(f.y for f in landed) / len(landed)
        since = landed[0].t - 1.5
        x0, y0 = max(
            ((f.x, f.y) for f in self._recent if f.t >= since and not math.isnan(f.x)),
            key=lambda p: math.dist(p, (x1, y1)),
        )
        t_contact = self._progress_crossing(x0, y0, x1, y1, before=landed[-1].t)
        if t_contact is None or t_contact < shift.t_start_s - 0.1:
            t_contact = shift.t_contact_s  # the landing was that shift, not before it
        if t_contact < self._visit_contacts[-1].t_s:
            # dated before the foot last put down: both feet were loaded before that shift,
            # nothing landed (that foot is still rolling, as after the last walking step)
            return []
        if any(
            not c.retracted and abs(c.t_s - t_contact) < self.cfg.rest_found_s
            for c in self._visit_contacts[-2:]
        ):
            return []  # that landing was found already (a pivot step of a turn)
        old = min(
            self._visit_contacts[-2:],
            key=lambda c: math.dist(c.model_xy, (x0, y0)),
            default=None,
        )
        out = self._close_plateau()
        contact = Contact(len(self.contacts), t_contact, frame.x, frame.y, frame.t)
        self.contacts.append(contact)
        self._visit_contacts.append(contact)
        self._stance = contact
        self._plateau = [f for f in self._plateau if f.t > shift.t_end_s]
        self._drift_from = 0
        ax, ay = old.model_xy if old is not None else (x0, y0)
        self._feet = _FeetDown((ax, ay), (frame.x, frame.y), None)
        self._standing = False
        self._shift_line = None
        return [*out, contact]

    @staticmethod
    def _retract(pending: Contact | None) -> list[Contact]:
        if pending is None:
            return []
        pending.retracted = True
        pending.final = True
        return [pending]

    def _close_plateau(
        self,
        double_stance: bool = False,
        other: Contact | None = None,
        until: float | None = None,
        support_from: float | None = None,
        support_until: float | None = None,
        rolling_off: list[_Frame] | None = None,
    ) -> list[Contact]:
        """Finalise the stance contact's placement: its mean CoP over single support.

        Single support ends when the next foot lands (until); frames of the transfer before
        that still belong to this foot. Weighted by the load, as a foot's own CoP would be.
        Where the other foot stood on the floor instead (stepping on or off the mat), single
        support is support_from-support_until; the placement keeps to it, while the foot's
        roll (plateau_xy, which way the member faces) keeps its whole dwell. rolling_off: the
        frames of a move the mat emptied during (the placement's, up to support_until).
        """
        self._single_support = False  # until a new foot takes the weight alone
        stance = self._stance
        if stance is None or stance.final:
            return []
        frames = self._support_lead + self._plateau
        if until is not None:
            frames = [f for f in frames + self._transfer if f.t < until] or frames
        support = frames + (rolling_off or [])
        if support_from is not None:
            support = [f for f in self._step_on_load + support if f.t >= support_from] or support
        elif self._support_from is not None:
            support = [f for f in support if f.t >= self._support_from] or support
        if support_until is not None:
            support = [f for f in support if f.t < support_until] or support
        if self._roll_from is not None:
            frames = [f for f in frames if f.t >= self._roll_from] or frames
        self._support_lead = []
        self._support_from = self._roll_from = None
        if frames:
            total = sum(f.fz for f in support)
            mx = sum(f.x * f.fz for f in support) / total
            my = sum(f.y * f.fz for f in support) / total
            stance.t_plateau_start_s = frames[0].t
            stance.t_plateau_end_s = frames[-1].t
            stance.plateau_xy = [(f.t, f.x, f.y) for f in frames]
            if double_stance:
                idx = self._visit_contacts.index(stance) if stance in self._visit_contacts else -1
                previous = self._visit_contacts[idx - 1] if idx >= 1 else other
                if previous is not None and previous is not stance:
                    ox, oy = self._mirror_anchor(stance, previous)
                    beside = self._closing_beside_xy(stance, previous, mx, my, oy)
                    mx, my = 2 * mx - ox, 2 * my - oy
                    stance.double_stance = True
                    if beside is not None:  # the rules and the labels keep the mirror
                        stance.model_at = (mx, my)
                        mx, my = beside
            stance.x_m, stance.y_m = mx, my
        stance.final = True
        return [stance]


def detect_steps(
    t: np.ndarray,
    fz: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    config: StepConfig | None = None,
) -> StepDetector:
    """Run the streaming detector over a whole record (the offline path uses this)."""
    detector = StepDetector(config)
    for ti, fi, xi, yi in zip(t.tolist(), fz.tolist(), x.tolist(), y.tolist(), strict=True):
        detector.update(ti, fi, None if math.isnan(xi) else xi, None if math.isnan(yi) else yi)
    detector.finish()
    return detector
