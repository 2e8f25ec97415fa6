"""Visits that end: a bag left on the mat, and a simulator that runs for months."""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from hardware.replay import ReplaySource
from hardware.simulator.mat import SimulatedMat, cell_forces
from station.acquisition import Acquisition
from station.core.recording import write_recording
from station.events import VisitClosed
from station.live import LiveHub
from station.store import StoreWriter, open_database

G = 9.80665


def load_recording(path, mat, plan: list[tuple[float, float]]) -> None:
    """A recording of (seconds, kg) steps: 0 kg is an empty mat, the load at the mat centre."""
    rng = np.random.default_rng(2)
    fz = np.concatenate([np.full(round(s * 80), kg * G) for s, kg in plan])
    n = len(fz)
    forces = cell_forces(mat, fz, np.where(fz > 0, 0.1, np.nan), np.zeros(n))
    forces = np.round(np.nan_to_num(forces) + rng.normal(0, 0.05, forces.shape), 2)
    write_recording(path, mat.cell_names, np.arange(n) / 80.0, forces)


def test_a_bag_left_on_the_mat_ends_as_a_flagged_visit(config, tmp_path):
    config = dataclasses.replace(
        config, session=dataclasses.replace(config.session, max_visit_s=8.0)
    )
    rec = tmp_path / "bag.csv"
    # empty, a 15 kg bag for 15 s, empty, a 70 kg member for 3 s, empty
    load_recording(rec, config.mat, [(1, 0), (15, 15), (3, 0), (3, 70), (3, 0)])
    writer = StoreWriter(tmp_path / "s.db")
    hub = LiveHub(queue_len=100_000)  # the test reads every message afterwards
    acq = Acquisition(
        config, ReplaySource(config.mat, rec, loop=False), writer, hub, realtime=False
    )
    ended, limit_seen = [], []

    def on_event(event):  # inline: on the acquisition thread, as the visit closes
        if isinstance(event, VisitClosed):
            ended.append(event.status)
            limit_seen.append(acq.status.visit_limit_reached)

    acq.subscribe(on_event, inline=True)
    viewer = hub.subscribe()
    writer.start()
    acq.start()
    acq.join(60)
    writer.stop()
    writer.join(60)
    db = open_database(tmp_path / "s.db")
    sessions = list(db.query("select id, status, frame_count from sessions order by id"))
    assert [s["status"] for s in sessions] == ["too_long", "complete"]
    bag, member = sessions
    # the bag's visit ends at the limit (plus its pre-roll); nothing starts while it stays
    assert 8.0 * 80 <= bag["frame_count"] <= 8.1 * 80
    assert 4 * 80 <= member["frame_count"] <= 7 * 80
    assert ended == ["too_long", "complete"]
    heard = [json.loads(m) for k, m in viewer.items if k == "session"]
    assert [m["status"] for m in heard if m["event"] == "ended"] == ended  # the kiosk too
    assert limit_seen == [True, False]  # flagged until the bag was lifted
    assert not acq.status.visit_limit_reached


def test_the_running_simulator_forgets_visits_that_are_over(config):
    live = SimulatedMat(config.mat, config.source.sim, 80.0, keep_truth=False)
    frames = 80 * 60 * 20  # twenty minutes of a studio: about 40 visits
    for first in range(0, frames, 800):
        live.render(first, 800)
    assert live._visits_added > 30
    assert len(live.visits) <= 2
    # and it is the same member as one that keeps its truth
    keeping = SimulatedMat(config.mat, config.source.sim, 80.0)
    t1, c1 = live.render(frames, 80)
    keeping.render(0, frames)
    _t2, c2 = keeping.render(frames, 80)
    assert len(keeping.visits) > 30
    np.testing.assert_allclose(c1, c2, atol=2000)  # same load; electronics noise differs
    assert t1.size == 80


def test_the_emulated_chips_of_a_running_station_forget_visits_that_are_over(config, monkeypatch):
    from hardware import hx711_source

    made = []
    real_chips = hx711_source.emulated_chips

    def keep_inputs(*args, **kwargs):  # see what the reader process's factory builds
        made.append(real_chips(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(hx711_source, "emulated_chips", keep_inputs)
    hx711_source.emulated_reader(config)  # what `--source emulated` runs in its reader process
    inputs = made[0][0]
    for frame in range(0, 80 * 60 * 20, 8):  # twenty minutes of a studio, 10 instants a second
        inputs.counts(inputs.t0 + frame / 80.0, 0)
    assert inputs.sim._visits_added > 30
    assert len(inputs.sim.visits) <= 2
