"""Serve the kiosk with waitress, a production WSGI server that runs in-process on a Pi.

Why waitress: pure Python (nothing to compile on a Pi Zero), threaded, streams responses
unbuffered (Server-Sent Events work), and it lives in the station's own process next to the
acquisition thread, which a pre-forking server such as gunicorn would split apart.
"""

from __future__ import annotations

import errno
import socket

from flask import Flask
from waitress.server import create_server


class ServeError(RuntimeError):
    """The kiosk cannot listen where the config says: a one-line reason."""


def make_server(app: Flask, host: str, port: int, threads: int):
    try:
        return create_server(app, host=host, port=port, threads=threads, ident="balance-station")
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
