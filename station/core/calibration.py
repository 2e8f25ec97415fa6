"""Counts to newtons: one offset (tare) and one gain per cell.

Forces are rounded to 0.01 N, the HX711's own noise (about 10 mN per cell at gain 128), so
that the numbers stored in the database (as whole centinewtons) are exactly the numbers the
live core used: a stored session re-analysed later gives the same results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

FORCE_DECIMALS = 2


@dataclass(frozen=True)
class Calibration:
    offsets: tuple[float, ...]
    gains: tuple[float, ...]  # counts per newton

    def __post_init__(self) -> None:
        if len(self.offsets) != len(self.gains):
            raise ValueError("one offset and one gain per cell")
        if any(g == 0 for g in self.gains):
            raise ValueError("a gain of zero cannot be inverted")

    @classmethod
    def identity(cls, cells: int) -> Calibration:
        """For sources that already deliver newtons (a replayed recording)."""
        return cls(offsets=(0.0,) * cells, gains=(1.0,) * cells)

    def to_newtons(self, counts: Sequence[float]) -> tuple[float, ...]:
        return tuple(
            round((c - o) / g, FORCE_DECIMALS)
            for c, o, g in zip(counts, self.offsets, self.gains, strict=True)
        )

    def to_newtons_batch(self, counts: np.ndarray) -> np.ndarray:
        """The vectorised twin of to_newtons: the same numbers for an (n, cells) array."""
        forces = (np.asarray(counts, dtype=float) - np.array(self.offsets)) / np.array(self.gains)
        return np.round(forces, FORCE_DECIMALS)

    def to_counts(self, forces: np.ndarray) -> np.ndarray:
        return np.asarray(forces, dtype=float) * np.array(self.gains) + np.array(self.offsets)

    def as_dict(self) -> dict[str, list[float]]:
        return {"offsets": list(self.offsets), "gains_counts_per_n": list(self.gains)}
