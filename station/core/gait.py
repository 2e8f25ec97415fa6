"""From foot contacts to walking: passes, direction, which foot, and the gait metrics.

A pass is the run of contacts between stepping on and off the mat (or a turn, where the
direction of travel reverses). Which way the walker faces cannot be seen from travel alone:
walking backwards and forwards both roll the CoP along the foot in the direction of travel.
What differs is where it dwells: forwards, the heel rocker is quick and the CoP waits under
the forefoot late in stance (the leading end of the foot); backwards, the toes land first
and hold the CoP at the trailing end before it rolls quickly to the heel (Grasso et al.
1998). The median of that asymmetry over a pass's steps says which way the member faces;
when it is too weak to say, the exercise's expected direction is used (the kiosk knows the
member chose "walk backwards"). With no exercise (a guest's free walk) the passes of one
visit pool their evidence (a turn on the mat reverses the travel, not the way of walking),
and a visit whose asymmetry stays weak is "unknown": no foot labels rather than a confident
mirror image. Each pass reports its confidence (0-1).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .steps import Contact

MAX_STEP_TIME_S = 1.5  # a longer gap between contacts is a pause, not a step
MIN_STEP_LENGTH_M = 0.05  # shorter: a closing step or a shuffle in place
MIN_HEADING_STEP_M = 0.15  # a step this long along the mat shows the way of travel
# Through a turn (label_turning_feet): consecutive contacts are the other foot this often
# (when they follow within ALTERNATE_WITHIN_S), and a placement TURN_SIDE_SCALE_M to one
# side of the walking line makes that side e times likelier than the other.
ALTERNATE_P = 0.9
ALTERNATE_WITHIN_S = 1.0  # a longer gap is a stand: either foot may step next
OTHER_FACING_P = 0.2  # a contact faces as the pass before or after its own (a pivot)
TURN_SPAN_M = 0.3  # the pivots of a turn on the spot stay within this along the mat
TURN_SIDE_SCALE_M = 0.015
# Force-plate walking shows a roll asymmetry of 0.06-0.2 (BMClab), insoles anything from
# -0.2 to 0.2: only a very clear one overrules the exercise the member chose
# (docs/validation.md).
STRONG_SKEW = 0.2
# With no exercise to go by, below this the walk's direction is not told (insole walks in
# the validation spread over +-0.12 either way; force plates show 0.11 and more).
CONFIDENT_SKEW = 0.1


@dataclass
class Pass:
    contacts: list[Contact]
    travel: float  # +1 / -1 along x, 0 when there was no travel
    direction: str  # backward / forward / none
    facing: float  # +1 facing +x, -1 facing -x, 0 unknown
    skew: float
    confidence: float = 0.0  # how clearly the signal tells the direction (0-1)


def split_passes(visits: list[list[Contact]]) -> list[list[Contact]]:
    """Contacts of each visit, split where the walker turns round."""
    out = []
    for visit in visits:
        current: list[Contact] = []
        heading = 0.0
        for c in visit:
            if current:
                dx = c.model_xy[0] - current[-1].model_xy[0]
                if abs(dx) >= MIN_HEADING_STEP_M:
                    sign = math.copysign(1.0, dx)
                    if heading and sign != heading and len(current) >= 2:
                        out.append(current)
                        current = []
                        heading = 0.0
                    heading = heading or sign
            current.append(c)
        if current:
            out.append(current)
    return out


def roll_skew(contact: Contact, travel: float) -> float:
    """Where along the foot the CoP dwelt: + at the leading end, - at the trailing end."""
    pts = contact.plateau_xy
    if contact.double_stance or len(pts) < 8:
        return math.nan
    along = np.array([p[1] for p in pts]) * travel
    span = float(along.max() - along.min())
    if span < 0.02:
        return math.nan
    return float((along.mean() - (along.max() + along.min()) / 2.0) / span)


def pass_skew(contacts: list[Contact]) -> tuple[float, float]:
    """(travel along x: +1 / -1 / 0, median roll skew of its steps)."""
    travel = 0.0
    if len(contacts) >= 2:
        dx = contacts[-1].model_xy[0] - contacts[0].model_xy[0]
        if abs(dx) >= 0.1:
            travel = math.copysign(1.0, dx)
    if travel == 0.0:
        return 0.0, math.nan
    skews = [s for s in (roll_skew(c, travel) for c in contacts) if not math.isnan(s)]
    return travel, float(np.median(skews)) if skews else math.nan


def classify_pass(
    contacts: list[Contact], expected_direction: str, visit_skew: float = math.nan
) -> Pass:
    """Direction of one pass; visit_skew is the evidence of its whole visit (no exercise)."""
    travel, skew = pass_skew(contacts)
    if travel == 0.0:
        return Pass(contacts, 0.0, "none", 1.0, math.nan)
    hinted = expected_direction in ("backward", "forward")
    # with no exercise, only a visit's passes of 3 contacts or more tell (a fragment of two
    # feet stepping on says nothing); visit_skew is nan without one
    evidence = skew if hinted else visit_skew
    confidence = 0.0 if math.isnan(evidence) else min(abs(evidence) / STRONG_SKEW, 1.0)
    strong = not math.isnan(evidence) and abs(evidence) >= STRONG_SKEW
    if hinted and not strong:
        direction = expected_direction
    elif not hinted and (math.isnan(evidence) or abs(evidence) < CONFIDENT_SKEW):
        return Pass(contacts, travel, "unknown", 0.0, skew, round(confidence, 2))
    else:  # clear evidence: the signal decides
        direction = "forward" if evidence > 0 else "backward"
    facing = -travel if direction == "backward" else travel
    return Pass(contacts, travel, direction, facing, skew, round(confidence, 2))


def _walking_line_sides(cs: list[Contact], others: list[Contact] | None = None) -> np.ndarray:
    """Signed distance (m, +y side) of each contact in `others` (default cs) from the line
    fitted through the placements of cs."""
    xs = np.array([c.model_xy[0] for c in cs])
    ys = np.array([c.model_xy[1] for c in cs])
    targets = cs if others is None else others
    tx = np.array([c.model_xy[0] for c in targets])
    ty = np.array([c.model_xy[1] for c in targets])
    if len(cs) >= 3 and np.ptp(xs) > 0.1:
        slope, intercept = np.polyfit(xs, ys, 1)
        return ty - (slope * tx + intercept)
    return ty - ys.mean()


def label_feet(p: Pass) -> None:
    """The walker's own left/right: the side of the walking line, given the way they face."""
    cs = p.contacts
    if p.facing == 0.0:  # the way the member faces is not known: no left or right either
        for c in cs:
            c.foot = ""
        return
    if len(cs) == 1:
        cs[0].foot = cs[0].foot or ""
        return
    for c, side in zip(cs, _walking_line_sides(cs), strict=True):
        c.foot = "left" if side * p.facing > 0 else "right"


