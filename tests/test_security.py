"""The station as a network service: who reaches what from where, sign-ins that end, throttles.

Most tests run the real station process (waitress, the SQLite store) and play a phone on the
studio network with connections from 127.0.0.2 (a loopback alias the station must treat as the
network); a few use Flask's test client where the clock must be moved.
"""

from __future__ import annotations

import json
import re
import socket
import stat
import threading
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlite_utils
import tomli_w
from werkzeug.security import generate_password_hash

from station import store_web
from station.cli import default_config_path
from station.coach import Coach
from station.live import LiveHub
from station.store import open_database
from web import access, security, server
from web.app import _event_stream, create_app

from .conftest import REPO
from .webclient import KIOSK, NETWORK, Client

STAFF = "studio-staff-2026"
PIN = "2468"


def make_db(path: Path) -> tuple[int, int]:
    """A station database with a staff password, Ada (PIN 2468) and Bert (no PIN)."""
    db = open_database(path)
    security.set_staff_password(db, STAFF)
    ada = db["members"].insert({"name": "Ada", "pin_hash": generate_password_hash(PIN)}).last_pk
    bert = db["members"].insert({"name": "Bert", "pin_hash": None}).last_pk
    db["sessions"].insert(
        {
            "member_id": ada,
            "status": "interrupted",  # cut short before any frame was stored
            "mat_json": json.dumps({"cells": [{"name": "front_left"}]}),
            "started_at": "2026-11-20",
        }
    )
    db["summaries"].insert({"session_id": 1, "body_weight_n": 612.0, "duration_s": 9.0})
    db.close()
    return ada, bert


def config_file(tmp_path: Path, **web: object) -> Path:
    raw = tomllib.loads(default_config_path().read_text())
    raw["source"]["sim"].update(scenario="stand", start_delay_s=600)  # nobody on the mat
    raw["web"].update(web)
    path = tmp_path / "station.toml"
    path.write_bytes(tomli_w.dumps(raw).encode())
    return path


@pytest.fixture
def station(station_factory, tmp_path):
    db = tmp_path / "station.db"
    ada, bert = make_db(db)
    st = station_factory("--config", str(config_file(tmp_path)), db=db)
    return st, ada, bert


def unlock_at_kiosk(port: int, member_id: int, pin: str | None = PIN) -> Client:
    kiosk = Client(port, KIOSK)
    kiosk.fetch_csrf("/")
    r = kiosk.post_json(f"/api/members/{member_id}/unlock", {"pin": pin})
    assert r.status == 200, r.text
    return kiosk


# --- network exposure ---------------------------------------------------------------------------


def test_every_route_has_a_rule_and_the_docs_print_the_table(tmp_path, config):
    app = create_app(config, LiveHub(), dict, tmp_path / "s.db")
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(access.ROUTES), "decide who may call each new route in web/access.py"
    docs = (REPO / "docs" / "security.md").read_text()
    assert access.markdown_table(app) in docs, "docs/security.md: paste `python -m web.access`"


def test_the_network_gets_share_pages_only(station):
    st, ada, _ = station
    phone = Client(st.port, NETWORK)
    for path in (
        "/",
        "/api/status",
        "/api/members",
        "/api/kiosk",
        "/api/sessions",
        "/api/stream",
        "/staff",
        f"/history/{ada}",
        f"/api/members/{ada}/runs",
    ):
        assert phone.get(path).status == 404, path
    dead = phone.get("/share/no-such-link")  # a phone's dead link leads to no other dead end
    assert dead.status == 404 and 'href="/"' not in dead.text
    assert "ask at the mat for a new one" in dead.text
    for path in (
        "/api/members/lock",
        f"/api/members/{ada}/unlock",
        "/api/kiosk/select",
        "/staff/login",
    ):
        r = phone.post_json(path, {"pin": PIN, "exercise": "quiet_stance"})
        assert r.status == 404, path
    assert phone.get("/static/pages.css").status == 200  # share pages need it
    # the kiosk itself is served as before
    assert Client(st.port, KIOSK).get("/api/status").status == 200

    kiosk = unlock_at_kiosk(st.port, ada)
    link = kiosk.post_json(f"/api/members/{ada}/share", {}).json()["url"]
    path = "/share/" + link.rsplit("/share/", 1)[1]
    page = phone.get(path)
    assert page.status == 200 and "Ada" in page.text
    assert phone.get(path + "/export.csv").status == 200
    # handing the kiosk over ends the unlock on the server; the link sent to her phone is hers
    assert kiosk.post_json("/api/members/lock", {}).status == 200
    assert kiosk.get(f"/history/{ada}").status == 403
    assert phone.get(path).status == 200


