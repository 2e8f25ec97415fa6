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
- a response the client stopped reading is dropped: when bytes have waited to be sent for
  `stalled_s` seconds (`[web] stalled_client_s`, 15 by default) without the client taking a
  single one, the connection is closed. Waitress itself would block that response's thread
  without a deadline once its output buffer is full, so a live viewer that stays connected
  but stops reading (a phone gone to sleep, or someone on purpose) would keep its viewer slot
  and its thread forever, and `max_viewers` such clients would lock every screen out;
- the kernel's send buffer per connection is fixed at SEND_BUFFER_BYTES: left to itself,
  Linux grows it to 4 MB, which a live view (about 10 kB/s) takes minutes to fill before the
  server even sees that the client stopped reading; 64 kB in flight is still plenty for a page
  on the studio Wi-Fi;
- at most OUTBUF_HIGH_WATERMARK bytes wait in memory per response before its thread waits for
  the client (waitress's default is 16 MB per connection);
- up to CONNECTION_LIMIT connections are open at once (waitress's default of 100 let 100 idle
  sockets lock everyone out), but the network gets at most NETWORK_CONNECTIONS of them and
  one network address at most CONNECTIONS_PER_ADDRESS (a browser opens about 6): one phone
  opening connections as fast as it can would otherwise fill the server and stop it
  accepting any more, the kiosk's included. A connection beyond either cap is closed as soon
  as it is accepted. The kiosk (127.0.0.1, ::1) is never capped;
- request bodies stop at 64 kB (413).
"""

from __future__ import annotations

import contextlib
import errno
import socket
import time
import types
from typing import Any

from flask import Flask
from waitress.server import BaseWSGIServer, create_server

from .access import is_local

IDLE_TIMEOUT_S = 20
REQUEST_DEADLINE_S = 10.0
CHECK_EVERY_S = 2
CONNECTION_LIMIT = 500
NETWORK_CONNECTIONS = 400  # the rest stay free for the kiosk
CONNECTIONS_PER_ADDRESS = 20
MAX_BODY_BYTES = 64 * 1024
MAX_HEADER_BYTES = 16 * 1024
OUTBUF_HIGH_WATERMARK = 1024 * 1024
SEND_BUFFER_BYTES = 32 * 1024  # per connection in the kernel (Linux doubles it); see below
STALLED_CLIENT_S = 15.0


class ServeError(RuntimeError):
    """The kiosk cannot listen where the config says: a one-line reason."""


def make_server(app: Flask, host: str, port: int, threads: int, max_viewers: int = 8):
    """A waitress server for `app`; `stalled_s` comes from the app's `STALLED_CLIENT_S` config."""
    stalled_s = float(app.config.get("STALLED_CLIENT_S", STALLED_CLIENT_S))
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
            outbuf_high_watermark=OUTBUF_HIGH_WATERMARK,
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
        # applied to every accepted connection; not a keyword of create_server
        listener.adj.socket_options = [
            (socket.SOL_TCP, socket.TCP_NODELAY, 1),  # waitress's default, kept
            (socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES),
        ]
        _close_slow_and_stalled(listener, stalled_s)
        _cap_network_connections(listener)
    return server


def _listeners(server: Any) -> list[BaseWSGIServer]:
    """The listening server(s): one, or several when waitress listens on many addresses."""
    if isinstance(server, BaseWSGIServer):
        return [server]
    return [s for s in server.map.values() if isinstance(s, BaseWSGIServer)]


def _cap_network_connections(listener: BaseWSGIServer) -> None:
    """Close a network connection at once when its address, or the network, has its share.

    Waitress makes a channel for every accepted socket (`channel_class`); this wraps that
    step, so the count is exact and nothing of the refused connection is read.
    """
    make_channel = listener.channel_class

    def channel(server: BaseWSGIServer, conn: socket.socket, addr: Any, adj: Any, map=None):
        host = addr[0] if isinstance(addr, tuple) else None
        if host is not None and not is_local(host):
            network = [
                c.addr[0]
                for c in server.active_channels.values()
                if isinstance(c.addr, tuple) and not is_local(c.addr[0])
            ]
            if len(network) >= NETWORK_CONNECTIONS or network.count(host) >= (
                CONNECTIONS_PER_ADDRESS
            ):
                conn.close()
                return None
        return make_channel(server, conn, addr, adj, map=map)

    listener.channel_class = channel


def _close_slow_and_stalled(listener: BaseWSGIServer, stalled_s: float) -> None:
    """Add two checks to waitress's periodic maintenance (it runs in the server's own loop).

    Slow requests: waitress only closes *idle* channels; a client that sends a byte now and
    then is never idle. Waitress keeps a half-received request in `channel.request`; we note
    when we first saw each one and close the channel when it is older than REQUEST_DEADLINE_S.

    Stalled responses: a channel whose response has bytes waiting (`total_outbufs_len`) and
    that has sent nothing for `stalled_s` (waitress sets `last_activity` on every byte sent or
    received) is shut down. Its socket then reports "writable", waitress's next send fails and
    waitress closes the channel in its own loop, as for any client that went away: that wakes
    the thread waiting for buffer room, whose write raises `ClientDisconnected`, the response
    ends and the live view's slot is released by its close callback. Closing the socket here
    instead would race with that thread: the loop could then be handed a closed descriptor and
    stop. (Merely asking waitress to close it "when writable" would wait for ever: the
    client's socket never becomes writable while the client does not read.)
    """
    maintenance = listener.maintenance
    first_seen: dict[int, tuple[Any, float]] = {}

    def check(self: BaseWSGIServer, now: float) -> None:
        maintenance(now)
        mono = time.monotonic()
        alive = {}
        for fd, channel in list(self.active_channels.items()):
            if (
                channel.requests
                and channel.total_outbufs_len
                and (now - channel.last_activity > stalled_s)
            ):
                with contextlib.suppress(OSError):  # already gone: waitress closes it anyway
                    channel.socket.shutdown(socket.SHUT_RDWR)
                continue
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
