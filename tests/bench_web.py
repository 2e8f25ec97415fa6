"""Benchmark the station as a network service: `python tests/bench_web.py [--viewers 50]`.

Starts a real station (simulated mat, waitress) and prints, as medians over --requests calls:
- response time of /api/status and of the kiosk page with nobody else connected;
- the same with --viewers live-stream clients connected (each read continuously; beyond
  `[web] max_viewers` they are told "too many screens": how many got which answer);
- the same with --idle idle TCP connections open, and with as many trickling ones (one byte
  every 2 s, never finishing their request), and how long until the station closed them;
- the staff-login and PIN throttles under 100 parallel wrong tries: how many were checked.

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
from tests.webclient import KIOSK, Client  # noqa: E402


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


def throttles(port: int, member_id: int) -> None:
    client = Client(port, KIOSK)
    client.fetch_csrf("/")
    with ThreadPoolExecutor(max_workers=100) as pool:
        pins = list(
            pool.map(
                lambda _: client.post_json(f"/api/members/{member_id}/unlock", {"pin": "0000"}),
                range(100),
            )
        )
        staff = list(
            pool.map(lambda _: client.post_form("/staff/login", {"password": "guess"}), range(100))
        )
    for name, replies in (("PIN", pins), ("staff password", staff)):
        checked = sum(r.status == 403 for r in replies)
        refused = sum(r.status == 429 for r in replies)
        print(f"  {name:<15} 100 parallel wrong tries: {checked} checked, {refused} refused (429)")
    right = client.post_json(f"/api/members/{member_id}/unlock", {"pin": PIN}).status
    login = client.post_form("/staff/login", {"password": STAFF}).status
    print(f"  then the right PIN: {right}, the right staff password: {login} (both wait)")


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
        raw_config = config_file(tmp, max_viewers=args.max_viewers)
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
            throttles(st.port, ada)
        finally:
            st.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
