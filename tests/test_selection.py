"""Who is on the mat, through the real wiring: acquisition -> events -> coach -> store.

The simulated member visits the mat again and again (fast mode); the kiosk's choice is
made on the selection desk as the web page makes it. Every assertion is on the database
rows or on what the kiosk is sent.
"""

from __future__ import annotations

import json

import pytest

from hardware.simulator.mat import SimulatedMat
from station.acquisition import Acquisition
from station.coach import ClaimError, Coach
from station.core.config import SimConfig
from station.events import VisitClosed
from station.live import LiveHub
from station.selection import SelectionDesk
from station.store import StoreWriter, open_database


class Clock:
    """The desk's clock, moved by the test (the coach reads the same one)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run_station(config, tmp_path, seconds, desk, *, choose=None, lapse_s=0.0, on_visit_ended=None,
                history=None):  # fmt: skip
    """`seconds` of the backward scenario through the station; (database, ids, kiosk messages).

    `choose`: the member who picks themselves (and the backward walk) before anyone steps
    on; `lapse_s`: how long the desk's clock then runs before the first frame.
    """
    db_path = tmp_path / "s.db"
    writer = StoreWriter(db_path, flush_interval_s=0.2)
    db = open_database(db_path)
    ids = {n: db["members"].insert({"name": n}).last_pk for n in ("Ada", "Bea")}
    db.close()
    source = SimulatedMat(config.mat, SimConfig(scenario="backward", seed=4), 80.0)
    hub = LiveHub(queue_len=100_000)
    viewer = hub.subscribe()
    acq = Acquisition(config, source, writer, hub, realtime=False, max_frames=int(seconds * 80))
    acq.selection = desk
    coach = Coach(hub, history=history, store=writer, desk=desk)
    ended: list[VisitClosed] = []

    def coach_then_test(event) -> None:  # on the coach's thread: sees what it has done
        coach.handle(event)
        if isinstance(event, VisitClosed) and on_visit_ended:
            ended.append(event)
            on_visit_ended(coach, ids, len(ended))

    acq.subscribe(coach_then_test, name="coach")
    if choose:
        coach.select("backward_walk", ids[choose])
        desk.clock.now += lapse_s
    writer.start()
    acq.start()
    acq.join(timeout=120)
    writer.stop()
    writer.join(timeout=60)
    assert writer.error is None and acq.status.state == "stopped"
    messages = [(k, json.loads(v)) for k, v in viewer.items if k != "frame"]
    return open_database(db_path), ids, messages


def sessions_and_runs(db):
    sessions = [r["member_id"] for r in db.query("select member_id from sessions order by id")]
    runs = [
        (r["member_id"], json.loads(r["session_ids_json"]), json.loads(r["summary_json"]))
        for r in db.query("select * from exercise_runs order by id")
    ]
    return sessions, runs


def test_a_choice_applies_to_the_next_visit_only(config, tmp_path):
    desk = SelectionDesk(60.0, clock=Clock())
    earlier = [{"lateral_sway_m": 0.010}, {"lateral_sway_m": 0.014}, {"lateral_sway_m": 0.012}]
    db, ids, messages = run_station(
        config, tmp_path, 40, desk, choose="Ada",
        history=lambda member, exercise: earlier if member else [],
    )  # fmt: skip
    sessions, runs = sessions_and_runs(db)
    assert len(sessions) >= 3
    assert sessions[0] == ids["Ada"] and all(m is None for m in sessions[1:])
    # Ada's unfinished walk is stored as hers when the next person steps on; guests' runs
    # end with their visit
    assert runs[0][0] == ids["Ada"] and runs[0][1] == [1] and runs[0][2]["finished"] is False
    assert all(member is None and len(sids) == 1 for member, sids, _ in runs[1:])
    # the kiosk was sent back to "Guest" at every step-off
    resets = [m for k, m in messages if k == "selection"]
    assert len(resets) >= len(sessions) - 1 and resets[0]["reason"] == "visit ended"
    # Ada's live sway meter showed her usual (the median of her earlier runs); guests have none
    walks = [m for k, m in messages if k == "exercise" and m.get("phase") != "idle"]
    assert walks[0]["member"] is True and walks[0]["baseline_lateral_sway_m"] == 0.012
    assert walks[-1]["member"] is False and walks[-1]["baseline_lateral_sway_m"] is None


def test_a_walk_up_s_run_saved_to_a_history_is_no_yardstick_for_a_chosen_walk(config, tmp_path):
    """Ada once saved a walk-up's run (which way she walked, the mat could not tell) to her
    history. Her chosen backward walk is compared with her backward walks only."""
    desk = SelectionDesk(60.0, clock=Clock())
    earlier = [
        {"exercise": "backward_walk", "speed_m_per_s": 0.01},  # stored before runs had a way
        {"exercise": "backward_walk", "speed_m_per_s": 5.0, "direction": "unknown"},
    ]
    db, ids, _ = run_station(
        config, tmp_path, 30, desk, choose="Ada",
        history=lambda member, exercise: earlier if member else [],
    )  # fmt: skip
    _, runs = sessions_and_runs(db)
    member, _, result = runs[0]
    assert member == ids["Ada"] and result["summary"]["direction"] == "backward"
    assert result["comparisons"]["speed_m_per_s"] == "better"  # than 0.01 m/s, not 2.5 on mean


def test_a_guest_run_is_claimed_once_and_only_within_the_window(config, tmp_path):
    clock = Clock()
    desk = SelectionDesk(60.0, clock=clock)
    outcomes = []

    def claim(coach, ids, visit):
        if visit == 1:
            coach.claim(ids["Bea"])
            with pytest.raises(ClaimError, match="already"):
                coach.claim(ids["Ada"])
            outcomes.append("claimed")
        elif visit == 2:
            clock.now += 121.0  # past the two minutes
            with pytest.raises(ClaimError, match="no guest run"):
                coach.claim(ids["Ada"])
            outcomes.append("too late")

    db, ids, _ = run_station(config, tmp_path, 30, desk, on_visit_ended=claim)
    assert outcomes == ["claimed", "too late"]
    sessions, runs = sessions_and_runs(db)
    assert sessions[:2] == [ids["Bea"], None]
    assert runs[0][0] == ids["Bea"] and runs[0][1] == [1] and runs[0][2]["member_id"] == ids["Bea"]
    assert runs[1][0] is None and runs[1][1] == [2]
    assert ids["Ada"] not in sessions and all(r[0] != ids["Ada"] for r in runs)


def test_a_choice_nobody_uses_lapses_and_the_visit_is_a_guests(config, tmp_path):
    desk = SelectionDesk(60.0, clock=Clock())
    # Ada chooses, then a minute and more passes with nobody on the mat
    db, _ids, messages = run_station(config, tmp_path, 14, desk, choose="Ada", lapse_s=61.0)
    sessions, _ = sessions_and_runs(db)
    assert sessions and all(m is None for m in sessions)
    resets = [m for k, m in messages if k == "selection"]
    assert resets[0]["reason"] == "nobody stepped on"
