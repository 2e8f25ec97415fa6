"""Privacy and security of members' data: PINs, staff, CSRF, escaping, no reaching across."""

from __future__ import annotations

import json
import re

import pytest
import sqlite_utils
from werkzeug.security import generate_password_hash

from station.coach import Coach, compare
from station.live import LiveHub
from station.store import open_database
from web.app import create_app
from web.security import set_staff_password

STAFF = "studio-staff-2026"


@pytest.fixture
def station(tmp_path, config):
    db_path = tmp_path / "station.db"
    db = open_database(db_path)
    set_staff_password(db, STAFF)
    ada = (
        db["members"]
        .insert({"name": "Ada <b>Lovelace</b>", "pin_hash": generate_password_hash("1234")})
        .last_pk
    )
    bert = db["members"].insert({"name": "Bert", "pin_hash": None}).last_pk
    for member, speed in ((ada, 0.41), (bert, 0.55)):
        db["sessions"].insert({"member_id": member, "status": "complete", "mat_json": "{}"})
        db["exercise_runs"].insert(
            {
                "member_id": member,
                "exercise": "backward_walk",
                "ended_at": "2026-11-20",
                "session_ids_json": "[]",
                "summary_json": json.dumps(
                    {"summary": {"exercise": "backward_walk", "speed_m_per_s": speed, "paces": 10}}
                ),
            }
        )
    db.close()
    hub = LiveHub()
    coach = Coach(hub)
    app = create_app(config, hub, lambda: {"state": "running"}, str(db_path), coach)
    app.config["TESTING"] = True
    return app, ada, bert, db_path


