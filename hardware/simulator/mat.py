"""The simulated platform: statics from body to cells, then load cells and HX711 counts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from station.core.calibration import Calibration
from station.core.config import MatConfig, SimConfig
from station.core.frames import RawFrame

from .choreography import HARD_CASES
from .person import Contact, Gait, Segment, Timeline, build_pass

HX711_MAX = 0x7FFFFF
HX711_MIN = -0x800000


def plane_distribution(mat: MatConfig) -> np.ndarray:
    """(cells, 3) matrix K with cell forces = K @ [Fz, Fz*x, Fz*y].

    A rigid plate on cells of equal stiffness tilts as a plane, so each cell's force is
    linear in its position: F_i = a + b x_i + c y_i. The three unknowns follow from the
    force and the two moment balances. Exact for any layout of 3 or more cells not on a line.
    """
    a = np.array([[1.0, c.x_m, c.y_m] for c in mat.cells])
    m = a.T @ a  # [[N, Σx, Σy], [Σx, Σx², Σxy], [Σy, Σxy, Σy²]]
    return a @ np.linalg.inv(m)


def cell_forces(mat: MatConfig, fz: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per-cell vertical forces (n, cells) for a load fz at (x, y); zero where fz is zero."""
    fz = np.asarray(fz, dtype=float)
    x = np.nan_to_num(np.asarray(x, dtype=float))
    y = np.nan_to_num(np.asarray(y, dtype=float))
    rhs = np.stack([fz, fz * x, fz * y], axis=1)
    return rhs @ plane_distribution(mat).T


