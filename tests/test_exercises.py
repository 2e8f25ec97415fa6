"""The studio's exercises as the station runs them: the simulated member on the real runtime
(acquisition, events, coach, store), a member who picks the exercise on the kiosk."""

from __future__ import annotations

import dataclasses
import json
import threading

import numpy as np
import pytest

from hardware.simulator.mat import SimulatedMat
from station.core.config import SimConfig
from station.core.report import SWAY_FILTER_HZ
from station.core.sway import sway_metrics
from station.events import FrameSeen, VisitClosed, VisitStarted
from station.runtime import Station
from station.store import open_database
from tests.conftest import simulated_config


@dataclasses.dataclass
class Ran:
    views: list[dict]  # what the kiosk's exercise screen was sent, in order
    finished: bool
    summary: dict  # the exercise's summary, as stored with the run


def drive(config, tmp_path, exercise, seconds, **sim) -> Ran:
    """`seconds` of the simulated member through the station, with `exercise` picked by a
    member before the first visit and again as soon as each visit ends (as a member does for
    a multi-pass exercise); the kiosk's messages and the stored run."""
    source = dataclasses.replace(config.source, kind="sim", sim=SimConfig(**sim))
    storage = dataclasses.replace(config.storage, path=str(tmp_path / "s.db"))
    config = dataclasses.replace(config, source=source, storage=storage)
    db = open_database(tmp_path / "s.db")
    member = db["members"].insert({"name": "Ada"}).last_pk
    db.close()
    station = Station(config, serve=False, realtime=False, max_frames=int(seconds * 80))
    station.hub.queue_len = 1_000_000
    viewer = station.hub.subscribe()
    coach, back_to_guest = station.coach, station.coach.reset

    picked = threading.Event()

    def pick_again(reason: str) -> None:  # on the coach's thread, right after a visit
        back_to_guest(reason)
        if reason == "visit ended":
            coach.select(exercise, member)
            picked.set()

    def wait_for_the_pick(_event: VisitClosed) -> None:
        """On the acquisition thread: the member picks again before the next visit starts,
        as in the studio (here the recording runs faster than real time, and the coach's
        thread may lag behind it)."""
        assert picked.wait(timeout=60), "the coach never handled the end of the visit"
        picked.clear()

    coach.reset = pick_again
    # after the coach (subscribed by the Station), so the coach has the event queued first
    station.acquisition.subscribe(wait_for_the_pick, inline=True, kinds=(VisitClosed,))
    coach.select(exercise, member)
    station.start()
    station.acquisition.join(timeout=300)
    station.close()
    messages = [(k, json.loads(v)) for k, v in viewer.items if k != "frame"]
    kinds = [k for k, _ in messages]
    first_run = (
        messages[: kinds.index("exercise_summary")] if "exercise_summary" in kinds else messages
    )
    views = [m for k, m in first_run if k == "exercise" and m.get("phase") != "idle"]
    db = open_database(tmp_path / "s.db")
    rows = list(db.query("select summary_json from exercise_runs where member_id = ?", [member]))
    db.close()
    result = json.loads(rows[-1]["summary_json"]) if rows else {}
    return Ran(views, result.get("finished", False), result.get("summary", {}))


def picked_once(tmp_path, exercise, member, seconds, on_event=None, kinds=(), **sim) -> list:
    """What the kiosk's summary said, `exercise` picked once (by `member`; None: a guest)
    before the simulated member's first visit, through the station; `on_event` hears the
    runtime's events of `kinds` on the acquisition thread."""
    config = simulated_config(tmp_path / "s.db", **sim)
    station = Station(config, serve=False, realtime=False, max_frames=int(seconds * 80))
    station.hub.queue_len = 1_000_000
    viewer = station.hub.subscribe()
    if on_event is not None:
        station.acquisition.subscribe(on_event, inline=True, kinds=kinds)
    station.coach.select(exercise, member)
    station.start()
    station.acquisition.join(timeout=300)
    station.close()
    return [json.loads(v) for k, v in viewer.items if k == "exercise_summary"]


