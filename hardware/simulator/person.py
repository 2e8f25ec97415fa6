"""A simulated member on the mat: where their feet are and how their weight moves.

A physical model, not random numbers. Each foot is on the ground (a "plant" at a position)
or in the air. One smooth function says which share of the body weight the left foot carries
(the right carries the rest); walking moves that share from the trailing to the leading foot
during double support. The CoP under each foot rolls along the foot (toe to heel when walking
backwards, heel to toe forwards); the body's vertical bounce modulates the total force; quiet
standing adds postural sway (an Ornstein-Uhlenbeck process per axis, with realistic RMS and
frequency). Feet planted off the mat (on the studio floor) carry weight the mat does not see.

Mat frame (docs/design.md): x along the mat, y across it, origin at the centre. Every pass travels
towards -x: a backward pass faces +x, a forward pass faces -x. The walker's left is +y when
facing +x.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

GRAVITY = 9.80665
FOOT_TOE_M = 0.09  # foot centre to the ball of the foot, where the toe-first contact loads
FOOT_HEEL_M = 0.07  # foot centre to the heel
SWAY_GRID_HZ = 200.0


@dataclass(frozen=True)
class Gait:
    """How this member walks (the simulator's knobs, in SI units)."""

    body_mass_kg: float = 70.0
    step_length_m: float = 0.32
    step_width_m: float = 0.16
    cadence_steps_per_min: float = 90.0
    double_support_s: float = 0.18
    hand_on_wall_share: float = 0.0

    @property
    def step_time_s(self) -> float:
        return 60.0 / self.cadence_steps_per_min


@dataclass(frozen=True)
class Contact:
    """Ground truth for one foot landing on the mat."""

    t_s: float
    x_m: float
    y_m: float
    foot: str  # the walker's own side: "left" / "right"
    kind: str  # "step_on", "step", "closing", "turn"
    direction: str  # "backward", "forward", "none"
    t_load_s: float = float("nan")  # when this foot's force passed 30 N (the data sets' truth)


@dataclass(frozen=True)
class Segment:
    """A labelled stretch of the scenario (a pass, a stand, a head turn) for tests."""

    kind: str
    t_start_s: float
    t_end_s: float
    detail: str = ""


@dataclass
class _Plant:
    foot: str
    t_land: float
    t_lift: float
    x: float
    y: float
    on_mat: bool
    roll_from: float  # CoP offset along x from the foot centre at landing
    roll_to: float  # ... at the end of the rolling stance
    roll_s: float  # how long the roll takes; afterwards the CoP eases back to the centre
    roll_late: bool = False  # backward walking: the quick part of the roll comes last


@dataclass
class Timeline:
    """Everything the simulated member does over one stretch of time."""

    gait: Gait
    t_end: float
    share_keys: list[tuple[float, float]] = field(default_factory=list)  # (t, left share)
    bounce_keys: list[tuple[float, float]] = field(default_factory=list)  # (t, amplitude)
    bounce_steps: list[float] = field(default_factory=list)  # landing times that phase it
    sway_keys: list[tuple[float, float, float]] = field(default_factory=list)  # (t, ap, ml)
    wall_keys: list[tuple[float, float]] = field(default_factory=list)  # (t, share on the wall)
    plants: list[_Plant] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    segments: list[Segment] = field(default_factory=list)
    sway_ap: np.ndarray | None = None
    sway_ml: np.ndarray | None = None

    def sample(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Total vertical force on the mat (N) and its CoP (m) at the given times.

        The CoP is NaN where nothing stands on the mat.
        """
        times = np.asarray(times, dtype=float)
        share_left = _smooth_keys(self.share_keys, times)
        load = {"left": np.zeros_like(times), "right": np.zeros_like(times)}
        mx = np.zeros_like(times)
        my = np.zeros_like(times)
        for plant in self.plants:
            inside = (times >= plant.t_land) & (times < plant.t_lift)
            if not plant.on_mat or not inside.any():
                continue
            ts = times[inside]
            share = share_left[inside] if plant.foot == "left" else 1.0 - share_left[inside]
            share = np.clip(share, 0.0, 1.0)
            offset = _roll_offset(plant, ts)
            load[plant.foot][inside] += share
            mx[inside] += share * (plant.x + offset)
            my[inside] += share * plant.y
        on_share = load["left"] + load["right"]
        fz = self._weight_on_feet(times) * on_share * (1.0 + self._bounce(times))
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(on_share > 1e-9, mx / on_share, np.nan)
            y = np.where(on_share > 1e-9, my / on_share, np.nan)
        if self.sway_ap is not None:
            grid = np.arange(len(self.sway_ap)) / SWAY_GRID_HZ
            gain = _smooth_keys([(k[0], k[1]) for k in self.sway_keys], times)
            gain_ml = _smooth_keys([(k[0], k[2]) for k in self.sway_keys], times)
            x = x + gain * np.interp(times, grid, self.sway_ap)
            y = y + gain_ml * np.interp(times, grid, self.sway_ml)
        fz = np.where(on_share > 1e-9, fz, 0.0)
        return fz, x, y

    def foot_force(self, foot: str, times: np.ndarray) -> np.ndarray:
        """Vertical force under one foot on the mat (N) at the given times."""
        share_left = _smooth_keys(self.share_keys, times)
        share = np.clip(share_left if foot == "left" else 1.0 - share_left, 0.0, 1.0)
        planted = np.zeros_like(times, dtype=bool)
        for plant in self.plants:
            if plant.foot == foot and plant.on_mat:
                planted |= (times >= plant.t_land) & (times < plant.t_lift)
        weight = self._weight_on_feet(times)
        return np.where(planted, share * weight * (1.0 + self._bounce(times)), 0.0)

    def _weight_on_feet(self, times: np.ndarray) -> np.ndarray:
        """Body weight less what a hand on the wall takes (all along, or when wall_keys say)."""
        wall = self.gait.hand_on_wall_share + _smooth_keys(self.wall_keys, times)
        return self.gait.body_mass_kg * GRAVITY * (1.0 - wall)

    def with_load_times(self, threshold_n: float = 30.0) -> None:
        """Fill in each contact's t_load_s: its foot's force crossing threshold_n."""
        out = []
        for c in self.contacts:
            grid = c.t_s + np.arange(0, 600) / 1000.0
            force = self.foot_force(c.foot, grid)
            above = np.flatnonzero(force >= threshold_n)
            t_load = float(grid[above[0]]) if above.size else float("nan")
            out.append(Contact(c.t_s, c.x_m, c.y_m, c.foot, c.kind, c.direction, t_load))
        self.contacts = out

    def _bounce(self, times: np.ndarray) -> np.ndarray:
        """Vertical bounce of walking: total force peaks in double support, dips mid-stance."""
        if not self.bounce_steps:
            return np.zeros_like(times)
        steps = np.array(self.bounce_steps)
        k = np.clip(np.searchsorted(steps, times, side="right") - 1, 0, len(steps) - 1)
        period = self.gait.step_time_s
        phase = (times - steps[k] - self.gait.double_support_s / 2.0) / period
        return _smooth_keys(self.bounce_keys, times) * np.cos(2.0 * np.pi * phase)


def _roll_offset(plant: _Plant, ts: np.ndarray) -> np.ndarray:
    """CoP offset along the foot: it dwells under the forefoot.

    Walking forwards the heel rocker is quick and the forefoot holds the CoP late in stance;
    backwards it is the same played in reverse (Grasso et al. 1998): the CoP waits on the
    toes first, then rolls quickly to the heel. After the roll, a standing foot's CoP eases
    back to its centre.
    """
    if plant.roll_s <= 0:
        return np.zeros_like(ts)
    u = np.clip((ts - plant.t_land) / plant.roll_s, 0.0, 1.0)
    shape = u * u if plant.roll_late else 1.0 - (1.0 - u) ** 2
    offset = plant.roll_from + (plant.roll_to - plant.roll_from) * shape
    settle = _smooth_keys(
        [(plant.t_land + plant.roll_s, 1.0), (plant.t_land + plant.roll_s + 0.6, 0.0)], ts
    )
    return np.where(u < 1.0, offset, plant.roll_to * settle)


def _smooth_keys(keys: list[tuple[float, float]], times: np.ndarray) -> np.ndarray:
    """Cosine-eased interpolation through (t, value) keyframes, held flat outside them."""
    if not keys:
        return np.zeros_like(times)
    kt = np.array([k[0] for k in keys])
    kv = np.array([k[1] for k in keys])
    i = np.clip(np.searchsorted(kt, times, side="right") - 1, 0, len(kt) - 1)
    j = np.minimum(i + 1, len(kt) - 1)
    span = kt[j] - kt[i]
    with np.errstate(invalid="ignore", divide="ignore"):
        u = np.where(span > 0, (times - kt[i]) / span, 0.0)
    u = np.clip(u, 0.0, 1.0)
    eased = (1.0 - np.cos(np.pi * u)) / 2.0
    return kv[i] + (kv[j] - kv[i]) * eased


def _ou(rng: np.random.Generator, n: int, tau_s: float, sd: float) -> np.ndarray:
    """An Ornstein-Uhlenbeck sway trace: the classic inverted-pendulum-like CoP wander."""
    dt = 1.0 / SWAY_GRID_HZ
    a = np.exp(-dt / tau_s)
    kick = rng.normal(0.0, sd * np.sqrt(1.0 - a * a), n)
    out = np.empty(n)
    level = rng.normal(0.0, sd)
    for i in range(n):
        level = a * level + kick[i]
        out[i] = level
    return out


class _Builder:
    """Writes a timeline step by step, keeping the 'now' cursor and each foot's plant."""

    def __init__(self, gait: Gait, mat_half_length_m: float, t0: float) -> None:
        self.tl = Timeline(gait=gait, t_end=t0)
        self.gait = gait
        self.half = mat_half_length_m
        self.now = t0
        self.share = 0.5
        self.tl.share_keys.append((t0, 0.5))
        self.current: dict[str, _Plant] = {}
        self.backward = False

    def _on_mat(self, x: float) -> bool:
        return abs(x) < self.half

    def plant(self, foot: str, x: float, y: float, roll: tuple[float, float], roll_s: float):
        late = roll[0] * roll[1] < 0 and self.backward
        p = _Plant(foot, self.now, np.inf, x, y, self._on_mat(x), roll[0], roll[1], roll_s, late)
        self.tl.plants.append(p)
        self.current[foot] = p
        return p

    def lift(self, foot: str) -> None:
        self.current[foot].t_lift = self.now

    def shift(self, to_share_left: float, duration: float) -> None:
        self.tl.share_keys.append((self.now, self.share))
        self.now += duration
        self.tl.share_keys.append((self.now, to_share_left))
        self.share = to_share_left

    def wait(self, duration: float) -> None:
        self.now += duration


def _roll(direction: str, face: int) -> tuple[float, float]:
    """CoP path along a foot in the mat frame: backward lands toe first and rolls to the heel."""
    if direction == "backward":
        return face * FOOT_TOE_M, -face * FOOT_HEEL_M
    return -face * FOOT_HEEL_M, face * FOOT_TOE_M


def build_pass(
    gait: Gait,
    rng: np.random.Generator,
    *,
    direction: str = "backward",
    mat_length_m: float = 1.83,
    empty_before_s: float = 3.0,
    stand_before_s: float = 3.0,
    stand_after_s: float = 2.0,
    head_turn: str = "",
    pause_after_step: int | None = None,
    stumble_after_step: int | None = None,
    turn_and_return: bool = False,
    eyes_closed_after_s: float | None = None,
    warrior_hold_s: float | None = None,
    warrior_rear_share: float = 0.4,
    wall_share: float = 0.0,
    wall_during: str = "walk",
    bounce: float = 0.09,
) -> Timeline:
    """One visit: step onto the mat, stand, walk its length, stand, step off the far end.

    Times run from 0 at the start of the visit's empty lead-in. direction "none" makes a
    quiet-standing visit of stand_before_s seconds. Options: a pause (standing in the stride)
    after a step, a stumble (a quick, short, wide extra step), and turning round at the far
    end to walk back the same way (backwards again, now facing the other end). A hand on the
    wall: `wall_share` of the weight goes into the wall during the (last) walk (`wall_during`
    "walk"), its middle half ("part"), or the stand after it ("stand").
    """
    # a forward walker faces the way they go (-x); everyone else faces +x
    face = -1 if direction == "forward" else 1
    half = mat_length_m / 2.0
    b = _Builder(gait, half, 0.0)
    b.backward = direction in ("backward", "none", "warrior")
    width = gait.step_width_m
    floor_in = half + 0.25  # standing on the studio floor beyond the +x end
    floor_out = -half - 0.3
    step_x0 = half - 0.24  # first foot on the mat
    T = gait.step_time_s
    ds = gait.double_support_s
    swing = max(T - ds, 0.2)
    walk_dir = "forward" if direction == "forward" else "backward"
    first, second = ("right", "left") if rng.random() < 0.5 else ("left", "right")

    def y_of(foot: str, facing: int) -> float:
        return facing * width / 2.0 if foot == "left" else -facing * width / 2.0

    def other(foot: str) -> str:
        return "left" if foot == "right" else "right"

    for foot in ("left", "right"):
        b.plant(foot, floor_in, y_of(foot, face), (0.0, 0.0), 0.0)
    b.wait(empty_before_s)
    visit_start = b.now

    def step_to(foot: str, x: float, y: float, kind: str, label: str, facing: int) -> None:
        """A deliberate single step from standing: unload, swing, land, share the weight."""
        b.shift(0.0 if foot == "left" else 1.0, 0.22)
        b.lift(foot)
        b.wait(swing)
        p = b.plant(foot, x, y, _roll(walk_dir, facing), T + ds)
        if p.on_mat:
            b.tl.contacts.append(Contact(b.now, x, y, foot, kind, label))
        b.shift(0.5, ds)

    def walk(lead: str, x_from: float, travel: int, facing: int) -> float:
        """Walk the mat's length from standing, closing with the feet side by side."""
        positions = []
        k = 1
        while abs(x_from + travel * k * gait.step_length_m) <= half - 0.16:
            positions.append(x_from + travel * k * gait.step_length_m + rng.normal(0.0, 0.012))
            k += 1
        if not positions:
            raise ValueError("the mat is too short for one step of this length")
        roll = _roll(walk_dir, facing)
        walk_start = b.now
        b.tl.sway_keys.append((b.now, 0.5, 2.5 if head_turn else 0.6))
        b.shift(0.0 if lead == "left" else 1.0, 0.22)
        b.lift(lead)
        b.wait(swing)
        foot = lead
        i = 0
        steps: list[tuple[float, float, str]] = [(x, 0.0, "step") for x in positions]
        if stumble_after_step is not None and stumble_after_step < len(steps) - 1:
            # a quick short extra step, wider, before the walk goes on
            x_prev = steps[stumble_after_step][0]
            steps.insert(stumble_after_step + 1, (x_prev + travel * 0.12, 0.04, "stumble"))
        while i < len(steps):
            x, widen, _kind = steps[i]
            y = y_of(foot, facing) * (1.0 + widen / (width / 2.0)) + rng.normal(0.0, 0.008)
            p = b.plant(foot, x, y, roll, T + ds)
            if p.on_mat:
                b.tl.contacts.append(Contact(b.now, x, y, foot, "step", direction))
            b.tl.bounce_steps.append(b.now)
            if i == len(steps) - 1:
                b.shift(1.0 if foot == "left" else 0.0, ds)
                break
            b.shift(1.0 if foot == "left" else 0.0, ds)
            if pause_after_step is not None and i == pause_after_step:
                b.shift(0.5, 0.3)  # both feet down in the stride, a breather
                pause = b.now
                b.wait(2.0)
                b.tl.segments.append(Segment("pause", pause, b.now))
                b.shift(1.0 if foot == "left" else 0.0, 0.25)
            b.lift(other(foot))
            quick = steps[i + 1][2] == "stumble"
            b.wait(max((T - ds) * (0.45 if quick else 1.0) + rng.normal(0.0, 0.012), 0.05))
            foot = other(foot)
            i += 1
        last_x = steps[-1][0]
        trailing = other(foot)
        b.lift(trailing)
        b.wait(swing)
        y = y_of(trailing, facing)
        b.plant(trailing, last_x, y, roll, T + ds)
        b.tl.contacts.append(Contact(b.now, last_x, y, trailing, "closing", direction))
        b.tl.bounce_steps.append(b.now)
        b.shift(0.5, ds)
        b.tl.segments.append(Segment("walk", walk_start, b.now, head_turn or direction))
        return last_x

    # Step on: one foot then the other, slowly, like a member joining the mat.
    step_to(first, step_x0, y_of(first, face), "step_on", "none", face)
    b.wait(0.3)
    step_to(second, step_x0, y_of(second, face), "step_on", "none", face)
    b.tl.sway_keys.append((b.now, 1.0, 1.0))
    stand_start = b.now
    if eyes_closed_after_s is not None and eyes_closed_after_s < stand_before_s:
        # eyes closed: the same member sways about half as much again (Romberg)
        closed = stand_start + eyes_closed_after_s
        b.tl.sway_keys += [(closed, 1.0, 1.0), (closed + 0.5, 1.6, 1.6)]
        b.tl.segments.append(Segment("eyes_open", stand_start, closed))
        b.tl.segments.append(Segment("eyes_closed", closed, stand_start + stand_before_s))
    b.wait(stand_before_s)
    b.tl.segments.append(Segment("stand", stand_start, b.now))
    off_x = floor_in
    last_foot = second

    if warrior_hold_s is not None:
        # Step back into Warrior: one foot far behind, most of the weight on the front foot.
        rear = first
        b.shift(0.0 if rear == "left" else 1.0, 0.25)  # weight onto the front foot
        b.lift(rear)
        b.wait(swing)
        rear_x = step_x0 - 0.75
        y_rear = y_of(rear, face)
        b.plant(rear, rear_x, y_rear, _roll("backward", face), T + ds)
        b.tl.contacts.append(Contact(b.now, rear_x, y_rear, rear, "step", "backward"))
        share_left = warrior_rear_share if rear == "left" else 1.0 - warrior_rear_share
        b.shift(share_left, 0.5)
        hold_start = b.now
        b.tl.sway_keys.append((b.now, 0.8, 1.3))
        b.wait(warrior_hold_s)
        b.tl.segments.append(Segment("warrior", hold_start, b.now, rear))
        b.tl.sway_keys.append((b.now, 1.0, 1.0))
        b.shift(0.0 if rear == "left" else 1.0, 0.3)  # back onto the front foot
        b.lift(rear)
        b.wait(swing)
        b.plant(rear, step_x0, y_of(rear, face), (0.0, 0.0), 0.0)
        b.tl.contacts.append(Contact(b.now, step_x0, y_of(rear, face), rear, "closing", "none"))
        b.shift(0.5, ds)
        b.wait(1.5)

    if direction not in ("none", "warrior"):
        walk_from = b.now
        last_x = walk(first, step_x0, -1, face)
        off_x = floor_out
        if turn_and_return:
            # Turn round on the spot: three small steps, then walk back the other way.
            b.tl.sway_keys.append((b.now, 1.0, 1.0))
            b.wait(0.8)
            turn_start = b.now
            new_face = -face
            for foot, x, y in (
                ("left", last_x + 0.12, 0.0),
                ("right", last_x, y_of("right", new_face)),
                ("left", last_x, y_of("left", new_face)),
            ):
                step_to(foot, x, y, "turn", "none", new_face)
            b.tl.segments.append(Segment("turn", turn_start, b.now))
            b.wait(0.6)
            last_x = walk("right", last_x, +1, new_face)
            off_x = floor_in
            face = new_face
        amp = bounce  # total force swings by this share around the weight while walking
        walks = [s for s in b.tl.segments if s.kind == "walk"]
        for seg in walks:
            b.tl.bounce_keys += [
                (seg.t_start_s + 0.3, 0.0),
                (seg.t_start_s + 0.3 + T, amp),
                (seg.t_end_s - T, amp),
                (seg.t_end_s, 0.0),
            ]
        b.tl.bounce_keys.sort()
        _ = walk_from
        b.tl.sway_keys.append((b.now, 1.0, 1.0))
        stand2 = b.now
        b.wait(stand_after_s)
        b.tl.segments.append(Segment("stand", stand2, b.now))
        last_foot = first

    if wall_share > 0:
        _hand_on_wall(b.tl, wall_share, wall_during)

    # Step off the far end onto the floor (or back where they came from, after standing).
    step_to(last_foot, off_x, y_of(last_foot, face), "step_off", "none", face)
    b.wait(0.2)
    step_to(other(last_foot), off_x, y_of(other(last_foot), face), "step_off", "none", face)
    b.tl.segments.append(Segment("visit", visit_start, b.now, direction))
    b.tl.t_end = b.now
    n = int(np.ceil((b.now + 1.0) * SWAY_GRID_HZ)) + 2
    # Quiet-standing sway of a healthy adult: RMS about 5 mm AP, 3.5 mm ML, mostly < 1 Hz.
    b.tl.sway_ap = _ou(rng, n, 0.8, 0.005) + _ou(rng, n, 0.08, 0.0006)
    b.tl.sway_ml = _ou(rng, n, 0.8, 0.0035) + _ou(rng, n, 0.08, 0.0005)
    b.tl.with_load_times()
    return b.tl


def _hand_on_wall(tl: Timeline, share: float, during: str) -> None:
    """The member puts a hand on the wall (about 0.4 s to lean on it) and takes it off."""
    kind = "stand" if during == "stand" else "walk"
    segment = [s for s in tl.segments if s.kind == kind][-1]
    start, end = segment.t_start_s, segment.t_end_s
    if during == "part":
        start, end = start + 0.25 * (end - start), start + 0.75 * (end - start)
    ramp = 0.4
    tl.wall_keys += [(start, 0.0), (start + ramp, share), (end - ramp, share), (end, 0.0)]
    tl.segments.append(Segment("wall", start + ramp / 2.0, end - ramp / 2.0, f"{share:.2f}"))
