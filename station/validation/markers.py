"""When a foot off the force plates leaves or meets the floor, read from its markers.

The BMClab overground walks come with marker recordings (`walk*.trc`, 150 Hz, mm, Y up) taken
with the plates. Before the first footfall on the plates and after the last one, the other
foot stands on the studio floor, where no plate sees it; its markers say when it leaves and
when it lands, so the truth can tell that double support from single support.

A foot leaves the floor when the last of its forefoot markers (MT1, MT2, MT5) has risen
`TOE_RISE_MM` above where it rested; it lands when its heel marker stops moving along the
floor (horizontal speed under `HEEL_STILL_M_S`). Markers sit on the shoe, not under it: both
events lag the force by a few frames, so each record measures that lag on its plates' own
foot-offs and landings (the force crossing 30 N) and takes it off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

TOES = ("MT1", "MT2", "MT5")
HEEL = "Heel"
FOOT_MARKERS = (HEEL, *TOES)
TOE_RISE_MM = 5.0  # the forefoot has left the floor once its lowest marker is this far up
TOE_REST_WINDOW_S = 0.2  # where a forefoot marker rested: its lowest point over this time
HEEL_STILL_M_S = 0.3  # a heel slower than this along the floor has landed
# Marker time minus force time (30 N) at the plates' own events, median over both walks:
# forefoot off 5 foot-offs, -16..+17 ms; heel landing 7 landings, -25..-8 ms
# (tests/test_validation_markers.py measures them again from the data).
TOE_OFF_LAG_S = 0.0126
HEEL_ON_LAG_S = -0.0145


@dataclass(frozen=True)
class FeetMarkers:
    """Time (s) and the positions (mm, lab frame, Y up) of each foot's markers."""

    t_s: np.ndarray
    positions: dict[str, np.ndarray]  # "L.Heel" -> (n, 3)

    def marker(self, side: str, name: str) -> np.ndarray:
        return self.positions[f"{side}.{name}"]


def read_trc(text: str, wanted: tuple[str, ...] = FOOT_MARKERS) -> FeetMarkers:
    """The foot markers of a .trc file (tab-separated; header rows, then frame, time, X Y Z).

    Blank cells (a marker out of the cameras' sight) become NaN.
    """
    lines = text.splitlines()
    names = [n.strip() for n in lines[3].split("\t")[2:]]
    columns = {name: 2 + 3 * k for k, name in enumerate(n for n in names if n)}
    rows = [line.split("\t") for line in lines[5:] if line.strip()]
    keep = [f"{side}.{name}" for side in "LR" for name in wanted]
    missing = [name for name in keep if name not in columns]
    if missing:
        raise ValueError(f"marker file lacks {', '.join(missing)}")

    def column(i: int) -> np.ndarray:
        return np.array([float(r[i]) if i < len(r) and r[i].strip() else np.nan for r in rows])

    t = column(1)
    positions = {
        name: np.column_stack([column(columns[name] + axis) for axis in range(3)]) for name in keep
    }
    return FeetMarkers(t, positions)


def foot_at(markers: FeetMarkers, t_s: float, x_mm: float) -> str:
    """Which foot ("L" or "R") landed at `x_mm` along the walk at `t_s`: the nearer heel."""
    i = int(np.clip(np.searchsorted(markers.t_s, t_s), 0, len(markers.t_s) - 1))
    return min("LR", key=lambda side: abs(markers.marker(side, HEEL)[i, 0] - x_mm))


def _first_crossing(t: np.ndarray, value: np.ndarray, level: float, after_s: float, rising: bool):
    """Interpolated time `value` first passes `level` (upwards if rising) at or after after_s.

    None if it never does; after_s's own frame if it is past `level` already.
    """
    sign = 1.0 if rising else -1.0
    past = sign * (value - level) > 0  # NaN (an unseen marker) is never past
    hits = np.flatnonzero(past & (t >= after_s))
    if not len(hits):
        return None
    i = int(hits[0])
    if i == 0 or past[i - 1] or not np.isfinite(value[i - 1]):
        return float(t[i])
    u = (level - value[i - 1]) / (value[i] - value[i - 1])
    return float(t[i - 1] + u * (t[i] - t[i - 1]))


def toe_off_s(markers: FeetMarkers, side: str, after_s: float) -> float | None:
    """When the foot's forefoot leaves the floor, searching from after_s (it rests then)."""
    t = markers.t_s
    rest = (t >= after_s - TOE_REST_WINDOW_S) & (t <= after_s)
    rise = []
    for name in TOES:
        y = markers.marker(side, name)[:, 1]
        if not np.isfinite(y[rest]).any():
            return None
        rise.append(y - np.nanmin(y[rest]))
    lowest = np.min(rise, axis=0)  # NaN where a marker is unseen: no crossing there
    return _first_crossing(t, lowest, TOE_RISE_MM, after_s, rising=True)


def heel_on_s(markers: FeetMarkers, side: str, after_s: float) -> float | None:
    """When the foot's heel lands (stops moving along the floor), searching from after_s."""
    t = markers.t_s
    heel = markers.marker(side, HEEL)
    step_s = np.gradient(t)
    speed_m_s = np.hypot(np.gradient(heel[:, 0]), np.gradient(heel[:, 2])) / step_s / 1000.0
    return _first_crossing(t, speed_m_s, HEEL_STILL_M_S, after_s, rising=False)


def foot_markers_only(text: str, wanted: tuple[str, ...] = FOOT_MARKERS) -> str:
    """A .trc file cut down to the foot markers the truth reads, values unchanged.

    The shipped subset keeps these (tests/data/validation); `python -m
    station.validation.markers SRC_DIR DEST_DIR` makes them from the published files.
    """
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = text.splitlines()
    names = [n.strip() for n in lines[3].split("\t")[2:]]
    columns = {name: 2 + 3 * k for k, name in enumerate(n for n in names if n)}
    keep = [f"{side}.{name}" for side in "LR" for name in wanted]
    head = lines[2].split("\t")
    head[3] = str(len(keep))  # NumMarkers
    out = [lines[0], lines[1], "\t".join(head)]
    out.append("\t".join(["Frame#", "Time", *(f"{name}\t\t" for name in keep)]).rstrip("\t"))
    labels = [f"{axis}{k}" for k in range(1, len(keep) + 1) for axis in "XYZ"]
    out.append("\t".join(["", "", *labels]))
    out.append("")
    for line in lines[5:]:
        if not line.strip():
            continue
        cells = line.split("\t") + [""] * (3 * len(columns))
        kept = [cells[columns[name] + axis] for name in keep for axis in range(3)]
        out.append("\t".join(cells[:2] + kept))
    return newline.join(out) + newline


def main(argv: list[str] | None = None) -> int:
    """Write `walk*.trc.xz` with the foot markers only, from a folder of published files."""
    import lzma
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m station.validation.markers SRC_DIR DEST_DIR", file=sys.stderr)
        return 2
    src, dest = Path(args[0]), Path(args[1])
    sources = sorted(src.glob("walk*.trc"))
    if not sources:
        print(f"no walk*.trc in {src}", file=sys.stderr)
        return 2
    for path in sources:
        with open(path, newline="") as fh:
            trimmed = foot_markers_only(fh.read())
        with lzma.open(dest / (path.name + ".xz"), "wt", newline="", preset=9) as fh:
            fh.write(trimmed)
        print(dest / (path.name + ".xz"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