def test_owner_can_open_the_staff_pages_to_the_network_behind_the_password(
    station_factory, tmp_path
):
    db = tmp_path / "station.db"
    ada, _ = make_db(db)
    st = station_factory("--config", str(config_file(tmp_path, network_access="staff")), db=db)
    laptop = Client(st.port, NETWORK)
    assert laptop.get("/").status == 404
    assert laptop.get(f"/api/members/{ada}/runs").status == 404
    laptop.fetch_csrf("/staff")
    assert laptop.post_form("/staff/login", {"password": STAFF}).status == 302
    assert laptop.get("/staff/members").status == 200
    assert laptop.get("/").status == 200
    assert laptop.get(f"/api/members/{ada}/runs").status == 200
    laptop.post_form("/staff/logout", {})
    assert laptop.get("/").status == 404


# --- headers, cookies, errors -------------------------------------------------------------------


def test_pages_carry_security_headers_and_cookies_stay_in_the_browser(station):
    st, _, _ = station
    kiosk = Client(st.port, KIOSK)
    r = kiosk.get("/")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert r.headers.get("Server") is None and r.headers.get("Via") is None
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    # errors: a page for people, JSON for the API, never a traceback or the whole input
    page = kiosk.get("/no/such/page")
    assert page.status == 404 and page.headers["Content-Type"].startswith("text/html")
    api = kiosk.get("/api/no-such-thing")
    assert api.status == 404 and api.json()["error"] == "Not Found"
    kiosk.fetch_csrf("/")
    r = kiosk.post_json("/api/kiosk/select", {"exercise": "x" * 50_000})
    assert r.status == 400 and len(r.body) < 500


def test_bodies_are_capped_ids_stay_in_range_nesting_is_refused(station):
    st, ada, _ = station
    kiosk = Client(st.port, KIOSK)
    kiosk.fetch_csrf("/")
    headers = {"Content-Type": "application/json", "X-CSRFToken": kiosk.csrf or ""}
    # just over the 64 kB cap: the whole body leaves the client before the server answers
    # (a far larger one may meet a closed socket mid-send, which refuses it just as well)
    big = kiosk.request("POST", "/api/kiosk/select", b"[" + b"1," * 40_000 + b"1]", headers)
    assert big.status == 413 and len(big.body) < 500
    nested = kiosk.request("POST", f"/api/members/{ada}/unlock", "[" * 20_000, headers)
    assert nested.status in (400, 403) and len(nested.body) < 500
    r = kiosk.post_json("/api/kiosk/select", json.loads("[" * 40 + "]" * 40))
    assert r.status == 400
    for member_id in (2**63, 2**64 + 1, 10**30):
        assert kiosk.get(f"/api/members/{member_id}/runs").status == 404
        assert kiosk.post_json(f"/api/members/{member_id}/unlock", {"pin": PIN}).status == 404
    assert kiosk.post_json(f"/api/members/{2**63 - 1}/unlock", {"pin": PIN}).status == 404


# --- personal data ------------------------------------------------------------------------------


@pytest.fixture
def app_and_members(tmp_path, config):
    db = tmp_path / "station.db"
    ada, bert = make_db(db)
    hub = LiveHub()
    coach = Coach(hub)
    app = create_app(config, hub, lambda: {"state": "running"}, db, coach)
    app.config["TESTING"] = True
    return app, ada, bert, hub, coach


def csrf_of(client) -> str:
    page = client.get("/").get_data(as_text=True)
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_nobody_but_staff_sees_who_a_session_was_or_their_body_weight(app_and_members):
    app, ada, _, _, _ = app_and_members
    guest = app.test_client()
    sessions = guest.get("/api/sessions").get_json()["sessions"]
    assert sessions and all("member_id" not in s and "body_weight_n" not in s for s in sessions)
    staff = app.test_client()
    page = staff.get("/staff").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    staff.post("/staff/login", data={"password": STAFF, "csrf_token": token})
    row = staff.get("/api/sessions").get_json()["sessions"][0]
    assert row["member_id"] == ada and row["body_weight_n"] == 612.0


