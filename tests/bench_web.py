"""Benchmark the station as a network service: `python tests/bench_web.py [--viewers 50]`.

Starts a real station (simulated mat, waitress) and prints, as medians over --requests calls:
- response time of /api/status and of the kiosk page with nobody else connected;
- the same with --viewers live-stream clients connected (each read continuously; beyond
  `[web] max_viewers` they are told "too many screens": how many got which answer);
- the same with --idle idle TCP connections open, and with as many trickling ones (one byte
  every 2 s, never finishing their request), and how long until the station closed them;
- --max-viewers live views that stop reading: how long until a new one gets in (the station
  drops a client that takes no byte for `[web] stalled_client_s`);
- the PIN throttle (kiosk) and the staff-login throttle under 100 parallel wrong tries from
  three network addresses and then the kiosk: how many were checked, and whether the right
  password still works at the kiosk (the station runs with `network_access = "staff"`).

Everything stays on this machine's loopback; the counts and the run time are bounded.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.conftest import start_station  # noqa: E402
from tests.test_security import PIN, STAFF, config_file, make_db  # noqa: E402
from tests.webclient import KIOSK, NETWORK, Client  # noqa: E402


def median_ms(port: int, path: str, n: int) -> float:
    client = Client(port, KIOSK)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        reply = client.get(path)
        times.append((time.perf_counter() - t0) * 1000)
        assert reply.status == 200, (path, reply.status)
    return statistics.median(times)


def measure(port: int, n: int, label: str) -> None:
    status = median_ms(port, "/api/status", n)
    kiosk = median_ms(port, "/", n)
    print(f"  {label:<44} /api/status {status:6.1f} ms   kiosk page {kiosk:6.1f} ms")


class Viewer(threading.Thread):
    """One live-stream client that reads whatever arrives until told to stop."""

    def __init__(self, port: int, stop: threading.Event) -> None:
        super().__init__(daemon=True)
        self.port, self.stop, self.status, self.bytes = port, stop, 0, 0

    def run(self) -> None:
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"GET /api/stream HTTP/1.1\r\nHost: bench\r\n\r\n")
            head = s.recv(65536)
            self.status = int(head.split(b" ", 2)[1]) if head else 0
            self.bytes = len(head)
            while self.status == 200 and not self.stop.is_set():
                try:
                    data = s.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                self.bytes += len(data)


def open_idle(port: int, n: int) -> list[socket.socket]:
    return [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(n)]


def closed_within(sockets: list[socket.socket], limit_s: float, trickle: bool) -> float:
    """Seconds until the station had closed every socket (trickling ones get a byte / 2 s)."""
    started = time.monotonic()
    open_ = list(sockets)
    while open_ and time.monotonic() - started < limit_s:
        for s in list(open_):
            s.settimeout(0.01)
            try:
                if s.recv(4096) == b"":
                    open_.remove(s)
                    continue
            except TimeoutError:
                pass
            except OSError:
                open_.remove(s)
                continue
            if trickle:
                try:
                    s.sendall(b"X")
                except OSError:
                    open_.remove(s)
        threading.Event().wait(2.0)  # the trickle's pace
    for s in sockets:
        s.close()
    return time.monotonic() - started if not open_ else float("inf")


def parallel_tries(client: Client, n: int, path: str, send) -> str:
    def one(_: int) -> int:
        try:
            return send(client, path).status
        except OSError:  # closed at once: over 20 connections from one network address
            return 0

    with ThreadPoolExecutor(max_workers=n) as pool:
        statuses = list(pool.map(one, range(n)))
    cut = f", {statuses.count(0)} cut by the connection cap" if statuses.count(0) else ""
    return f"{statuses.count(403)} checked, {statuses.count(429)} refused (429){cut}"


def wrong_pin(client: Client, path: str):
    return client.post_json(path, {"pin": "0000"})


def wrong_password(client: Client, path: str):
    return client.post_form(path, {"password": "guess1234"})


def throttles(port: int, member_id: int) -> None:
    """PIN at the kiosk; the staff password from three network addresses, then the kiosk."""
    kiosk = Client(port, KIOSK)
    kiosk.fetch_csrf("/")
    unlock = f"/api/members/{member_id}/unlock"
    tries = parallel_tries(kiosk, 100, unlock, wrong_pin)
    print(f"  PIN at the kiosk, 100 parallel wrong tries: {tries}")
    right = kiosk.post_json(unlock, {"pin": PIN}).status
    print(f"    then the right PIN: {right} (waits)")
    for source in (NETWORK, "127.0.0.3", "127.0.0.4"):
        phone = Client(port, source)
        phone.fetch_csrf("/staff")
        tries = parallel_tries(phone, 100, "/staff/login", wrong_password)
        print(f"  staff password from {source}, 100 parallel wrong tries: {tries}")
    staff = Client(port, KIOSK)
    staff.fetch_csrf("/staff")
    login = staff.post_form("/staff/login", {"password": STAFF}).status
    print(f"    then the right password at the kiosk: {login} (302: signed in)")
    staff = Client(port, KIOSK)
    staff.fetch_csrf("/staff")
    tries = parallel_tries(staff, 100, "/staff/login", wrong_password)
    print(f"  staff password at the kiosk, 100 parallel wrong tries: {tries}")
    login = staff.post_form("/staff/login", {"password": STAFF}).status
    print(f"    then the right password at the kiosk: {login} (waits)")


def stalled_viewers(port: int, n: int, deadline_s: float = 120.0) -> None:
    """n live views that stop reading at once: pages meanwhile, and when a new view gets in."""
    stalled = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(10)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /api/stream HTTP/1.1\r\nHost: bench\r\n\r\n")
        stalled.append(s)
    started = time.monotonic()
    measure(port, 20, f"{n} stalled live views")
    freed_s = float("inf")
    resets = 0
    while time.monotonic() - started < deadline_s:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as c:
            c.sendall(b"GET /api/stream HTTP/1.1\r\nHost: bench\r\n\r\n")
            try:
                head = c.recv(64)
            except ConnectionResetError:
                head, resets = b"", resets + 1
            if b" 200 " in head:
                freed_s = time.monotonic() - started
                break
        threading.Event().wait(0.5)  # polling interval
    print(
        f"  a new live view got in {freed_s:.0f} s after {n} views stopped reading"
        f" ({resets} tries reset meanwhile)"
    )
    for s in stalled:
        s.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--idle", type=int, default=100)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument(
        "--max-viewers", type=int, default=8, help="the station's [web] max_viewers (default 8)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        db = tmp / "bench.db"
        ada, _ = make_db(db)
        raw_config = config_file(tmp, max_viewers=args.max_viewers, network_access="staff")
        st = start_station(db, "--config", str(raw_config))
        try:
            print(f"station on port {st.port} (simulated mat, 80 frames/s)")
            measure(st.port, args.requests, "nobody else connected")

            stop = threading.Event()
            viewers = [Viewer(st.port, stop) for _ in range(args.viewers)]
            for v in viewers:
                v.start()
            deadline = time.monotonic() + 30
            while any(v.status == 0 for v in viewers) and time.monotonic() < deadline:
                threading.Event().wait(0.1)
            served = sum(v.status == 200 for v in viewers)
            refused = sum(v.status == 503 for v in viewers)
            measure(st.port, args.requests, f"{args.viewers} stream clients ({served} streaming)")
            print(f"  streams: {served} served, {refused} told 'too many screens' (503)")
            stop.set()
            for v in viewers:
                v.join(timeout=15)

            idle = open_idle(st.port, args.idle)
            measure(st.port, args.requests, f"{args.idle} idle connections open")
            closed_s = closed_within(idle, 90, trickle=False)
            print(f"  idle connections closed by the station after {closed_s:.0f} s")
            trickling = open_idle(st.port, args.idle)
            for s in trickling:
                s.sendall(b"GET / HTTP/1.1\r\n")
            measure(st.port, args.requests, f"{args.idle} trickling connections open")
            closed_s = closed_within(trickling, 90, trickle=True)
            print(f"  trickling connections closed after {closed_s:.0f} s")
            stalled_viewers(st.port, args.max_viewers)
            throttles(st.port, ada)
        finally:
            st.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
