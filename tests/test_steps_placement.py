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


def walk_over_the_mat(
    double_support_s: float = DOUBLE_SUPPORT_S,
    roll_power: float = 1.0,
    step_m: float = 0.3,
    roll_m: float = ROLL_M,
    step_s: float = STEP_S,
):
    """Four steps of step_m towards -x; the feet before and after are on the floor.

    Each foot takes the load over one double support, carries it alone until the next foot
    lands, hands it over in the next double support. Its CoP rolls along it from +roll_m to
    -roll_m of its place: at constant speed (roll_power 1, its mean over single support is
    exactly where it was put), or quick at first and slowing (roll_power < 1).
    """
    feet = [(0.6 - step_m * k, 0.06 if k % 2 else -0.06, 0.5 + step_s * k) for k in range(4)]
    t = np.arange(0.0, 0.5 + step_s * 3 + 1.2, 1.0 / RATE_HZ)
    fz = np.zeros_like(t)
    mx = np.zeros_like(t)
    my = np.zeros_like(t)
    stance_s = step_s + double_support_s
    for x0, y0, t0 in feet:
        u = t - t0
        load = WEIGHT_N * np.clip(
            np.minimum(u / double_support_s, (stance_s - u) / double_support_s), 0.0, 1.0
        )
        fz += load
        mx += load * (x0 + roll_m - 2 * roll_m * np.clip(u / stance_s, 0.0, 1.0) ** roll_power)
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


def test_single_support_begins_when_the_old_foot_lets_go_not_when_the_roll_settles():
    """A brisk walk (0.40 m steps, 0.12 s of double support) whose CoP rolls quickly after
    landing and slows later: where the CoP settles is well along the new foot. Taken for
    the new foot's place while the old one let go, it dated the off late and put the feet
    between 1 cm towards their far end."""
    double_support_s, step_s, roll_m, power = 0.12, 0.55, 0.10, 0.7
    t, fz, x, y, feet = walk_over_the_mat(double_support_s, power, 0.4, roll_m, step_s)
    stance_s = step_s + double_support_s
    contacts = detect_steps(t, fz, x, y).contacts
    assert len(contacts) == 4
    for contact, (x0, _, t0) in zip(contacts[1:-1], feet[1:-1], strict=True):
        u = t - t0
        single = (u >= double_support_s) & (u < step_s)  # the whole weight on this foot
        own_cop = x0 + roll_m - 2 * roll_m * (u[single] / stance_s) ** power
        assert contact.x_m == pytest.approx(float(own_cop.mean()), abs=0.003)