def csrf(client, path="/"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def post_json(client, url, body, token):
    return client.post(url, json=body, headers={"X-CSRFToken": token})


def test_every_post_needs_the_csrf_token(station):
    app, ada, _, _ = station
    client = app.test_client()
    r = client.post("/api/kiosk/select", json={"exercise": "quiet_stance"})
    assert r.status_code == 400 and "CSRF" in r.get_json()["detail"]
    r = post_json(client, "/api/kiosk/select", {"exercise": "quiet_stance"}, csrf(client))
    assert r.status_code == 200
    r = client.post(f"/api/members/{ada}/unlock", json={"pin": "1234"})
    assert r.status_code == 400


def test_pin_unlocks_only_that_member_and_is_rate_limited(station):
    app, ada, _bert, _ = station
    client = app.test_client()
    token = csrf(client)
    r = post_json(client, f"/api/members/{ada}/unlock", {"pin": "9999"}, token)
    assert r.status_code == 403 and r.get_json()["attempts_left"] == 4
    assert client.get(f"/api/members/{ada}/runs").status_code == 403
    for left in (3, 2, 1, 0):
        r = post_json(client, f"/api/members/{ada}/unlock", {"pin": "0000"}, token)
        assert r.get_json()["attempts_left"] == left
    r = post_json(client, f"/api/members/{ada}/unlock", {"pin": "1234"}, token)
    assert r.status_code == 429 and r.get_json()["retry_after_s"] > 0  # even the right PIN


def test_one_member_cannot_reach_another_by_changing_the_id(station):
    app, ada, bert, _ = station
    client = app.test_client()
    token = csrf(client)
    assert (
        post_json(client, f"/api/members/{ada}/unlock", {"pin": "1234"}, token).status_code == 200
    )
    runs = client.get(f"/api/members/{ada}/runs").get_json()["runs"]
    assert [r["speed_m_per_s"] for r in runs] == [0.41]
    for url in (
        f"/api/members/{bert}/runs",
        f"/history/{bert}",
        f"/api/members/{bert}/export.csv",
        f"/api/members/{bert}/export.json",
        f"/api/members/{bert}/sessions/2/recording.csv",
    ):
        r = client.get(url)
        assert r.status_code == 403 and "Forbidden" in r.get_data(as_text=True), url
    # Bert's session through Ada's own URL: not hers, not found
    assert client.get(f"/api/members/{ada}/sessions/2/recording.csv").status_code == 404
    # and choosing Bert on the kiosk needs Bert's unlock
    r = post_json(
        client, "/api/kiosk/select", {"exercise": "backward_walk", "member_id": bert}, token
    )
    assert r.status_code == 403


def test_a_member_without_pin_opens_with_a_tap(station):
    app, _, bert, _ = station
    client = app.test_client()
    token = csrf(client)
    assert post_json(client, f"/api/members/{bert}/unlock", {}, token).status_code == 200
    assert (
        client.get(f"/api/members/{bert}/export.csv")
        .get_data(as_text=True)
        .startswith("when (local time),exercise,paces,step length (cm)")
    )
    r = post_json(
        client, "/api/kiosk/select", {"exercise": "backward_walk", "member_id": bert}, token
    )
    assert r.status_code == 200 and r.get_json()["selection"]["member_id"] == bert


def test_reading_her_history_or_phone_link_does_not_claim_the_next_visit(station):
    """Bert picks himself, then opens his history (or the QR for his phone) instead of
    stepping on: his choice no longer stands for the mat, so whoever steps on next is a
    guest; it stands again only when he chooses again."""
    app, _, bert, _ = station
    client = app.test_client()
    token = csrf(client)
    assert post_json(client, f"/api/members/{bert}/unlock", {}, token).status_code == 200
    for look_at_data in (
        lambda: client.get(f"/history/{bert}"),
        lambda: post_json(client, f"/api/members/{bert}/share", {}, token),
    ):
        chosen = {"exercise": "backward_walk", "member_id": bert}
        r = post_json(client, "/api/kiosk/select", chosen, token)
        assert r.get_json()["selection"]["member_id"] == bert
        assert look_at_data().status_code == 200
        guest = {"exercise": "backward_walk", "member_id": None}  # the choice, for a guest
        assert client.get("/api/kiosk").get_json()["selection"] == guest
    # still unlocked: choosing again needs no PIN
    r = post_json(client, "/api/kiosk/select", chosen, token)
    assert r.status_code == 200 and r.get_json()["selection"]["member_id"] == bert


def test_staff_pages_need_the_password_which_is_stored_hashed(station):
    app, _, _, db_path = station
    stored = sqlite_utils.Database(db_path)["settings"].get("staff_password_hash")["value"]
    assert STAFF not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    client = app.test_client()
    assert client.get("/staff/members").status_code == 403
    token = csrf(client, "/staff")
    wrong = client.post("/staff/login", data={"password": "guess", "csrf_token": token})
    assert wrong.status_code == 403
    ok = client.post("/staff/login", data={"password": STAFF, "csrf_token": token})
    assert ok.status_code == 302
    page = client.get("/staff/members").get_data(as_text=True)
    # names are escaped everywhere: no markup from a member's name reaches the page
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in page and "<b>Lovelace" not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(
        "/staff/members", data={"name": "<script>x</script>", "pin": "12", "csrf_token": token}
    )
    assert r.status_code == 400 and "4 to 8 digits" in r.get_data(as_text=True)  # a page
    r = client.post(
        "/staff/members", data={"name": "  Cleo   Ray ", "pin": "5678", "csrf_token": token}
    )
    assert r.status_code == 302
    names = [m["name"] for m in sqlite_utils.Database(db_path)["members"].rows]
    assert "Cleo Ray" in names
    # the kiosk shows names only: a second "Cleo Ray" (or "cleo ray") cannot be told apart
    for name in ("Cleo Ray", "cleo  RAY"):
        r = client.post("/staff/members", data={"name": name, "csrf_token": token})
        assert r.status_code == 409 and "already a member called" in r.get_data(as_text=True)
    bert = next(
        m["id"] for m in sqlite_utils.Database(db_path)["members"].rows if m["name"] == "Bert"
    )
    r = client.post(f"/staff/members/{bert}", data={"name": "cleo ray", "csrf_token": token})
    assert r.status_code == 409
    r = client.post(f"/staff/members/{bert}", data={"name": "Bert", "csrf_token": token})
    assert r.status_code == 302  # keeping one's own name is no clash
    names = [m["name"] for m in sqlite_utils.Database(db_path)["members"].rows]
    assert sorted(names).count("Cleo Ray") == 1 and "Bert" in names


def test_share_link_opens_only_that_members_data_and_expires(station, monkeypatch):
    app, ada, _bert, _ = station
    client = app.test_client()
    token = csrf(client)
    post_json(client, f"/api/members/{ada}/unlock", {"pin": "1234"}, token)
    r = post_json(client, f"/api/members/{ada}/share", {}, token)
    body = r.get_json()
    assert body["expires_in_s"] == 900 and body["qr_svg"].startswith("<svg")
    # built from the station's public address, never from the request's Host (localhost)
    assert body["url"].startswith(app.config["PUBLIC_URL"] + "/share/")
    assert "localhost" not in body["url"]
    link = body["url"][len(app.config["PUBLIC_URL"]) :]
    phone = app.test_client()  # another device, no session at all
    page = phone.get(link).get_data(as_text=True)
    assert "Ada &lt;b&gt;Lovelace&lt;/b&gt;" in page
    assert phone.get(link + "/export.json").get_json()["runs"][0]["speed (m/s)"] == 0.41
    assert phone.get(f"/history/{ada}").status_code == 403  # the link opens only itself
    import time

    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 16 * 60)  # the station's clock
    r = phone.get(link)
    assert r.status_code == 404 and "expired" in r.get_data(as_text=True)


