"""Balance Station Pico firmware: reads the mat's HX711s on hardware time, streams frames by USB.

CircuitPython 9 or newer on a Raspberry Pi Pico (RP2040) or Pico 2 (RP2350). Copy this folder's
boot.py, code.py and config.py to the CIRCUITPY drive and the files lib.txt lists to its lib/.

Why a PIO program and not adafruit_hx711 (the default, READER = "pio" in config.py):
- one clock train for every chip on one shared PD_SCK line, so all cells are sampled at the
  same instant (the CoP needs that); adafruit_hx711 drives one chip per clock line, and the
  chips then convert unsynchronised, up to one period (12.5 ms) apart;
- the pulses are timed by the PIO state machine to the microsecond, whatever the CPU does;
  adafruit_hx711 bit-bangs from Python with interrupts off (USB waits meanwhile), one cell
  after another;
- the CPU only waits for finished frames, so its loop stays free for the USB link.
Measured on the emulated chips (tests/bench_pico.py; CPython, 4 cells): the PIO reader read
every frame right at 72-80 frames/s with the cells sampled 0 ms apart; adafruit_hx711 reached
22-50 frames/s with the cells 11-19 ms apart, and its bit-banged pulses, slow in CPython,
powered chips down (14-24 % of frames wrong). On a Pico the driver's timing holds, but the
one-chip-per-clock wiring and the CPU-bound train remain.
The adafruit reader stays as READER = "adafruit" for boards wired one clock per chip.

Wire protocol, version 1 (hardware/pico/README.md has the table). Every message from the
Pico: 0xAA 0x55, type, payload length, payload, CRC-32 of (type, length, payload), little
endian throughout. HELLO (1) says who we are; DATA (2) is one frame: sequence number, the
Pico's microsecond clock, and per cell a signed 24-bit code and its offset in us from the
frame time; FAULT (3) names the cells whose DOUT stayed high; PONG (4) answers a ping for
the station's clock synchronisation. The station sends b"H" (say hello) and b"P" + 4-byte
token (ping).
"""

import array
import binascii
import os
import struct
import time

import board
import config
import digitalio
import microcontroller
import usb_cdc

PROTOCOL_VERSION = 1
FIRMWARE = "balance-station-pico 1.0"
SYNC = b"\xaa\x55"
HELLO, DATA, FAULT, PONG = 1, 2, 3, 4
READERS = {"pio": 0, "adafruit": 1}
GAIN_PULSES = {128: 25, 32: 26, 64: 27}  # pulses per conversion; the extra ones set the gain
RATE_HZ = 80  # the RATE pin high; the station warns if frames come slower


