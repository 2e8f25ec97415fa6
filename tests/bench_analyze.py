"""Peak memory of `balance-station analyze` on long recordings (a benchmark, not a test).

    python -m tests.bench_analyze                 # 1 h and 4 h of a simulated studio
    python -m tests.bench_analyze --hours 1 --long-mb 200   # and a file of about 200 MB

Recordings are made with `balance-station simulate --scenario studio` into
test-artifacts/bench_analyze/ (kept for the next run); the long file repeats the 4-hour one
end to end, its times shifted, until it has the size asked for. Each analysis runs in its
own process; its peak RSS is what the kernel reports for it (VmHWM). "whole" is the
analysis of the recording held in memory (`station.core.report.analyse`), "streamed" is
what `analyze` does (`station.analysis.analyse_file`); both reports are compared.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "test-artifacts" / "bench_analyze"

# the peak of this process's own memory (VmHWM); getrusage's maxrss would also count what the
# parent had before the exec
CHILD = """
import json, sys
from station.cli.common import default_config_path
from station.core.config import load_mat_config
mat = load_mat_config(default_config_path())
path, how = sys.argv[1], sys.argv[2]
if how == "whole":
    from station.core.recording import read_recording
    from station.core.report import analyse
    rec = read_recording(path, mat.cell_names)
    report = analyse(rec.t, rec.forces, mat, expected_direction="none")
else:
    from station.analysis import analyse_file
    report = analyse_file(path, mat, expected_direction="none")
hwm = [line for line in open("/proc/self/status") if line.startswith("VmHWM:")][0]
print(hwm.split()[1])
print(json.dumps(report, sort_keys=True))
"""


def simulated(hours: float) -> Path:
    path = OUT / f"studio-{hours:g}h.csv"
    if not path.exists():
        subprocess.run(
            [sys.executable, "-m", "station.cli", "simulate", "--scenario", "studio",
             "--seconds", str(round(hours * 3600)), "--out", str(path)],
            check=True, cwd=REPO, capture_output=True,
        )  # fmt: skip
    return path


def repeated(source: Path, megabytes: float) -> Path:
    """`source` end to end until the file is about `megabytes` long (times keep growing)."""
    path = OUT / f"studio-{megabytes:g}mb.csv"
    if path.exists():
        return path
    offset = 0.0
    with open(path, "w") as out:
        while out.tell() < megabytes * 1e6:
            with open(source) as rows:
                header = next(rows)
                if offset == 0.0:
                    out.write(header)
                for row in rows:
                    t, rest = row.split(",", 1)
                    out.write(f"{float(t) + offset:.6f},{rest}")
            offset = float(t) + offset + 1 / 80
    return path


def measure(path: Path, how: str) -> tuple[float, float, str]:
    """(peak RSS in MB, seconds, report JSON) of one analysis in a fresh process."""
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), how],
        check=True, cwd=REPO, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.monotonic() - start
    peak_kb, report = done.stdout.split("\n", 1)
    return int(peak_kb) / 1024, seconds, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, nargs="*", default=[1.0, 4.0])
    parser.add_argument("--long-mb", type=float, help="also a file of about this many MB")
    parser.add_argument("--streamed-only", action="store_true", help="skip the whole-file run")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    files = [simulated(h) for h in args.hours]
    if args.long_mb:
        files.append(repeated(simulated(4.0), args.long_mb))
    print(f"{'recording':20s} {'MB':>7s} {'whole: peak MB':>15s} {'s':>6s} "
          f"{'streamed: peak MB':>18s} {'s':>6s}  same report")  # fmt: skip
    for path in files:
        size_mb = path.stat().st_size / 1e6
        streamed = measure(path, "streamed")
        if args.streamed_only:
            whole = (float("nan"), float("nan"), streamed[2])
        else:
            whole = measure(path, "whole")
        print(
            f"{path.name:20s} {size_mb:7.1f} {whole[0]:15.0f} {whole[1]:6.1f} "
            f"{streamed[0]:18.0f} {streamed[1]:6.1f}  {whole[2] == streamed[2]}",
            flush=True,
        )


if __name__ == "__main__":
    main()