def test_the_kiosk_state_and_live_stream_name_a_member_only_to_their_unlock(app_and_members):
    app, ada, _, hub, _ = app_and_members
    member = app.test_client()
    token = csrf_of(member)
    member.post(f"/api/members/{ada}/unlock", json={"pin": PIN}, headers={"X-CSRFToken": token})
    r = member.post(
        "/api/kiosk/select",
        json={"exercise": "quiet_stance", "member_id": ada},
        headers={"X-CSRFToken": token},
    )
    assert r.get_json()["selection"]["member_id"] == ada
    assert member.get("/api/kiosk").get_json()["selection"]["member_id"] == ada
    other = app.test_client()
    assert other.get("/api/kiosk").get_json()["selection"]["member_id"] is None

    stream = _event_stream(hub, lambda: {"state": "running"})
    next(stream), next(stream)  # retry and first status
    hub.publish("exercise_summary", json.dumps({"member_id": ada, "words": ["Well done."]}))
    hub.publish("session", json.dumps({"event": "ended", "key": 1, "body_weight_n": 612.0}))
    sent = next(stream)
    stream.close()
    assert "Well done." in sent and '"ended"' in sent
    assert "member_id" not in sent and "body_weight_n" not in sent and "612" not in sent


def later(monkeypatch, seconds: float) -> None:
    """Move the sign-ins' clock forward (time.time is what the stored sessions compare)."""
    now = time.time()
    monkeypatch.setattr(security.time, "time", lambda: now + seconds)


def test_a_member_unlock_ends_after_two_idle_minutes(app_and_members, monkeypatch):
    app, ada, _, _, _ = app_and_members
    client = app.test_client()
    token = csrf_of(client)
    client.post(f"/api/members/{ada}/unlock", json={"pin": PIN}, headers={"X-CSRFToken": token})
    assert client.get(f"/api/members/{ada}/runs").status_code == 200
    later(monkeypatch, 110)
    assert client.get(f"/api/members/{ada}/runs").status_code == 200  # activity: still open
    later(monkeypatch, 110 + 121)
    assert client.get(f"/api/members/{ada}/runs").status_code == 403
    assert client.get("/api/members").get_json()["unlocked"] is None


def test_lock_ends_copied_cookies_and_a_pin_change_ends_share_links_too(app_and_members):
    app, ada, _, _, _ = app_and_members
    kiosk, thief = app.test_client(), app.test_client()
    token = csrf_of(kiosk)
    kiosk.post(f"/api/members/{ada}/unlock", json={"pin": PIN}, headers={"X-CSRFToken": token})
    thief.set_cookie("session", kiosk.get_cookie("session").value)
    assert thief.get(f"/history/{ada}").status_code == 200  # a copy works while unlocked...
    link = kiosk.post(f"/api/members/{ada}/share", headers={"X-CSRFToken": token}).get_json()
    share_path = "/share/" + link["url"].rsplit("/share/", 1)[1]
    kiosk.post("/api/members/lock", headers={"X-CSRFToken": token})
    assert thief.get(f"/history/{ada}").status_code == 403  # ...and ends with Lock
    assert app.test_client().get(share_path).status_code == 200  # the phone's link stays

    kiosk.post(f"/api/members/{ada}/unlock", json={"pin": PIN}, headers={"X-CSRFToken": token})
    link = kiosk.post(f"/api/members/{ada}/share", headers={"X-CSRFToken": token}).get_json()
    share_path = "/share/" + link["url"].rsplit("/share/", 1)[1]
    staff = app.test_client()
    page = staff.get("/staff").get_data(as_text=True)
    form = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    staff.post("/staff/login", data={"password": STAFF, "csrf_token": form})
    staff.post(f"/staff/members/{ada}", data={"name": "Ada", "pin": "1357", "csrf_token": form})
    assert kiosk.get(f"/history/{ada}").status_code == 403
    assert app.test_client().get(share_path).status_code == 404


def test_staff_sign_in_ends_after_15_idle_minutes_and_on_logout(app_and_members, monkeypatch):
    app, _, _, _, _ = app_and_members
    staff, copy = app.test_client(), app.test_client()
    page = staff.get("/staff").get_data(as_text=True)
    form = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    staff.post("/staff/login", data={"password": STAFF, "csrf_token": form})
    copy.set_cookie("session", staff.get_cookie("session").value)
    assert staff.get("/staff/members").status_code == 200
    staff.post("/staff/logout", data={"csrf_token": form})
    assert copy.get("/staff/members").status_code == 403  # the copied cookie ended too
    staff.post("/staff/login", data={"password": STAFF, "csrf_token": form})
    later(monkeypatch, 14 * 60)
    assert staff.get("/staff/members").status_code == 200
    later(monkeypatch, 14 * 60 + 15 * 60 + 1)
    assert staff.get("/staff/members").status_code == 403


