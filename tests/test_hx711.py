"""HX711: the pin-level emulator, the real Adafruit driver and the shared-clock reader on it."""

from __future__ import annotations

import json
import sys
import threading
import time

import numpy as np
import pytest

from hardware.hx711 import (
    AdafruitReader,
    ReaderTimeout,
    SharedClockReader,
    blinka_compat,
    busy_wait_us,
    to_signed,
)
from hardware.hx711_emulator import HX711Emulator, shared_clock
from station.core.signal_health import GlitchFilter, ZeroTracker

from .hx711_scenarios import (
    StretchingPin,
    constant,
    cop_alignment,
    fault_to_named,
    misreads_under_stretch,
)

# Protocol tests relax the power-down threshold (see HX711Emulator.power_down_us) so that
# a scheduler hiccup on the test machine cannot reset a chip in the middle of a reading;
# the power-down tests and the shared-clock reader (which drops such frames) keep 60 us.
RELAXED_US = 5000.0


def bitbang(chip: HX711Emulator, pulses: int = 25) -> int:
    """Read one conversion by hand: the datasheet's timing, nothing from our readers."""
    while chip.dout.value:
        time.sleep(0.0005)
    code = 0
    for i in range(pulses):
        chip.pd_sck.value = True
        busy_wait_us(1)
        if i < 24:
            code = (code << 1) | int(chip.dout.value)
        chip.pd_sck.value = False
        busy_wait_us(1)
    return code


@pytest.mark.parametrize(
    ("counts", "expected"),
    [(123_456, 123_456), (-98_765, -98_765), (9_000_000, 0x7FFFFF), (-9_000_000, -0x800000)],
)
def test_emulator_shifts_out_24_bit_twos_complement_and_saturates(counts, expected):
    chip = HX711Emulator(constant(counts), power_down_us=RELAXED_US)
    assert to_signed(bitbang(chip)) == expected
    assert chip.stats.reads == 1


def test_pulses_25_26_27_choose_the_next_conversions_gain():
    chip = HX711Emulator(
        lambda t, channel, gain: {128: 1000, 64: 500, 32: -250}[gain], power_down_us=RELAXED_US
    )
    assert to_signed(bitbang(chip, 27)) == 1000  # converted at power-up's gain 128
    assert to_signed(bitbang(chip, 26)) == 500  # the 27 pulses asked for A/64
    assert to_signed(bitbang(chip, 25)) == -250  # then B/32
    assert to_signed(bitbang(chip, 25)) == 1000  # and back to A/128


def test_clock_held_high_too_long_powers_the_chip_down():
    # bit-banged reads in CPython may stretch a pulse on a loaded machine: they run with the
    # relaxed limit, the clock held high below with the datasheet's 60 us
    chip = HX711Emulator(constant(42), power_down_us=RELAXED_US)
    bitbang(chip)  # settle and read once
    before = chip.stats.power_downs
    chip.power_down_us = 60.0
    chip.pd_sck.value = True
    busy_wait_us(100)  # beyond the 60 us limit
    assert not chip.powered and chip.dout.value  # powered down: DOUT high
    chip.pd_sck.value = False  # falling resets it
    assert chip.stats.power_downs == before + 1
    chip.power_down_us = RELAXED_US
    t0 = time.perf_counter()
    while chip.dout.value:
        time.sleep(0.0005)
    # after a reset the first data comes only after settling: 50 ms at 80 SPS
    assert time.perf_counter() - t0 > 0.045
    assert to_signed(bitbang(chip)) == 42


def test_conversions_come_80_times_a_second():
    chip = HX711Emulator(constant(1), power_down_us=RELAXED_US)
    samples = []
    for _ in range(30):
        bitbang(chip)
        samples.append(chip.last_sample_t)
    # each reading is the next conversion, 12.5 ms after the one before (a rare pulse
    # stretched past 60 us by the scheduler resets the chip: that gap is longer)
    gaps = np.diff(samples)
    assert np.median(gaps) == pytest.approx(1 / 80, abs=1e-6)


