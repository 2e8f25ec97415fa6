"""Benchmark the Pico path on the emulated Pico: `python tests/bench_pico.py [--seconds 20]`.

Prints:
1. the firmware's two readers (PIO program vs adafruit_hx711) on the emulated chips:
   frames/s, CPU per frame, how far apart the cells are sampled, values read wrong;
2. clock-mapping error after 10 simulated minutes at +-200 ppm (jittered USB delays);
3. the whole emulated Pico path (firmware in its own process, pty, host link): frames/s,
   jitter of the frame times before and after the clock mapping, host CPU per frame, against
   the shared-clock GPIO reader on emulated chips in this process;
4. time to name an unplugged Pico and to recover after replugging (median of 5);
5. serial bytes per second against USB full speed.
The machine may be shared and loaded: quote medians and ratios, and run under `nice`.
"""

from __future__ import annotations

import argparse
import functools
import resource
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from hardware.hx711 import ReaderTimeout, SharedClockReader  # noqa: E402
from hardware.hx711_emulator import HX711Emulator, shared_clock  # noqa: E402
from hardware.pico_emulator import EmulatedPico, constant_board, firmware_config  # noqa: E402
from hardware.pico_source import PicoReader  # noqa: E402
from tests.pico_firmware import firmware  # noqa: E402
from tests.pico_synthetic import SyntheticPico, run_link  # noqa: E402

CODES = [120_000, -80_000, 0x7FFFFF, -0x800000]
CELLS = ["front_left", "front_right", "back_right", "back_left"]
# USB 2.0 full speed: 12 Mbit/s on the wire; bulk transfers carry at most 19 packets of 64
# bytes per 1 ms frame, 1,216,000 bytes/s of payload.
USB_FULL_SPEED_BULK_BYTES_S = 19 * 64 * 1000


def cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def firmware_readers(seconds: float) -> None:
    print("1. firmware readers on the emulated chips (4 cells, in this process)")
    for kind in ("pio", "adafruit"):
        board = constant_board(CODES, kind)
        with firmware(board, firmware_config(4, kind)) as fw:
            reader = fw.make_reader()
            reader.read(250)
            frames = wrong = stalls = 0
            spreads = []
            cpu0, t0 = cpu_s(), time.monotonic()
            while time.monotonic() - t0 < seconds:
                try:
                    _, codes, offsets = reader.read(250)
                except fw.Stuck:  # a chip powered down by a slow pulse, still settling
                    stalls += 1
                    continue
                frames += 1
                wrong += codes != CODES
                spreads.append(max(offsets) - min(offsets))
            cpu, wall = cpu_s() - cpu0, time.monotonic() - t0
            reader.stop()
        print(
            f"   {kind:9s} {frames / wall:5.1f} frames/s, CPU {cpu / frames * 1e3:5.2f} ms/frame "
            f"(CPython; a Pico runs slower, the PIO's train costs it nothing), cells sampled "
            f"{statistics.median(spreads) / 1e3:.2f} ms apart (median; max "
            f"{max(spreads) / 1e3:.2f}), {wrong} frames read wrong, "
            f"{sum(c.stats.power_downs for c in board.chips) - 4} chip power-downs, "
            f"{stalls} reads timed out"
        )


def grid_jitter(times: list[float], period_s: float = 0.0125) -> str:
    """How far timestamps stray from a regular grid (the chips convert on one): SD and max
    of the residuals of a line fitted through them, each frame at its grid slot (a missed
    conversion leaves a slot empty, not an interval twice as long)."""
    t = np.asarray(times)
    slots = np.round((t - t[0]) / period_s)
    fit = np.polyval(np.polyfit(slots, t, 1), slots)
    residual_ms = (t - fit) * 1e3
    return f"SD {np.std(residual_ms):.3f} ms, max {np.max(np.abs(residual_ms)):.2f} ms"


def wait_until(condition, timeout_s: float) -> float:
    t0 = time.monotonic()
    while not condition():
        if time.monotonic() - t0 > timeout_s:
            raise TimeoutError
        time.sleep(0.001)
    return time.monotonic() - t0


