"""Hard cases for the step detector: standing with weight shifts, shuffles, turns, stops.

The studio scenarios (person.build_pass) walk the mat from end to end. What a member also
does, and what a plate finds hardest to tell apart, is written here as a choreography: a
sequence of moves on the same physical model (feet planted at places, one smooth weight
share between them, sway, the roll along each foot). Every foot that lands somewhere on the
mat is a truth contact; a weight shift between feet that stay where they are is not.

Scenario builders (`HARD_CASES`), each `(gait, rng, mat_length_m) -> Timeline`:

- ``stand_shifts``: a long stand with weight shifts of growing amplitude, from a lean to
  all the weight on one foot, slow and quick, side to side, and rocking from foot to foot;
- ``shuffle``: short, slow backward steps (0.10-0.20 m) with long double support;
- ``turn_spot``: a few steps, a stepping turn on the spot in the middle of the mat, back;
- ``turn_end``: the whole mat, a stepping turn at its far end, and the whole mat back;
- ``start_stop``: walk, stop mid-mat with the feet together, stand and shift, walk on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from .person import (
    SWAY_GRID_HZ,
    Contact,
    Gait,
    Segment,
    Timeline,
    _Builder,
    _ou,
    _roll,
)

BOUNCE = 0.09  # walking's vertical bounce, as in person.build_pass


class Choreography:
    """Moves of one visit on the mat, written onto a Timeline.

    Facing +1 looks towards +x; a backward walk travels against the facing. The walker's
    left foot is at +y when facing +x.
    """

    def __init__(self, gait: Gait, rng: np.random.Generator, mat_length_m: float) -> None:
        self.gait = gait
        self.rng = rng
        self.half = mat_length_m / 2.0
        self.b = _Builder(gait, self.half, 0.0)
        self.b.backward = True
        self.face = 1
        self.x = self.half - 0.24  # where the feet stand (their midpoint along the mat)
        self.feet: dict[str, tuple[float, float]] = {}
        self.walk_windows: list[tuple[float, float]] = []
        floor = self.half + 0.25
        for foot in ("left", "right"):
            self.b.plant(foot, floor, self.side(foot), (0.0, 0.0), 0.0)
        self.b.wait(2.0)
        self.visit_start = self.b.now

    # ---- geometry ------------------------------------------------------------------

    def side(self, foot: str, width: float | None = None) -> float:
        w = self.gait.step_width_m if width is None else width
        return self.face * w / 2.0 if foot == "left" else -self.face * w / 2.0

    @staticmethod
    def other(foot: str) -> str:
        return "left" if foot == "right" else "right"

    def _share_on(self, foot: str) -> float:
        """The left share that puts all the weight on this foot."""
        return 1.0 if foot == "left" else 0.0

    # ---- moves ---------------------------------------------------------------------

    def step(
        self,
        foot: str,
        x: float,
        y: float,
        kind: str = "step",
        direction: str = "none",
        unload_s: float = 0.25,
        swing_s: float | None = None,
        load_s: float | None = None,
        roll: tuple[float, float] = (0.0, 0.0),
        roll_s: float = 0.0,
    ) -> None:
        """A deliberate step from standing: weight off the foot, swing, land, share again."""
        b = self.b
        swing = swing_s if swing_s is not None else max(self.gait.step_time_s - 0.2, 0.3)
        b.shift(self._share_on(self.other(foot)), unload_s)
        b.lift(foot)
        b.wait(swing)
        p = b.plant(foot, x, y, roll, roll_s)
        if p.on_mat:
            b.tl.contacts.append(Contact(b.now, x, y, foot, kind, direction))
        self.feet[foot] = (x, y)
        b.shift(0.5, load_s if load_s is not None else self.gait.double_support_s + 0.1)

    def step_on(self, lead: str | None = None) -> None:
        lead = lead or ("left" if self.rng.random() < 0.5 else "right")
        self.step(lead, self.x, self.side(lead), "step_on", swing_s=0.45)
        self.b.wait(0.3)
        second = self.other(lead)
        self.step(second, self.x, self.side(second), "step_on", swing_s=0.45)
        self.b.tl.sway_keys.append((self.b.now, 1.0, 1.0))

    def step_off(self) -> None:
        """Off the nearer end of the mat, onto the studio floor."""
        end = self.half + 0.3 if self.x > 0 else -self.half - 0.3
        lead = "left" if self.rng.random() < 0.5 else "right"
        self.step(lead, end, self.side(lead), "step_off", swing_s=0.45)
        self.b.wait(0.2)
        self.step(self.other(lead), end, self.side(self.other(lead)), "step_off", swing_s=0.45)

    def stand(self, seconds: float, shifts: list[tuple[float, float, float]] = ()) -> None:
        """Stand; each shift is (left share to go to, how long the move takes, hold).

        Shifts are spread over the stand; the weight comes back to both feet after each.
        """
        b = self.b
        start = b.now
        b.tl.sway_keys.append((b.now, 1.0, 1.0))
        busy = sum(2 * move + hold for _, move, hold in shifts)
        gap = max((seconds - busy) / (len(shifts) + 1), 0.3)
        for share, move, hold in shifts:
            b.wait(gap)
            b.shift(share, move)
            b.wait(hold)
            b.shift(0.5, move)
        b.wait(max(start + seconds - b.now, 0.0))
        b.tl.segments.append(Segment("stand", start, b.now))

    def rock(self, cycles: int, period_s: float, amplitude: float) -> None:
        """Rocking from foot to foot without lifting either (share 0.5 +- amplitude)."""
        b = self.b
        for _ in range(cycles):
            b.shift(0.5 + amplitude, period_s / 2.0)
            b.shift(0.5 - amplitude, period_s / 2.0)
        b.shift(0.5, period_s / 4.0)

    def walk(self, lengths: list[float], travel: int, direction: str = "backward") -> None:
        """Walk from standing (feet together) with these step lengths, closing the feet.

        The lead foot is chosen at random; steps alternate, each lands `length` beyond the
        previous foot; the trailing foot closes beside the last one.
        """
        b = self.b
        g = self.gait
        T = g.step_time_s
        ds = g.double_support_s
        swing = max(T - ds, 0.2)
        face = self.face
        roll = _roll(direction, face)
        b.backward = direction == "backward"
        start = b.now
        b.tl.sway_keys.append((b.now, 0.5, 0.6))
        lead = "left" if self.rng.random() < 0.5 else "right"
        b.shift(self._share_on(self.other(lead)), 0.22)
        b.lift(lead)
        b.wait(swing)
        foot = lead
        x = self.x
        for i, length in enumerate(lengths):
            x = x + travel * length + self.rng.normal(0.0, 0.008)
            y = self.side(foot) + self.rng.normal(0.0, 0.008)
            p = b.plant(foot, x, y, roll, T + ds)
            if p.on_mat:
                b.tl.contacts.append(Contact(b.now, x, y, foot, "step", direction))
            b.tl.bounce_steps.append(b.now)
            self.feet[foot] = (x, y)
            b.shift(self._share_on(foot), ds)
            if i < len(lengths) - 1:
                b.lift(self.other(foot))
                b.wait(max(T - ds + self.rng.normal(0.0, 0.012), 0.1))
                foot = self.other(foot)
        trailing = self.other(foot)
        b.lift(trailing)
        b.wait(swing)
        y = self.side(trailing)
        b.plant(trailing, x, y, roll, T + ds)
        b.tl.contacts.append(Contact(b.now, x, y, trailing, "closing", direction))
        b.tl.bounce_steps.append(b.now)
        self.feet[trailing] = (x, y)
        b.shift(0.5, ds)
        self.x = x
        self.walk_windows.append((start, b.now))
        b.tl.segments.append(Segment("walk", start, b.now, direction))

    def turn(self, toward: str = "left") -> None:
        """A stepping turn on the spot (180 degrees in four pivot steps about the feet's middle).

        Turning to the left the left foot leads: a quarter turn puts the feet along the mat,
        the next quarter puts them across it again, sides swapped.
        """
        b = self.b
        start = b.now
        w = self.gait.step_width_m
        x0 = self.x
        first = toward
        second = self.other(toward)
        # a quarter turn: the feet stand along the mat, half a width either side of x0
        sign = 1 if (first == "left") == (self.face > 0) else -1
        moves = [
            (first, x0 - sign * w / 2.0, 0.02 * sign),
            (second, x0 + sign * w / 2.0, -0.02 * sign),
        ]
        self.face = -self.face
        moves += [(first, x0, self.side(first)), (second, x0, self.side(second))]
        for foot, x, y in moves:
            x += self.rng.normal(0.0, 0.01)
            self.step(foot, x, y, "turn", unload_s=0.2, swing_s=0.35, load_s=0.15)
        self.x = x0
        b.tl.segments.append(Segment("turn", start, b.now, toward))

    def finish(self) -> Timeline:
        b = self.b
        b.tl.segments.append(Segment("visit", self.visit_start, b.now, "hard"))
        b.tl.t_end = b.now + 1.0
        for start, end in self.walk_windows:
            T = self.gait.step_time_s
            b.tl.bounce_keys += [(start + 0.3, 0.0), (start + 0.3 + T, BOUNCE)]
            b.tl.bounce_keys += [(end - T, BOUNCE), (end, 0.0)]
        b.tl.bounce_keys.sort()
        b.tl.sway_keys.sort()
        n = int(np.ceil((b.tl.t_end + 1.0) * SWAY_GRID_HZ)) + 2
        b.tl.sway_ap = _ou(self.rng, n, 0.8, 0.005) + _ou(self.rng, n, 0.08, 0.0006)
        b.tl.sway_ml = _ou(self.rng, n, 0.8, 0.0035) + _ou(self.rng, n, 0.08, 0.0005)
        b.tl.with_load_times()
        return b.tl


def stand_shifts(gait: Gait, rng: np.random.Generator, mat_length_m: float) -> Timeline:
    """Two minutes of standing, weight shifts growing from a lean to one foot carrying all."""
    c = Choreography(gait, rng, mat_length_m)
    c.step_on()
    shifts = []
    for k, amplitude in enumerate(np.linspace(0.1, 0.5, 16)):
        toward = 1.0 if k % 2 == 0 else -1.0
        move = float(rng.uniform(0.25, 1.2))
        hold = float(rng.uniform(0.3, 3.0))
        shifts.append((0.5 + toward * float(amplitude), move, hold))
    c.stand(60.0, shifts)
    c.rock(cycles=6, period_s=float(rng.uniform(1.0, 2.0)), amplitude=0.4)
    c.stand(30.0, [(0.0, 0.4, 1.5), (1.0, 0.4, 1.5), (0.05, 0.3, 4.0), (0.95, 0.3, 4.0)])
    c.rock(cycles=4, period_s=float(rng.uniform(0.7, 1.2)), amplitude=0.5)
    c.stand(20.0)
    c.step_off()
    return c.finish()


def shuffle(gait: Gait, rng: np.random.Generator, mat_length_m: float) -> Timeline:
    """Short, slow backward steps of 0.10-0.20 m with long double support, and stops."""
    slow = replace(
        gait,
        cadence_steps_per_min=min(gait.cadence_steps_per_min, 75.0),
        double_support_s=max(gait.double_support_s, 0.3),
        step_width_m=min(gait.step_width_m, 0.14),
    )
    c = Choreography(slow, rng, mat_length_m)
    c.step_on()
    c.stand(3.0, [(0.3, 0.6, 0.5)])
    while True:
        lengths = [float(v) for v in rng.uniform(0.10, 0.20, int(rng.integers(3, 6)))]
        if c.x - sum(lengths) < -c.half + 0.2:
            break
        c.walk(lengths, travel=-1)
        c.stand(float(rng.uniform(1.5, 3.0)), [(float(rng.uniform(0.25, 0.75)), 0.5, 0.5)])
    c.step_off()
    return c.finish()


def _there_and_back(
    gait: Gait, rng: np.random.Generator, mat_length_m: float, walk_m: float, pause_s: float
) -> Timeline:
    """Walk back walk_m from the step-on end, a stepping turn, and the same way back."""
    c = Choreography(gait, rng, mat_length_m)
    c.step_on()
    c.stand(2.0)
    n = max(int(walk_m / gait.step_length_m), 1)
    c.walk([gait.step_length_m] * n, travel=-1)
    c.stand(pause_s)
    c.turn("left" if rng.random() < 0.5 else "right")
    c.stand(pause_s)
    c.walk([gait.step_length_m] * n, travel=+1)
    c.stand(1.5)
    c.step_off()
    return c.finish()


def turn_spot(gait: Gait, rng: np.random.Generator, mat_length_m: float) -> Timeline:
    """A few steps back, a stepping turn in the middle of the mat, and back again."""
    return _there_and_back(gait, rng, mat_length_m, mat_length_m / 2 - 0.3, 0.8)


def turn_end(gait: Gait, rng: np.random.Generator, mat_length_m: float) -> Timeline:
    """The whole mat backwards, a stepping turn at its far end, and the whole mat back."""
    return _there_and_back(gait, rng, mat_length_m, mat_length_m - 0.6, 0.6)


def start_stop(gait: Gait, rng: np.random.Generator, mat_length_m: float) -> Timeline:
    """Walk two or three steps, stop with the feet together, shift the weight, walk on."""
    c = Choreography(gait, rng, mat_length_m)
    c.step_on()
    c.stand(2.0, [(0.35, 0.5, 0.5)])
    while True:
        lengths = [gait.step_length_m * float(rng.uniform(0.8, 1.1))] * int(rng.integers(2, 4))
        if c.x - sum(lengths) < -c.half + 0.16:
            break
        c.walk(lengths, travel=-1)
        shift = float(rng.choice([0.15, 0.3, 0.7, 0.85]))
        c.stand(float(rng.uniform(2.0, 4.0)), [(shift, 0.5, 0.8)])
    c.step_off()
    return c.finish()


HARD_CASES: dict[str, Callable[[Gait, np.random.Generator, float], Timeline]] = {
    "stand_shifts": stand_shifts,
    "shuffle": shuffle,
    "turn_spot": turn_spot,
    "turn_end": turn_end,
    "start_stop": start_stop,
}
