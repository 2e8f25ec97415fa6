"""Centre of pressure from N load cells under a rigid plate.

Fz = sum F_i and CoP = sum F_i r_i / Fz: exact by moment balance, whatever the plate's
stiffness. The streaming and batch versions run the same operations in the same order
(cell by cell), so they agree to the last bit; a test holds them to that.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .config import MatConfig
from .frames import ForceFrame
from .thresholds import EMPTY_MAT_N

DEFAULT_MIN_LOAD_N = EMPTY_MAT_N  # below it the CoP is undefined: nobody on the mat


class CopCalculator:
    """Per-frame CoP for the live path (plain floats: faster than numpy for a few cells)."""

    def __init__(self, mat: MatConfig, min_load_n: float = DEFAULT_MIN_LOAD_N) -> None:
        self.xs = tuple(c.x_m for c in mat.cells)
        self.ys = tuple(c.y_m for c in mat.cells)
        self.min_load_n = min_load_n

    def update(self, t: float, forces: Sequence[float]) -> ForceFrame:
        fz = 0.0
        mx = 0.0
        my = 0.0
        for f, x, y in zip(forces, self.xs, self.ys, strict=True):
            fz = fz + f
            mx = mx + f * x
            my = my + f * y
        if fz < self.min_load_n:
            return ForceFrame(t, tuple(forces), fz, None, None)
        return ForceFrame(t, tuple(forces), fz, mx / fz, my / fz)


def cop_batch(
    mat: MatConfig, forces: np.ndarray, min_load_n: float = DEFAULT_MIN_LOAD_N
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fz, x and y for an (n, cells) force array; x and y are NaN where Fz < min_load_n."""
    forces = np.asarray(forces, dtype=float)
    n = forces.shape[0]
    fz = np.zeros(n)
    mx = np.zeros(n)
    my = np.zeros(n)
    for i, cell in enumerate(mat.cells):
        f = forces[:, i]
        fz = fz + f
        mx = mx + f * cell.x_m
        my = my + f * cell.y_m
    loaded = fz >= min_load_n
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    x[loaded] = mx[loaded] / fz[loaded]
    y[loaded] = my[loaded] / fz[loaded]
    return fz, x, y
