"""Soak benchmark (not a unit test): the station for a long time, with viewers; memory and fds.

    python -m tests.soak --minutes 30                 # the simulated studio, 3 live viewers
    python -m tests.soak --minutes 120 --bag          # a 15 kg bag that never leaves the mat

Runs `balance-station run` as its own process on a fresh database, keeps `--viewers` live
streams (Server-Sent Events, read as a browser would) open the whole time, and prints every
`--every` seconds the station's resident memory, open file descriptors, sessions and storage
state; at the end the least-squares slope of each (per hour), over the whole run and over
the run after its first five minutes (start-up caches filled). Figures depend on the
machine: run it with `nice` on a shared one and say so.
"""

from __future__ import annotations

import argparse
import http.client
import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil

REPO = Path(__file__).resolve().parents[1]


def write_bag_recording(path: Path, minutes: float = 10.0) -> None:
    """A 15 kg bag on the mat for the whole recording (the replay loops it: it never leaves)."""
    from hardware.simulator.mat import cell_forces
    from station.cli import default_config_path
    from station.core.config import load_config
    from station.core.recording import write_recording

    mat = load_config(default_config_path()).mat
    n = round(minutes * 60 * 80)
    rng = np.random.default_rng(7)
    fz = np.full(n, 15 * 9.80665)
    forces = cell_forces(mat, fz, np.full(n, 0.3), np.full(n, -0.1))
    forces = np.round(forces + rng.normal(0, 0.05, forces.shape), 2)
    write_recording(path, mat.cell_names, np.arange(n) / 80.0, forces)


class Viewer(threading.Thread):
    """One live screen: reads the stream until told to stop, counting what it got."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.bytes = 0
        self.reconnects = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                conn.request("GET", "/api/stream")
                response = conn.getresponse()
                while not self.stop.is_set():
                    chunk = response.read1(65536)
                    if not chunk:
                        break
                    self.bytes += len(chunk)
                conn.close()
            except OSError:
                pass
            self.reconnects += 1
            self.stop.wait(1.0)  # as a browser's EventSource retries


def status(port: int) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", "/api/status")
    data = json.loads(conn.getresponse().read())
    conn.close()
    return data


def slope_per_hour(t_s: list[float], values: list[float]) -> float:
    if len(t_s) < 2:
        return float("nan")
    return float(np.polyfit(np.array(t_s) / 3600.0, np.array(values), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--viewers", type=int, default=3)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--bag", action="store_true", help="a bag left on the mat, forever")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "soak.db"
        cmd = [sys.executable, "-m", "station.cli", "run", "--db", str(db), "--port", "0"]
        if args.bag:
            rec = Path(tmp) / "bag.csv"
            write_bag_recording(rec)
            cmd += ["--recording", str(rec)]
        proc = subprocess.Popen(
            cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://[^:]+:(\d+)/", line)
        if not match:
            sys.exit(f"station did not start: {line}{proc.stdout.read()}")
        port = int(match.group(1))
        station = psutil.Process(proc.pid)
        viewers = [Viewer(port) for _ in range(args.viewers)]
        for v in viewers:
            v.start()
        print(
            f"soak: {args.minutes:g} min, {args.viewers} viewers, "
            f"{'a bag on the mat' if args.bag else 'the simulated studio'}; station pid {proc.pid}"
        )
        print(" min   RSS MB   fds  sessions  visit_limit  store    dropped  viewer MB")
        times: list[float] = []
        rss: list[float] = []
        fds: list[float] = []
        start = time.monotonic()
        end = start + args.minutes * 60
        stop = threading.Event()
        try:
            while True:
                now = time.monotonic() - start
                s = status(port)
                times.append(now)
                rss.append(station.memory_info().rss / 1e6)
                fds.append(station.num_fds())
                print(
                    f"{now / 60:4.0f} {rss[-1]:8.1f} {fds[-1]:5.0f} {s['sessions_recorded']:9d}"
                    f"  {s.get('visit_limit_reached', False)!s:11s}  {s['store']['state']:7s}"
                    f" {s['store']['frames_dropped']:7d}  "
                    f"{sum(v.bytes for v in viewers) / 1e6:9.1f}",
                    flush=True,
                )
                if time.monotonic() >= end:
                    break
                stop.wait(min(args.every, max(0.0, end - time.monotonic())))
        finally:
            for v in viewers:
                v.stop.set()
            proc.terminate()
            tail = proc.communicate(timeout=60)[0]
        warm = [i for i, t in enumerate(times) if t >= 300]
        print(
            f"slope, whole run:       RSS {slope_per_hour(times, rss):+.1f} MB/h, "
            f"fds {slope_per_hour(times, fds):+.1f}/h"
        )
        if len(warm) >= 2:
            tw = [times[i] for i in warm]
            print(
                f"slope, after 5 minutes: RSS {slope_per_hour(tw, [rss[i] for i in warm]):+.1f}"
                f" MB/h, fds {slope_per_hour(tw, [fds[i] for i in warm]):+.1f}/h"
            )
        print(f"viewer reconnects: {sum(v.reconnects for v in viewers) - len(viewers)}")
        print(f"station said: {tail.strip().splitlines()[-1] if tail.strip() else '(nothing)'}")


if __name__ == "__main__":
    main()