def test_the_adafruit_driver_reads_correctly_with_its_fixes_at_the_datasheets_60_us():
    from adafruit_hx711.hx711 import HX711

    blinka_compat()
    chip = HX711Emulator(constant(-123_456))  # the datasheet's 60 us power-down
    clock = chip.pd_sck
    driver = HX711(chip.dout, clock)  # its start-up power cycle: 1 ms high, on purpose
    clean = 0
    for _ in range(5):  # this machine's scheduler may stretch a pulse: judge clean reads
        edges = clock.record()
        raw = driver.read()  # the driver's own read: two conversions, a wrong sign
        if max(clock.high_times_us()) >= 60.0:
            continue
        clean += 1
        assert len(edges) == 2 * 2 * 25  # two conversions of 25 pulses for one reading
        assert raw == ((-123_456) & 0xFFFFFF) | 0xFF000000  # a large positive number
        assert to_signed(raw) == -123_456
    assert clean >= 1
    assert np.median(clock.high_times_us()) < 30.0  # the busy-wait delay keeps pulses short

    chip = HX711Emulator(constant(-123_456))
    reader = AdafruitReader([(chip.dout, chip.pd_sck)])
    chip.pd_sck.record()
    values = []
    while len(values) < 20:
        reading = reader.read()
        if reading is not None:  # a pulse stretched by this machine's scheduler: dropped
            values.append(reading.codes[0])
    assert values == [-123_456] * 20
    assert 20 <= chip.stats.reads <= 20 + reader.dropped  # one conversion per reading


def test_with_blinkas_sleeping_delay_every_reading_is_dropped_never_misread():
    """Blinka's delay_us(1) is time.sleep(1e-6): each pulse outlasts the 45 us limit."""
    import microcontroller

    blinka_compat()
    chip = HX711Emulator(constant(777))
    reader = AdafruitReader([(chip.dout, chip.pd_sck)])
    microcontroller.delay_us = lambda us: time.sleep(us * 1e-6)
    try:
        chip.pd_sck.record()
        results = [reader.read() for _ in range(5)]
    finally:
        blinka_compat()
    highs = chip.pd_sck.high_times_us()
    assert np.median(highs) > 45.0  # what the sleeping delay does to the pulses
    assert all(r is None or r.codes == [777] for r in results)
    assert reader.dropped == sum(r is None for r in results) >= 1


@pytest.mark.parametrize("kind", ["shared-clock", "adafruit"])
def test_stretched_pulses_past_60_us_are_dropped_never_misread(kind):
    stretched = misreads_under_stretch(kind, 150, every=300)
    # the recorded pulse timeline shows pulses past 60 us that powered chips down
    assert stretched["pulses_over_60us"] >= 3 and stretched["power_downs"] >= 3
    assert stretched["misreads"] == 0
    assert stretched["dropped"] >= stretched["pulses_over_60us"] // 4
    # the same run without the pulse timing returns corrupted codes: the check matters
    untimed = misreads_under_stretch(kind, 150, every=300, max_high_us=1e9)
    assert untimed["pulses_over_60us"] >= 3 and untimed["misreads"] >= 1


@pytest.mark.parametrize(
    ("kind", "gain"),
    [("shared-clock", 64), ("shared-clock", 32), ("adafruit", 64), ("adafruit", 32)],
)
def test_after_a_reset_at_gain_64_or_32_the_gain_128_conversion_is_discarded(kind, gain):
    by_gain = {128: 1000, 64: 500, 32: 250}
    chips = [HX711Emulator(lambda t, ch, g: by_gain[g], name=f"c{i}") for i in range(2)]
    for chip in chips:
        chip.read_log = []
    if kind == "shared-clock":
        clock = shared_clock(chips)
        pins = [StretchingPin(c.dout, every=0) for c in chips]
        reader = SharedClockReader(clock, pins, gain=gain)
    else:
        pins = [StretchingPin(c.dout, every=0) for c in chips]
        reader = AdafruitReader([(p, c.pd_sck) for p, c in zip(pins, chips, strict=True)], gain)
    codes = []
    for n in range(40):
        for pin in pins:  # one reading in the middle powers every chip down
            pin.every = 3 if n == 15 else 0
            pin.reads = 0
        reading = reader.read()
        if reading is not None:
            codes += reading.codes
    assert sum(c.stats.power_downs for c in chips) >= 2  # start-up and the stretched pulse
    gains_read = [g for chip in chips for _, _, g in chip.read_log]
    assert gains_read.count(128) >= 4  # chips woke at 128 twice: read out, then discarded
    assert codes and set(codes) == {by_gain[gain]}