def pico_path(seconds: float) -> None:
    print("3. the emulated Pico path (firmware in a child process, 150 ppm fast, pty, link)")
    pico = EmulatedPico(
        functools.partial(constant_board, CODES), firmware_config(4), clock_ppm=150.0
    ).start()
    reader = PicoReader(CELLS, pico.port_path)
    try:
        wait_until(lambda: reader.state == "connected", 30)
        for _ in range(160):  # let the clock fit settle (2 s)
            reader.read(1.0)
        times, arrivals = [], []
        bytes0 = reader.stream.stats.bytes_in
        cpu0, t0 = cpu_s(), time.monotonic()
        lost0 = reader.dropped
        silences = 0
        while time.monotonic() - t0 < seconds:
            try:
                reading = reader.read(1.0)
            except ReaderTimeout:  # nothing for a second: say so, go on measuring
                silences += 1
                continue
            times.append(reading.t)
            arrivals.append(time.monotonic())
        cpu, wall = cpu_s() - cpu0, time.monotonic() - t0
        n = len(times)
        d_mapped = np.diff(times) * 1e3
        print(
            f"   {n / wall:.1f} frames/s, {reader.dropped - lost0} lost on the link, {silences} "
            f"silent seconds, {pico.resets} watchdog restarts; frame "
            f"interval median {np.median(d_mapped):.3f} ms; timestamps off the chips' 80 Hz "
            f"grid: {grid_jitter(times)} on the Pico's (mapped) vs {grid_jitter(arrivals)} "
            "on arrival at the host"
        )
        print(
            f"   host CPU {cpu / n * 1e6:.0f} us/frame (link thread, decoding, clock mapping; "
            f"the Pico's own work is off the host)"
        )
        bytes_s = (reader.stream.stats.bytes_in - bytes0) / wall
        health = reader.health()
        print(
            f"   clock drift estimated {health['clock_drift_ppm']:+.1f} ppm (true +150.0), "
            f"best round trip {health['round_trip_ms']:.2f} ms"
        )
        gpio_reader(seconds, n / wall)
        print("4. unplug and replug (median of 5)")
        name_s, recover_s = [], []
        for _ in range(5):
            pico.unplug()
            name_s.append(wait_until(lambda: reader.state == "unplugged", 10))
            pico.plug()
            t0 = time.monotonic()
            while True:
                try:
                    if reader.read(0.05) is not None and reader.state == "connected":
                        break
                except ReaderTimeout:
                    pass
            recover_s.append(time.monotonic() - t0)
            while True:  # drain what queued up before the next round
                try:
                    reader.read(0.05)
                except ReaderTimeout:
                    break
                if reader._queue.empty():
                    break
        print(
            f"   unplug named after {statistics.median(name_s) * 1e3:.0f} ms (max "
            f"{max(name_s) * 1e3:.0f}); frames again {statistics.median(recover_s) * 1e3:.0f} ms "
            f"after replugging (max {max(recover_s) * 1e3:.0f})"
        )
        print("5. serial link load")
        print(
            f"   {bytes_s:.0f} bytes/s ({bytes_s * wall / n:.1f} per frame, pings and hellos "
            f"included) = "
            f"{100 * bytes_s / USB_FULL_SPEED_BULK_BYTES_S:.2f} % of USB full speed's "
            f"{USB_FULL_SPEED_BULK_BYTES_S} bytes/s bulk payload"
        )
    finally:
        reader.close()
        pico.close()


def gpio_reader(seconds: float, pico_rate: float) -> None:
    chips = [HX711Emulator(lambda t, c, g, v=v: v, name=str(i)) for i, v in enumerate(CODES)]
    reader = SharedClockReader(shared_clock(chips), [c.dout for c in chips])
    frames = 0
    cpu0, t0 = cpu_s(), time.monotonic()
    times = []
    while time.monotonic() - t0 < seconds:
        reading = reader.read(0.5)
        if reading is not None:
            frames += 1
            times.append(reading.t)
    cpu, wall = cpu_s() - cpu0, time.monotonic() - t0
    print(
        f"   vs the shared-clock GPIO reader here: {frames / wall:.1f} frames/s, "
        f"{reader.dropped} dropped (slow pulse), timestamps off the grid {grid_jitter(times)}, "
        f"CPU {cpu / frames * 1e6:.0f} us/frame (its waits and clock train, plus the emulated "
        f"chips' own Python)"
    )


def clock_mapping() -> None:
    print("2. clock mapping after 10 simulated minutes (pings every 0.5 s; USB delays 0.25 ms")
    print("   + exponential jitter 0.4 ms each way, 5 % held up 2-20 ms)")
    for ppm in (200.0, -200.0):
        stream, pairs = run_link(SyntheticPico(ppm=ppm, seed=11), minutes=10)
        errors_us = [abs(m - t) * 1e6 for t, m in pairs[-4800:]]
        answers = stream.clock.answers
        print(
            f"   {ppm:+.0f} ppm: error over the 10th minute median "
            f"{statistics.median(errors_us):.1f} us, max {max(errors_us):.1f} us; drift "
            f"estimated {stream.clock.drift_ppm:+.2f} ppm; {stream.clock.rejected} of {answers} "
            "answers dropped as slow"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each live run")
    args = parser.parse_args()
    firmware_readers(min(args.seconds, 10.0))
    clock_mapping()
    pico_path(args.seconds)


if __name__ == "__main__":
    main()
