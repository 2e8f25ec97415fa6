"""Soak benchmark (not a unit test): the station for a long time, with viewers; memory and fds.

    python -m tests.soak --minutes 30                 # the simulated studio, 3 live viewers
    python -m tests.soak --minutes 120 --bag          # a 15 kg bag that never leaves the mat
    python -m tests.soak --minutes 120 --bag --fast   # the same two hours in a few minutes

Runs `balance-station run` as its own process on a fresh database, keeps `--viewers` live
streams (Server-Sent Events, read as a browser would) open the whole time, and prints every
`--every` seconds the station's resident memory, open file descriptors, sessions and storage
state; at the end the least-squares slope of each (per hour), over the whole run and over
the run after its first five minutes (start-up caches filled). Figures depend on the
machine: run it with `nice` on a shared one and say so.

`--fast` runs the same station (station/runtime.py: source, acquisition, store writer, coach,
live hub) in this process without the web server and faster than real time, with `--viewers`
live views reading the stream's own generator (web/app.py), and samples this process every
`--every` seconds of *mat* time: hours of a bag on the mat take minutes. What it leaves out is
waitress and the sockets; the real-time run covers those.
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


class Samples:
    """Resident memory and open fds of one process over time, and the station's state."""

    HEADER = "  RSS MB   fds  sessions  visit_limit  store    dropped  queued"

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.times: list[float] = []
        self.rss: list[float] = []
        self.fds: list[float] = []

    def take(self, t_s: float, status: dict) -> str:
        """Sample now (at `t_s`) and give the row to print."""
        self.times.append(t_s)
        self.rss.append(self.process.memory_info().rss / 1e6)
        self.fds.append(self.process.num_fds())
        store = status["store"]
        return (
            f"{self.rss[-1]:8.1f} {self.fds[-1]:5.0f} {status['sessions_recorded']:9d}"
            f"  {status.get('visit_limit_reached', False)!s:11s}  {store['state']:7s}"
            f" {store['frames_dropped']:7d} {store['queued_frames']:7d}"
        )

    def print_slopes(self) -> None:
        times, rss, fds = self.times, self.rss, self.fds
        print(
            f"slope, whole run:       RSS {slope_per_hour(times, rss):+.1f} MB/h, "
            f"fds {slope_per_hour(times, fds):+.1f}/h"
        )
        warm = [i for i, t in enumerate(times) if t >= 300]
        if len(warm) >= 2:
            tw = [times[i] for i in warm]
            print(
                f"slope, after 5 minutes: RSS {slope_per_hour(tw, [rss[i] for i in warm]):+.1f}"
                f" MB/h, fds {slope_per_hour(tw, [fds[i] for i in warm]):+.1f}/h"
            )


class StreamReader(threading.Thread):
    """A live view without HTTP: drains the stream generator the web server would send."""

    def __init__(self, hub, status) -> None:
        super().__init__(daemon=True)
        self.hub, self.status, self.bytes = hub, status, 0

    def run(self) -> None:
        from web.app import _event_stream

        for chunk in _event_stream(self.hub, self.status):
            self.bytes += len(chunk)


class PacedSource:
    """The station's source, held back while the store writer has over 10 s of frames queued.

    Faster than real time, acquisition would outrun the writer and the bounded queue would
    drop frames (as it does on a failing disk); paced, the run goes as fast as the store
    really writes, and nothing is dropped.
    """

    def __init__(self, source, writer, rate_hz: float) -> None:
        self.source, self.writer, self.limit = source, writer, round(10 * rate_hz)
        self.every = max(1, round(rate_hz))

    def __getattr__(self, name: str):
        return getattr(self.source, name)

    def frames(self, realtime: bool = True):
        held = threading.Event()
        for i, frame in enumerate(self.source.frames(realtime=realtime)):
            if i % self.every == 0:
                while self.writer.health()["queued_frames"] > self.limit:
                    held.wait(0.02)  # the writer catching up
            yield frame


def fast(args: argparse.Namespace) -> None:
    """The station in this process, faster than real time; time is the mat's (frames / rate)."""
    import dataclasses

    from station.cli import default_config_path
    from station.core.config import load_config
    from station.runtime import Station

    config = load_config(default_config_path())
    rate_hz = config.source.rate_hz
    with tempfile.TemporaryDirectory() as tmp:
        source = config.source
        if args.bag:
            rec = Path(tmp) / "bag.csv"
            write_bag_recording(rec)
            source = dataclasses.replace(source, kind="replay", recording=str(rec))
        config = dataclasses.replace(
            config,
            source=source,
            storage=dataclasses.replace(config.storage, path=str(Path(tmp) / "soak.db")),
        )
        station = Station(
            config, serve=False, realtime=False, max_frames=round(args.minutes * 60 * rate_hz)
        )
        station.acquisition.source = PacedSource(station.source, station.writer, rate_hz)
        samples = Samples(psutil.Process())
        viewers = [
            StreamReader(station.hub, station.acquisition.status_dict) for _ in range(args.viewers)
        ]
        for v in viewers:
            v.start()
        station.start()
        print(
            f"soak --fast: {args.minutes:g} min of mat time, {args.viewers} stream readers, "
            f"{'a bag on the mat' if args.bag else 'the simulated studio'}"
        )
        print(" mat min  wall s" + Samples.HEADER)
        started = time.monotonic()
        next_sample = 0.0
        tick = threading.Event()
        while True:
            alive = station.acquisition.is_alive()
            mat_s = station.acquisition.status.frames / rate_hz
            if mat_s >= next_sample or not alive:
                row = samples.take(mat_s, station.acquisition.status_dict())
                print(f"{mat_s / 60:8.1f} {time.monotonic() - started:7.0f}{row}", flush=True)
                next_sample = mat_s + args.every
            if not alive:
                break
            tick.wait(0.2)  # sampling interval
        print(station.close())
        samples.print_slopes()
        print(f"stream bytes read: {sum(v.bytes for v in viewers) / 1e6:.1f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--viewers", type=int, default=3)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between samples")
    parser.add_argument("--bag", action="store_true", help="a bag left on the mat, forever")
    parser.add_argument(
        "--fast", action="store_true", help="in this process, faster than real time (mat time)"
    )
    args = parser.parse_args()
    if args.fast:
        fast(args)
        return

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
        viewers = [Viewer(port) for _ in range(args.viewers)]
        for v in viewers:
            v.start()
        print(
            f"soak: {args.minutes:g} min, {args.viewers} viewers, "
            f"{'a bag on the mat' if args.bag else 'the simulated studio'}; station pid {proc.pid}"
        )
        print(" min" + Samples.HEADER + "  viewer MB")
        samples = Samples(psutil.Process(proc.pid))
        start = time.monotonic()
        end = start + args.minutes * 60
        stop = threading.Event()
        try:
            while True:
                now = time.monotonic() - start
                row = samples.take(now, status(port))
                viewer_mb = sum(v.bytes for v in viewers) / 1e6
                print(f"{now / 60:4.0f}{row}  {viewer_mb:9.1f}", flush=True)
                if time.monotonic() >= end:
                    break
                stop.wait(min(args.every, max(0.0, end - time.monotonic())))
        finally:
            for v in viewers:
                v.stop.set()
            proc.terminate()
            tail = proc.communicate(timeout=60)[0]
        samples.print_slopes()
        print(f"viewer reconnects: {sum(v.reconnects for v in viewers) - len(viewers)}")
        print(f"station said: {tail.strip().splitlines()[-1] if tail.strip() else '(nothing)'}")


if __name__ == "__main__":
    main()
