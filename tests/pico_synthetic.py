"""A Pico played in simulated time: a drifting clock, USB delays with jitter, frames at 80/s.

Used by the host-side tests and by bench_pico.py for the clock-mapping figure: ten minutes
of a link run in well under a second, with the true host time of every conversion known.
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field

from hardware.pico_protocol import encode_data, encode_hello, encode_pong
from hardware.pico_source import PicoStream


@dataclass
class SyntheticPico:
    ppm: float = 0.0  # how much faster the Pico's crystal runs
    offset_s: float = 1234.5  # the Pico's clock when the host's read 0
    cells: int = 4
    seed: int = 1
    rate_hz: float = 80.0
    base_delay_s: float = 0.25e-3  # one way, USB and scheduling at best
    jitter_s: float = 0.4e-3  # mean of the exponential extra delay, each way
    outlier_share: float = 0.05  # answers held up 2-20 ms (a busy host)
    boot_id: int = 7
    rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def pico_us(self, host_s: float) -> int:
        return round((self.offset_s + host_s * (1.0 + self.ppm * 1e-6)) * 1e6) & 0xFFFFFFFF

    def host_of(self, pico_s: float) -> float:
        """The host time at which the (unwrapped) Pico clock read `pico_s`."""
        return (pico_s - self.offset_s) / (1.0 + self.ppm * 1e-6)

    def delay(self) -> float:
        d = self.base_delay_s + self.rng.expovariate(1.0 / self.jitter_s)
        if self.rng.random() < self.outlier_share:
            d += self.rng.uniform(2e-3, 20e-3)
        return d

    def hello(self) -> bytes:
        return encode_hello(self.cells, self.boot_id)

    def ping_answer(self, stream: PicoStream, sent_s: float) -> tuple[float, bytes]:
        """A ping sent at host time `sent_s`: when the Pico answers, and the answer."""
        request = stream.ping(sent_s)
        token = int.from_bytes(request[1:5], "little")
        at_pico = sent_s + self.delay()
        return at_pico, encode_pong(token, self.pico_us(at_pico))

    def frame(self, seq: int, host_s: float) -> bytes:
        """Frame `seq`, converted at host time `host_s`; every cell reads the seq number."""
        return encode_data(seq, self.pico_us(host_s), [seq & 0x7FFFFF] * self.cells)


def run_link(
    pico: SyntheticPico, minutes: float, ping_interval_s: float = 0.5
) -> tuple[PicoStream, list[tuple[float, float]]]:
    """A link for `minutes` of simulated time: the stream and (true, mapped) time per frame.

    Events run in time order: the host pings, the Pico answers after a delay, frames are
    converted; what the Pico sends reaches the host in order (one USB pipe), each message
    after a delay with jitter and outliers.
    """
    stream = PicoStream(pico.cells)
    stream.feed(pico.hello(), 0.0)
    end = minutes * 60.0
    events: list[tuple[float, int, str, bytes]] = []
    order = itertools.count()
    for k in range(int(end / ping_interval_s)):
        heapq.heappush(events, (k * ping_interval_s, next(order), "ping", b""))
    period = 1.0 / pico.rate_hz
    truth = {seq: 0.1 + seq * period for seq in range(int(end / period))}
    for seq, t in truth.items():
        heapq.heappush(events, (t, next(order), "send", pico.frame(seq, t)))
    pairs: list[tuple[float, float]] = []
    read_at = 0.0
    while events:
        t, _, kind, data = heapq.heappop(events)
        if kind == "ping":
            at_pico, pong = pico.ping_answer(stream, t)
            heapq.heappush(events, (at_pico, next(order), "send", pong))
            continue
        read_at = max(read_at, t + pico.delay())
        for reading in stream.feed(data, read_at):
            pairs.append((truth[reading.codes[0]], reading.t))
    return stream, pairs
