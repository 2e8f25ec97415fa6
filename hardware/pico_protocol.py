"""The Pico's wire protocol, version 1, on the station's side: decode what it sends.

The firmware (hardware/pico/code.py) writes the same layout; hardware/pico/README.md has the
table. A message: 0xAA 0x55, type, payload length, payload, CRC-32 (zlib's) of type, length
and payload, little endian. A corrupted message fails its CRC and the decoder looks for the
next 0xAA 0x55; nothing is trusted that did not pass it. The encoders are here too, for
tests and the benchmark that play a Pico.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

PROTOCOL_VERSION = 1
SYNC = b"\xaa\x55"
HELLO, DATA, FAULT, PONG = 1, 2, 3, 4
KNOWN_TYPES = (HELLO, DATA, FAULT, PONG)  # a new type needs a new protocol version
READERS = {0: "pio", 1: "adafruit"}
MAX_PAYLOAD = 255
CELL_BYTES = 5  # int24 code + int16 offset in us


@dataclass(frozen=True)
class Hello:
    version: int
    cells: int
    reader: str
    gain: int
    rate_hz: int
    boot_id: int
    firmware: str


@dataclass(frozen=True)
class Data:
    seq: int
    t_us: int  # the Pico's 32-bit microsecond clock
    codes: tuple[int, ...]
    offsets_us: tuple[int, ...]  # each cell's conversion time after t_us


@dataclass(frozen=True)
class Fault:
    seq: int
    t_us: int
    busy_mask: int  # bit i: cell i's DOUT stayed high

    def cells(self, n: int) -> list[int]:
        return [i for i in range(n) if self.busy_mask >> i & 1]


@dataclass(frozen=True)
class Pong:
    token: int
    t_us: int


Message = Hello | Data | Fault | Pong


def _crc(head: bytes, payload: bytes) -> int:
    return zlib.crc32(payload, zlib.crc32(head)) & 0xFFFFFFFF


def frame(kind: int, payload: bytes) -> bytes:
    head = bytes((kind, len(payload)))
    return SYNC + head + payload + struct.pack("<I", _crc(head, payload))


def _parse(kind: int, payload: bytes) -> Message | None:
    if kind == HELLO and len(payload) >= 9:
        version, cells, reader, gain, rate, boot = struct.unpack_from("<BBBBBI", payload)
        name = payload[9:].decode("utf-8", "replace")
        kind = READERS.get(reader, f"reader {reader}")
        return Hello(version, cells, kind, gain, rate, boot, name)
    if kind == DATA and len(payload) >= 9:
        seq, t_us, n = struct.unpack_from("<IIB", payload)
        if len(payload) != 9 + n * CELL_BYTES:
            return None
        codes, offsets = [], []
        for i in range(n):
            at = 9 + i * CELL_BYTES
            raw = int.from_bytes(payload[at : at + 3], "little")
            codes.append(raw - (1 << 24) if raw & 0x800000 else raw)
            offsets.append(struct.unpack_from("<h", payload, at + 3)[0])
        return Data(seq, t_us, tuple(codes), tuple(offsets))
    if kind == FAULT and len(payload) == 10:
        return Fault(*struct.unpack("<IIH", payload))
    if kind == PONG and len(payload) == 8:
        return Pong(*struct.unpack("<II", payload))
    return None  # a known type with a malformed payload


class Decoder:
    """Bytes in, messages out; counts what failed its checksum and what was skipped."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.corrupt = 0  # messages that failed the CRC
        self.skipped_bytes = 0  # bytes outside any message (noise, partial messages)
        self.messages = 0

    def reset(self) -> None:
        self._buffer.clear()

    def feed(self, data: bytes) -> list[Message]:
        buf = self._buffer
        buf.extend(data)
        out: list[Message] = []
        while True:
            start = buf.find(SYNC)
            if start < 0:
                keep = 1 if buf[-1:] == SYNC[:1] else 0
                self.skipped_bytes += len(buf) - keep
                del buf[: len(buf) - keep]
                return out
            if start:
                self.skipped_bytes += start
                del buf[:start]
            if len(buf) < 4:
                return out
            if buf[2] not in KNOWN_TYPES:  # a false start inside other bytes: skip it
                self.skipped_bytes += 2
                del buf[:2]
                continue
            length = buf[3]
            end = 4 + length + 4
            if len(buf) < end:
                return out
            head, payload = bytes(buf[2:4]), bytes(buf[4 : 4 + length])
            (crc,) = struct.unpack_from("<I", buf, 4 + length)
            if crc != _crc(head, payload):
                self.corrupt += 1
                self.skipped_bytes += 2
                del buf[:2]  # resynchronise on the next 0xAA 0x55
                continue
            del buf[:end]
            message = _parse(head[0], payload)
            if message is not None:
                self.messages += 1
                out.append(message)


# --- encoders: what the firmware sends, for tests and the benchmark ---------------------


def encode_hello(cells: int, boot_id: int = 1, reader: str = "pio", version: int = 1) -> bytes:
    code = {v: k for k, v in READERS.items()}[reader]
    payload = struct.pack("<BBBBBI", version, cells, code, 128, 80, boot_id) + b"synthetic"
    return frame(HELLO, payload)


def encode_data(
    seq: int, t_us: int, codes: list[int], offsets_us: list[int] | None = None
) -> bytes:
    offsets = offsets_us or [0] * len(codes)
    payload = bytearray(struct.pack("<IIB", seq & 0xFFFFFFFF, t_us & 0xFFFFFFFF, len(codes)))
    for code, offset in zip(codes, offsets, strict=True):
        payload += (code & 0xFFFFFF).to_bytes(3, "little") + struct.pack("<h", offset)
    return frame(DATA, bytes(payload))


def encode_fault(seq: int, t_us: int, busy_mask: int) -> bytes:
    return frame(FAULT, struct.pack("<IIH", seq, t_us & 0xFFFFFFFF, busy_mask))


def encode_pong(token: int, t_us: int) -> bytes:
    return frame(PONG, struct.pack("<II", token, t_us & 0xFFFFFFFF))


def ping(token: int) -> bytes:
    """What the station sends to learn the Pico's clock: b"P" and a 4-byte token."""
    return b"P" + struct.pack("<I", token & 0xFFFFFFFF)


HELLO_REQUEST = b"H"