def test_bad_requests_are_json_4xx_never_500(station):
    app, _ada, _, _ = station
    client = app.test_client()
    token = csrf(client)
    for url, body in (
        ("/api/kiosk/select", None),
        ("/api/kiosk/select", {"exercise": 5}),
        ("/api/kiosk/select", {"exercise": "dance"}),
        ("/api/kiosk/select", {"exercise": "quiet_stance", "member_id": "x"}),
    ):
        r = client.post(
            url,
            data="not json" if body is None else json.dumps(body),
            headers={"X-CSRFToken": token, "Content-Type": "application/json"},
        )
        assert r.status_code == 400 and r.get_json()["error"] == "Bad Request"
    assert client.get("/api/members/999/runs").status_code == 403
    r = post_json(client, "/api/members/999/unlock", {"pin": "1"}, token)
    assert r.status_code == 404 and r.get_json()["error"] == "Not Found"
    assert client.get("/share/nonsense").status_code == 404


def test_comparisons_use_a_stated_noise_margin():
    assert compare(0.50, [0.47, 0.49], "speed_m_per_s") == "same"  # within 0.05 m/s
    assert compare(0.60, [0.47, 0.49], "speed_m_per_s") == "better"
    assert compare(0.30, [0.47, 0.49], "speed_m_per_s") == "worse"
    assert compare(1.9, [1.5], "romberg_mean_velocity") == "worse"  # more sway is worse
    assert compare(0.5, [], "speed_m_per_s") is None


def test_steps_of_ones_own_session_export(station):
    app, ada, bert, db_path = station
    db = sqlite_utils.Database(db_path)
    report = {"steps": [{"t_s": 1.0, "x_m": 0.3, "y_m": 0.08, "foot": "left"}]}
    db["summaries"].insert({"session_id": 1, "report_json": json.dumps(report)})
    db["summaries"].insert({"session_id": 2, "report_json": json.dumps(report)})
    client = app.test_client()
    token = csrf(client)
    post_json(client, f"/api/members/{ada}/unlock", {"pin": "1234"}, token)
    r = client.get(f"/api/members/{ada}/sessions/1/steps.csv")
    # units in the column names, rounded for reading, and a legend below
    assert r.status_code == 200 and r.get_data(as_text=True).splitlines()[:3] == [
        "time (s),along the mat (cm),across the mat (cm),foot",
        "1.0,30.0,8.0,left",
        "",
    ]
    assert "# foot: the walker's own left or right" in r.get_data(as_text=True)
    assert (
        client.get(f"/api/members/{ada}/sessions/1/steps.json").get_json()["steps"][0]["foot"]
        == "left"
    )
    assert client.get(f"/api/members/{ada}/sessions/2/steps.csv").status_code == 404  # Bert's
    assert client.get(f"/api/members/{bert}/sessions/2/steps.csv").status_code == 403