def test_backward_walk_counts_ten_paces_over_passes(config, tmp_path):
    ran = drive(config, tmp_path, "backward_walk", 50, scenario="backward", seed=4)
    views = ran.views
    assert ran.finished
    counts = [v["paces"] for v in views]
    assert counts == sorted(counts) and counts[-1] == 10  # counted up, capped at the target
    assert any(v["cue"] == "3 more" for v in views) and views[-1]["cue"] == "Step off the mat"
    s = ran.summary
    assert s["paces"] >= 10 and s["passes"] == 2  # 4 paces back and the feet together, twice
    assert s["step_length_m"] == pytest.approx(0.32, abs=0.04)
    assert s["cadence_steps_per_min"] == pytest.approx(90, rel=0.1)
    assert s["speed_m_per_s"] == pytest.approx(0.48, rel=0.15)
    assert s["time_for_3_m_s"] == pytest.approx(3 / s["speed_m_per_s"])


def test_head_turns_cue_each_shoulder_in_turn(config, tmp_path):
    ran = drive(config, tmp_path, "head_turns", 34, scenario="head_turns", seed=2)
    views = ran.views
    cues = [v["cue"] for v in views if "shoulder" in v["cue"]]
    assert cues[0] == "Look over your LEFT shoulder"
    assert "Look over your RIGHT shoulder" in cues
    left_until = max(v["paces"] for v in views if v.get("shoulder") == "left")
    assert left_until <= 4
    s = ran.summary
    for side in ("left", "right"):
        assert s[f"{side}_step_width_m"] == pytest.approx(0.16, abs=0.03)
        assert s[f"{side}_lateral_sway_m"] is not None


def test_quiet_stance_eyes_open_then_closed_and_the_romberg_ratio(config, tmp_path):
    ran = drive(config, tmp_path, "quiet_stance", 72, scenario="romberg", seed=6)
    views = ran.views
    phases = [v["phase"] for v in views]
    assert phases.index("open") < phases.index("closed") < phases.index("done")
    lefts = [v["seconds_left"] for v in views if v["phase"] == "open"]
    assert lefts[0] == 30 and lefts[-1] == 1  # a countdown the member can read
    assert next(v["cue"] for v in views if v["phase"] == "closed") == (
        "Close your eyes. Stand still."
    )
    s = ran.summary
    assert s["eyes_open"]["duration_s"] == pytest.approx(30, abs=0.5)
    # the simulated member sways 1.6 times as much with eyes closed
    assert 1.3 < s["romberg_mean_velocity"] < 2.0
    assert s["romberg_ellipse95_area"] > 1.5
    assert np.isfinite(s["eyes_closed"]["rms_ml_m"])


def test_quiet_stance_sway_is_the_member_s_own_not_the_mat_s(config, tmp_path):
    """What a member reads after the quiet stance is how they swayed: within 2 % of the
    simulated member's own CoP (low-passed as the report does), the mat's noise taken out.
    The window is found in the simulation's time by the summary's own `t_start_s`."""
    first_frame: list[float] = []
    visit_starts: list[float] = []

    def clocks(event) -> None:  # the station's clock against the simulation's
        if isinstance(event, FrameSeen) and not first_frame:
            first_frame.append(event.t_s)
        elif isinstance(event, VisitStarted):
            visit_starts.append(event.t_s)

    summaries = picked_once(
        tmp_path, "quiet_stance", None, 75, clocks, (FrameSeen, VisitStarted),
        scenario="romberg", seed=6,
    )  # fmt: skip
    said = summaries[0]
    assert said["title"] == "Quiet stance" and said["finished"]
    # the simulated mat's first frame is its time 0 (to its 2 ms timing jitter)
    visit_t0 = visit_starts[0] - first_frame[0]
    sim = SimConfig(scenario="romberg", seed=6)
    twin = SimulatedMat(config.mat, sim, config.source.rate_hz)  # the same member, truth kept
    for phase in ("eyes_open", "eyes_closed"):
        got = said["summary"][phase]
        rate = config.source.rate_hz
        t = visit_t0 + got["t_start_s"] + np.arange(round(got["duration_s"] * rate)) / rate
        _, x, y = twin.body_load(t)
        truth = sway_metrics(t, x, y, filter_hz=SWAY_FILTER_HZ)
        assert got["mean_velocity_m_per_s"] == pytest.approx(
            truth["mean_velocity_m_per_s"], rel=0.02
        ), phase
        assert got["ellipse95_area_m2"] == pytest.approx(truth["ellipse95_area_m2"], rel=0.02)