def _turn_facing_prior(
    passes: list[Pass], contacts: list[Contact], facings: list[float]
) -> list[int]:
    """The pass whose facing each contact most likely has: its own, except in a turn.

    A turn on the spot is a run of contacts between two stands that goes nowhere
    (TURN_SPAN_M), where the travel reverses; the pass split falls anywhere in it. The
    member faces the old way for its first half and the new way for the second.
    """
    own = [k for k, p in enumerate(passes) for _ in p.contacts]
    first_of_pass = {sum(len(p.contacts) for p in passes[:k]) for k in range(len(passes))}
    start = 0
    for i in range(1, len(contacts) + 1):
        if i < len(contacts) and contacts[i].t_s - contacts[i - 1].t_s <= ALTERNATE_WITHIN_S:
            continue
        block = range(start, i)
        start = i
        k = own[block[0]] - 1 if block[0] in first_of_pass else own[block[0]]
        xs = [contacts[b].model_xy[0] for b in block]
        if (
            len(block) < 2
            or k < 0
            or k + 1 >= len(passes)
            or facings[k] * facings[k + 1] >= 0
            or any(own[b] not in (k, k + 1) for b in block)
            or max(xs) - min(xs) > TURN_SPAN_M
        ):
            continue
        half = len(block) // 2
        for n, b in enumerate(block):
            own[b] = k if n < half else k + 1
    return own