def test_ten_samples_a_second_boards_start_without_being_named_faulty():
    """RATE tied to GND: 400 ms settling after the reset, longer than a 0.25 s timeout."""
    chips = [HX711Emulator(constant(42 + i), rate_hz=10.0) for i in range(2)]
    clock = shared_clock(chips)
    edges = clock.record()
    reader = SharedClockReader(clock, [c.dout for c in chips], rate_hz=10.0)
    reading = None
    while reading is None:
        reading = reader.read()  # no ReaderTimeout while the chips settle
    assert reading.codes == [42, 43]
    reset_fall = edges[1][0]
    assert min(reading.sample_t) - reset_fall > 0.39  # the datasheet's 400 ms


def test_adafruit_reader_names_a_dead_chip():
    chips = [HX711Emulator(constant(1)), HX711Emulator(constant(2), stuck_busy=True)]
    reader = AdafruitReader([(c.dout, c.pd_sck) for c in chips])
    with pytest.raises(ReaderTimeout) as info:
        reader.read(timeout_s=0.1)
    assert info.value.cells == [1]


class FakeLgpio:
    """lgpio's calls, recorded; the GPIO lines are wired to emulated HX711s."""

    SET_PULL_UP = 32
    error = RuntimeError

    def __init__(self, chips_by_label, clock_gpio, data):
        self.labels = chips_by_label  # chip number -> label
        self.calls = []
        self.clock_gpio = clock_gpio
        self.data = data  # gpio -> emulated chip
        self.clock = shared_clock(list(data.values()))

    def gpiochip_open(self, chip):
        self.calls.append(("open", chip))
        if chip not in self.labels:
            raise self.error("no such chip")
        return 100 + chip

    def gpiochip_close(self, handle):
        self.calls.append(("close", handle))

    def gpio_get_chip_info(self, handle):
        return (0, 54, f"gpiochip{handle - 100}", self.labels[handle - 100])

    def gpio_claim_output(self, handle, gpio, level):
        self.calls.append(("claim_output", handle, gpio, level))

    def group_claim_input(self, handle, gpios, flags=0):
        self.calls.append(("group_claim_input", handle, list(gpios), flags))
        self.group = list(gpios)

    def gpio_write(self, handle, gpio, level):
        assert gpio == self.clock_gpio
        self.clock.value = bool(level)

    def gpio_read(self, handle, gpio):
        return int(self.data[gpio].dout.value)

    def group_read(self, handle, leader):
        assert leader == self.group[0]
        bits = 0
        for i, gpio in enumerate(self.group):  # bit i is the i-th line of the group
            bits |= int(self.data[gpio].dout.value) << i
        return len(self.group), bits


def test_lgpio_pins_find_the_pi_chip_pull_up_the_data_lines_and_keep_the_bit_order(
    monkeypatch,
):
    from hardware.hx711 import LgpioPins

    values = [100, -200, 300_000, -4_000_000]
    data = {g: HX711Emulator(constant(v)) for g, v in zip([6, 13, 19, 26], values, strict=True)}
    # an early Pi 5 kernel: the header's GPIOs are gpiochip4 (RP1), chips 0-1 are others
    fake = FakeLgpio(
        {0: "gpio-brcmstb@107d508500", 1: "gpio-brcmstb@107d517c00", 4: "pinctrl-rp1"}, 5, data
    )
    monkeypatch.setitem(sys.modules, "lgpio", fake)
    pins = LgpioPins(5, [6, 13, 19, 26])
    assert pins.handle == 104
    assert ("close", 100) in fake.calls and ("close", 101) in fake.calls
    assert ("claim_output", 104, 5, 0) in fake.calls
    assert ("group_claim_input", 104, [6, 13, 19, 26], fake.SET_PULL_UP) in fake.calls
    reader = SharedClockReader(pins.clock, pins.data, read_all=pins.read_all)
    reading = None
    while reading is None:
        reading = reader.read()
    assert reading.codes == values  # every cell in its place, MSB first


def test_lgpio_pins_say_which_chips_they_saw_when_none_is_a_pi(monkeypatch):
    from hardware.hx711 import LgpioPins

    fake = FakeLgpio({0: "some-usb-gpio"}, 5, {6: HX711Emulator(constant(1))})
    monkeypatch.setitem(sys.modules, "lgpio", fake)
    with pytest.raises(RuntimeError, match=r"no Raspberry Pi GPIO chip found.*some-usb-gpio"):
        LgpioPins(5, [6])