def test_pins_are_ascii_digits(app_and_members):
    assert security.valid_pin("0123") and not security.valid_pin("١٢٣٤")
    assert not security.valid_pin("１２３４") and not security.valid_pin("12 34")
    app, _, _, _, _ = app_and_members
    staff = app.test_client()
    page = staff.get("/staff").get_data(as_text=True)
    form = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    staff.post("/staff/login", data={"password": STAFF, "csrf_token": form})
    r = staff.post("/staff/members", data={"name": "Dina", "pin": "١٢٣٤", "csrf_token": form})
    assert r.status_code == 400


# --- throttles --------------------------------------------------------------------------------


def parallel(n: int, call) -> list:
    with ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(lambda _: call(), range(n)))


def test_pin_throttle_holds_under_100_parallel_tries_and_after_a_restart(station_factory, tmp_path):
    db = tmp_path / "station.db"
    ada, _ = make_db(db)
    cfg = str(config_file(tmp_path))
    st = station_factory("--config", cfg, db=db)
    kiosk = Client(st.port, KIOSK)
    kiosk.fetch_csrf("/")

    replies = parallel(100, lambda: kiosk.post_json(f"/api/members/{ada}/unlock", {"pin": "0000"}))
    checked = [r for r in replies if r.status == 403]
    refused = [r for r in replies if r.status == 429]
    assert len(checked) == security.PIN_LIMITS["member+client"] == 5
    assert len(refused) == 95
    body = refused[0].json()
    assert re.fullmatch(r"Too many wrong tries\. Try again in (9|10) minutes\.", body["detail"])
    assert 500 < body["retry_after_s"] <= 600 and refused[0].headers["Retry-After"]
    # even the right PIN waits now, also after a restart (the count is stored)
    assert kiosk.post_json(f"/api/members/{ada}/unlock", {"pin": PIN}).status == 429
    st.stop()
    st = station_factory("--config", cfg, db=db)
    kiosk = Client(st.port, KIOSK)
    kiosk.fetch_csrf("/")
    assert kiosk.post_json(f"/api/members/{ada}/unlock", {"pin": PIN}).status == 429


def test_pin_throttle_counts_per_client_so_a_stranger_cannot_lock_a_member_out(
    app_and_members,
):
    app, ada, _, _, _ = app_and_members
    stranger = app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "::1"
    token = csrf_of(stranger)
    for _ in range(5):
        r = stranger.post(
            f"/api/members/{ada}/unlock", json={"pin": "0000"}, headers={"X-CSRFToken": token}
        )
    assert r.status_code == 403 and r.get_json()["attempts_left"] == 0
    r = stranger.post(
        f"/api/members/{ada}/unlock", json={"pin": PIN}, headers={"X-CSRFToken": token}
    )
    assert r.status_code == 429
    member = app.test_client()  # 127.0.0.1: another client
    token = csrf_of(member)
    r = member.post(f"/api/members/{ada}/unlock", json={"pin": PIN}, headers={"X-CSRFToken": token})
    assert r.status_code == 200


def test_staff_login_throttle_holds_under_100_parallel_tries(station):
    st, _, _ = station
    staff = Client(st.port, KIOSK)
    staff.fetch_csrf("/staff")
    replies = parallel(100, lambda: staff.post_form("/staff/login", {"password": "guess1234"}))
    assert sum(r.status == 403 for r in replies) == security.STAFF_LIMITS["client"] == 5
    refused = [r for r in replies if r.status == 429]
    assert len(refused) == 95
    assert re.search(r"Too many wrong tries\. Try again in (9|10) minutes\.", refused[0].text)
    # the right password waits too: guessing stops at 5 in 10 minutes
    assert staff.post_form("/staff/login", {"password": STAFF}).status == 429


