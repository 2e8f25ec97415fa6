"""Where the detector puts each foot on the force-plate walks (real data, the station path).

Between two footfalls the old foot's off is found from the CoP's progress towards the new
foot, whose own CoP track is run back in time. Fitted where the CoP settled, that track
ran too slowly (the roll slows as the foot settles): the off came 75-150 ms late and every
footfall between the first and the last was placed 1.6-3.0 cm towards its toe. Refitted
where the new foot first stood alone, until the off comes no earlier, it is within 12 ms of
the plates' own foot-offs.
"""

from __future__ import annotations

import pytest

from station.core.cop import cop_batch
from station.validation.datasets import data_files, load_bmclab
from station.validation.run import WALKWAY_4, WALKWAY_6, _detect_live, default_data_dir
from station.validation.station_path import station_signal

WALKS = data_files(default_data_dir() / "walking_overground_bmclab", "walk*.forces")


@pytest.mark.parametrize("mat", [WALKWAY_6, WALKWAY_4], ids=["6 cells", "4 cells"])
@pytest.mark.parametrize("k", range(len(WALKS)), ids=[p.name.split(".")[0] for p in WALKS])
def test_footfalls_on_the_plates_are_placed_within_a_centimetre(mat, k):
    record = load_bmclab(WALKS[k])  # forward: heel to toe, the roll slowing as it settles
    signal = station_signal(mat, record.t, record.fz, record.x, record.y, 50 + k)
    detector, _ = _detect_live(signal.t, *cop_batch(mat, signal.forces))
    contacts = detector.contacts
    assert len(contacts) == len(record.steps)
    # all but the last: walk1's last footfall is still on its plate when the record ends
    for contact, truth in zip(contacts[:-1], record.steps[:-1], strict=True):
        assert contact.x_m == pytest.approx(truth.x_m, abs=0.01)
        assert contact.y_m == pytest.approx(truth.y_m, abs=0.01)
