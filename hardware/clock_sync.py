"""The Pico's microsecond clock mapped onto the host's monotonic clock.

As Klipper does with its microcontrollers (klippy/clocksync.py), the host asks the Pico for
its clock now and then and notes when it asked and when the answer came. The answer was
read, most likely, half a round trip after the question: one (Pico time, host time) pair.
- Jitter: a round trip longer than the best recent one (the host was busy, USB was late)
  makes a poor pair; those are dropped. The best round trip ages slowly, so a link that
  becomes slower for good is followed.
- Drift: crystals differ by up to a few hundred ppm. The pairs feed an exponentially
  weighted linear fit of host time against Pico time: its slope is the rate ratio and
  follows temperature changes, its intercept the offset.
Everything takes times as arguments (no clock is read here), so tests run ten simulated
minutes in milliseconds.
"""

from __future__ import annotations

WRAP_US = 1 << 32


class Unwrap32:
    """The Pico's 32-bit microsecond counter (it wraps every 71.6 minutes) made endless."""

    def __init__(self) -> None:
        self._last: int | None = None
        self._full = 0

    def __call__(self, raw: int) -> int:
        if self._last is None:
            self._last, self._full = raw, raw
            return raw
        step = (raw - self._last) % WRAP_US
        if step >= WRAP_US // 2:  # slightly older than the newest seen: step back
            step -= WRAP_US
        self._last = raw
        self._full += step
        return self._full


class ClockSync:
    """host_s = offset + slope * pico_s, fitted on filtered ping round trips."""

    def __init__(self, decay: float = 1 / 40, rtt_age_s_per_s: float = 1e-5) -> None:
        self.decay = decay  # weight of a new pair: ~40 pairs (20 s at 2 pings/s) remembered
        self.rtt_age = rtt_age_s_per_s
        self.best_rtt_s = float("inf")
        self.samples = 0  # pairs in the current fit
        self.rejected = 0
        self.answers = 0  # every answer seen
        self._last_host_s = 0.0
        self._pico_ref = 0.0
        self._host_ref = 0.0
        self._mean_p = self._mean_h = 0.0  # relative to the references, in seconds
        self._var_p = self._cov = 0.0

    @property
    def ready(self) -> bool:
        return self.samples > 0

    @property
    def slope(self) -> float:
        if self.samples < 3 or self._var_p <= 0.0:
            return 1.0
        return self._cov / self._var_p

    @property
    def drift_ppm(self) -> float:
        """How much faster the Pico's clock runs than the host's."""
        return (1.0 / self.slope - 1.0) * 1e6

    def add(self, sent_host_s: float, pico_us: int, received_host_s: float) -> bool:
        """One ping's answer (pico_us unwrapped); False if its round trip was too slow."""
        rtt = received_host_s - sent_host_s
        self.answers += 1
        if self.samples:
            self.best_rtt_s += (received_host_s - self._last_host_s) * self.rtt_age
        self._last_host_s = received_host_s
        if rtt < 0.5 * self.best_rtt_s - 100e-6:
            # far better than any answer so far (the link was busy when it started): the
            # pairs fitted until now are poor by comparison; start the fit again from here
            self.samples = 0
        if rtt < self.best_rtt_s:
            self.best_rtt_s = rtt
        if self.samples >= 3 and rtt > 1.5 * self.best_rtt_s + 100e-6:
            self.rejected += 1
            return False
        host = sent_host_s + rtt / 2.0
        pico = pico_us * 1e-6
        if not self.samples:
            self._pico_ref, self._host_ref = pico, host
        p, h = pico - self._pico_ref, host - self._host_ref
        self.samples += 1
        if self.samples == 1:
            self._mean_p, self._mean_h = p, h
            return True
        # exponentially weighted means and co-moments (West's incremental form)
        w = max(self.decay, 1.0 / self.samples)
        dp, dh = p - self._mean_p, h - self._mean_h
        self._mean_p += w * dp
        self._mean_h += w * dh
        self._var_p = (1.0 - w) * (self._var_p + w * dp * dp)
        self._cov = (1.0 - w) * (self._cov + w * dp * dh)
        return True

    def to_host(self, pico_us: int) -> float:
        """Host monotonic seconds of a moment on the Pico's (unwrapped) clock."""
        p = pico_us * 1e-6 - self._pico_ref
        return self._host_ref + self._mean_h + self.slope * (p - self._mean_p)