def label_turning_feet(passes: list[Pass]) -> None:
    """Left/right through a turn on the mat: the labels follow the member round.

    A stepping turn's pivots stand where the side of either walking line says little (a
    quarter turn puts the feet along the mat, on the line), and the pass split (where the
    travel reverses) falls anywhere among them. So the visit is labelled as a whole: each
    contact belongs to its own pass's facing or to a neighbour's (the facing changes once
    per turn, somewhere among the pivots), its side of that pass's walking line is the
    evidence (clear for walking steps and for the pivots across the mat, faint on the
    line; a neighbour's facing costs OTHER_FACING_P, see _turn_facing_prior), and
    consecutive contacts are the other foot as a rule (the pivots of a turn too), unless a
    stand lies between them. The most likely sequence (Viterbi) wins.
    """
    facings = [p.facing if p.travel != 0.0 else 0.0 for p in passes]
    if len(passes) < 2 or any(p.facing == 0.0 for p in passes) or min(facings) * max(facings) >= 0:
        return  # no turn, or a direction not told: label_feet's labels stand
    contacts = [c for p in passes for c in p.contacts]
    own = _turn_facing_prior(passes, contacts, facings)
    sides = [_walking_line_sides(p.contacts, contacts) for p in passes]  # [pass][contact]
    n_phases = len(passes)
    # states: (phase, foot); score = log probability of the best path ending there
    neg = -math.inf
    score = np.full((len(contacts), n_phases, 2), neg)
    back = np.zeros((len(contacts), n_phases, 2, 2), dtype=int)

    def emit(i: int, j: int, foot: int) -> float:  # foot 1 = left
        if abs(j - own[i]) > 1:
            return neg
        side = float(sides[j][i]) * facings[j] / TURN_SIDE_SCALE_M
        p_left = 1.0 / (1.0 + math.exp(-max(min(side, 30.0), -30.0)))
        moved = 0.0 if j == own[i] else math.log(OTHER_FACING_P)
        return moved + math.log(max(p_left if foot else 1.0 - p_left, 1e-9))

    for j in range(n_phases):
        for foot in (0, 1):
            score[0, j, foot] = emit(0, j, foot)
    for i in range(1, len(contacts)):
        gap = contacts[i].t_s - contacts[i - 1].t_s
        p_alt = ALTERNATE_P if gap <= ALTERNATE_WITHIN_S else 0.5
        for j in range(n_phases):
            for foot in (0, 1):
                e = emit(i, j, foot)
                if e == neg:
                    continue
                best, arg = neg, (0, 0)
                for jp in range(j + 1):  # the facing changes forward only
                    for fp in (0, 1):
                        prior = score[i - 1, jp, fp]
                        if prior == neg:
                            continue
                        cand = prior + math.log(p_alt if fp != foot else 1.0 - p_alt)
                        if cand > best:
                            best, arg = cand, (jp, fp)
                score[i, j, foot] = best + e
                back[i, j, foot] = arg
    last = score[-1]
    if not np.isfinite(last).any():
        return
    j, foot = np.unravel_index(int(np.argmax(last)), last.shape)
    for i in range(len(contacts) - 1, -1, -1):
        contacts[i].foot = "left" if foot else "right"
        if i:
            j, foot = back[i, j, foot]


