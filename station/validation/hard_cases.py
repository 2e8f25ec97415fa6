"""Hard cases made by the simulator, scored with the same matcher as the real data.

Real data sets rarely hold what trips a single-plate step detector: a member standing and
shifting the weight, shuffling, turning on the spot, stopping mid-mat. The simulator's
choreographies (hardware/simulator/choreography.py) make them, with their truth: every
foot landing on the mat and the time its own force passed 30 N. Each timeline is sampled
at 1 kHz as a lab instrument would and goes through the same station path and scoring as
the real walks (station_path.py, run.score_walk).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hardware.simulator.choreography import HARD_CASES
from hardware.simulator.person import Gait, Timeline, _roll_offset, _smooth_keys

from .datasets import TruthStep, WalkRecord

LAB_RATE_HZ = 1000.0


@dataclass(frozen=True)
class Family:
    name: str
    scenario: str
    visits: int
    gaits: tuple[Gait, ...]


def _gaits(**vary: tuple[float, ...]) -> tuple[Gait, ...]:
    keys = list(vary)
    count = len(next(iter(vary.values())))
    return tuple(Gait(**{k: vary[k][i] for k in keys}) for i in range(count))


TURNING_GAITS = _gaits(
    body_mass_kg=(55.0, 65.0, 72.0, 80.0, 95.0, 60.0),
    step_length_m=(0.25, 0.3, 0.32, 0.28, 0.35, 0.22),
    step_width_m=(0.12, 0.16, 0.18, 0.14, 0.2, 0.13),
)

FAMILIES = (
    # 5 visits of 2 minutes: 10 minutes of standing with weight shifts
    Family(
        "standing, weight shifts",
        "stand_shifts",
        5,
        _gaits(
            body_mass_kg=(48.0, 62.0, 75.0, 90.0, 110.0),
            step_width_m=(0.10, 0.16, 0.22, 0.28, 0.14),
        ),
    ),
    Family(
        "shuffle 0.10-0.20 m",
        "shuffle",
        6,
        _gaits(
            body_mass_kg=(55.0, 65.0, 72.0, 80.0, 95.0, 60.0),
            step_width_m=(0.10, 0.12, 0.14, 0.12, 0.11, 0.13),
            cadence_steps_per_min=(60.0, 70.0, 75.0, 65.0, 72.0, 68.0),
            double_support_s=(0.35, 0.3, 0.3, 0.4, 0.32, 0.45),
        ),
    ),
    Family("turn on the spot", "turn_spot", 6, TURNING_GAITS),
    Family("turn at the end of the mat", "turn_end", 6, TURNING_GAITS),
    Family(
        "start and stop mid-mat",
        "start_stop",
        6,
        _gaits(
            body_mass_kg=(55.0, 65.0, 72.0, 80.0, 95.0, 60.0),
            step_length_m=(0.25, 0.3, 0.32, 0.28, 0.35, 0.22),
            cadence_steps_per_min=(80.0, 90.0, 100.0, 85.0, 95.0, 75.0),
        ),
    ),
)


def truth_placement(timeline: Timeline, foot: str, t_land: float) -> tuple[float, float]:
    """The foot's own CoP, load-weighted, over the single support after it landed.

    The real data's definition of placement (docs/validation.md). A foot that never carries
    the weight alone (a closing step, feet together) is placed by its own CoP over its
    whole stance, equally weighted.
    """
    plant = next(p for p in timeline.plants if p.foot == foot and abs(p.t_land - t_land) < 1e-9)
    t_end = min(plant.t_lift, timeline.t_end)
    ts = np.arange(plant.t_land, t_end, 0.001)
    share = np.clip(_smooth_keys(timeline.share_keys, ts), 0.0, 1.0)
    if foot == "right":
        share = 1.0 - share
    x = plant.x + _roll_offset(plant, ts)
    alone = share >= 0.98
    if alone.any():
        # the first stretch of single support only: later ones follow weight shifts
        first = np.flatnonzero(alone)
        gaps = np.flatnonzero(np.diff(first) > 1)
        last = first[gaps[0]] if gaps.size else first[-1]
        sel = slice(first[0], last + 1)
        return float(np.average(x[sel], weights=share[sel])), plant.y
    return float(np.mean(x)), plant.y


VALIDATION_SEED = 12  # the visits scored by `validate`
DEVELOPMENT_SEED = 7  # other visits of the same families, for tuning the detector


def hard_record(
    family: Family, visit: int, mat_length_m: float, seed: int = VALIDATION_SEED
) -> WalkRecord:
    """One simulated visit as a lab record with its truth.

    The detector's thresholds are tuned on the DEVELOPMENT_SEED visits (other draws of the
    same choreographies); `validate` scores the VALIDATION_SEED ones.
    """
    gait = family.gaits[visit % len(family.gaits)]
    rng = np.random.default_rng([seed, FAMILIES.index(family), visit])
    timeline = HARD_CASES[family.scenario](gait, rng, mat_length_m)
    t = np.arange(0.0, timeline.t_end, 1.0 / LAB_RATE_HZ)
    fz, x, y = timeline.sample(t)
    steps = []
    walks = [s for s in timeline.segments if s.kind == "walk"]
    for k, c in enumerate(timeline.contacts):
        in_walk = [w for w, s in enumerate(walks) if s.t_start_s <= c.t_s <= s.t_end_s]
        # consecutive contacts of one walk form a pass; every other contact stands alone
        index = in_walk[0] if in_walk else 1000 + k
        px, py = truth_placement(timeline, c.foot, c.t_s)
        steps.append(TruthStep(c.t_load_s, px, py, c.foot, index))
    return WalkRecord(
        f"{family.scenario} {visit}",
        t,
        fz,
        x,
        y,
        steps,
        "backward",
        {"duration_s": float(timeline.t_end), "segments": timeline.segments},
    )
