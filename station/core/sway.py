"""Quiet-standing sway metrics (Prieto et al. 1996; Duarte & Freitas 2010; Quijoux et al. 2021).

Computed exactly as the published datasets compute them (see the validation docs), so their
published values are reproduced: CoP in the plane, no filtering unless asked, over the whole
record.

- path length and mean velocity: the sum of the CoP's step lengths, and that over duration;
- RMS and range per axis (AP = x, along the mat; ML = y, across it), about the mean;
- 95 % prediction ellipse area: pi * sqrt(l1 * l2) of the covariance eigenvalues (ddof 1)
  scaled by F(0.95; 2, n-2) * 2 * (n-1) * (n+1) / (n * (n-2));
- mean frequency, F50 and F95 of Welch spectra (Hann window, nperseg = n/2,
  noverlap = n/4, mean removed): the headline `mean_frequency_hz`, `f50_hz` and `f95_hz`
  use the sum of the AP and ML spectra, as the published `COPmfreq`; per-axis mean
  frequencies are extra keys.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np


def f_ppf_2(p: float, d2: float) -> float:
    """Quantile of the F(2, d2) distribution, in closed form (its CDF is 1 - (1+2x/d2)^(-d2/2))."""
    return d2 / 2.0 * ((1.0 - p) ** (-2.0 / d2) - 1.0)


def ellipse95_area(
    x: np.ndarray, y: np.ndarray, noise_cov: tuple[float, float, float] | None = None
) -> float:
    n = len(x)
    if n < 4:
        return float("nan")
    cov = np.cov(np.vstack([x, y]), ddof=1)
    if noise_cov is not None:  # noise adds its covariance to the sway's
        cov = cov - np.array([[noise_cov[0], noise_cov[2]], [noise_cov[2], noise_cov[1]]])
    scale = f_ppf_2(0.95, n - 2) * 2.0 * (n - 1) * (n + 1) / (n * (n - 2))
    eig = np.linalg.eigvalsh(cov) * scale
    return float(math.pi * math.sqrt(max(eig[0], 0.0) * max(eig[1], 0.0)))


def welch_psd(signal: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided Welch PSD with a periodic Hann window, nperseg = n/2, noverlap = n/4.

    The same estimate as scipy.signal.welch with those settings (constant detrend per
    segment, density scaling), written out here because the core uses numpy only. Where n
    is not a multiple of 4, scipy's integer steps would drop the last quarter of the record;
    here the three segments are spread evenly over all of it (identical when n % 4 == 0).
    """
    n = len(signal)
    nperseg = max(n // 2, 8)
    step = nperseg - n // 4
    count = max(1, round((n - nperseg) / step) + 1)
    starts = np.round(np.linspace(0, n - nperseg, count)).astype(int)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(nperseg) / nperseg)
    scale = 1.0 / (fs * np.sum(window**2))
    spectra = []
    for s in starts:
        seg = signal[s : s + nperseg]
        seg = (seg - seg.mean()) * window
        spectra.append(np.abs(np.fft.rfft(seg)) ** 2 * scale)
    psd = np.mean(spectra, axis=0)
    if nperseg % 2 == 0:
        psd[1:-1] *= 2.0
    else:
        psd[1:] *= 2.0
    return np.fft.rfftfreq(nperseg, 1.0 / fs), psd