def now_us():
    """The Pico's microsecond clock, as 32 bits (it wraps every 71.6 minutes)."""
    return (time.monotonic_ns() // 1000) & 0xFFFFFFFF


def pin(name):
    return getattr(board, name)


class Link:
    """The USB data port: framed, checksummed messages out; one-letter commands in."""

    def __init__(self, port):
        self.port = port
        self._in = bytearray()

    def send(self, kind, payload):
        head = bytes((kind, len(payload)))
        crc = binascii.crc32(payload, binascii.crc32(head)) & 0xFFFFFFFF
        message = SYNC + head + payload + struct.pack("<I", crc)
        if self.port.connected:  # nobody listening: drop, never block the reader
            self.port.write(message)

    def commands(self):
        """Commands waiting from the station: ("H",) or ("P", token)."""
        waiting = self.port.in_waiting
        if waiting:
            self._in.extend(self.port.read(waiting))
        out = []
        while self._in:
            first = self._in[0]
            if first == ord("H"):
                out.append(("H",))
                self._in = self._in[1:]
            elif first == ord("P"):
                if len(self._in) < 5:
                    break
                out.append(("P", struct.unpack("<I", self._in[1:5])[0]))
                self._in = self._in[5:]
            else:
                self._in = self._in[1:]  # noise: skip a byte
        return out


class Led:
    """The Pico's LED: on while starting, a short blink a second while streaming, a slow
    blink while no station listens, a fast flicker while a chip is stuck."""

    PATTERNS = {
        "starting": (1000, 1000),
        "streaming": (50, 1000),
        "idle": (500, 1000),
        "fault": (100, 200),
    }

    def __init__(self):
        self.io = digitalio.DigitalInOut(board.LED)
        self.io.direction = digitalio.Direction.OUTPUT
        self.io.value = True
        self.state = "starting"

    def show(self, state):
        self.state = state
        self.tick()

    def tick(self):
        """Called often (while waiting for the chips too), so the pattern keeps its time."""
        on_ms, period_ms = self.PATTERNS[self.state]
        self.io.value = (time.monotonic_ns() // 1_000_000) % period_ms < on_ms


class Stuck(Exception):
    """Chips whose DOUT stayed high: unplugged, unpowered or dead (a bit mask)."""

    def __init__(self, mask):
        super().__init__(mask)
        self.mask = mask


def read_data_pins(names):
    """Which DOUT lines are high right now, as a bit mask (pins free of any reader)."""
    mask = 0
    for i, name in enumerate(names):
        io = digitalio.DigitalInOut(pin(name))
        io.direction = digitalio.Direction.INPUT
        io.pull = digitalio.Pull.UP  # an unplugged board reads high, like a busy one
        if io.value:
            mask |= 1 << i
        io.deinit()
    return mask


def to_signed(raw):
    raw &= 0xFFFFFF
    return raw - 0x1000000 if raw & 0x800000 else raw


class PioReader:
    """Every chip on one clock train, run by a PIO state machine (see the module docstring).

    The program waits until every DOUT is low, then gives 24 clock pulses, sampling all data
    lines while the clock is high, then 1-3 pulses for the next conversion's gain; the CPU
    unpacks the bits from the RX FIFO.
    """

    KIND = "pio"

    def __init__(self, clock_pin, data_pins, gain):
        self.data_pins = data_pins
        self.n = len(data_pins)
        # samples per 32-bit word: a divisor of 24 so no sample straddles two words
        self.samples_per_word = max(b for b in (1, 2, 3, 4, 6, 8, 12, 24) if b * self.n <= 32)
        self.words = 24 // self.samples_per_word
        self.buffer = array.array("L", [0] * self.words)
        self.clock_pin = clock_pin
        self.gain_pulses = GAIN_PULSES[gain] - 24
        self.sm = None
        self.start()

    def program(self):
        waits = "\n".join(f"    wait 0 pin {i}       side 0" for i in range(self.n))
        return f"""
.program hx711_shared_clock
.side_set 1
.wrap_target
{waits}
    set x, 23           side 0
data_bit:
    nop                 side 1 [1]
    in pins, {self.n}            side 1
    jmp x-- data_bit    side 0 [1]
    set x, {self.gain_pulses - 1}            side 0
gain_pulse:
    nop                 side 1 [2]
    jmp x-- gain_pulse  side 0 [1]
.wrap
"""

    def start(self):
        import adafruit_pioasm
        import rp2pio

        # reset: PD_SCK high for 1 ms powers every chip down; low again, they restart together
        clock = digitalio.DigitalInOut(pin(self.clock_pin))
        clock.direction = digitalio.Direction.OUTPUT
        clock.value = True
        time.sleep(0.001)
        clock.value = False
        clock.deinit()
        program = adafruit_pioasm.Program(self.program())
        self.sm = rp2pio.StateMachine(
            program.assembled,
            frequency=1_000_000,  # 1 us a cycle: 3 us high, 2-3 us low per pulse
            first_in_pin=pin(self.data_pins[0]),
            in_pin_count=self.n,
            pull_in_pin_up=(1 << self.n) - 1,
            first_sideset_pin=pin(self.clock_pin),
            auto_push=True,
            push_threshold=self.n * self.samples_per_word,
            in_shift_right=False,
            **program.pio_kwargs,
        )

    def stop(self):
        if self.sm is not None:
            self.sm.deinit()
            self.sm = None

    def read(self, timeout_ms, idle=None):
        """One conversion of every chip: (t_us, codes, per-cell offsets in us).

        `idle` runs while the chips convert (the station's pings are answered at once)."""
        sm = self.sm
        deadline = time.monotonic_ns() + timeout_ms * 1_000_000
        while sm.in_waiting == 0:
            if idle is not None:
                idle()
            if time.monotonic_ns() > deadline:
                self.stop()  # free the pins to look at them
                mask = read_data_pins(self.data_pins)
                self.start()
                raise Stuck(mask or (1 << self.n) - 1)
        t_us = now_us()  # the first word is in: the train started microseconds ago
        sm.readinto(self.buffer)
        codes = [0] * self.n
        n, per_word, lane = self.n, self.samples_per_word, (1 << self.n) - 1
        for word in self.buffer:
            for s in range(per_word - 1, -1, -1):
                lanes = (word >> (n * s)) & lane
                for i in range(n):
                    codes[i] = (codes[i] << 1) | ((lanes >> i) & 1)
        return t_us, [to_signed(c) for c in codes], [0] * n


class AdafruitReader:
    """adafruit_hx711, one chip per clock line, one conversion per read, chips in turn."""

    KIND = "adafruit"

    def __init__(self, clock_pins, data_pins, gain):
        from adafruit_hx711.hx711 import HX711

        self.chips = []
        self.data = []
        for clock_name, data_name in zip(clock_pins, data_pins):
            data = digitalio.DigitalInOut(pin(data_name))
            data.direction = digitalio.Direction.INPUT
            clock = digitalio.DigitalInOut(pin(clock_name))
            clock.direction = digitalio.Direction.OUTPUT
            self.data.append(data)
            self.chips.append(HX711(data, clock))  # power-cycles the chip: channel A, 128
        self.pulses = GAIN_PULSES[gain]
        self.discard = gain != 128  # the first conversion is at 128: read it to switch

    def stop(self):
        pass

    def read(self, timeout_ms, idle=None):
        if self.discard:
            self.discard = False
            self.read(timeout_ms, idle)
        t_frame = None
        codes, offsets = [], []
        for i, chip in enumerate(self.chips):
            deadline = time.monotonic_ns() + timeout_ms * 1_000_000
            while self.data[i].value:  # the driver's own wait has no timeout
                if idle is not None:
                    idle()
                if time.monotonic_ns() > deadline:
                    raise Stuck(1 << i)
            t_us = now_us()
            if t_frame is None:
                t_frame = t_us
            # _read_channel_raw reads ONE conversion; the public read() spends two (the first
            # to set a gain we never change)
            codes.append(to_signed(chip._read_channel_raw(self.pulses)))
            offsets.append((t_us - t_frame) & 0xFFFFFFFF)
        return t_frame, codes, offsets


def make_reader():
    if config.READER == "adafruit":
        return AdafruitReader(config.CLOCK_PINS, config.DATA_PINS, config.GAIN)
    return PioReader(config.CLOCK_PIN, config.DATA_PINS, config.GAIN)


def hello_payload(reader, boot_id):
    n = len(config.DATA_PINS)
    return (
        struct.pack(
            "<BBBBBI", PROTOCOL_VERSION, n, READERS[reader.KIND], config.GAIN, RATE_HZ, boot_id
        )
        + FIRMWARE.encode()
    )


def data_payload(seq, t_us, codes, offsets):
    out = bytearray(struct.pack("<IIB", seq, t_us, len(codes)))
    for code, offset in zip(codes, offsets):
        out += struct.pack("<i", code)[:3]  # little endian: the low 3 bytes are the code
        out += struct.pack("<h", min(offset, 32767))
    return out


def start_watchdog():
    from watchdog import WatchDogMode

    dog = microcontroller.watchdog
    dog.timeout = config.WATCHDOG_S
    dog.mode = WatchDogMode.RESET  # a hung loop restarts the Pico; the station reconnects
    return dog


def main():
    led = Led()
    if usb_cdc.data is None:
        raise RuntimeError("no USB data port: copy boot.py to CIRCUITPY and reset the Pico")
    link = Link(usb_cdc.data)
    dog = start_watchdog()
    reader = make_reader()
    boot_id = struct.unpack("<I", os.urandom(4))[0]  # tells the station the Pico restarted
    seq = 0
    last_hello_us = now_us()
    link.send(HELLO, hello_payload(reader, boot_id))

    def answer():
        """The station's commands, answered while the chips convert: a ping's answer is
        timestamped when it comes, which keeps the clock mapping tight."""
        led.tick()
        for command in link.commands():
            if command[0] == "H":
                link.send(HELLO, hello_payload(reader, boot_id))
            else:
                link.send(PONG, struct.pack("<II", command[1], now_us()))

    while True:
        dog.feed()
        answer()
        try:
            t_us, codes, offsets = reader.read(config.READ_TIMEOUT_MS, answer)
        except Stuck as stuck:
            link.send(FAULT, struct.pack("<IIH", seq, now_us(), stuck.mask))
            led.show("fault")
            continue
        link.send(DATA, data_payload(seq, t_us, codes, offsets))
        seq = (seq + 1) & 0xFFFFFFFF
        if (now_us() - last_hello_us) & 0xFFFFFFFF > 1_000_000:
            # once a second, so a station that opens the port later learns who we are
            link.send(HELLO, hello_payload(reader, boot_id))
            last_hello_us = now_us()
        led.show("streaming" if usb_cdc.data.connected else "idle")


if __name__ == "__main__":  # CircuitPython runs code.py as __main__
    main()
