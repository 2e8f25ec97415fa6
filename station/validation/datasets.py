"""The real data sets, each turned into lab records in the mat frame with their own truth.

Each loader returns what a mat of unlimited precision would measure (total vertical force and
CoP, at the data set's rate) plus the truth that the data itself carries; station_path.py then
adds what the real mat adds. Layout and units of every file: the data folder's README.
"""

from __future__ import annotations

import csv
import io
import itertools
import lzma
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import markers

# gaitpdb insole sensor positions (arbitrary units; 1600 units ~ one foot length, 0.26 m)
_INSOLE_X = np.array([-500, -700, -300, -700, -300, -700, -300, -500], dtype=float)
_INSOLE_Y = np.array([-800, -400, -400, 0, 0, 400, 400, 800], dtype=float)
_INSOLE_M = 0.26 / 1600.0
CONTACT_N = 30.0  # truth threshold above a foot's unloaded baseline (README: 20-50 N)


@dataclass(frozen=True)
class TruthStep:
    t_s: float
    x_m: float
    y_m: float
    foot: str
    pass_index: int


@dataclass
class WalkRecord:
    """A lab record placed in the mat frame, with its foot-contact truth."""

    name: str
    t: np.ndarray
    fz: np.ndarray
    x: np.ndarray
    y: np.ndarray
    steps: list[TruthStep]
    direction: str
    notes: dict = field(default_factory=dict)


@dataclass
class StandingRecord:
    name: str
    t: np.ndarray
    fz: np.ndarray
    x: np.ndarray  # m, AP
    y: np.ndarray  # m, ML
    published: dict[str, float]  # area_cm2, velo_cm_s, mfreq_hz


def data_files(folder: Path, pattern: str) -> list[Path]:
    """The files of a data set matching `pattern`, plain or xz-compressed, in name order.

    The repository ships its subset compressed (`tests/data/validation`); a downloaded full set
    is plain text. A plain file wins over a compressed one of the same name.
    """
    found = {p.name.removesuffix(".xz"): p for p in folder.glob(pattern + ".xz")}
    found.update({p.name: p for p in folder.glob(pattern)})
    return [found[name] for name in sorted(found)]


def read_text(path: Path) -> str:
    """A data file's text, decompressing `.xz` (the line endings kept as they are)."""
    if path.suffix == ".xz":
        with lzma.open(path, "rt", newline="") as fh:
            return fh.read()
    with open(path, newline="") as fh:
        return fh.read()


def record_name(path: Path) -> str:
    """`GaCo01_01` for `GaCo01_01.txt` and for `GaCo01_01.txt.xz`."""
    return Path(path.name.removesuffix(".xz")).stem