def _walking_line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centre, unit direction and unit normal of the best straight line through points."""
    centre = points.mean(axis=0)
    if len(points) < 2:
        return centre, np.array([1.0, 0.0]), np.array([0.0, 1.0])
    _, _, vt = np.linalg.svd(points - centre)
    direction = vt[0]
    if abs(direction[0]) < 1e-9:
        direction = np.array([1.0, 0.0])
    return centre, direction, np.array([-direction[1], direction[0]])


def gait_metrics(passes: list[Pass]) -> dict[str, Any]:
    lengths, widths, times, mids_dev, rolls, transfers = [], [], [], [], [], []
    by_foot: dict[str, list[tuple[float, float]]] = {"left": [], "right": []}
    for p in passes:
        if p.direction == "none" or len(p.contacts) < 2:
            continue
        pts = np.array([[c.x_m, c.y_m] for c in p.contacts])
        _, d, _ = _walking_line(pts)
        mids = []
        for a, b in zip(p.contacts, p.contacts[1:], strict=False):
            dt = b.t_s - a.t_s
            delta = np.array([b.x_m - a.x_m, b.y_m - a.y_m])
            length = abs(float(delta @ d))
            width = abs(float(delta @ np.array([-d[1], d[0]])))
            if dt > MAX_STEP_TIME_S or length < MIN_STEP_LENGTH_M or b.double_stance:
                continue
            lengths.append(length)
            widths.append(width)
            times.append(dt)
            transfers.append(b.transfer_s)
            if b.foot in by_foot:
                by_foot[b.foot].append((length, dt))
            mids.append((pts[p.contacts.index(a)] + pts[p.contacts.index(b)]) / 2.0)
        if len(mids) >= 2:
            mids_arr = np.array(mids)
            centre, _, normal = _walking_line(mids_arr)
            mids_dev += list((mids_arr - centre) @ normal)
        elif len(mids) == 1:
            mids_dev.append(0.0)
        for c in p.contacts:
            if not c.double_stance and len(c.plateau_xy) >= 4:
                along = np.array([[q[1], q[2]] for q in c.plateau_xy]) @ d
                rolls.append(float(np.ptp(along)))
    n = len(times)
    if n == 0:
        return {**empty_gait(), "step_count": sum(len(p.contacts) for p in passes)}

    def mean(v: list[float]) -> float:
        return float(np.mean(v))

    def cv(v: list[float]) -> float | None:
        return float(np.std(v, ddof=1) / np.mean(v)) if len(v) >= 2 and np.mean(v) > 0 else None

    step_time = mean(times)
    left = [x[0] for x in by_foot["left"]]
    right = [x[0] for x in by_foot["right"]]
    left_t = [x[1] for x in by_foot["left"]]
    right_t = [x[1] for x in by_foot["right"]]

    def symmetry(a: list[float], b: list[float]) -> float | None:
        if not a or not b:
            return None
        ma, mb = np.mean(a), np.mean(b)
        return float(abs(ma - mb) / ((ma + mb) / 2.0))

    return {
        "step_count": sum(len(p.contacts) for p in passes),
        "walking_steps": n,
        "cadence_steps_per_min": 60.0 / step_time,
        "step_length_m": mean(lengths),
        "step_width_m": mean(widths),
        "step_time_s": step_time,
        "speed_m_per_s": float(np.sum(lengths) / np.sum(times)),
        "lateral_sway_m": float(np.sqrt(np.mean(np.square(mids_dev)))) if mids_dev else None,
        "step_time_cv": cv(times),
        "step_length_cv": cv(lengths),
        "step_width_sd_m": float(np.std(widths, ddof=1)) if n >= 2 else None,
        "step_length_left_m": mean(left) if left else None,
        "step_length_right_m": mean(right) if right else None,
        "step_length_asymmetry": symmetry(left, right),
        "step_time_asymmetry": symmetry(left_t, right_t),
        "double_support_share": float(np.clip(mean(transfers) / step_time, 0.0, 1.0)),
        "heel_roll_m": mean(rolls) if rolls else None,
    }


def empty_gait() -> dict[str, Any]:
    keys = [
        "cadence_steps_per_min", "step_length_m", "step_width_m", "step_time_s",
        "speed_m_per_s", "lateral_sway_m", "step_time_cv", "step_length_cv",
        "step_width_sd_m", "step_length_left_m", "step_length_right_m",
        "step_length_asymmetry", "step_time_asymmetry", "double_support_share", "heel_roll_m",
    ]  # fmt: skip
    return {"step_count": 0, "walking_steps": 0, **dict.fromkeys(keys)}


def analyse_walking(
    visits: list[list[Contact]], expected_direction: str = "backward"
) -> tuple[list[Pass], str]:
    """Passes with direction and feet labelled, and the record's overall direction."""
    passes = []
    for visit in visits:
        split = split_passes([visit])
        skews = [pass_skew(cs)[1] for cs in split if len(cs) >= 3]
        skews = [k for k in skews if not math.isnan(k)]
        pooled = float(np.median(skews)) if skews else math.nan
        passes += [classify_pass(cs, expected_direction, pooled) for cs in split]
    for p in passes:
        label_feet(p)
    start = 0
    for visit in visits:  # a turn on the mat: labels follow the member round
        count = 0
        visit_passes = []
        while start < len(passes) and count < len(visit):
            visit_passes.append(passes[start])
            count += len(passes[start].contacts)
            start += 1
        label_turning_feet(visit_passes)
    votes: dict[str, int] = {}
    for p in passes:
        if p.direction != "none":
            votes[p.direction] = votes.get(p.direction, 0) + len(p.contacts)
    # a pass too faint to tell is no evidence against one that tells
    told = {k: n for k, n in votes.items() if k != "unknown"} or votes
    direction = max(told, key=lambda k: told[k]) if told else "none"
    return passes, direction


