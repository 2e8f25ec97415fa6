"""The station as a process: live stream rate, crash safety under SIGKILL, clean shutdown."""

from __future__ import annotations

import itertools
import json
import signal
import socket
import sqlite3
import time
import urllib.request

import pytest

from .sse import events


def status(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status", timeout=5) as r:
        return json.loads(r.read())


def test_live_stream_carries_every_frame_at_25_updates_per_second(station_factory, tmp_path):
    st = station_factory()
    stream = events(st.port)
    first_t = None
    updates = 0
    seen: list[float] = []
    for name, data in stream:
        if name != "frames":
            continue
        updates += 1
        seen += [f["t"] for f in data]
        first_t = first_t or seen[0]
        if seen[-1] - first_t >= 4.0:
            break
    span = seen[-1] - first_t
    assert updates / span >= 25.0
    assert len(seen) / span == pytest.approx(80.0, rel=0.05)
    gaps = [b - a for a, b in itertools.pairwise(seen)]
    assert max(gaps) < 3.0 / 80  # nothing skipped
    assert st.stop() == 0


def test_sigkill_loses_at_most_the_last_second(station_factory, tmp_path):
    st = station_factory()
    t0 = None
    for name, data in events(st.port):
        if name == "session" and data["event"] == "started":
            t0 = data["t0"]
        if name == "frames" and t0 is not None and data[-1]["t"] > t0 + 4.0:
            break
    killed_at = time.monotonic()  # CLOCK_MONOTONIC is shared by every process
    st.proc.send_signal(signal.SIGKILL)
    st.proc.wait(10)

    db = sqlite3.connect(st.db)
    assert db.execute("pragma integrity_check").fetchone()[0] == "ok"
    rows = db.execute(
        "select seq, t_s from frame_rows where session_id = 1 order by seq"
    ).fetchall()
    assert [r[0] for r in rows] == list(range(len(rows)))  # no holes
    last_stored = t0 + rows[-1][1]
    assert last_stored >= killed_at - 1.0, f"lost {killed_at - last_stored:.2f} s"
    db.close()

    # the next start marks the session interrupted and keeps every frame
    st2 = station_factory(db=st.db)
    for name, _ in events(st2.port):
        if name == "frames":
            break
    db = sqlite3.connect(st.db)
    status_, count = db.execute("select status, frame_count from sessions where id = 1").fetchone()
    assert status_ == "interrupted" and count == len(rows)
    stored = db.execute("select count(*) from frame_rows where session_id = 1").fetchone()[0]
    assert stored == len(rows)


def test_a_stalled_browser_does_not_slow_the_station(station_factory):
    st = station_factory()
    stalled = socket.create_connection(("127.0.0.1", st.port))
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.sendall(b"GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n")  # and never read
    try:
        start = status(st.port)
        # let the stalled client fill its socket while a healthy one watches 6 s of frames
        seen = []
        for name, data in events(st.port):
            if name == "frames":
                seen += [f["t"] for f in data]
                if seen[-1] - seen[0] >= 6.0:
                    break
        end = status(st.port)
        assert end["viewers"] >= 2
        rate = (end["frames"] - start["frames"]) / (seen[-1] - seen[0])
        assert rate == pytest.approx(80.0, rel=0.1)
        assert len(seen) / (seen[-1] - seen[0]) == pytest.approx(80.0, rel=0.05)
    finally:
        stalled.close()


def test_sigterm_ends_the_session_cleanly(station_factory):
    st = station_factory()
    for name, data in events(st.port):
        if name == "session" and data["event"] == "started":
            break
    assert st.stop() == 0
    out = st.proc.stdout.read()
    assert "every session is saved" in out and "Traceback" not in out
    db = sqlite3.connect(st.db)
    status_, count = db.execute("select status, frame_count from sessions where id = 1").fetchone()
    assert status_ == "complete" and count > 0
    assert db.execute("select count(*) from summaries").fetchone()[0] == 1


def test_http_errors_are_json_for_the_api_and_a_page_for_people(station_factory):
    st = station_factory()
    for path, code in [("/api/nope", 404), ("/api/status?x=1", 200)]:
        try:
            with urllib.request.urlopen(f"{st.url}{path}", timeout=5) as r:
                assert r.status == code
        except urllib.error.HTTPError as exc:
            assert exc.code == code
            body = json.loads(exc.read())
            assert body["error"] == "Not Found"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(f"{st.url}/nope", timeout=5)
    assert info.value.code == 404 and "<h1>Not Found</h1>" in info.value.read().decode()
    req = urllib.request.Request(f"{st.url}/api/status", method="DELETE")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=5)
    assert info.value.code == 405 and json.loads(info.value.read())["error"]


def test_backup_while_the_station_writes(station_factory, tmp_path):
    import subprocess
    import sys

    from .conftest import REPO

    st = station_factory()
    for name, data in events(st.port):
        if name == "session" and data["event"] == "started":
            break
    dest = tmp_path / "backups"
    made = []
    for _ in range(3):
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "station.cli",
                "backup",
                "--db",
                str(st.db),
                "--dest",
                str(dest),
                "--keep",
                "2",
            ],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        made.append(result.stdout.split(" to ")[1].split(" (")[0])
    copies = sorted(dest.glob("*.db"))
    assert [str(c) for c in copies] == made[1:]  # the newest two kept
    newest = sqlite3.connect(copies[-1])
    assert newest.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert newest.execute("select count(*) from sessions").fetchone()[0] >= 1
    assert newest.execute("select count(*) from frame_rows").fetchone()[0] > 0
    newest.close()
    st.stop()
    live = sqlite3.connect(st.db)
    assert live.execute("pragma integrity_check").fetchone()[0] == "ok"


def standing_weight_n(port: int, timeout: float = 20) -> float:
    """The median weight over two seconds of live frames of someone on the mat."""
    weights: list[float] = []
    deadline = time.monotonic() + 3 * timeout  # frames flow with nobody on: never wait forever
    for name, data in events(port, timeout=timeout):
        assert time.monotonic() < deadline, "nobody was seen standing on the mat"
        if name == "frames":
            weights += [f["fz"] for f in data if f["fz"] > 600]
            if len(weights) >= 160:
                break
    return sorted(weights)[len(weights) // 2]


def test_the_hx711_path_runs_end_to_end_on_emulated_chips(station_factory):
    """`--source emulated`: reader process, shared clock, emulated chips, the simulated member."""
    st = station_factory("--source", "emulated", "--scenario", "stand")
    assert standing_weight_n(st.port) == pytest.approx(70 * 9.80665, rel=0.02)
    s = status(st.port)
    health = s["health"]
    assert s["source"] == "emulated" and health["faulty_cells"] == []
    # frames flow; their rate is a speed figure, measured by tests/bench_pico.py (emulated
    # chips in Python run slower on a loaded test machine; a Pi reads 80/s)
    assert health["frame_rate_hz"] > 10
    assert set(health["glitches_rejected"]) == {
        "front_left",
        "front_right",
        "back_right",
        "back_left",
    }
    assert st.stop() == 0


def test_hx711_source_without_gpio_says_so(tmp_path):
    import subprocess
    import sys

    from .conftest import REPO

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "station.cli",
            "run",
            "--source",
            "hx711",
            "--db",
            str(tmp_path / "d.db"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no GPIO" in result.stderr and "--source sim" in result.stderr
    assert result.stderr.count("\n") == 1