def test_a_guest_s_one_pass_of_head_turns_claims_no_width_it_did_not_measure(config, tmp_path):
    """A guest's run ends with the visit: 5 paces, 4 over the left shoulder and 1 over the
    right, so no step width looking right. The summary must not say "0 cm"."""
    said = picked_once(tmp_path, "head_turns", None, 25, scenario="backward", seed=4)[0]
    assert said["title"] == "Backward walk with head turns" and said["member_id"] is None
    assert said["summary"]["right_step_width_m"] is None
    words = " ".join(said["words"])
    assert "Step width looking left" in words and "looking right" not in words
    assert " 0 cm" not in words


def test_live_view_shows_cadence_and_side_to_side_sway(config, tmp_path):
    ran = drive(config, tmp_path, "backward_walk", 50, scenario="backward", seed=6)
    walking = [v for v in ran.views if v.get("cadence_steps_per_min")]
    # the simulated member walks at 90 steps a minute: the screen says so while they walk
    assert len(walking) >= 4
    assert np.median([v["cadence_steps_per_min"] for v in walking]) == pytest.approx(90, abs=8)
    # the sway meter's last number of each pass is that pass's sway by the report's own
    # definition (gait.py), the one the summary gives: same definition, same scale
    # (the meter shows nothing until a pass has 3 strides: a gap starts the next pass)
    last_of_pass, shown = [], None
    for v in ran.views:
        sway = v.get("lateral_sway_m")
        if sway is None and shown is not None:
            last_of_pass.append(shown)
        shown = sway
    if shown is not None:
        last_of_pass.append(shown)
    assert ran.finished and len(last_of_pass) == ran.summary["passes"] == 2
    # the summary pools both passes (RMS over all strides): it lies between them
    low, high = min(last_of_pass), max(last_of_pass)
    assert low - 1e-12 <= ran.summary["lateral_sway_m"] <= high + 1e-12


def test_warrior_hold_measures_the_back_foots_share_and_steadiness(config, tmp_path):
    ran = drive(config, tmp_path, "warrior", 40, scenario="warrior", seed=2)
    views = ran.views
    phases = [v["phase"] for v in views]
    for phase in ("waiting", "step_back", "hold", "done"):
        assert phase in phases
    lefts = [v["seconds_left"] for v in views if v["phase"] == "hold"]
    assert lefts[0] == 20 and lefts[-1] == 1
    s = ran.summary
    assert s["held_s"] == pytest.approx(20, abs=0.5)
    # the simulated member puts 40 % of the weight on the back foot, 0.75 m behind
    assert s["rear_share"] == pytest.approx(0.40, abs=0.05)
    assert 0 < s["sway_velocity_m_per_s"] < 0.05


@pytest.mark.parametrize("who", ["guest", "member"])
def test_a_visit_with_nothing_to_measure_says_so_and_stores_nothing(config, tmp_path, who):
    """Quiet stance picked, but the visitor walks off after a few seconds: the kiosk says
    what the exercise needs at once (a member's stance is not kept waiting like a walk: it
    starts again anyway), offers nothing to save, and no run is stored."""
    member = None
    if who == "member":
        db = open_database(tmp_path / "s.db")
        member = db["members"].insert({"name": "Ada"}).last_pk
        db.close()
    summaries = picked_once(tmp_path, "quiet_stance", member, 25, scenario="backward", seed=4)
    assert summaries, "the kiosk was told nothing"
    said = summaries[0]
    assert said["title"] == "Quiet stance" and said["measured"] is False
    assert said["member_id"] == member
    assert said["words"] == [
        "Nothing to measure this time: it needs 30 seconds of standing still with the eyes "
        "open, then closed. No result was added."
    ]
    assert said["claim_left_s"] == 0  # nothing to save to a history
    db = open_database(tmp_path / "s.db")
    stored = [r["exercise"] for r in db.query("select exercise from exercise_runs")]
    assert "quiet_stance" not in stored  # (a later guest visit walks: that run is kept)
    assert db["sessions"].count >= 1  # the visit's frames are stored as always
    db.close()
