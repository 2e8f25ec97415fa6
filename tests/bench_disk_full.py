"""Benchmark: what the station does, second by second, when its disk fills and has room again.

    sudo python -m tests.bench_disk_full [--full-s 10]

Runs `balance-station run` with its database on a 4 MB tmpfs (needs root), lets a member
stand on the mat, takes the disk's last byte with a filler file for `--full-s` seconds, then
removes it; prints each second the station's storage state, queue depth, frames committed
and dropped, and the frames the live stream delivered in that second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from .conftest import start_station
from .small_disk import fill, small_disk, station_config
from .sse import events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full-s", type=float, default=10.0)
    parser.add_argument("--queue-limit-s", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, small_disk(Path(tmp) / "disk") as disk:
        config = station_config(Path(tmp) / "station.toml", queue_limit_s=args.queue_limit_s)
        st = start_station(disk / "station.db", "--config", str(config), "--scenario", "stand")
        print("   s  event       store    queued  committed  dropped  live frames/s")
        live = 0
        t0 = time.monotonic()
        phase, filler, full_at = "recording", None, None
        try:
            for name, data in events(st.port, timeout=20):
                if name == "frames":
                    live += len(data)
                    continue
                if name != "status":
                    continue
                now = time.monotonic() - t0
                event = ""
                if phase == "recording" and data["store"]["frames_committed"] > 200:
                    filler, full_at, phase, event = fill(disk), now, "full", "disk full"
                elif phase == "full" and now - full_at >= args.full_s:
                    filler.unlink()
                    phase, event = "room", "room again"
                s = data["store"]
                print(
                    f"{now:4.0f}  {event:10s}  {s['state']:7s} {s['queued_frames']:6d}"
                    f"  {s['frames_committed']:9d}  {s['frames_dropped']:7d}  {live:6d}",
                    flush=True,
                )
                live = 0
                if phase == "room" and s["state"] == "ok" and now - full_at > args.full_s + 3:
                    break
        finally:
            st.stop()
        print(st.proc.stdout.read().strip().splitlines()[-1])


if __name__ == "__main__":
    main()
