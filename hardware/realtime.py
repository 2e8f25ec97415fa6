"""Real-time headroom for the HX711 reader process: SCHED_FIFO, one core, locked memory.

Every clock pulse must stay high under 60 us or the chips power down; on a Pi Zero 2 W a
normal-priority Python process sees 10-45 us, so a busy kiosk (Chromium rendering) next to
it pushes pulses past the limit. A FIFO priority keeps other processes from preempting a
pulse, pinning to the last core keeps it away from the core that takes most interrupts, and
locked memory avoids a page fault (or a page swapped out) in the middle of a train. Each is
asked for and may be refused (no permission outside the systemd unit, which grants exactly
these: LimitRTPRIO and LimitMEMLOCK in deploy/systemd/balance-station.service); the report
says what was granted, and `balance-station health` shows it.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from dataclasses import asdict, dataclass

# Below the kernel's threaded interrupt handlers (50), above everything else the station runs.
FIFO_PRIORITY = 40
MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
# LimitMEMLOCK in the systemd unit: locking only the pages the reader touches (MCL_ONFAULT)
# costs about 30 MB; locking every mapping of the interpreter and numpy would be 140 MB.
MEMLOCK_LIMIT_MB = 64


@dataclass(frozen=True)
class RealtimeReport:
    """What the reader process asked for and got."""

    asked: bool
    fifo_priority: int | None  # None: normal scheduling
    cpu: int | None  # the core it is pinned to, None: any
    memory_locked: bool
    refused: tuple[str, ...] = ()  # one line per thing not granted

    @classmethod
    def not_asked(cls) -> RealtimeReport:
        return cls(False, None, None, False)

    @classmethod
    def from_dict(cls, data: dict) -> RealtimeReport:
        return cls(**{**data, "refused": tuple(data.get("refused", ()))})

    def as_dict(self) -> dict:
        out = asdict(self)
        out["refused"] = list(self.refused)
        return out

    def summary(self) -> str:
        if not self.asked:
            return "not asked (emulated chips, or a reader without its own process)"
        got = []
        if self.fifo_priority is not None:
            got.append(f"SCHED_FIFO priority {self.fifo_priority}")
        if self.cpu is not None:
            got.append(f"pinned to CPU {self.cpu}")
        if self.memory_locked:
            got.append("memory locked")
        text = ", ".join(got) or "nothing granted"
        return text + ("" if not self.refused else " (refused: " + "; ".join(self.refused) + ")")


def claim_realtime(priority: int = FIFO_PRIORITY) -> RealtimeReport:
    """Ask for FIFO priority, the last core and locked memory for this process."""
    refused = []
    cpu = None
    try:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > 1:
            os.sched_setaffinity(0, {cpus[-1]})
        cpu = sorted(os.sched_getaffinity(0))[-1] if len(cpus) > 1 else None
    except OSError as exc:
        refused.append(f"CPU pinning: {exc.strerror}")
    fifo = None
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        if os.sched_getscheduler(0) == os.SCHED_FIFO:
            fifo = os.sched_getparam(0).sched_priority
    except OSError as exc:
        refused.append(f"SCHED_FIFO: {exc.strerror}")
    locked = False
    libc_name = ctypes.util.find_library("c")
    if libc_name:
        libc = ctypes.CDLL(libc_name, use_errno=True)
        if libc.mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == 0:
            locked = True
        else:
            refused.append(f"mlockall: {os.strerror(ctypes.get_errno())}")
    return RealtimeReport(True, fifo, cpu, locked, tuple(refused))