def live_feet_told_later(
    contacts: list[Contact], contact: Contact, expected_direction: str, shown: dict[int, str]
) -> list[tuple[Contact, str]]:
    """Feet shown with no guess at the start of a visit (the two stepping on: no travel yet to
    tell which way the member faces), told once `contact` has a live guess. Each is told by
    its side of a neighbour in that run (two feet stepping on stand side by side), a lone one
    by its side of the contact after it."""
    if expected_direction not in ("backward", "forward"):
        return []
    down = [c for c in contacts if not c.retracted and c.t_s <= contact.t_s]
    if len(down) < 2 or down[-1] is not contact:
        return []
    travel = contact.model_xy[0] - down[0].model_xy[0]
    if abs(travel) < MIN_HEADING_STEP_M:
        return []
    facing = math.copysign(1.0, travel) * (-1.0 if expected_direction == "backward" else 1.0)
    run = list(itertools.takewhile(lambda c: shown.get(c.index) == "", down[:-1]))
    told = []
    for i, c in enumerate(run):
        partner = run[i + 1] if i + 1 < len(run) else run[i - 1] if i else down[1]
        side = c.model_xy[1] - partner.model_xy[1]
        told.append((c, "left" if side * facing > 0 else "right"))
    return told


def live_foot(contacts: list[Contact], contact: Contact, expected_direction: str) -> str:
    """A first guess of the foot for live feedback, before the pass is complete.

    The side of the previous contact it lands on, given the travel so far and the exercise's
    direction; the final report relabels every foot from the whole pass. With no exercise to
    go by (a walk-up) there is no guess: a mirror image would be worse than none.
    """
    if expected_direction not in ("backward", "forward"):
        return ""
    before = [c for c in contacts if c is not contact and not c.retracted and c.t_s < contact.t_s]
    if not before:
        return ""
    travel = contact.model_xy[0] - before[0].model_xy[0]
    if abs(travel) < MIN_HEADING_STEP_M:
        return ""
    facing = math.copysign(1.0, travel) * (-1.0 if expected_direction == "backward" else 1.0)
    side = contact.model_xy[1] - before[-1].model_xy[1]
    return "left" if side * facing > 0 else "right"
