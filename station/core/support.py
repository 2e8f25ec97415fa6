"""Hand on the wall: body weight the mat does not carry because the member leans on something.

The mat weighs the member. A hand on the wall (or a rail, or a teacher's arm) takes part of
the weight, so the total vertical force drops below the member's standing weight and stays
there. Two things look alike and must not count:

- **walking's bounce**: in single support the total force swings 10-20 % around the body
  weight, once per step. The force is averaged over `window_s` (2 s: two to four steps at
  any usual cadence), which leaves at most a few per cent of that swing;
- **stepping on and off**: one foot on the floor takes about half the weight. Any frame
  under `min_load_share` of the standing weight in the window (a foot off the mat) keeps
  the window from counting.

The **standing weight** is measured while the member stands quietly (`quiet_s` with the force
steady to `quiet_sd_share`), first when they step on; a later quiet stand that is heavier
(they leaned on the wall while the first was measured) raises it. A member who leans on the
wall from stepping on to stepping off never stands heavier than they lean, so for a member
the station also knows a **reference weight** from earlier visits (the median of their last
`history_visits` unsupported visits' measured weight within `history_days`: see
station/store_members.py); the standing weight starts there, and a heavier quiet stand
still raises it. A guest has only what the visit shows. Support is the averaged
force below the standing weight by `margin_share` for at least `min_s`; its span is dated to
the middle of the averaging window, so it starts about when the hand went on.

Streaming, one frame at a time, the same live and for a whole recording (the report runs it
over the stored frames), so the kiosk's note and the stored report agree.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .thresholds import ON_MAT_N  # nobody weighs less on the mat


@dataclass(frozen=True)
class SupportConfig:
    """The detector's rules: the config's `[support]` table (station/default_config.toml)."""

    window_s: float = 2.0  # averaging of the total force: walking's bounce cancels out
    margin_share: float = 0.08  # force below the standing weight by this share of it...
    min_s: float = 2.0  # ... for at least this long: supported
    min_load_share: float = 0.4  # a frame under this share of the weight: a foot off the mat
    quiet_s: float = 1.5  # a quiet stand this long gives the standing weight
    quiet_sd_share: float = 0.02  # quiet: force steady to 2 % of itself (sd)
    # a member's reference weight: the median of this many of their latest unsupported
    # visits' measured weights, none older than history_days (a weight changes slowly)
    history_visits: int = 5
    history_days: float = 90.0


@dataclass
class SupportSpan:
    """A stretch of time with part of the weight off the mat, in the frames' own seconds."""

    t_start_s: float
    t_end_s: float
    offload_sum: float = 0.0  # sum over frames of the share of weight offloaded
    frames: int = 0

    @property
    def duration_s(self) -> float:
        return self.t_end_s - self.t_start_s

    @property
    def weight_share(self) -> float:
        return self.offload_sum / self.frames if self.frames else 0.0


@dataclass
class _Window:
    """Force over the last seconds: running mean and sd in O(1) a frame."""

    span_s: float
    frames: deque = field(default_factory=deque)
    total: float = 0.0
    total_sq: float = 0.0

    def add(self, t: float, fz: float) -> None:
        self.frames.append((t, fz))
        self.total += fz
        self.total_sq += fz * fz
        while self.frames and self.frames[0][0] <= t - self.span_s:
            _, old = self.frames.popleft()
            self.total -= old
            self.total_sq -= old * old

    def clear(self) -> None:
        self.frames.clear()
        self.total = self.total_sq = 0.0

    @property
    def covered_s(self) -> float:
        return self.frames[-1][0] - self.frames[0][0] if self.frames else 0.0

    @property
    def mean(self) -> float:
        return self.total / len(self.frames)

    @property
    def sd(self) -> float:
        n = len(self.frames)
        return math.sqrt(max(self.total_sq / n - (self.total / n) ** 2, 0.0))


