"""Acquisition in fast mode: a session per visit, every frame stored, viewers never stall it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hardware.simulator.mat import SCENARIOS, SimulatedMat
from station.acquisition import Acquisition
from station.core.config import SimConfig
from station.core.cop import cop_batch
from station.live import LiveHub
from station.store import StoreWriter, open_database, session_frames

G = 9.80665


def run_fast(config, tmp_path, frames: int, hub: LiveHub | None = None, **sim):
    cfg = config
    source = SimulatedMat(cfg.mat, SimConfig(**sim), cfg.source.rate_hz)
    writer = StoreWriter(tmp_path / "s.db", flush_interval_s=0.2)
    hub = hub or LiveHub()
    acq = Acquisition(cfg, source, writer, hub, realtime=False, max_frames=frames)
    writer.start()
    acq.start()
    acq.join(timeout=120)
    writer.stop()
    writer.join(timeout=60)
    assert not acq.is_alive() and not writer.is_alive()
    assert writer.error is None and acq.status.state == "stopped"
    return source, acq, open_database(tmp_path / "s.db")


def test_one_session_per_visit_with_body_weight(config, tmp_path):
    # visits close together (the studio scenario's pause is for people at the kiosk)
    source, acq, db = run_fast(
        config, tmp_path, 80 * 95, body_mass_kg=64.0, pause_between_visits_s=3.0
    )
    # what the kiosk and `health` say of the rate: the frames' own clock, 80 a second
    assert acq.status.frame_rate_hz == pytest.approx(80.0, abs=0.5)
    sessions = list(db.query("select * from sessions order by id"))
    visits = [s for s in source.segments if s.kind == "visit" and s.t_end_s < 95]
    assert len(sessions) >= len(visits) >= 5
    for s in sessions:
        assert s["status"] == "complete"
    summaries = list(db.query("select * from summaries order by session_id"))
    plan = SCENARIOS["studio"]
    for i, (visit, summary) in enumerate(zip(visits, summaries, strict=False)):
        report = json.loads(summary["report_json"])
        # a session runs from the pre-roll to the off-hold: the visit plus about 2.5 s
        assert report["duration_s"] == pytest.approx(visit.t_end_s - visit.t_start_s, abs=3.0)
        assert summary["sample_rate_hz"] == pytest.approx(80.0, rel=0.01)
        on_mat_share = 1.0 - plan[i % len(plan)].get("hand_on_wall_share", 0.0)
        assert summary["body_weight_n"] == pytest.approx(64.0 * G * on_mat_share, rel=0.01)
        contacts = [c for c in source.contacts if visit.t_start_s <= c.t_s <= visit.t_end_s]
        assert summary["step_count"] == len(contacts)


def test_every_frame_of_a_session_is_stored_and_reproducible(config, tmp_path):
    _source, _acq, db = run_fast(config, tmp_path, 80 * 20, seed=9)
    session = db["sessions"].get(1)
    names, t, forces = session_frames(db, 1)
    assert session["frame_count"] == len(t)
    seqs = [r[0] for r in db.execute("select seq from frame_rows where session_id=1 order by seq")]
    assert seqs == list(range(len(seqs)))  # contiguous
    assert names == config.mat.cell_names
    # it starts with a pre-roll from before the member stepped on, and ends empty
    fz, x, _ = cop_batch(config.mat, forces)
    assert fz[0] < 50 and np.isnan(x[0])
    assert fz[-1] < 50 and np.isnan(x[-1])
    assert fz.max() > 600
    # the offline analysis of the stored frames gives the live report exactly
    from station.core.report import analyse

    stored = json.loads(db["summaries"].get(1)["report_json"])
    again = json.loads(json.dumps(analyse(t, forces, config.mat)))
    assert again == stored
    assert stored["gait"]["step_count"] >= 5 and stored["direction"] == "backward"


def test_a_viewer_that_never_reads_does_not_stall_anything(config, tmp_path):
    hub = LiveHub(queue_len=100)
    stuck = hub.subscribe()  # a dead browser: subscribed, never reads
    frames = 80 * 30
    _, acq, db = run_fast(config, tmp_path, frames, hub=hub, pause_between_visits_s=3.0)
    assert acq.status.frames == frames
    assert stuck.dropped >= frames - 100  # it lost its oldest messages, nobody else did
    assert len(stuck.items) == 100
    stored = db.execute("select count(*) from frame_rows").fetchone()[0]
    assert stored > 0.6 * frames  # every on-mat frame is stored despite the stuck viewer
    total = sum(r["frame_count"] for r in db.query("select frame_count from sessions"))
    assert stored == total
