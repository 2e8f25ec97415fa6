"""Benchmark: bytes the frames table takes per session-minute (80 frames/s, 4 cells).

    python -m tests.bench_store [--minutes 10] [--realtime]

Fast mode drives the real acquisition and store writer with the simulated studio as fast as
they go; `--realtime` runs the `balance-station run` process for that many wall-clock
minutes instead (commits every half second, as on a Pi). Prints the frames table's pages
(data and index, from SQLite's dbstat) and the whole file, per minute of recorded session.
Uses only interfaces every release has, so it measures an older checkout too (run it with
that checkout first on PYTHONPATH).
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def record_fast(db: Path, minutes: float) -> None:
    from hardware.simulator.mat import SimulatedMat
    from station.acquisition import Acquisition
    from station.cli import default_config_path
    from station.core.config import load_config
    from station.live import LiveHub
    from station.store import StoreWriter

    config = load_config(default_config_path())
    source = SimulatedMat(config.mat, config.source.sim, config.source.rate_hz)
    writer = StoreWriter(db)
    frames = round(minutes * 60 * config.source.rate_hz)
    acq = Acquisition(config, source, writer, LiveHub(), realtime=False, max_frames=frames)
    writer.start()
    acq.start()
    acq.join()
    writer.stop()
    writer.join()


def record_realtime(db: Path, minutes: float) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "station.cli", "run", "--db", str(db), "--port", "0"],
        stdout=subprocess.DEVNULL,
    )
    try:
        proc.wait(timeout=minutes * 60)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)


def measure(db: Path) -> dict[str, float]:
    con = sqlite3.connect(db)
    try:
        session_min = con.execute("select sum(duration_s) / 60.0 from summaries").fetchone()[0]
        frames = con.execute("select count(*) from sessions where status = 'complete'").fetchone()[
            0
        ]
        table = con.execute(
            "select sum(pgsize) from dbstat where name = 'frames' "
            "or name like 'sqlite_autoindex_frames%'"
        ).fetchone()[0]
        page = con.execute("pragma page_size").fetchone()[0]
        con.execute("pragma wal_checkpoint(truncate)")
    finally:
        con.close()
    return {
        "sessions": frames,
        "session_minutes": session_min,
        "page_size": page,
        "frames_kb_per_min": table / 1000 / session_min,
        "file_kb_per_min": db.stat().st_size / 1000 / session_min,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--realtime", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.db"
        t0 = time.monotonic()
        (record_realtime if args.realtime else record_fast)(db, args.minutes)
        result = measure(db)
    print(
        f"{result['sessions']} sessions, {result['session_minutes']:.1f} session-minutes "
        f"({'real time' if args.realtime else 'fast'}, {time.monotonic() - t0:.0f} s), "
        f"page size {result['page_size']}"
    )
    print(f"frames table  {result['frames_kb_per_min']:.0f} kB per session-minute")
    print(f"whole file    {result['file_kb_per_min']:.0f} kB per session-minute")


if __name__ == "__main__":
    main()
