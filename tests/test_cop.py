"""CoP: exact statics for any layout, undefined when empty, batch == streaming to the bit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hardware.simulator.mat import cell_forces
from station.core.config import Cell, MatConfig
from station.core.cop import CopCalculator, cop_batch


def layout(*cells: tuple[float, float]) -> MatConfig:
    return MatConfig("test", 2.0, 1.0, tuple(Cell(f"c{i}", x, y) for i, (x, y) in enumerate(cells)))


TRIANGLE = layout((0.0, 0.0), (0.9, 0.0), (0.0, 0.45))
FOUR_CORNERS = layout((0.865, 0.255), (0.865, -0.255), (-0.865, -0.255), (-0.865, 0.255))
SIX_OFF_CENTRE = layout(
    (0.9, 0.3), (0.9, -0.25), (0.1, 0.4), (-0.05, -0.35), (-0.8, 0.28), (-0.95, -0.3)
)


def test_three_cells_hand_computed():
    # 300 N at (0.18, 0.135): moments about the axes give F1 = 300*0.18/0.9 = 60 N and
    # F2 = 300*0.135/0.45 = 90 N; F0 carries the rest, 150 N.
    frame = CopCalculator(TRIANGLE).update(0.0, (150.0, 60.0, 90.0))
    assert frame.fz == pytest.approx(300.0)
    assert frame.x == pytest.approx(0.18, abs=1e-12)
    assert frame.y == pytest.approx(0.135, abs=1e-12)


def test_four_corners_hand_computed():
    # Front cells carry 600 of 800 N, left cells 500:
    # x = 0.865 * (600 - 200) / 800, y = 0.255 * (500 - 300) / 800
    forces = (375.0, 225.0, 75.0, 125.0)  # FL, FR, BR, BL
    frame = CopCalculator(FOUR_CORNERS).update(0.0, forces)
    assert frame.x == pytest.approx(0.865 * 400 / 800, abs=1e-12)
    assert frame.y == pytest.approx(0.255 * 200 / 800, abs=1e-12)


@pytest.mark.parametrize("mat", [TRIANGLE, FOUR_CORNERS, SIX_OFF_CENTRE], ids=["3", "4", "6"])
def test_point_loads_come_back_where_they_were_put(mat):
    rng = np.random.default_rng(7)
    xs = np.array([c.x_m for c in mat.cells])
    ys = np.array([c.y_m for c in mat.cells])
    px = rng.uniform(xs.min(), xs.max(), 200) * 0.8
    py = rng.uniform(ys.min(), ys.max(), 200) * 0.8
    load = rng.uniform(50.0, 1500.0, 200)
    forces = cell_forces(mat, load, px, py)
    # statics: the cells hold the load and its moments
    np.testing.assert_allclose(forces.sum(axis=1), load, rtol=1e-12)
    np.testing.assert_allclose(forces @ xs, load * px, atol=1e-9)
    np.testing.assert_allclose(forces @ ys, load * py, atol=1e-9)
    fz, x, y = cop_batch(mat, forces)
    np.testing.assert_allclose(x, px, atol=1e-12)
    np.testing.assert_allclose(y, py, atol=1e-12)
    np.testing.assert_allclose(fz, load, rtol=1e-12)


@pytest.mark.parametrize("mat", [TRIANGLE, FOUR_CORNERS, SIX_OFF_CENTRE], ids=["3", "4", "6"])
def test_batch_and_streaming_agree_exactly(mat):
    rng = np.random.default_rng(3)
    forces = rng.normal(150.0, 120.0, (500, len(mat.cells)))
    forces[:50] = rng.normal(0.0, 0.3, (50, len(mat.cells)))  # an empty mat first
    fz_b, x_b, y_b = cop_batch(mat, forces)
    calc = CopCalculator(mat)
    for i, row in enumerate(forces):
        frame = calc.update(float(i), tuple(row.tolist()))
        assert frame.fz == fz_b[i]
        if frame.x is None:
            assert math.isnan(x_b[i]) and math.isnan(y_b[i])
        else:
            assert frame.x == x_b[i] and frame.y == y_b[i]


def test_cop_is_undefined_not_zero_when_nobody_is_on_the_mat():
    calc = CopCalculator(FOUR_CORNERS)
    frame = calc.update(0.0, (0.4, -0.2, 0.1, 0.3))
    assert frame.x is None and frame.y is None
    assert frame.fz == pytest.approx(0.6)
    _, x, y = cop_batch(FOUR_CORNERS, np.zeros((3, 4)))
    assert np.isnan(x).all() and np.isnan(y).all()
