"""The signal as the station would really see it.

From a total force and CoP (or per-cell forces) measured by a lab instrument at its own rate:
per-cell forces by statics for the chosen mat layout, then 80 frames/s with the timing jitter
of a real ADC clock, HX711 noise, mechanical noise and slow drift, counts, and the station's
calibration maths with a residual gain error per cell (a real calibration is not perfect).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hardware.simulator.mat import Electronics, cell_forces
from station.core.config import MatConfig

RATE_HZ = 80.0


@dataclass(frozen=True)
class MatSignal:
    t: np.ndarray
    forces: np.ndarray  # (n, cells) newtons, what the station's calibration gives


def station_signal(
    mat: MatConfig,
    t: np.ndarray,
    fz: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    seed: int,
    gain_error: float = 0.003,
    platform_noise_n: float | None = None,
    hum_n: float = 0.0,
    jitter_s: float = 0.0004,
) -> MatSignal:
    """Resample a lab record (any rate) to the mat: statics, timing, electronics, calibration.

    Force and moments are interpolated (not the CoP), which is what a plate sampled at other
    instants would measure.
    """
    rng = np.random.default_rng(seed)
    n = int(np.floor((t[-1] - t[0]) * RATE_HZ))
    jitter = np.clip(rng.normal(0.0, jitter_s, n), -5 * jitter_s, 5 * jitter_s)
    ts = t[0] + np.arange(n) / RATE_HZ + jitter
    ts = ts[(ts >= t[0]) & (ts <= t[-1])]
    x0 = np.nan_to_num(x)
    y0 = np.nan_to_num(y)
    fzs = np.interp(ts, t, fz)
    mx = np.interp(ts, t, fz * x0)
    my = np.interp(ts, t, fz * y0)
    with np.errstate(invalid="ignore", divide="ignore"):
        xs = np.where(fzs > 1e-6, mx / fzs, 0.0)
        ys = np.where(fzs > 1e-6, my / fzs, 0.0)
    forces = cell_forces(mat, fzs, xs, ys)
    if hum_n > 0:
        # mains hum picked up by the wiring, sampled at the ADC's (jittered) instants: at
        # 80 SPS a 50 Hz tone aliases to 30 Hz, and the jitter smears it into broadband noise
        hum_rng = np.random.default_rng([seed, 50])  # the other draws stay as without hum
        phase = hum_rng.uniform(0.0, 2.0 * np.pi)
        spread = hum_rng.normal(0.0, 0.2, len(mat.cells))
        forces = forces + hum_n * np.sin(2.0 * np.pi * 50.0 * ts[:, None] + phase + spread)
    electronics = Electronics.random(len(mat.cells), rng)
    if platform_noise_n is not None:
        electronics.platform_noise_n = platform_noise_n
    counts = electronics.counts(forces, np.diff(ts, prepend=ts[0] - 1 / RATE_HZ), rng)
    calibration = electronics.calibration
    # a calibration good to a few tenths of a per cent, as a real known-mass calibration is
    gains = np.array(calibration.gains) * (1.0 + rng.normal(0.0, gain_error, len(mat.cells)))
    newtons = np.round((counts - np.array(calibration.offsets)) / gains, 3)
    return MatSignal(ts - ts[0], newtons)