@dataclass
class Electronics:
    """Load cells and HX711s: per-cell offset and gain, noise and slow drift, in counts."""

    offsets: np.ndarray
    gains: np.ndarray  # counts per newton
    noise_counts: float = 40.0  # HX711 at gain 128 and 80 SPS
    platform_noise_n: float = 0.03  # a real platform: floor vibration, cabling (3x the ADC)
    drift_n_per_sqrt_s: float = 0.004  # thermal creep: a few newtons over an hour
    drift_n: np.ndarray = field(default=None)  # type: ignore[assignment]

    @classmethod
    def random(cls, cells: int, rng: np.random.Generator) -> Electronics:
        # A 50 kg half-bridge cell at 5 V excitation and gain 128: about 4300 counts/N.
        gains = rng.uniform(3900.0, 4700.0, cells) * rng.choice([-1.0, 1.0], cells)
        offsets = rng.uniform(-250_000.0, 250_000.0, cells).round()
        return cls(offsets=offsets, gains=gains, drift_n=np.zeros(cells))

    @property
    def calibration(self) -> Calibration:
        return Calibration(tuple(self.offsets.tolist()), tuple(self.gains.tolist()))

    def counts(self, forces: np.ndarray, dt: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, cells = forces.shape
        steps = rng.normal(0.0, 1.0, (n, cells)) * (
            self.drift_n_per_sqrt_s * np.sqrt(np.maximum(dt, 0.0))[:, None]
        )
        drift = self.drift_n + np.cumsum(steps, axis=0)
        self.drift_n = drift[-1].copy()
        load = forces + drift + rng.normal(0.0, self.platform_noise_n, (n, cells))
        raw = self.offsets + load * self.gains + rng.normal(0.0, self.noise_counts, (n, cells))
        return np.clip(np.round(raw), HX711_MIN, HX711_MAX)


SCENARIOS: dict[str, list[dict]] = {
    # A studio's mix: backward passes, head turns, a forward pass, a quiet stand, a wall hand.
    "studio": [
        {"direction": "backward"},
        {"direction": "backward", "head_turn": "left"},
        {"direction": "backward", "head_turn": "right"},
        {"direction": "forward"},
        {"direction": "none", "stand_before_s": 20.0},
        {"direction": "backward", "hand_on_wall_share": 0.15},
    ],
    "backward": [{"direction": "backward"}],
    "forward": [{"direction": "forward"}],
    "stand": [{"direction": "none", "stand_before_s": 60.0, "empty_before_s": 2.0}],
    # the kiosk's exercises, as a member would do them
    "romberg": [
        {
            "direction": "none",
            "stand_before_s": 64.0,
            "empty_before_s": 2.0,
            "eyes_closed_after_s": 32.0,
        }
    ],
    "warrior": [{"direction": "warrior", "warrior_hold_s": 25.0, "empty_before_s": 2.0}],
    "head_turns": [
        {"direction": "backward", "head_turn": "left"},
        {"direction": "backward", "head_turn": "right"},
    ],
    # what a real studio mat also sees: pauses, a stumble, turning round and coming back
    "awkward": [
        {"direction": "backward", "pause_after_step": 1},
        {"direction": "backward", "stumble_after_step": 1},
        {"direction": "backward", "turn_and_return": True},
        {"direction": "backward", "hand_on_wall_share": 0.3},
    ],
    # a hand on the wall for a share of the weight: a walk, the way back, a stand; the
    # next member steps on 8 s after the last stepped off (time to read the summary)
    "wall": [
        {"empty_before_s": 8.0, "direction": "backward", "wall_share": 0.2},
        {
            "empty_before_s": 8.0,
            "direction": "backward",
            "wall_share": 0.12,
            "turn_and_return": True,
        },
        {"empty_before_s": 8.0, "direction": "backward"},
        {
            "empty_before_s": 8.0,
            "direction": "backward",
            "wall_share": 0.3,
            "wall_during": "stand",
            "stand_after_s": 8.0,
        },
    ],
}
# the step detector's hard cases (choreography.py): one visit of each, again and again
SCENARIOS.update({name: [{"hard_case": name}] for name in HARD_CASES})


@dataclass(frozen=True)
class Visit:
    start_s: float
    timeline: Timeline


class SimulatedMat:
    """A frame source: a simulated member visiting the mat again and again.

    Seeded and deterministic. The ground truth (every foot contact, every segment) is kept
    in absolute source time for tests and for `simulate`.
    """

    name = "sim"

    def __init__(
        self, mat: MatConfig, sim: SimConfig, rate_hz: float = 80.0, keep_truth: bool = True
    ) -> None:
        self.mat = mat
        # False for the running station: visits that are over are forgotten (no growth)
        self.keep_truth = keep_truth
        self._visits_added = 0
        self.sim = sim
        self.rate_hz = rate_hz
        # Independent streams: the member's behaviour does not depend on how frames are read.
        person, electronics, timing = np.random.SeedSequence(sim.seed).spawn(3)
        self.person_rng = np.random.default_rng(person)
        self.rng = np.random.default_rng(electronics)
        self.timing_rng = np.random.default_rng(timing)
        self.electronics = Electronics.random(len(mat.cells), self.rng)
        self._calibration: Calibration | None = None
        self.visits: list[Visit] = []
        self._next_visit_start = sim.start_delay_s
        self._plan = SCENARIOS[sim.scenario]

    @property
    def calibration(self) -> Calibration:
        # read on every frame by the acquisition: built once, the electronics never change
        if self._calibration is None:
            self._calibration = self.electronics.calibration
        return self._calibration

    @property
    def contacts(self) -> list[Contact]:
        out = []
        for v in self.visits:
            out += [
                Contact(
                    float(v.start_s + c.t_s),
                    float(c.x_m),
                    float(c.y_m),
                    c.foot,
                    c.kind,
                    c.direction,
                    float(v.start_s + c.t_load_s),
                )
                for c in v.timeline.contacts
            ]
        return out

    @property
    def segments(self) -> list[Segment]:
        return [
            Segment(s.kind, float(v.start_s + s.t_start_s), float(v.start_s + s.t_end_s), s.detail)
            for v in self.visits
            for s in v.timeline.segments
        ]

    def _add_visit(self) -> Visit:
        spec = dict(self._plan[self._visits_added % len(self._plan)])
        if self.sim.scenario == "studio" and self._visits_added:
            # time for the next person to choose on the kiosk before they step on
            spec.setdefault("empty_before_s", self.sim.pause_between_visits_s)
        self._visits_added += 1
        hand = spec.pop("hand_on_wall_share", self.sim.hand_on_wall_share)
        # Members do not repeat themselves exactly: a few per cent from visit to visit.
        wobble = self.person_rng.normal(1.0, 0.03, 2)
        gait = Gait(
            body_mass_kg=self.sim.body_mass_kg,
            step_length_m=self.sim.step_length_m * wobble[0],
            step_width_m=self.sim.step_width_m,
            cadence_steps_per_min=self.sim.cadence_steps_per_min * wobble[1],
            double_support_s=self.sim.double_support_s,
            hand_on_wall_share=hand,
        )
        hard_case = spec.pop("hard_case", None)
        if hard_case is not None:
            timeline = HARD_CASES[hard_case](gait, self.person_rng, self.mat.length_m)
        else:
            timeline = build_pass(gait, self.person_rng, mat_length_m=self.mat.length_m, **spec)
        visit = Visit(self._next_visit_start, timeline)
        self.visits.append(visit)
        self._next_visit_start += timeline.t_end
        return visit

    def body_load(self, times: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Total force and CoP at source times (which must not run ahead of planning)."""
        fz = np.zeros(len(times))
        x = np.full(len(times), np.nan)
        y = np.full(len(times), np.nan)
        while not self.visits or times[-1] >= self._next_visit_start:
            self._add_visit()
        if not self.keep_truth:  # times only move forwards: an ended visit is never sampled
            self.visits = [v for v in self.visits if v.start_s + v.timeline.t_end > times[0]]
        for v in self.visits:
            inside = (times >= v.start_s) & (times < v.start_s + v.timeline.t_end)
            if inside.any():
                fz[inside], x[inside], y[inside] = v.timeline.sample(times[inside] - v.start_s)
        return fz, x, y

    def sample_times(self, first_index: int, count: int) -> np.ndarray:
        """Frame times: nominal rate with the jitter of a real ADC and kernel scheduling."""
        n = np.arange(first_index, first_index + count)
        jitter = np.clip(self.timing_rng.normal(0.0, 0.0004, count), -0.002, 0.002)
        return n / self.rate_hz + jitter

    def render(self, first_index: int, count: int) -> tuple[np.ndarray, np.ndarray]:
        """(times, counts) for `count` frames starting at frame `first_index`."""
        times = self.sample_times(first_index, count)
        fz, x, y = self.body_load(times)
        forces = cell_forces(self.mat, fz, x, y)
        dt = np.diff(times, prepend=times[0] - 1.0 / self.rate_hz)
        return times, self.electronics.counts(forces, dt, self.rng)

    def frames(self, realtime: bool = True, chunk: int = 8) -> Iterator[RawFrame]:
        """Frames forever; paced to the wall clock when realtime, else as fast as possible."""
        base = time.monotonic()
        index = 0
        while True:
            times, counts = self.render(index, chunk)
            index += chunk
            for t, row in zip(times, counts, strict=True):
                stamp = base + float(t)
                if realtime:
                    delay = stamp - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)  # pacing the simulated ADC, not synchronisation
                yield RawFrame(stamp, tuple(row.tolist()))
