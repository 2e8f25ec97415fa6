"""A lean on the wall that lasts the whole visit, through the running station: a member whose
weight the station learnt from an earlier visit without the wall is flagged live and in the
stored report; a guest is judged on the visit alone; the config's thresholds reach both."""

from __future__ import annotations

import dataclasses
import json

import pytest

from station.cli import default_config_path
from station.core.config import SimConfig, load_config
from station.events import VisitClosed
from station.runtime import Station
from station.store import open_database

from .conftest import call_cli

SECONDS = 30  # one backward pass, stepping off, and the mat empty again
STUDIO_SECONDS = 70  # the studio's first visit, its pause, and the next person stepping on
BODY_N = 70.0 * 9.80665  # the simulated member


def run(db_path, *, scenario, member=None, hand_share=0.0, support=None, quality=None,
        seconds=SECONDS):  # fmt: skip
    """SECONDS of the simulator through the real Station: the kiosk's messages in order, and
    the live detector's summary of each visit as it closed."""
    config = load_config(default_config_path())
    sim = SimConfig(scenario=scenario, seed=4, hand_on_wall_share=hand_share)
    config = dataclasses.replace(
        config,
        source=dataclasses.replace(config.source, kind="sim", sim=sim),
        storage=dataclasses.replace(config.storage, path=str(db_path)),
        support=dataclasses.replace(config.support, **(support or {})),
        quality=dataclasses.replace(config.quality, **(quality or {})),
    )
    station = Station(config, serve=False, realtime=False, max_frames=seconds * 80)
    station.hub.queue_len = 1_000_000  # this test reads every message afterwards
    viewer = station.hub.subscribe()
    live: list[dict] = []
    station.acquisition.subscribe(
        lambda e: live.append(e.recording.support), inline=True, kinds=(VisitClosed,)
    )
    if member is not None:
        station.coach.select("backward_walk", member)  # as the kiosk does when they pick
    station.start()
    station.acquisition.join(timeout=120)
    assert not station.acquisition.is_alive()
    assert station.close() == "Balance Station stopped; every session is saved."
    return [(k, json.loads(v)) for k, v in viewer.items if k != "frames"], live


def members_run(db, member: int) -> dict:
    """The coach's stored result of the member's latest run (what their history shows)."""
    row = db.execute(
        "select summary_json from exercise_runs where member_id = ? order by id desc limit 1",
        [member],
    ).fetchone()
    return json.loads(row[0])


def first_visit(db, after_id: int = 0) -> tuple[dict, float | None]:
    """The report of the first visit after session `after_id`, and the weight it taught."""
    row = db.execute(
        "select report_json, standing_weight_n from summaries where session_id = "
        "(select min(id) from sessions where id > ?)",
        [after_id],
    ).fetchone()
    return json.loads(row[0]), row[1]


@pytest.fixture(scope="module")
def members_weight(tmp_path_factory):
    """A database where Ada walked once without the wall: the station knows her weight."""
    path = tmp_path_factory.mktemp("wall_member") / "s.db"
    db = open_database(path)
    ada = db["members"].insert({"name": "Ada"}).last_pk
    db.close()
    run(path, scenario="backward", member=ada)
    return path, ada


def copy_of(members_weight, tmp_path):
    path, ada = members_weight
    db = open_database(path)
    last = db.execute("select max(id) from sessions").fetchone()[0]
    db.execute(f"vacuum into '{tmp_path / 's.db'}'")
    db.close()
    return tmp_path / "s.db", ada, last


def test_a_visit_without_the_wall_teaches_the_members_weight(members_weight):
    path, _ = members_weight
    db = open_database(path)
    report, taught = first_visit(db)
    db.close()
    assert report["support"]["supported"] is False
    assert report["support"]["reference_weight_n"] is None  # nothing known before
    assert taught == report["support"]["measured_weight_n"]
    assert taught == pytest.approx(BODY_N, rel=0.02)


def test_a_members_whole_visit_lean_is_flagged_live_and_stored(members_weight, tmp_path, capsys):
    path, ada, last = copy_of(members_weight, tmp_path)
    messages, live_summaries = run(
        path, scenario="studio", member=ada, hand_share=0.15, seconds=STUDIO_SECONDS
    )
    db = open_database(path)
    report, taught = first_visit(db, last)
    result = members_run(db, ada)  # her walk ended when the next person stepped on
    db.close()
    support = report["support"]
    assert support["supported"] is True
    assert support["reference_weight_n"] == pytest.approx(BODY_N, rel=0.02)
    assert support["weight_share"] == pytest.approx(0.15, abs=0.03)
    assert support["time_share"] > 0.8  # the whole visit, not a part of it
    assert taught is None  # a visit on the wall never teaches a weight
    assert live_summaries[0] == support  # one definition: the live detector and the report
    # the kiosk was told while she walked; her history says the same as the report
    live = [m for k, m in messages if k == "support"]
    assert live and live[0]["supported"] is True
    assert live[0]["t_s"] < support["spans"][0]["t_end_s"]
    assert result["support"]["supported"] is True
    assert any("Hand on the wall for" in w for w in result["words"])
    # the stored visit analysed again with the weight its report names: the same verdict
    rec = tmp_path / "visit.csv"
    export = ("export-recording", str(last + 1), "--out", str(rec), "--db", str(path))
    assert call_cli(capsys, *export)[0] == 0
    weight = str(support["reference_weight_n"])
    code, out, _ = call_cli(capsys, "analyze", str(rec), "--json", "--reference-weight-n", weight)
    assert code == 0 and json.loads(out)["support"] == support
    code, out, _ = call_cli(capsys, "analyze", str(rec), "--json")  # as a guest's
    assert json.loads(out)["support"]["supported"] is not True


def test_a_guests_whole_visit_lean_is_judged_on_the_visit_alone(members_weight, tmp_path):
    path, _, last = copy_of(members_weight, tmp_path)
    messages, live_summaries = run(path, scenario="studio", hand_share=0.15)
    db = open_database(path)
    report, _ = first_visit(db, last)
    db.close()
    assert report["support"]["supported"] is not True
    assert report["support"]["reference_weight_n"] is None
    assert live_summaries[0] == report["support"]
    assert not [m for k, m in messages if k == "support"]


def test_the_configs_thresholds_reach_the_live_station_and_its_report(members_weight, tmp_path):
    """A margin above the lean and a noise limit under the mat's own: the live note, the
    stored report and the kiosk's summary all follow the config."""
    path, ada, last = copy_of(members_weight, tmp_path)
    messages, live_summaries = run(
        path, scenario="studio", member=ada, hand_share=0.15, seconds=STUDIO_SECONDS,
        support={"margin_share": 0.25}, quality={"noise_n": 0.001},
    )  # fmt: skip
    db = open_database(path)
    report, _ = first_visit(db, last)
    result = members_run(db, ada)
    db.close()
    assert report["support"]["supported"] is False
    assert live_summaries[0] == report["support"]
    assert not [m for k, m in messages if k == "support"]
    assert report["quality"]["mark"] == "noisy"
    assert result["support"]["supported"] is False
    assert result["quality"] == {"mark": "noisy", "words": "noisy: check the floor"}