def _stances(load: np.ndarray, t: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(onset, offset) sample indices where a foot's load is above threshold."""
    on = load >= threshold
    edges = np.diff(on.astype(int))
    starts = list(np.flatnonzero(edges == 1) + 1)
    ends = list(np.flatnonzero(edges == -1) + 1)
    if on[0]:
        starts = [0, *starts]
    if on[-1]:
        ends = [*ends, len(load)]
    out = []
    for s, e in zip(starts, ends, strict=True):
        if t[e - 1] - t[s] >= 0.15:
            out.append((s, e))
    merged: list[tuple[int, int]] = []
    for s, e in out:  # a dip under the threshold for less than 60 ms is not a lift
        if merged and t[s] - t[merged[-1][1] - 1] < 0.06:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _crossing_time(t: np.ndarray, load: np.ndarray, i: int, threshold: float) -> float:
    """Interpolated time the load rose through threshold just before sample i."""
    if i == 0 or load[i - 1] >= threshold:
        return float(t[i])
    u = (threshold - load[i - 1]) / (load[i] - load[i - 1])
    return float(t[i - 1] + u * (t[i] - t[i - 1]))


def load_gaitpdb(
    path: Path,
    seed: int,
    half_length_m: float = 0.915,
    pass_gap_s: float = 1.5,
    reverse: bool = True,
) -> WalkRecord:
    """Insole walking, time-reversed into backward walking, laid on the mat as short passes.

    Each pass takes 3-6 consecutive foot contacts of the walk; its step length (0.25-0.45 m)
    and width (0.08-0.20 m) are drawn per pass (seeded) and every foot is put down at its
    place with its own in-shoe CoP moving under it. Feet outside the pass stand on the
    studio floor (the mat does not see them), so every pass steps on and off the mat.
    Truth: each foot's own load crossing 30 N above its unloaded baseline; its placement is
    the mean of its own CoP over the single support that follows (docs/design.md's definition).
    """
    rng = np.random.default_rng(seed)
    d = np.loadtxt(io.StringIO(read_text(path)))
    if reverse:
        d = d[::-1].copy()
    t = np.abs(d[:, 0] - d[0, 0])
    # the right insole is the left one mirrored: sensor x negated, its centre at x = +500
    feet = {"left": (d[:, 1:9], d[:, 17], 1.0), "right": (d[:, 9:17], d[:, 18], -1.0)}
    load = {}
    local = {}
    for foot, (sensors, total, mirror) in feet.items():
        baseline = float(np.percentile(total, 5))
        load[foot] = np.clip(total - baseline, 0.0, None)
        s = np.clip(sensors, 0.0, None)
        w = s.sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            fwd = (s @ _INSOLE_Y) / w * _INSOLE_M
            # across the foot, towards the walker's right (insole +x), from the foot's centre
            lat = (s @ (mirror * _INSOLE_X + mirror * 500.0)) / w * _INSOLE_M
        local[foot] = (np.nan_to_num(fwd), np.nan_to_num(lat))
    stances = sorted(
        (t[s], foot, s, e)
        for foot in ("left", "right")
        for s, e in _stances(load[foot], t, CONTACT_N)
    )
    # walking only: leave out the quiet standing at both ends and the turns' irregular steps
    duration = t[-1]
    stances = [st for st in stances if 6.0 < st[0] < duration - 6.0]
    out_t, out_fz, out_x, out_y = [], [], [], []
    steps: list[TruthStep] = []
    offset = 0.0
    i = 0
    pass_index = 0
    passes_meta = []
    while i + 6 < len(stances):
        k = int(rng.integers(3, 7))
        length = float(rng.uniform(0.25, 0.45))
        width = float(rng.uniform(0.08, 0.20))
        start_x = half_length_m - 0.30
        k = min(k, int((2 * half_length_m - 0.6) / length) + 1)
        group = stances[i : i + k]
        feet_seq = [g[1] for g in group]
        if any(a == b for a, b in itertools.pairwise(feet_seq)):
            i += 1  # not alternating here (a turn): skip
            continue
        t0 = group[0][0] - 0.6
        t1 = max(t[e - 1] for _, _, _, e in group) + 0.6
        window = (t >= t0) & (t <= t1)
        tw = t[window]
        fz = np.zeros(len(tw))
        mx = np.zeros(len(tw))
        my = np.zeros(len(tw))
        # every pass travels towards -x: backwards the walker faces +x (left is +y),
        # forwards they face -x (left is -y, toes towards -x)
        facing = 1.0 if reverse else -1.0
        for j, (_, foot, s, e) in enumerate(group):
            px = start_x - j * length + rng.normal(0.0, 0.01)
            py = facing * (width / 2 if foot == "left" else -width / 2) + rng.normal(0.0, 0.008)
            in_stance = np.zeros(len(t), dtype=bool)
            in_stance[s:e] = True
            mask = in_stance[window]
            f = load[foot][window] * mask
            fwd, lat = local[foot]
            cx = px + facing * fwd[window]
            cy = py - facing * lat[window]
            fz += f
            mx += f * cx
            my += f * cy
            other = "right" if foot == "left" else "left"
            single = in_stance & (load[other] < CONTACT_N)
            sx = (px + facing * fwd[single]) if single.any() else np.array([px])
            sy = (py - facing * lat[single]) if single.any() else np.array([py])
            steps.append(
                TruthStep(
                    _crossing_time(t, load[foot], s, CONTACT_N) - t0 + offset,
                    float(np.average(sx, weights=load[foot][single]) if single.any() else px),
                    float(np.average(sy, weights=load[foot][single]) if single.any() else py),
                    foot,
                    pass_index,
                )
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(fz > 0, mx / np.where(fz > 0, fz, 1), np.nan)
            y = np.where(fz > 0, my / np.where(fz > 0, fz, 1), np.nan)
        out_t.append(tw - t0 + offset)
        out_fz.append(fz)
        out_x.append(x)
        out_y.append(y)
        passes_meta.append({"steps": k, "step_length_m": length, "step_width_m": width})
        offset += (t1 - t0) + pass_gap_s
        pass_index += 1
        i += k + int(rng.integers(2, 5))  # the walker goes round before the next pass
    tt = np.concatenate(out_t)
    return WalkRecord(
        record_name(path),
        tt,
        np.concatenate(out_fz),
        np.concatenate(out_x),
        np.concatenate(out_y),
        steps,
        "backward" if reverse else "forward",
        {"passes": passes_meta},
    )


def _with_gaps(t: np.ndarray, fz: np.ndarray, x: np.ndarray, y: np.ndarray, rate: float):
    """Pad a record with empty mat before and after (a station records the approach)."""
    pad = int(rate * 0.5)
    tt = np.concatenate(
        [t[0] - np.arange(pad, 0, -1) / rate, t, t[-1] + np.arange(1, pad + 1) / rate]
    )
    z = np.zeros(pad)
    nan = np.full(pad, np.nan)
    return (
        tt - tt[0],
        np.concatenate([z, fz, z]),
        np.concatenate([nan, x, nan]),
        np.concatenate([nan, y, nan]),
        pad / rate,
    )


def _floor_foot_down(
    path: Path, t: np.ndarray, plates: list
) -> tuple[np.ndarray, float | None, float | None]:
    """Samples (forward time) when the foot off the plates stands on the floor beside them.

    The foot that stands on the floor while the first footfall lands on the plates, until
    it leaves (its forefoot markers rise); the foot that lands on the floor while the last
    footfall still stands on its plate, from its landing (its heel marker stops). Each
    marker time is moved by the lag markers show at the plates' own foot-offs and landings.
    Also when that foot leaves and lands (s, None if not in the record). All False without
    a marker file.
    """
    down = np.zeros(len(t), dtype=bool)
    leaves_s = lands_s = None
    found = data_files(path.parent, record_name(path) + ".trc")
    if not found:
        return down, leaves_s, lands_s
    feet = markers.read_trc(read_text(found[0]))
    falls = sorted(
        (s, e, k) for k, (fy, _, _) in enumerate(plates) for s, e in _stances(fy, t, CONTACT_N)
    )
    if len(falls) < 2:
        return down, leaves_s, lands_s

    def others(k: int, i: int) -> float:
        return sum(fy[i] for j, (fy, _, _) in enumerate(plates) if j != k)

    def partner(s: int, k: int) -> str:
        side = markers.foot_at(feet, float(t[s]), float(plates[k][1][s]) * 1000.0)
        return "R" if side == "L" else "L"

    s, _, k = falls[0]
    if others(k, s) < CONTACT_N:  # the other foot is on no plate
        off = markers.toe_off_s(feet, partner(s, k), float(t[s]))
        if off is not None:
            leaves_s = off - markers.TOE_OFF_LAG_S
            down |= t < leaves_s
    s, e, k = falls[-1]
    if others(k, e - 1) < CONTACT_N:
        left_plate_s = float(t[falls[-2][1] - 1])  # the other foot's last plate let go
        landed = markers.heel_on_s(feet, partner(s, k), left_plate_s)
        if landed is not None and landed - markers.HEEL_ON_LAG_S <= t[-1]:
            lands_s = landed - markers.HEEL_ON_LAG_S
            down |= t >= lands_s
    return down, leaves_s, lands_s


def load_bmclab(path: Path, reverse: bool = False) -> WalkRecord:
    """Overground walking across 7 force plates, summed into one long walkway.

    Truth: each footfall's own plate force crossing 30 N and that plate's CoP over the
    single support that follows. Before the first footfall on the plates and after the last
    one the other foot stands on the floor, where no plate sees it: the marker file beside
    the forces (`walk*.trc`) dates when it leaves and lands (markers.py), and that double
    support is not single support. Forward as recorded; reversed, it is backward walking.
    """
    rows = [line.split("\t") for line in read_text(path).splitlines() if line and line[0].isdigit()]
    d = np.array([[float(v) for v in r[:50]] for r in rows])
    rate = 450.0
    t = (d[:, 0] - 1) / rate
    plates = []
    for p in range(7):
        base = 1 + 7 * p
        fy = np.clip(d[:, base + 1], 0.0, None)
        px = d[:, base + 3] / 1000.0
        pz = d[:, base + 5] / 1000.0
        plates.append((fy, px, pz))
    floor, leaves_s, lands_s = _floor_foot_down(path, t, plates)
    if reverse:
        t = t[-1] - t[::-1]
        plates = [(fy[::-1], px[::-1], pz[::-1]) for fy, px, pz in plates]
        floor = floor[::-1]
    fz = sum(p[0] for p in plates)
    mx = sum(p[0] * p[1] for p in plates)
    mz = sum(p[0] * p[2] for p in plates)
    loaded = fz > 1.0
    x_lab = np.where(loaded, mx / np.where(loaded, fz, 1.0), np.nan)
    z_lab = np.where(loaded, mz / np.where(loaded, fz, 1.0), np.nan)
    centre_x = float(np.nanmean(x_lab))
    centre_z = float(np.nanmean(z_lab))
    # mat frame: x along the walk, y = -Z (Z is to the walker's right when facing +X)
    x = x_lab - centre_x
    y = -(z_lab - centre_z)
    footfalls = []
    for fy, px, pz in plates:
        for s, e in _stances(fy, t, CONTACT_N):
            footfalls.append((s, e, fy, px, pz))
    footfalls.sort(key=lambda f: f[0])
    steps = []
    for s, e, fy, px, pz in footfalls:
        in_stance = np.zeros(len(t), dtype=bool)
        in_stance[s:e] = True
        others = sum(p[0] for p in plates if p[0] is not fy)
        single = in_stance & (others < CONTACT_N) & ~floor
        if not single.any():
            single = in_stance & (others < CONTACT_N)
        if not single.any():
            single = in_stance
        sx = float(np.average(px[single] - centre_x, weights=fy[single]))
        sy = float(-np.average(pz[single] - centre_z, weights=fy[single]))
        steps.append(TruthStep(_crossing_time(t, fy, s, CONTACT_N), sx, sy, "", 0))
    # which foot: facing the way of travel in forward walking, against it in backward
    travel = np.sign(steps[-1].x_m - steps[0].x_m) if len(steps) > 1 else 1.0
    facing = travel if not reverse else -travel
    labelled = []
    for k, st in enumerate(steps):
        neighbours = [steps[j].y_m for j in (k - 1, k + 1) if 0 <= j < len(steps)]
        side = st.y_m - np.mean(neighbours)
        foot = "left" if side * facing > 0 else "right"
        labelled.append(TruthStep(st.t_s, st.x_m, st.y_m, foot, 0))
    tt, fz2, x2, y2, shift = _with_gaps(
        t, fz, np.where(loaded, x, np.nan), np.where(loaded, y, np.nan), rate
    )
    labelled = [TruthStep(s.t_s + shift, s.x_m, s.y_m, s.foot, 0) for s in labelled]
    name = record_name(path) + ("-reversed" if reverse else "")
    # when the foot on the floor left it and landed again, in the file's own (forward) time
    notes = {"floor_foot_leaves_s": leaves_s, "floor_foot_lands_s": lands_s, "time_shift_s": shift}
    direction = "backward" if reverse else "forward"
    return WalkRecord(name, tt, fz2, x2, y2, labelled, direction, notes)


def _published(info_path: Path) -> dict[str, dict[str, str]]:
    rows = list(csv.reader(io.StringIO(read_text(info_path)), delimiter="\t"))
    header = rows[0]
    return {r[0]: dict(zip(header, r, strict=False)) for r in rows[1:] if r}


def load_pds(folder: Path) -> list[StandingRecord]:
    """Two-plate quiet standing (dos Santos et al. 2017): COPNET and its published metrics."""
    info = _published(folder / "PDSinfoCOP.txt")
    out = []
    for path in data_files(folder, "PDS*grf.txt"):
        name = record_name(path).removesuffix("grf")
        d = np.genfromtxt(io.StringIO(read_text(path)), delimiter="\t", names=True)
        p = info[name]
        out.append(
            StandingRecord(
                name,
                d["Time"],
                d["GRFNET_Y"],
                d["COPNET_X"],
                d["COPNET_Z"],
                {
                    "area_cm2": float(p["COParea"]),
                    "velo_cm_s": float(p["COPvelo"]),
                    "mfreq_hz": float(p["COPmfreq"]),
                },
            )
        )
    return out


def load_bds(folder: Path) -> list[StandingRecord]:
    """One-plate quiet standing (Santos & Duarte 2016): COP in cm and published metrics."""
    info = _published(folder / "BDSinfoCOP.txt")
    out = []
    for path in data_files(folder, "BDS000*.txt"):
        d = np.loadtxt(io.StringIO(read_text(path)), skiprows=1)
        p = info[record_name(path)]
        out.append(
            StandingRecord(
                record_name(path),
                d[:, 0],
                d[:, 3],
                d[:, 7] / 100.0,
                d[:, 8] / 100.0,
                {
                    "area_cm2": float(p["COParea"]),
                    "velo_cm_s": float(p["COPvelo"]),
                    "mfreq_hz": float(p["COPmfreq"]),
                },
            )
        )
    return out


def finite(values: list[float]) -> list[float]:
    return [v for v in values if not math.isnan(v)]
