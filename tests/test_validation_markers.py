"""The force-plate walks' truth: the foot on the floor beside the plates, dated by its markers."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from station.validation import markers
from station.validation.datasets import (
    CONTACT_N,
    _crossing_time,
    _stances,
    data_files,
    load_bmclab,
    read_text,
)
from station.validation.run import default_data_dir

WALKS = default_data_dir() / "walking_overground_bmclab"
FORCES = data_files(WALKS, "walk*.forces")
SUBSET = Path(__file__).parent / "data" / "validation" / "walking_overground_bmclab"


def _plates(path: Path) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    rows = [r.split("\t") for r in read_text(path).splitlines() if r and r[0].isdigit()]
    d = np.array([[float(v) for v in r[:50]] for r in rows])
    t = (d[:, 0] - 1) / 450.0
    return t, [(np.clip(d[:, 2 + 7 * p], 0.0, None), d[:, 4 + 7 * p]) for p in range(7)]


def _markers(path: Path) -> markers.FeetMarkers:
    name = path.name.removesuffix(".xz").removesuffix(".forces")
    return markers.read_trc(read_text(data_files(path.parent, name + ".trc")[0]))


def test_marker_lags_are_the_ones_measured_on_the_plates():
    """The markers trail or lead the force by the lags the truth takes off (and they are
    synchronised with the plates: every event within 30 ms)."""
    offs, ons = [], []
    for path in FORCES:
        t, plates = _plates(path)
        feet = _markers(path)
        for fy, x_mm in plates:
            for s, e in _stances(fy, t, CONTACT_N):
                on_s = _crossing_time(t, fy, s, CONTACT_N)
                side = markers.foot_at(feet, on_s, x_mm[s])
                ons.append(markers.heel_on_s(feet, side, on_s - 0.15) - on_s)
                if e < len(t):  # the foot let go of its plate within the record
                    u = (fy[e - 1] - CONTACT_N) / (fy[e - 1] - fy[e])
                    off_s = t[e - 1] + u * (t[e] - t[e - 1])
                    offs.append(markers.toe_off_s(feet, side, off_s - 0.1) - off_s)
    assert len(offs) == 5 and len(ons) == 7
    assert max(map(abs, offs + ons)) < 0.03
    assert abs(np.median(offs) - markers.TOE_OFF_LAG_S) < 0.001
    assert abs(np.median(ons) - markers.HEEL_ON_LAG_S) < 0.001


@pytest.mark.parametrize("path", FORCES, ids=lambda p: p.name.split(".")[0])
def test_first_footfall_single_support_starts_when_the_floor_foot_leaves(path, tmp_path):
    record = load_bmclab(path)
    shift = record.notes["time_shift_s"]
    leaves = record.notes["floor_foot_leaves_s"] + shift
    first, second = record.steps[0], record.steps[1]
    # the foot on the floor lifts its toes about 0.1 s after the first footfall lands
    assert 0.05 < leaves - first.t_s < 0.15
    # the truth is the plate's CoP from then until the next footfall lands (one plate loaded)
    single = (record.t >= leaves) & (record.t < second.t_s)
    expected_x = np.average(record.x[single], weights=record.fz[single])
    assert first.x_m == pytest.approx(expected_x, abs=0.002)
    # without the markers that double support counted as single support: the heel's loading
    # pulled the footfall back against the walk
    shutil.copy(path, tmp_path / path.name)
    plates_only = load_bmclab(tmp_path / path.name)
    assert plates_only.notes["floor_foot_leaves_s"] is None
    assert 0.005 < first.x_m - plates_only.steps[0].x_m < 0.03
    assert [s.x_m for s in plates_only.steps[1:-1]] == [s.x_m for s in record.steps[1:-1]]


@pytest.mark.parametrize("path", FORCES, ids=lambda p: p.name.split(".")[0])
def test_time_reversed_walk_has_the_same_placements(path):
    forward, backward = load_bmclab(path), load_bmclab(path, reverse=True)
    assert [s.x_m for s in forward.steps] == pytest.approx([s.x_m for s in backward.steps[::-1]])


def test_shipped_marker_files_keep_only_the_foot_markers_unchanged():
    shipped = data_files(SUBSET, "walk*.trc")
    assert [p.name for p in shipped] == ["walk1.trc.xz", "walk2.trc.xz"]
    for path in shipped:
        text = read_text(path)
        assert markers.foot_markers_only(text) == text  # cutting it again changes nothing
        assert text.splitlines()[2].split("\t")[3] == "8"  # NumMarkers: heel, MT1, MT2, MT5


@pytest.mark.skipif(
    not os.environ.get("BALANCE_STATION_DATA"), reason="the full data sets are not at hand"
)
def test_full_data_and_shipped_subset_give_the_same_truth():
    for path in data_files(Path(os.environ["BALANCE_STATION_DATA"]) / WALKS.name, "walk*.forces"):
        shipped = SUBSET / (path.name + ".xz")
        for reverse in (False, True):
            assert load_bmclab(path, reverse).steps == load_bmclab(shipped, reverse).steps


def test_a_marker_file_without_the_foot_markers_is_refused():
    text = read_text(data_files(WALKS, "walk1.trc")[0]).replace("L.MT2", "L.MTX")
    with pytest.raises(ValueError, match=r"L\.MT2"):
        markers.read_trc(text)