def test_nobody_on_the_network_can_lock_staff_out_of_the_kiosk(station_factory, tmp_path):
    db = tmp_path / "station.db"
    make_db(db)
    cfg = config_file(tmp_path, network_access="staff")
    st = station_factory("--config", str(cfg), db=db)

    def guesses(source: str, n: int) -> list[int]:
        """Statuses of n parallel wrong tries; 0 where the connection cap closed it at once."""
        phone = Client(st.port, source)
        phone.fetch_csrf("/staff")

        def guess() -> int:
            try:
                return phone.post_form("/staff/login", {"password": "guess1234"}).status
            except OSError:  # beyond 20 connections from one address
                return 0

        return parallel(n, guess)

    first = guesses(NETWORK, 100)  # one stranger: 5 checked, then that client waits
    assert first.count(403) == security.STAFF_LIMITS["client"] == 5
    assert first.count(429) + first.count(0) == 95 and first.count(429) > 0
    second = guesses("127.0.0.3", 20)  # a second address: 5 more, then the network is full
    assert second.count(403) == 5
    third = Client(st.port, "127.0.0.4")  # changing address does not buy more guesses
    third.fetch_csrf("/staff")
    refused = third.post_form("/staff/login", {"password": STAFF})
    assert refused.status == 429
    assert re.search(r"Too many wrong tries\. Try again in (9|10) minutes\.", refused.text)
    # the kiosk is not counted with the network: staff sign in there at once
    kiosk = Client(st.port, KIOSK)
    kiosk.fetch_csrf("/staff")
    assert kiosk.post_form("/staff/login", {"password": STAFF}).status == 302
    assert kiosk.get("/staff/members").status == 200


# --- secrets on disk ----------------------------------------------------------------------------


def test_the_signing_key_is_a_private_file_and_leaves_the_database(station_factory, tmp_path):
    db = tmp_path / "station.db"
    make_db(db)
    old = sqlite_utils.Database(db)
    store_web.set_setting(old, "secret_key", "a" * 64)  # where older stations kept it
    old.close()
    st = station_factory("--config", str(config_file(tmp_path)), db=db)
    assert Client(st.port, KIOSK).get("/api/status").status == 200
    key = tmp_path / "station.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert store_web.get_setting(sqlite_utils.Database(db), "secret_key") is None
    fresh = tmp_path / "fresh.db"
    st2 = station_factory("--config", str(config_file(tmp_path)), db=fresh)
    assert Client(st2.port, KIOSK).get("/api/status").status == 200
    assert stat.S_IMODE(fresh.stat().st_mode) & 0o077 == 0  # made by the station: 0600


# --- serve many, starve none ----------------------------------------------------------------


