"""Where the station can be reached: the kiosk on this machine, phones on the studio network.

Links a member opens on their phone (the share link and its QR code) are built from the
station's public address, never from the request's Host header: the kiosk itself talks to
127.0.0.1, an address that on a phone means the phone.
"""

from __future__ import annotations

import socket

from station.core.config import WebConfig

WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def kiosk_url(host: str, port: int) -> str:
    """The kiosk's own address on this machine."""
    if host in WILDCARD_HOSTS or host == "localhost":
        host = "127.0.0.1"
    return f"http://{_bracketed(host)}:{port}"


def public_url(web: WebConfig, port: int) -> str:
    """`[web] public_url`, or this machine's network name: http://HOSTNAME.local:PORT.

    The `.local` name is announced by mDNS (avahi, on by default on Raspberry Pi OS), so it
    survives the router handing out a new address; a station bound to one address uses it.
    """
    if web.public_url:
        return web.public_url.rstrip("/")
    if web.host not in WILDCARD_HOSTS and web.host != "localhost":
        return f"http://{_bracketed(web.host)}:{port}"
    name = socket.gethostname().split(".")[0] or "localhost"
    return f"http://{name}.local:{port}"


def _bracketed(host: str) -> str:
    return f"[{host}]" if ":" in host else host