def make_shared(values, rates=None, **kw):
    rates = rates or [80.0] * len(values)
    chips = [
        HX711Emulator(constant(v), name=f"c{i}", rate_hz=r, **kw)
        for i, (v, r) in enumerate(zip(values, rates, strict=True))
    ]
    clock = shared_clock(chips)
    return chips, SharedClockReader(clock, [c.dout for c in chips])


def test_shared_clock_reads_every_cell_in_one_train():
    _chips, reader = make_shared([100, -200, 300_000, -4_000_000])
    frames = [reader.read() for _ in range(30)]
    good = [f for f in frames if f is not None]
    assert len(good) >= 20  # frames with a pulse stretched by the scheduler are dropped
    assert all(f.codes == [100, -200, 300_000, -4_000_000] for f in good)
    assert all(f.max_high_us < 45 for f in good)


def test_chips_on_unequal_oscillators_convert_apart_and_each_instant_is_known():
    """One clock aligns the reads, not the conversions: each chip's instant is reported."""
    rates = [80 * 1.02, 80 * 0.98, 80.0, 80 * 1.01]
    chips, reader = make_shared([1, 2, 3, 4], rates)
    for chip in chips:
        chip.read_log = []
    spreads, errors = [], []
    for _ in range(160):
        reading = reader.read()
        if reading is None:
            continue
        true_t = [chip.read_log[-1][0] for chip in chips]  # what each chip really sampled
        spreads.append(max(true_t) - min(true_t))
        errors += [abs(a - b) for a, b in zip(reading.sample_t, true_t, strict=True)]
    assert max(spreads) > 0.008  # within two seconds the conversions are 8+ ms apart
    assert np.median(errors) < 0.0003 and np.percentile(errors, 90) < 0.001


def test_aligned_frames_give_the_cop_of_one_instant_during_a_walk(config):
    run = cop_alignment(config, (1.02, 0.98, 1.02, 0.98), walk_s=2.5)
    assert len(run.after_mm) > 60  # frames of the walk (fewer on a loaded machine)
    assert np.percentile(run.spread_ms, 90) > 6  # the cells' instants really are apart
    assert np.median(run.after_mm) < 2.0
    # the codes as read, without alignment, are several times further off in the transfers:
    # frame by frame where they are off by over 2 mm (compared on the same frames, since a
    # loaded machine reads fewer of them; a tail percentile of each swung with that)
    far = run.before_best_mm > 2.0
    assert far.sum() >= 8
    assert np.median(run.after_mm[far]) < np.median(run.before_best_mm[far]) / 3


def test_shared_clock_gain_64():
    chips = [HX711Emulator(lambda t, ch, g, k=k: {128: 1000 + k, 64: 500 + k}[g]) for k in range(3)]
    reader = SharedClockReader(shared_clock(chips), [c.dout for c in chips], gain=64)
    frame = None
    while frame is None:
        frame = reader.read()
    assert frame.codes == [500, 501, 502]


def test_shared_clock_names_the_dead_cell():
    chips, reader = make_shared([1, 2, 3, 4])
    chips[2].stuck_busy = True
    with pytest.raises(ReaderTimeout) as info:
        reader.read(timeout_s=0.1)
    assert info.value.cells == [2]


@pytest.mark.parametrize(
    ("kind", "words"),
    [
        ("missing", "never says it is ready: check the DT wire"),
        ("stuck_low", "reads exactly 0, its data line is stuck low: check the DT wire"),
        ("flat", "none of the usual noise"),
        ("full_scale", "at full scale"),
    ],
)
def test_a_faulty_chip_is_named_within_a_second_with_its_likely_cause(config, kind, words):
    took, health = fault_to_named(config, kind, cell=2)
    cell = config.mat.cells[2].name
    assert health["faulty_cells"] == [cell] and health["state"] == "fault"
    assert health["faults"][0]["kind"] == kind
    assert cell in health["problem"] and words in health["problem"]
    assert took < 1.0


def test_a_faulty_chip_stops_the_frames_until_it_is_fixed(config):
    from hardware.hx711_source import build_emulated

    source = build_emulated(config)
    frames = source.frames()
    next(frames)
    got = []
    stop = threading.Event()

    def pump():
        for frame in frames:
            got.append(frame)
            if stop.is_set():
                return

    named = threading.Event()
    source.on_fault_change.append(lambda: source.faulty and named.set())
    source.chips[1].dout_stuck_low = True
    worker = threading.Thread(target=pump, daemon=True)
    worker.start()
    assert named.wait(5.0)
    count = len(got)
    cleared = threading.Event()
    source.on_fault_change.append(lambda: not source.faulty and cleared.set())
    source.chips[1].dout_stuck_low = False
    assert cleared.wait(5.0)
    stop.set()
    worker.join(5.0)
    assert len(got) > count and source.health()["state"] == "ok"
    assert all(0 not in f.counts for f in got[count:])


