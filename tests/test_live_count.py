"""The pace count the kiosk shows, from the running station's live stream.

`balance-station run` with the simulated mat: members walk the mat backwards, close their
feet, stand, shift onto one foot and step off the far end. The kiosk counts a pace on each
live report of a contact and takes it away when the report is taken back (kiosk.js
`onStep`); a member must never see the count rise and fall back, least of all on the shift
before stepping off, after the pass was done.
"""

from __future__ import annotations

import json

import pytest

from station.runtime import Station
from tests.conftest import simulated_config

SECONDS = 150  # nine backward passes, each ending with the feet together and stepping off


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    """Everything the live hub sent while the simulated member walked, in order."""
    db_path = tmp_path_factory.mktemp("live_count") / "s.db"
    config = simulated_config(db_path, scenario="backward", seed=2)
    station = Station(config, serve=False, realtime=False, max_frames=SECONDS * 80)
    station.hub.queue_len = 1_000_000  # every message is read afterwards
    viewer = station.hub.subscribe()
    station.start()
    station.acquisition.join(timeout=300)
    assert not station.acquisition.is_alive()
    station.close()
    return [(kind, json.loads(text)) for kind, text in viewer.items]


def test_the_pace_count_never_falls_back_during_a_visit(stream):
    shown: dict[int, set[int]] = {}  # per visit, as kiosk.js keeps it: indices on screen
    falls = []
    for kind, message in stream:
        if kind != "step":
            continue
        steps = shown.setdefault(message["key"], set())
        before = len(steps)
        if message["retracted"]:
            steps.discard(message["index"])
        else:
            steps.add(message["index"])
        if len(steps) < before:
            falls.append((message["key"], message["t_s"], before, len(steps)))
    ended = [m for kind, m in stream if kind == "session" and m["event"] == "ended"]
    # every whole visit (the station stops during the last): two feet stepping on and a
    # walk of paces across the mat, all still on screen when it ended
    assert len(ended) >= 9
    assert all(len(shown[m["key"]]) >= 6 for m in ended[:-1])
    assert falls == []