def test_sessions_export_and_a_printable_period(station):
    app, ada, _, _db_path = station
    client = app.test_client()
    post_json(client, f"/api/members/{ada}/unlock", {"pin": "1234"}, csrf(client))
    lines = client.get(f"/api/members/{ada}/sessions.csv").get_data(as_text=True).splitlines()
    assert lines[0].startswith("session,started (local time),exercise,on the mat (s)")
    assert lines[1].startswith("1,") and lines[2] == ""
    sessions = client.get(f"/api/members/{ada}/sessions.json").get_json()
    assert sessions["sessions"][0]["session"] == 1 and "speed (m/s)" in sessions["legend"]
    page = client.get(f"/history/{ada}?from=2026-11-21").get_data(as_text=True)
    assert "No exercises yet." in page and "Period: 2026-11-21 to today." in page
    page = client.get(f"/history/{ada}?from=2026-11-01&to=2026-11-30").get_data(as_text=True)
    assert "0.41 m/s" in page


def test_exports_carry_the_quality_mark_and_the_hand_on_the_wall(station):
    """What the history's cards show (the data's mark, the wall) is in every file she keeps."""
    app, ada, _, db_path = station
    db = open_database(db_path)
    quality = {"mark": "noisy", "words": "noisy: check the floor"}
    support = {"supported": True, "time_share": 0.5, "weight_share": 0.25}
    session = db["sessions"].insert({"member_id": ada, "status": "complete", "mat_json": "{}"})
    db["summaries"].insert(
        {
            "session_id": session.last_pk,
            "report_json": json.dumps({"quality": quality, "support": support}),
        }
    )
    db["exercise_runs"].insert(
        {
            "member_id": ada,
            "exercise": "backward_walk",
            "ended_at": "2026-11-21",
            "session_ids_json": json.dumps([session.last_pk]),
            "summary_json": json.dumps(
                {
                    "summary": {"paces": 10, "direction": "forward"},  # a walk-up's, saved
                    "quality": quality,
                    "support": support,
                }
            ),
        }
    )
    db.close()
    client = app.test_client()
    post_json(client, f"/api/members/{ada}/unlock", {"pin": "1234"}, csrf(client))
    runs = client.get(f"/api/members/{ada}/export.json").get_json()["runs"]
    assert runs[-1]["data quality"] == "noisy: check the floor"
    assert runs[-1]["hand on the wall (% of time)"] == 50
    assert runs[-1]["weight on the wall (%)"] == 25
    assert runs[-1]["walked"] == "forward"  # not filed as paces walked backwards
    page = client.get(f"/history/{ada}").get_data(as_text=True)
    assert "10 (forwards)" in page  # her history card says so too
    assert runs[0]["data quality"] is None  # a run from before the mark: nothing claimed
    rows = client.get(f"/api/members/{ada}/export.csv").get_data(as_text=True).splitlines()
    assert rows[0].endswith("data quality,hand on the wall (% of time),weight on the wall (%)")
    assert rows[2].endswith("noisy: check the floor,50,25")
    sessions = client.get(f"/api/members/{ada}/sessions.json").get_json()["sessions"]
    assert sessions[-1]["data quality"] == "noisy: check the floor"
    assert sessions[-1]["hand on the wall (% of time)"] == 50
    assert sessions[0]["hand on the wall (% of time)"] is None  # no report: not judged