def test_one_screen_too_many_is_told_so_and_pages_stay_served(station_factory, tmp_path):
    st = station_factory("--config", str(config_file(tmp_path, max_viewers=2)))
    streams = []
    for _ in range(2):
        s = socket.create_connection(("127.0.0.1", st.port), timeout=10)
        s.sendall(b"GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200 OK" in s.recv(4096)
        streams.append(s)
    third = Client(st.port, KIOSK).get("/api/stream")
    assert third.status == 503 and "too many screens" in third.json()["detail"]
    assert third.headers["Retry-After"]
    assert Client(st.port, KIOSK).get("/api/status").status == 200
    streams.pop().close()
    deadline = time.monotonic() + 20
    while True:  # the slot frees when the server notices the viewer left
        c = socket.create_connection(("127.0.0.1", st.port), timeout=10)
        c.sendall(b"GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n")
        head = c.recv(4096)
        c.close()
        if b"200 OK" in head:
            break
        assert b"503" in head and time.monotonic() < deadline, head[:200]
        threading.Event().wait(0.2)  # polling interval, not synchronisation
    for s in streams:
        s.close()


def open_stream(port: int, source: str, cookie: str = "", rcvbuf: int = 0) -> socket.socket:
    """A live view on a raw socket (from `source`): the reply's head is read, nothing more."""
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)  # a phone's small window
    s.settimeout(10)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    s.sendall(f"GET /api/stream HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
    return s


def stream_status(port: int, source: str, cookie: str = "") -> int:
    """The status code a new live view gets (the connection is closed right after)."""
    s = open_stream(port, source, cookie)
    head = s.recv(4096)
    s.close()
    return int(head.split(b" ", 2)[1])


class Reader(threading.Thread):
    """A live view that keeps reading, as the kiosk's browser does."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(daemon=True)
        self.sock, self.bytes, self.closed = sock, 0, threading.Event()

    def run(self) -> None:
        try:
            while chunk := self.sock.recv(65536):
                self.bytes += len(chunk)
        except OSError:
            pass
        self.closed.set()


def test_a_screen_that_stops_reading_loses_its_slot_and_a_reading_one_keeps_it(
    station_factory, tmp_path
):
    db = tmp_path / "station.db"
    make_db(db)
    cfg = config_file(tmp_path, network_access="staff", max_viewers=2, stalled_client_s=2.0)
    st = station_factory("--config", str(cfg), db=db)
    laptop = Client(st.port, NETWORK)
    laptop.fetch_csrf("/staff")
    assert laptop.post_form("/staff/login", {"password": STAFF}).status == 302
    cookie = "; ".join(f"{k}={v}" for k, v in laptop.cookies.items())

    reader = Reader(open_stream(st.port, KIOSK))
    reader.start()
    stalled = open_stream(st.port, NETWORK, cookie, rcvbuf=4096)  # then never reads again
    assert stalled.recv(15) == b"HTTP/1.1 200 OK"
    assert stream_status(st.port, NETWORK, cookie) == 503  # both slots taken
    started = time.monotonic()
    deadline = started + 90  # fill the kernel's buffers at ~10 kB/s, then 2 s without a byte
    while stream_status(st.port, NETWORK, cookie) != 200:
        assert time.monotonic() < deadline, "the stalled screen still holds its slot"
        assert Client(st.port, KIOSK).get("/api/status").status == 200  # pages stay served
        threading.Event().wait(0.5)  # polling interval, not synchronisation
    freed_s = time.monotonic() - started
    # the station closed the stalled connection: what it had sent drains, then end of stream
    stalled.settimeout(30)
    try:
        while stalled.recv(65536):
            pass
    except ConnectionResetError:
        pass
    stalled.close()
    # the reading screen was never dropped and still receives the live view
    got = reader.bytes
    assert not reader.closed.is_set(), f"the reading screen was dropped after {freed_s:.0f} s"
    status = Client(st.port, KIOSK).get("/api/status").json()
    assert status["viewers"] >= 1
    later = time.monotonic() + 30
    while reader.bytes == got:
        assert time.monotonic() < later and not reader.closed.is_set()
        reader.closed.wait(0.2)
    reader.sock.close()


def answered(sock: socket.socket) -> bool:
    """Send a request on an open connection: True if the station answers, False if closed."""
    try:
        sock.sendall(b"GET /staff HTTP/1.1\r\nHost: x\r\n\r\n")
        return sock.recv(64).startswith(b"HTTP/1.1")
    except OSError:  # reset: the station had closed it
        return False


def test_no_phone_can_fill_the_server_and_shut_out_the_kiosk(station):
    st, _, _ = station

    def connect(source: str) -> socket.socket:
        s = socket.socket()
        s.settimeout(10)
        s.bind((source, 0))
        s.connect(("127.0.0.1", st.port))
        return s

    phone = [connect(NETWORK) for _ in range(25)]
    served = [answered(s) for s in phone]
    assert sum(served) == server.CONNECTIONS_PER_ADDRESS == 20  # the rest closed at once
    assert answered(connect("127.0.0.3"))  # another phone is not affected
    # many addresses together: the network fills its share, the kiosk keeps the rest
    crowd = [connect(f"127.0.0.{10 + i // 20}") for i in range(500)]
    kiosk = Client(st.port, KIOSK, timeout_s=10)
    assert kiosk.get("/api/status").status == 200
    assert kiosk.get("/").status == 200
    for s in phone + crowd:
        s.close()


def test_idle_and_trickling_connections_are_closed(station):
    st, _, _ = station
    idle = socket.create_connection(("127.0.0.1", st.port), timeout=60)
    trickle = socket.create_connection(("127.0.0.1", st.port), timeout=60)
    trickle.settimeout(1.0)
    started = time.monotonic()
    closed_at = None
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100
    for i in range(len(request)):  # one byte a second: never idle, never finished
        try:
            trickle.sendall(request[i : i + 1])
            if trickle.recv(4096) == b"":
                closed_at = time.monotonic()
                break
        except TimeoutError:
            continue
        except OSError:
            closed_at = time.monotonic()
            break
    assert closed_at is not None and closed_at - started < 30
    idle.settimeout(60)
    assert idle.recv(4096) == b""  # waitress closed the idle one
    assert time.monotonic() - started < 60
    idle.close()
    trickle.close()


# --- the Content-Security-Policy in a real browser -----------------------------------------------


def test_kiosk_history_and_staff_pages_work_under_the_csp_in_chromium(
    browser, station_factory, tmp_path
):
    db = tmp_path / "station.db"
    ada, _ = make_db(db)
    runs = sqlite_utils.Database(db)
    for day, speed in (("2026-10-01", 0.42), ("2026-11-01", 0.52)):
        summary = {"exercise": "backward_walk", "paces": 10, "speed_m_per_s": speed}
        runs["exercise_runs"].insert(
            {
                "member_id": ada,
                "exercise": "backward_walk",
                "ended_at": day,
                "session_ids_json": "[]",
                "summary_json": json.dumps({"summary": summary}),
            }
        )
    runs.close()
    st = station_factory("--config", str(config_file(tmp_path)), db=db)
    page = browser.new_page(viewport={"width": 800, "height": 480})
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    page.on("pageerror", lambda e: blocked.append(str(e)))

    page.goto(st.url)
    page.wait_for_function("() => (window.balanceStation || {}).frames > 0")  # the stream works
    page.wait_for_selector("#picker:not([hidden])")
    page.get_by_role("button", name="Ada").click()
    for _ in range(5):  # five wrong PINs: the member is told how long to wait
        for digit in "1111":
            page.get_by_role("button", name=digit, exact=True).click()
        page.get_by_role("button", name="OK").click()
    page.wait_for_function(
        "() => document.getElementById('pin-error').textContent.startsWith('Wrong PIN (0')"
    )
    for digit in PIN:
        page.get_by_role("button", name=digit, exact=True).click()
    page.get_by_role("button", name="OK").click()
    page.wait_for_function("() => document.getElementById('pin-error').textContent.includes('Try')")
    assert page.inner_text("#pin-error") == "Too many wrong tries. Try again in 10 minutes."

    staff = browser.new_page(viewport={"width": 800, "height": 480})
    staff.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text else None)
    staff.on("pageerror", lambda e: blocked.append(str(e)))
    staff.goto(f"{st.url}/staff")
    staff.fill("input[name=password]", STAFF)
    staff.click("button[type=submit]")
    staff.wait_for_url("**/staff/members")
    staff.goto(f"{st.url}/history/{ada}")  # staff may open any member's history
    staff.wait_for_function("() => Chart.getChart('speed') !== undefined")
    assert staff.evaluate("() => Chart.getChart('speed').data.datasets[0].data") == [0.42, 0.52]
    staff.close()
    assert blocked == []

    # an unlock that ended on the station (2 idle minutes; here: deleted) leaves a guest
    page.get_by_role("button", name="Cancel").click()  # Ada waits; Bert has no PIN
    page.get_by_role("button", name="Bert").click()
    page.wait_for_function("() => (window.balanceStation.member || {}).name === 'Bert'")
    ended = sqlite_utils.Database(db)
    with ended.conn:
        ended.execute("delete from web_sessions where kind = 'member'")
    ended.close()
    page.locator("#exercise-list button[aria-pressed=false]").first.click()
    page.wait_for_function("() => window.balanceStation.member === null")
    page.wait_for_selector("#exercise-list button[aria-pressed=true]")
    # and the policy is in force: a script injected into the page does not run
    ran = page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.x = 1';"
        " document.body.appendChild(s); return window.x === 1; }"
    )
    assert ran is False
    page.close()


def test_templates_have_no_inline_script_handler_or_style():
    """What the CSP would block in a browser, found before it gets there."""
    for template in (REPO / "web" / "templates").glob("*.html"):
        html = template.read_text()
        inline = re.findall(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>", html)
        assert not inline, (template.name, inline)
        assert not re.search(r"\son[a-z]+\s*=", html), template.name
        assert not re.search(r"<style|\sstyle\s*=", html), template.name


def test_expired_share_links_and_sign_ins_are_cleaned_up(tmp_path, monkeypatch):
    db = tmp_path / "station.db"
    ada, bert = make_db(db)
    store = security.AuthStore(db)
    for _ in range(50):
        store.share(ada)
    store.start("member", bert)
    assert store.count("share_links") == 50 and store.count("web_sessions") == 1
    later(monkeypatch, 16 * 60)
    token, _ = store.share(bert)
    assert store.count("share_links") == 1 and store.count("web_sessions") == 0
    assert store.shared_member(token) == bert
