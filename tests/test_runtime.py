"""The running station as `balance-station run` composes it (station.runtime.Station), driven
whole: the simulated member walks, the kiosk's choice is made on the coach, and what the
kiosk is sent, what the events say and what the database holds are compared.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import threading

import pytest

from station.cli import default_config_path
from station.core.config import SimConfig, load_config
from station.events import ContactReported, VisitEnded
from station.runtime import Station
from station.store import exercise_runs, open_database, session_summary
from tests.conftest import simulated_config

SECONDS = 30  # one backward pass, stepping off, and the mat empty again


@pytest.fixture(scope="module")
def walked(tmp_path_factory):
    """One run of the real runtime; everything it published, sent and stored."""
    tmp = tmp_path_factory.mktemp("runtime")
    config = simulated_config(tmp / "s.db", scenario="backward", seed=4)
    db = open_database(tmp / "s.db")
    ada = db["members"].insert({"name": "Ada"}).last_pk
    db.close()

    station = Station(config, serve=False, realtime=False, max_frames=SECONDS * 80)
    station.hub.queue_len = 1_000_000  # this test reads every message afterwards
    viewer = station.hub.subscribe()
    seen: list[tuple[object, str]] = []  # each event and its repr when it was published
    threads = {"history": set(), "report": set()}

    def keep(event) -> None:
        seen.append((event, repr(event)))
        if isinstance(event, VisitEnded):
            threads["report"].add(threading.current_thread().name)

    station.acquisition.subscribe(keep, inline=True)
    history = station.coach.history

    def watched_history(member_id, exercise):
        threads["history"].add(threading.current_thread().name)
        return history(member_id, exercise)

    station.coach.history = watched_history
    station.coach.select("backward_walk", ada)
    station.start()
    station.acquisition.join(timeout=120)
    assert not station.acquisition.is_alive()
    last_line = station.close()
    messages = [(k, json.loads(v)) for k, v in viewer.items]
    return {
        "db": open_database(tmp / "s.db"),
        "ada": ada,
        "seen": seen,
        "threads": threads,
        "messages": messages,
        "last_line": last_line,
    }


def test_nothing_heavy_runs_on_the_acquisition_thread(walked):
    assert walked["threads"]["history"] == {"coach"}  # SQLite reads of earlier runs
    assert walked["threads"]["report"] == {"reports"}  # the end-of-visit report
    assert walked["last_line"] == "Balance Station stopped; every session is saved."


def test_published_events_are_never_changed_afterwards(walked):
    seen = walked["seen"]
    contacts = [e for e, _ in seen if isinstance(e, ContactReported)]
    assert len(contacts) >= 6
    for event, at_publication in seen:
        assert repr(event) == at_publication
    # the report labelled the feet from the whole pass; the live events kept their guess
    with pytest.raises(dataclasses.FrozenInstanceError):
        contacts[0].key = 99  # type: ignore[misc]


def test_live_events_summary_and_stored_report_give_the_same_numbers(walked):
    db, messages = walked["db"], walked["messages"]
    ended = [m for k, m in messages if k == "session" and m["event"] == "ended"]
    assert ended, "no visit ended"
    first = ended[0]
    stored = session_summary(db, first["key"]).report
    # 1. what the kiosk was told at step-off is the stored report, number for number
    for name in ("duration_s", "body_weight_n", "direction", "on_mat_s", "frame_count"):
        assert first[name] == stored[name], name
    assert first["gait"] == stored["gait"] and first["sway"] == stored["sway"]
    # 2. the live foot contacts (each index's latest report) are the stored steps
    latest = {}
    for kind, m in messages:
        if kind == "step" and m["key"] == first["key"]:
            latest[m["index"]] = m
    live_steps = [(m["t_s"], m["x"], m["y"]) for m in latest.values() if not m["retracted"]]
    # Ada chose the backward walk: the screen guesses each foot as she lands it, and the two
    # she stepped on with once her first step back shows which way she faces; the report,
    # from the whole pass, agrees with every guess
    live_feet = [m["foot"] for m in latest.values() if not m["retracted"]]
    assert live_feet == [s["foot"] for s in stored["steps"]]
    assert set(live_feet) == {"left", "right"}
    stored_steps = [(s["t_s"], s["x_m"], s["y_m"]) for s in stored["steps"]]
    assert live_steps == stored_steps and len(stored_steps) >= 5
    # 3. the exercise's summary (stored with the run) is what the live screen last showed
    (run,) = exercise_runs(db, walked["ada"], "backward_walk")
    # the coach sends its views from its own thread, in its own order (the "ended" message
    # comes from the report's thread and may pass them): the run's views are those before
    # the coach's next idle view, the picker after step-off
    views: list[dict] = []
    for kind, m in messages:
        if kind != "exercise":
            continue
        if m.get("phase") == "idle" and views:
            break
        if m.get("paces"):
            views.append(m)
    assert run.session_ids == [first["key"]]
    assert run.summary["paces"] == views[-1]["paces"] >= 4
    assert run.summary["lateral_sway_m"] == views[-1]["lateral_sway_m"]
    # and its paces are the stored report's steps after the two that stepped on
    paces = stored_steps[2 : 2 + run.summary["paces"]]
    assert len(paces) == run.summary["paces"]


def test_the_weight_the_kiosk_shows_is_sent_while_somebody_is_on(walked):
    messages = walked["messages"]
    frames = [m for k, m in messages if k == "frame"]
    started = next(i for i, (k, m) in enumerate(messages) if k == "session")
    on = [f["kg"] for f in frames if f["kg"] is not None]
    # the simulated member weighs 70 kg; their weight shows once the visit's threshold is met
    # (a second's mean: it climbs for a second as they step on, then holds)
    assert len(on) > 80 and sum(60 < kg < 80 for kg in on) > 0.8 * len(on)
    assert abs(sorted(on)[len(on) // 2] - 70.0) < 1.5
    before_visit = [m for k, m in messages[:started] if k == "frame"]
    assert before_visit[0]["kg"] is None  # an empty mat shows no weight
    assert all(f["kg"] is None for f in frames if f["fz"] < 50.0)  # off below OFF_MAT_N


def test_the_panel_follows_the_station_through_its_events(tmp_path):
    """The GPIO panel (gpiozero's mock pins) on the real runtime: LED state, a beep per foot
    contact, a chirp per visit, all from the station's events (nothing polls)."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    config = load_config(default_config_path())
    config = dataclasses.replace(
        config,
        source=dataclasses.replace(
            config.source, kind="sim", sim=SimConfig(scenario="backward", seed=4)
        ),
        storage=dataclasses.replace(config.storage, path=str(tmp_path / "s.db")),
        panel=dataclasses.replace(config.panel, enabled=True),
    )
    before, Device.pin_factory = Device.pin_factory, MockFactory()
    try:
        station = Station(config, serve=False, realtime=False, max_frames=SECONDS * 80)
        panel, heard = station.panel, []
        for name in ("set_state", "beep", "chirp"):
            real = getattr(panel, name)
            setattr(panel, name, lambda *a, _n=name, _r=real: (heard.append((_n, *a)), _r(*a)))
        station.start()
        station.acquisition.join(timeout=120)
        station.close()
    finally:
        Device.pin_factory = before
    db = open_database(tmp_path / "s.db")
    reports = [session_summary(db, r["id"]).report for r in db.query("select id from sessions")]
    states = [h[1] for h in heard if h[0] == "set_state"]
    # empty, somebody on, recording, empty again: in that order, each change once
    assert states[:4] == ["idle", "ready", "recording", "idle"]
    assert all(a != b for a, b in itertools.pairwise(states))
    assert sum(h[0] == "chirp" for h in heard) == len(reports) >= 1  # one per visit
    steps = sum(len(r["steps"]) for r in reports)
    assert sum(h[0] == "beep" for h in heard) == steps  # one per contact, never twice


def test_a_walk_up_is_not_given_the_exercise_s_direction(tmp_path):
    """Nobody chose on the kiosk and a guest walks forwards across the mat: the station must
    not take the default exercise's "backward" for it and show every foot mirrored. With the
    roll too faint to tell, the feet stay unlabelled, live and in the report."""
    config = simulated_config(tmp_path / "s.db", scenario="forward", seed=3)
    station = Station(config, serve=False, realtime=False, max_frames=SECONDS * 80)
    station.hub.queue_len = 1_000_000
    viewer = station.hub.subscribe()
    seen: list[object] = []
    station.acquisition.subscribe(seen.append, inline=True)
    station.start()
    station.acquisition.join(timeout=120)
    assert not station.acquisition.is_alive()
    station.close()
    live = [e for e in seen if isinstance(e, ContactReported)]
    reports = [e.report for e in seen if isinstance(e, VisitEnded)]
    assert len(live) >= 6 and reports
    assert {e.foot for e in live} == {""}  # no live guess: it would be a mirror image
    walked = [r for r in reports if len(r["steps"]) >= 5]
    assert walked, "no whole pass in the recording"
    for report in walked:
        assert report["direction"] != "backward"
        if report["direction"] == "unknown":
            assert {s["foot"] for s in report["steps"]} == {""}
    # the kiosk's summary tells the walk-up neither "backwards" nor the backward-walk markers
    summaries = [json.loads(v) for k, v in viewer.items if k == "exercise_summary"]
    measured = [s for s in summaries if s.get("measured", True)]
    assert measured, "no walk-up's run was summarised"
    for said in measured:
        assert said["summary"]["direction"] != "backward"
        words = " ".join(said["words"])
        assert "backwards" not in words and "Fritz" not in words
        assert "backward-walking markers of the studies are left out" in words