def test_glitch_filter_false_rejects_on_clean_walking_and_catches_glitches(mat):
    from hardware.simulator.mat import SimulatedMat
    from station.core.config import SimConfig

    sim = SimulatedMat(mat, SimConfig(scenario="studio", seed=3))
    _, counts = sim.render(0, 80 * 300)  # five minutes of the studio scenario
    gains = np.abs(sim.calibration.gains)
    filters = [GlitchFilter(int(400 * g)) for g in gains]
    rejected = sum(
        f.accept(int(c)) is None for row in counts for f, c in zip(filters, row, strict=True)
    )
    assert rejected == 0  # measured false-reject rate on clean data: 0 of 96,000 samples
    rng = np.random.default_rng(1)
    harmful = caught = 0
    for i, row in enumerate(counts[:8000]):
        for k, (f, c) in enumerate(zip(filters, row, strict=True)):
            code = int(c)
            if i % 97 == 0 and k == i % 4:
                glitch = int(rng.choice([0x7FFFFF, -0x800000, 0, -1, code ^ (1 << 22)]))
                # a pattern within 50 N of the true code is indistinguishable, and harmless
                if abs(glitch - code) > 50 * gains[k]:
                    harmful += 1
                    caught += f.accept(glitch) is None
                else:
                    f.accept(glitch)
            else:
                f.accept(code)
    assert harmful >= 50 and caught == harmful


def test_zero_tracker_follows_drift_only_on_an_empty_still_mat():
    z = ZeroTracker(cells=2, settle_s=0.5)
    offsets = [1000.0, 2000.0]
    t = 0.0
    moved = None
    for _ in range(100):  # empty, drifted by +300 counts
        t += 0.0125
        moved = z.update(t, [1300, 2300], 0.5, offsets) or moved
    assert moved is not None and moved[0] > offsets[0]
    z2 = ZeroTracker(cells=2, settle_s=0.5)
    for _ in range(200):  # someone on the mat: never
        t += 0.0125
        assert z2.update(t, [900_000, 800_000], 650.0, offsets) is None


def test_no_session_starts_with_a_faulty_cell_and_the_status_names_it(config, tmp_path):
    import dataclasses

    from hardware.hx711_source import build_emulated
    from station.acquisition import Acquisition
    from station.core.config import SimConfig
    from station.live import LiveHub
    from station.store import StoreWriter, open_database

    cfg = dataclasses.replace(
        config, source=dataclasses.replace(config.source, sim=SimConfig(scenario="stand"))
    )
    source = build_emulated(cfg)
    source.chips[3].stuck_busy = True  # back_left unplugged before anyone steps on
    writer = StoreWriter(tmp_path / "s.db")
    hub = LiveHub()
    kiosk = hub.subscribe()  # what the kiosk's live stream carries
    acq = Acquisition(cfg, source, writer, hub)
    writer.start()
    acq.start()
    told = None
    deadline = time.monotonic() + 5.0
    while told is None and time.monotonic() < deadline:
        for kind, payload in hub.wait(kiosk, timeout=0.5):
            if kind == "status" and json.loads(payload)["state"] == "fault":
                told = json.loads(payload)
    # the kiosk hears of the fault while no frames flow, with what to check
    assert told is not None and "check the DT wire" in told["error"]
    deadline = time.monotonic() + 5.0  # the simulated member steps on after 2 s
    while time.monotonic() < deadline and acq.status_dict()["state"] != "fault":
        time.sleep(0.05)
    status = acq.status_dict()
    assert status["state"] == "fault"
    assert status["error"].startswith("back_left: its HX711 never says it is ready")
    while time.monotonic() < deadline:
        time.sleep(0.1)
    assert acq.status.sessions_recorded == 0 and acq.status.session_key is None
    acq.stop()
    source.chips[3].stuck_busy = False  # lets the blocked read return
    acq.join(5)
    writer.stop()
    writer.join(5)
    assert open_database(tmp_path / "s.db")["sessions"].count == 0
