"""Where the detector puts each foot: its own CoP over its single support (docs/design.md).

A pass on the mat starts and ends with a foot whose partner stands on the floor, out of the
plate's sight. Stepping on, the plate sees the first foot take its load at its landing end;
stepping off, the last foot let go at its other end. Neither belongs to single support, and
counted into the placement they shift the first and last foot along the walk.
"""

from __future__ import annotations

import numpy as np
import pytest

from station.core.gait import analyse_walking, gait_metrics
from station.core.steps import detect_steps

WEIGHT_N = 700.0
DOUBLE_SUPPORT_S = 0.15
STEP_S = 0.6
ROLL_M = 0.08  # the CoP rolls from +8 cm to -8 cm of the foot's place over its stance
RATE_HZ = 80.0


def walk_over_the_mat(double_support_s: float = DOUBLE_SUPPORT_S):
    """Four backward steps of 0.30 m; the feet before and after are on the floor.

    Each foot takes the load over one double support, carries it alone until the next foot
    lands, hands it over in the next double support. Its CoP rolls along it at constant
    speed, so its mean over single support is exactly where it was put.
    """
    feet = [(0.6 - 0.3 * k, 0.06 if k % 2 else -0.06, 0.5 + STEP_S * k) for k in range(4)]
    t = np.arange(0.0, 0.5 + STEP_S * 3 + 1.2, 1.0 / RATE_HZ)
    fz = np.zeros_like(t)
    mx = np.zeros_like(t)
    my = np.zeros_like(t)
    stance_s = STEP_S + double_support_s
    for x0, y0, t0 in feet:
        u = t - t0
        load = WEIGHT_N * np.clip(
            np.minimum(u / double_support_s, (stance_s - u) / double_support_s), 0.0, 1.0
        )
        fz += load
        mx += load * (x0 + ROLL_M - 2 * ROLL_M * np.clip(u / stance_s, 0.0, 1.0))
        my += load * y0
    on = fz > 0
    x = np.where(on, mx / np.where(on, fz, 1.0), np.nan)
    y = np.where(on, my / np.where(on, fz, 1.0), np.nan)
    return t, fz, x, y, feet


@pytest.mark.parametrize("double_support_s", [0.1, 0.15, 0.2])
def test_first_and_last_foot_are_placed_over_their_single_support(double_support_s):
    t, fz, x, y, feet = walk_over_the_mat(double_support_s)
    detector = detect_steps(t, fz, x, y)
    contacts = detector.contacts
    assert [c.kind for c in contacts] == ["step_on", "step", "step", "step"]
    for contact, (x0, y0, _) in zip(contacts, feet, strict=True):
        assert contact.final
        assert contact.x_m == pytest.approx(x0, abs=0.002)
        assert contact.y_m == pytest.approx(y0, abs=0.002)
    # the report's step length: the first and last steps as long as the others
    passes, _ = analyse_walking(detector.visits, expected_direction="backward")
    assert gait_metrics(passes)["step_length_m"] == pytest.approx(0.30, abs=0.003)


def test_the_roll_kept_for_the_facing_cue_is_the_whole_dwell():
    """The placement keeps to single support; the roll the facing cue reads does not."""
    t, fz, x, y, _ = walk_over_the_mat()
    last = detect_steps(t, fz, x, y).contacts[-1]
    rolled_to = min(p[1] for p in last.plateau_xy)
    assert rolled_to < last.x_m - ROLL_M + 0.02  # up to the end of the roll off the mat
