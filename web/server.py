"""Serve the kiosk with waitress, a production WSGI server that runs in-process on a Pi.

Why waitress: pure Python (nothing to compile on a Pi Zero), threaded, streams responses
unbuffered (Server-Sent Events work), and it lives in the station's own process next to the
acquisition thread, which a pre-forking server such as gunicorn would split apart.

Serve many, starve none. Waitress reads requests in one asynchronous loop and hands only
complete requests to its threads, so an idle or slow client costs a socket, not a thread. A
live viewer does hold a thread for as long as it watches; rather than a second (async)
streaming server, the app admits at most `max_viewers` of them (web/app.py) and the server
gets that many threads on top of `threads`, so pages, PIN entry and /api/status always have
threads of their own. Around that:

- an idle connection is closed after IDLE_TIMEOUT_S; a request whose headers and body have not
  all arrived REQUEST_DEADLINE_S after it began is closed too (a client trickling one byte
  every few seconds keeps no connection for long);
- up to CONNECTION_LIMIT connections are open at once (waitress's default of 100 let 100 idle
  sockets lock everyone out); request bodies stop at 64 kB (413).
"""

from __future__ import annotations

import errno
import socket
import time
import types
from typing import Any

from flask import Flask
from waitress.server import BaseWSGIServer, create_server

IDLE_TIMEOUT_S = 20
REQUEST_DEADLINE_S = 10.0
CHECK_EVERY_S = 2
CONNECTION_LIMIT = 500
MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024


class ServeError(RuntimeError):
    """The kiosk cannot listen where the config says: a one-line reason."""


def make_server(app: Flask, host: str, port: int, threads: int, max_viewers: int = 8):
    try:
        server = create_server(
            app,
            host=host,
            port=port,
            threads=threads + max_viewers,
            ident="",  # no Server header: nothing to tell a scanner
            connection_limit=CONNECTION_LIMIT,
            channel_timeout=IDLE_TIMEOUT_S,
            cleanup_interval=CHECK_EVERY_S,
            max_request_body_size=MAX_BODY_BYTES,
            max_request_header_size=MAX_HEADER_BYTES,
            expose_tracebacks=False,
        )
    except (socket.gaierror, ValueError):  # waitress: ValueError "Invalid host/port specified"
        raise ServeError(f"cannot listen on {host!r}: no such host or address") from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServeError(
                f"port {port} on {host} is already in use (is a station already running?); "
                "pick another with --port"
            ) from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise ServeError(f"cannot listen on {host}: not an address of this machine") from None
        if exc.errno == errno.EACCES:
            raise ServeError(
                f"not allowed to listen on port {port}; use a port above 1023"
            ) from None
        raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    for listener in _listeners(server):
        _close_slow_requests(listener)
    return server


def _listeners(server: Any) -> list[BaseWSGIServer]:
    """The listening server(s): one, or several when waitress listens on many addresses."""
    if isinstance(server, BaseWSGIServer):
        return [server]
    return [s for s in server.map.values() if isinstance(s, BaseWSGIServer)]


def _close_slow_requests(listener: BaseWSGIServer) -> None:
    """Add to waitress's periodic check: close channels whose request is still arriving late.

    Waitress only closes *idle* channels; a client that sends a byte now and then is never
    idle. Waitress keeps a half-received request in `channel.request`; we note when we first
    saw each one and close the channel when it is older than REQUEST_DEADLINE_S.
    """
    maintenance = listener.maintenance
    first_seen: dict[int, tuple[Any, float]] = {}

    def check(self: BaseWSGIServer, now: float) -> None:
        maintenance(now)
        mono = time.monotonic()
        alive = {}
        for fd, channel in list(self.active_channels.items()):
            partial = getattr(channel, "request", None)
            if partial is None:
                continue
            seen = first_seen.get(fd)
            since = seen[1] if seen is not None and seen[0] is partial else mono
            alive[fd] = (partial, since)
            if mono - since > REQUEST_DEADLINE_S:
                channel.will_close = True
        first_seen.clear()
        first_seen.update(alive)

    listener.maintenance = types.MethodType(check, listener)