def _cumulative_trapezoid(y: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.concatenate([[0.0], np.cumsum((y[1:] + y[:-1]) * np.diff(x) / 2.0)])


def spectral_frequencies(freqs: np.ndarray, psd: np.ndarray) -> dict[str, float]:
    """Mean frequency and the frequencies below which 50 % and 95 % of the power lie.

    Trapezoidal integration over the spectrum, as in Duarte's published analysis code.
    """
    area = _cumulative_trapezoid(psd, freqs)
    total = float(area[-1])
    if total <= 0:
        return {"mean": float("nan"), "f50": float("nan"), "f95": float("nan")}
    mean = float(_cumulative_trapezoid(freqs * psd, freqs)[-1] / total)
    return {
        "mean": mean,
        "f50": float(freqs[np.nonzero(area >= 0.50 * total)[0][0]]),
        "f95": float(freqs[np.nonzero(area >= 0.95 * total)[0][0]]),
    }


def resample_uniform(t: np.ndarray, *signals: np.ndarray, fs: float) -> tuple[np.ndarray, ...]:
    """Linear interpolation onto a uniform grid: spectra need even sampling, mats do not give it."""
    grid = t[0] + np.arange(math.floor((t[-1] - t[0]) * fs) + 1) / fs
    return (grid, *(np.interp(grid, t, s) for s in signals))


def lowpass(signal: np.ndarray, fs: float, cutoff_hz: float) -> np.ndarray:
    """Zero-phase 2nd-order Butterworth low-pass (forward and backward), numpy only.

    Path length grows with every bit of measurement noise, so a mat's CoP is smoothed
    above the band of human sway (< 5 Hz) before path and velocity are measured.
    """
    if cutoff_hz >= fs / 2:
        return signal.copy()
    k = math.tan(math.pi * cutoff_hz / fs)
    norm = 1.0 + math.sqrt(2.0) * k + k * k
    b0 = k * k / norm
    b = (b0, 2.0 * b0, b0)
    a1 = 2.0 * (k * k - 1.0) / norm
    a2 = (1.0 - math.sqrt(2.0) * k + k * k) / norm

    def run(x: np.ndarray) -> np.ndarray:
        y = np.empty_like(x)
        x1 = x2 = x[0]
        y1 = y2 = x[0]  # start in steady state: no ringing from a step at the edge
        for i, xi in enumerate(x.tolist()):
            yi = b[0] * xi + b[1] * x1 + b[2] * x2 - a1 * y1 - a2 * y2
            x2, x1 = x1, xi
            y2, y1 = y1, yi
            y[i] = yi
        return y

    return run(run(np.asarray(signal, dtype=float))[::-1])[::-1]


@dataclass(frozen=True)
class CopNoise:
    """The mat's own noise as the CoP sees it, after the report's low-pass."""

    step_var_m2: float = 0.0  # added to the mean squared CoP step
    cov_m2: tuple[float, float, float] = (0.0, 0.0, 0.0)  # added to (var AP, var ML, cov)


def cop_noise(
    t: np.ndarray,
    idle_forces: np.ndarray,
    cell_xy: np.ndarray,
    load_n: float,
    cop_xy: tuple[float, float],
    filter_hz: float,
) -> CopNoise:
    """What the mat's own noise adds to the CoP's steps and spread, after the low-pass.

    The platform's noise (electronics, floor, mains hum aliased by the ADC's rate, the hum
    smeared by timing jitter) is measured where it is alone: on the empty mat, per cell,
    with its correlations between cells. Under a load `load_n` standing at `cop_xy`, a
    force noise n_i on the cells moves the CoP by sum(n_i (p_i - cop)) / load; that
    trace, resampled and low-passed like the CoP, gives the noise variance of one step.
    """
    idle_forces = np.asarray(idle_forces, dtype=float)
    t = np.asarray(t, dtype=float)
    if len(t) < 16 or t[-1] <= t[0] or load_n <= 0:
        return CopNoise()
    noise = idle_forces - idle_forces.mean(axis=0)
    nx = noise @ (cell_xy[:, 0] - cop_xy[0]) / load_n
    ny = noise @ (cell_xy[:, 1] - cop_xy[1]) / load_n
    fs = (len(t) - 1) / (t[-1] - t[0])
    _, nx, ny = resample_uniform(t, nx, ny, fs=fs)
    nx = lowpass(nx, fs, filter_hz)
    ny = lowpass(ny, fs, filter_hz)
    cov = np.cov(np.vstack([nx, ny]), ddof=1)
    return CopNoise(
        float(np.var(np.diff(nx)) + np.var(np.diff(ny))),
        (float(cov[0, 0]), float(cov[1, 1]), float(cov[0, 1])),
    )


def sway_metrics(
    t: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    *,
    filter_hz: float | None = None,
    noise: CopNoise | None = None,
) -> dict[str, Any]:
    """Sway metrics of a quiet-standing CoP record (metres, seconds).

    With filter_hz, the CoP is first put on a uniform grid at its mean rate and low-passed;
    without, it is used as given, as the published datasets are.

    Path length adds up every wiggle, the mat's noise too. With the mat's noise (from
    cop_noise) the path is scaled by sqrt(1 - noise / mean squared step): for steps that
    are roughly Gaussian in the plane (sway is), the mean step length is proportional to
    the root mean square step, and noise adds its variance to the square. The noise's
    covariance is likewise taken out of the ellipse's; frequencies are left as measured.
    """
    t = np.asarray(t, dtype=float)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    keep = np.isfinite(x) & np.isfinite(y)
    t, x, y = t[keep], x[keep], y[keep]
    n = len(t)
    if n < 16 or t[-1] <= t[0]:
        return empty_sway()
    fs = (n - 1) / (t[-1] - t[0])
    if filter_hz is not None:
        t, x, y = resample_uniform(t, x, y, fs=fs)
        x = lowpass(x, fs, filter_hz)
        y = lowpass(y, fs, filter_hz)
        n = len(t)
    duration = n / fs  # as published: N samples over N / fs seconds
    ap = x - x.mean()
    ml = y - y.mean()
    steps = np.hypot(np.diff(x), np.diff(y))
    path = float(np.sum(steps))
    mean_square = float(np.mean(steps**2)) if len(steps) else 0.0
    noise_factor = 1.0
    if noise is not None and noise.step_var_m2 > 0 and mean_square > 0:
        noise_factor = math.sqrt(max(1.0 - noise.step_var_m2 / mean_square, 0.0))
        path *= noise_factor
    freqs, psd_ap = welch_psd(ap, fs)
    _, psd_ml = welch_psd(ml, fs)
    both = spectral_frequencies(freqs, psd_ap + psd_ml)
    sap = spectral_frequencies(freqs, psd_ap)
    sml = spectral_frequencies(freqs, psd_ml)
    return {
        "path_length_m": path,
        "mean_velocity_m_per_s": path / duration,
        "rms_ml_m": float(np.sqrt(np.mean(ml**2))),
        "rms_ap_m": float(np.sqrt(np.mean(ap**2))),
        "range_ml_m": float(np.ptp(ml)),
        "range_ap_m": float(np.ptp(ap)),
        "ellipse95_area_m2": ellipse95_area(x, y, noise.cov_m2 if noise else None),
        "mean_frequency_hz": both["mean"],
        "f50_hz": both["f50"],
        "f95_hz": both["f95"],
        "mean_frequency_ap_hz": sap["mean"],
        "mean_frequency_ml_hz": sml["mean"],
        "duration_s": float(duration),
        "path_noise_factor": noise_factor,
    }


def empty_sway() -> dict[str, Any]:
    keys = [
        "path_length_m", "mean_velocity_m_per_s", "rms_ml_m", "rms_ap_m", "range_ml_m",
        "range_ap_m", "ellipse95_area_m2", "mean_frequency_hz", "f50_hz", "f95_hz",
        "mean_frequency_ap_hz", "mean_frequency_ml_hz", "duration_s", "path_noise_factor",
    ]  # fmt: skip
    return dict.fromkeys(keys)


class RunningSway:
    """Sway so far, updated frame by frame for live feedback (O(1) per frame).

    Path length of the CoP low-passed causally (the same 2nd-order Butterworth as the report,
    run forwards only), and running means and RMS per axis. The report's numbers come from
    sway_metrics over the stored frames; this is the live meter's view of them.
    """

    def __init__(self, fs: float = 80.0, cutoff_hz: float = 12.0) -> None:
        k = math.tan(math.pi * cutoff_hz / fs)
        norm = 1.0 + math.sqrt(2.0) * k + k * k
        self._b0 = k * k / norm
        self._a1 = 2.0 * (k * k - 1.0) / norm
        self._a2 = (1.0 - math.sqrt(2.0) * k + k * k) / norm
        self.reset()

    def reset(self) -> None:
        self.n = 0
        self.path_m = 0.0
        self.t0 = self.t = 0.0
        self._state: list[list[float]] = []
        self._last: tuple[float, float] | None = None
        self._sum = [0.0, 0.0]
        self._sq = [0.0, 0.0]

    def _stage(self, state: list[float], value: float) -> float:
        x1, x2, y1, y2 = state
        out = self._b0 * (value + 2.0 * x1 + x2) - self._a1 * y1 - self._a2 * y2
        state[:] = [value, x1, out, y1]
        return out

    def update(self, t: float, x: float | None, y: float | None) -> None:
        if x is None or y is None:
            return
        if not self._state:
            # two cascaded stages per axis: the magnitude response of the report's
            # forward-backward filter, without looking ahead; started in steady state
            self._state = [[x] * 4, [x] * 4, [y] * 4, [y] * 4]
            self.t0 = t
        fx = self._stage(self._state[1], self._stage(self._state[0], x))
        fy = self._stage(self._state[3], self._stage(self._state[2], y))
        if self._last is not None:
            self.path_m += math.hypot(fx - self._last[0], fy - self._last[1])
        self._last = (fx, fy)
        self.n += 1
        self.t = t
        self._sum[0] += fx
        self._sum[1] += fy
        self._sq[0] += fx * fx
        self._sq[1] += fy * fy

    @property
    def mean_velocity_m_per_s(self) -> float | None:
        return self.path_m / (self.t - self.t0) if self.t > self.t0 else None

    def rms(self, axis: int) -> float | None:
        if self.n < 2:
            return None
        mean = self._sum[axis] / self.n
        return math.sqrt(max(self._sq[axis] / self.n - mean * mean, 0.0))