class SupportDetector:
    """Feed `update(t_s, fz_n)` every frame; `supported_now`, `spans` and `summary()`.

    `update` returns "on" the frame support is confirmed, "off" the frame it ends, else None
    (what the kiosk is told).
    """

    def __init__(
        self, config: SupportConfig | None = None, standing_weight_n: float | None = None
    ) -> None:
        """`standing_weight_n`: a weight known beforehand, the member's reference weight
        (a heavier quiet stand in this visit raises it)."""
        self.config = config or SupportConfig()
        c = self.config
        self.reference_weight_n = standing_weight_n
        self.standing_weight_n = standing_weight_n
        self.measured_weight_n: float | None = None  # this visit's own quiet stands only
        self.spans: list[SupportSpan] = []
        self.observed_s = 0.0  # time the detector could judge (weight known, on the mat)
        self.supported_now = False
        self._avg = _Window(c.window_s)
        self._quiet = _Window(c.quiet_s)
        self._low: deque = deque()  # times of recent frames with a foot off the mat
        self._candidate: SupportSpan | None = None
        self._last_t: float | None = None

    def update(self, t_s: float, fz_n: float) -> str | None:
        c = self.config
        dt = 0.0 if self._last_t is None else t_s - self._last_t
        self._last_t = t_s
        self._avg.add(t_s, fz_n)
        self._quiet.add(t_s, fz_n)
        self._learn_weight()
        weight = self.standing_weight_n
        if weight is None:
            return None
        if fz_n < max(c.min_load_share * weight, ON_MAT_N):
            self._low.append(t_s)
        while self._low and self._low[0] <= t_s - c.window_s:
            self._low.popleft()
        if self._avg.covered_s < 0.9 * c.window_s or self._low:
            return self._interrupt()
        self.observed_s += dt
        offload = 1.0 - self._avg.mean / weight
        centre = t_s - c.window_s / 2.0  # the average speaks for the middle of its window
        if offload < c.margin_share:
            return self._interrupt()
        span = self._candidate
        if span is None:
            span = self._candidate = SupportSpan(centre, centre)
        span.t_end_s = centre
        # the weight share counts the frames inside the span, not the smeared average
        middle = self._avg.frames[bisect.bisect_left(self._avg.frames, (centre, -math.inf))]
        span.offload_sum += 1.0 - middle[1] / weight
        span.frames += 1
        if not self.supported_now and span.duration_s >= c.min_s:
            self.supported_now = True
            self.spans.append(span)
            return "on"
        return None

    def _learn_weight(self) -> None:
        c = self.config
        q = self._quiet
        if q.covered_s < 0.9 * c.quiet_s:
            return
        mean = q.mean
        if mean < ON_MAT_N or q.sd > c.quiet_sd_share * mean:
            return
        if self.measured_weight_n is None or mean > self.measured_weight_n:
            self.measured_weight_n = mean
        if self.standing_weight_n is None or mean > self.standing_weight_n:
            self.standing_weight_n = mean

    def _interrupt(self) -> str | None:
        self._candidate = None
        if self.supported_now:
            self.supported_now = False
            return "off"
        return None

    def summary(self) -> dict[str, Any]:
        """What the report says (`support_summary`) from what this detector saw."""
        return support_summary(
            self.spans,
            self.standing_weight_n,
            self.observed_s,
            measured_weight_n=self.measured_weight_n,
            reference_weight_n=self.reference_weight_n,
        )


def support_summary(
    spans: list[SupportSpan],
    standing_weight_n: float | None,
    observed_s: float,
    *,
    measured_weight_n: float | None = None,
    reference_weight_n: float | None = None,
) -> dict[str, Any]:
    """The report's `support`: the flag, the shares of time and of weight, and the spans.

    `supported` is None (unknown) when no standing weight is known: a guest who leaned on
    the wall from stepping on to stepping off cannot be told from a lighter one.
    `measured_weight_n` is what this visit's quiet stands showed (what the member's next
    reference weight is learnt from), `reference_weight_n` the weight known beforehand.
    """
    supported_s = sum(s.duration_s for s in spans)
    frames = sum(s.frames for s in spans)
    weight_share = sum(s.offload_sum for s in spans) / frames if frames else 0.0
    judged = standing_weight_n is not None and observed_s > 0
    return {
        "supported": bool(spans) if judged else None,
        "time_share": round(min(supported_s / observed_s, 1.0), 4) if judged else None,
        "weight_share": round(weight_share, 4) if spans else None,
        "supported_s": round(supported_s, 3),
        "observed_s": round(observed_s, 3),
        "standing_weight_n": _round(standing_weight_n),
        "measured_weight_n": _round(measured_weight_n),
        "reference_weight_n": _round(reference_weight_n),
        "spans": [
            {
                "t_start_s": round(s.t_start_s, 3),
                "t_end_s": round(s.t_end_s, 3),
                "weight_share": round(s.weight_share, 4),
            }
            for s in spans
        ],
    }


def _round(weight_n: float | None) -> float | None:
    return None if weight_n is None else round(float(weight_n), 2)


