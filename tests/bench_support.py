"""What the hand-on-the-wall detector and the quality mark cost (prints figures).

    nice -n 10 .venv/bin/python tests/bench_support.py

The live detector per frame, and the report's batch support and quality over 10 simulated
minutes next to the whole offline analysis of the same minutes.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from hardware.simulator.mat import SimulatedMat
from station.cli import default_config_path
from station.core.config import load_config
from station.core.cop import cop_batch
from station.core.quality import session_quality
from station.core.report import analyse
from station.core.support import SupportDetector, support_report


def median_s(job: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        job()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    cfg = load_config(default_config_path())
    source = SimulatedMat(cfg.mat, cfg.source.sim)
    frames = 80 * 600
    times, counts = source.render(0, frames)
    forces = source.calibration.to_newtons_batch(counts)
    fz, x, y = cop_batch(cfg.mat, forces)
    stamps, totals = times.tolist(), fz.tolist()

    def stream() -> None:
        detector = SupportDetector()
        for t, f in zip(stamps, totals, strict=True):
            detector.update(t, f)

    live = median_s(stream)
    support = median_s(lambda: support_report(times, fz))
    quality = median_s(lambda: session_quality(times, fz, x, y, forces, cfg.mat))
    whole = median_s(lambda: analyse(times, forces, cfg.mat))
    print(f"live SupportDetector.update      {live / frames * 1e6:6.2f} us/frame")
    print(f"report support, 10 min           {support * 1e3:6.1f} ms")
    print(f"report quality, 10 min           {quality * 1e3:6.1f} ms")
    share = 100 * (support + quality) / whole
    print(f"whole offline analysis, 10 min   {whole * 1e3:6.1f} ms ({600 / whole:.0f}x real time)")
    print(f"support + quality share of it    {share:6.0f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
