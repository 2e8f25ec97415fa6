"""Cells sampled at slightly different instants, put onto one instant per frame.

Each HX711 converts on its own oscillator: even chips read by one clock train finish their
conversions at different moments (rates differ by up to a few %, so within seconds the
instants spread over a whole period, 12.5 ms at 80 SPS). A walking CoP moves up to about
1 mm per millisecond, so the cells must describe the same instant. The frame's time is the
earliest of the newest conversion instants; every other cell is linearly interpolated
between its previous and newest conversion onto that instant (both bracket it, as the
newest conversions lie within one period of each other). Causal: no frame waits for later
data.
"""

from __future__ import annotations

from collections.abc import Sequence


class FrameAligner:
    """Per-cell values at per-cell instants -> every cell at one instant (linear)."""

    def __init__(self, cells: int) -> None:
        self._prev_t: list[float | None] = [None] * cells
        self._prev_v: list[float] = [0.0] * cells

    def reset(self) -> None:
        """After a gap (dropped frames, a reset): nothing to interpolate from."""
        self._prev_t = [None] * len(self._prev_t)

    def align(
        self, sample_t: Sequence[float], values: Sequence[float]
    ) -> tuple[float, list[float]]:
        """(frame time, values at that time)."""
        t_frame = min(sample_t)
        out = []
        for i, (t, v) in enumerate(zip(sample_t, values, strict=True)):
            t0 = self._prev_t[i]
            if t0 is None or t <= t0 or t == t_frame:
                out.append(float(v))
            else:
                w = min(1.0, max(0.0, (t_frame - t0) / (t - t0)))
                v0 = self._prev_v[i]
                out.append(v0 + w * (v - v0))
            self._prev_t[i] = t
            self._prev_v[i] = float(v)
        return t_frame, out