def support_report(
    t_s: np.ndarray,
    fz_n: np.ndarray,
    config: SupportConfig | None = None,
    standing_weight_n: float | None = None,
) -> dict[str, Any]:
    """SupportDetector's rules over a whole recording at once, for the report.

    The same definition as the streaming detector, in numpy: windows by time with cumulative
    sums, the running maximum of quiet means for the standing weight. A Python loop per frame
    costs about 2.5 us, a fifth of the offline analysis's whole budget; this costs a few
    per cent of it. Both give the same spans (tests/test_support.py).
    """
    c = config or SupportConfig()
    t = np.asarray(t_s, dtype=float)
    fz = np.asarray(fz_n, dtype=float)
    n = len(t)
    if n == 0:
        return support_summary([], standing_weight_n, 0.0, reference_weight_n=standing_weight_n)
    index = np.arange(n)
    sums = np.concatenate([[0.0], np.cumsum(fz)])
    squares = np.concatenate([[0.0], np.cumsum(fz * fz)])

    def window(span_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        first = np.searchsorted(t, t - span_s, side="right")  # frames in (t - span, t]
        count = index + 1 - first
        mean = (sums[index + 1] - sums[first]) / count
        var = (squares[index + 1] - squares[first]) / count - mean**2
        return first, mean, np.sqrt(np.maximum(var, 0.0))

    q_first, q_mean, q_sd = window(c.quiet_s)
    quiet = (
        (t - t[q_first] >= 0.9 * c.quiet_s)
        & (q_mean >= ON_MAT_N)
        & (q_sd <= c.quiet_sd_share * q_mean)
    )
    weight = np.maximum.accumulate(np.where(quiet, q_mean, -np.inf))
    measured = float(weight[-1]) if np.isfinite(weight[-1]) else None
    reference = standing_weight_n
    if standing_weight_n is not None:
        weight = np.maximum(weight, standing_weight_n)
    known = np.isfinite(weight)
    if not known.any():
        return support_summary([], None, 0.0)  # nothing measured, nothing known beforehand
    weight = np.where(known, weight, np.nan)
    with np.errstate(invalid="ignore"):
        low = known & (fz < np.maximum(c.min_load_share * weight, ON_MAT_N))
    lows = np.concatenate([[0], np.cumsum(low)])
    a_first, a_mean, _ = window(c.window_s)
    valid = known & (t - t[a_first] >= 0.9 * c.window_s) & (lows[index + 1] - lows[a_first] == 0)
    dt = np.diff(t, prepend=t[0])
    observed_s = float(np.sum(dt[valid]))
    with np.errstate(invalid="ignore"):
        offload = 1.0 - a_mean / weight
    below = valid & (offload >= c.margin_share)
    centre = t - c.window_s / 2.0
    middle = np.minimum(np.searchsorted(t, centre, side="left"), n - 1)
    with np.errstate(invalid="ignore"):
        offload_middle = 1.0 - fz[middle] / weight
    spans = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], below.astype(np.int8), [0]])))
    for a, b in zip(edges[::2], edges[1::2], strict=True):  # frames a..b-1 below
        confirmed = np.flatnonzero(centre[a:b] - centre[a] >= c.min_s)
        if confirmed.size:
            spans.append(
                SupportSpan(
                    float(centre[a]),
                    float(centre[b - 1]),
                    float(np.sum(offload_middle[a:b])),
                    b - a,
                )
            )
    return support_summary(
        spans,
        float(weight[-1]),
        observed_s,
        measured_weight_n=measured,
        reference_weight_n=reference,
    )


def combined_support(reports: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One exercise over several visits: supported if any was, shares over all of them."""
    judged = [r for r in reports if r and r.get("supported") is not None]
    if not judged:
        return None
    observed = sum(r["observed_s"] for r in judged)
    supported = sum(r["supported_s"] for r in judged)
    weights = [(r["weight_share"], r["supported_s"]) for r in judged if r["weight_share"]]
    return {
        "supported": any(r["supported"] for r in judged),
        "time_share": round(min(supported / observed, 1.0), 4) if observed else None,
        "weight_share": round(sum(w * s for w, s in weights) / supported, 4) if supported else None,
    }


def support_words(support: dict[str, Any] | None) -> list[str]:
    """The summary's plain note, when the wall took part of the weight."""
    if not support or not support.get("supported"):
        return []
    time_pct = round(100 * (support.get("time_share") or 0.0))
    weight_pct = round(100 * (support.get("weight_share") or 0.0))
    return [
        f"Hand on the wall for {time_pct} % of the time it was measured, "
        f"taking about {weight_pct} % of your weight; the figures above had that help."
    ]


def detect_support(
    t_s, fz_n, config: SupportConfig | None = None, standing_weight_n: float | None = None
) -> SupportDetector:
    """The streaming detector run over a whole recording (times and total forces)."""
    detector = SupportDetector(config, standing_weight_n)
    for t, f in zip(t_s, fz_n, strict=True):
        detector.update(float(t), float(f))
    return detector
