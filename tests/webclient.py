"""A small HTTP client for tests and benchmarks: real sockets to the station, with cookies.

`Client(port, source="127.0.0.2")` plays a phone on the studio network: the connection leaves
from the loopback alias 127.0.0.2, which the station must treat as the network (only 127.0.0.1
and ::1 are the kiosk). Traffic never leaves this machine's loopback.
"""

from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

NETWORK = "127.0.0.2"
KIOSK = "127.0.0.1"


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Client:
    port: int
    source: str = KIOSK
    timeout_s: float = 30.0
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str | None = None

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        conn = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=self.timeout_s, source_address=(self.source, 0)
        )
        try:
            sent = dict(headers or {})
            if self.cookies:
                sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
            conn.request(method, path, body=body, headers=sent)
            r = conn.getresponse()
            reply = Reply(r.status, r.headers, r.read())
        finally:
            conn.close()
        for header in reply.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return reply

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def fetch_csrf(self, path: str = "/staff") -> str:
        """The page's CSRF token (and the session cookie it belongs to)."""
        page = self.get(path).text
        found = re.search(r'name="csrf-token" content="([^"]+)"', page)
        assert found, f"no CSRF token on {path}"
        self.csrf = found.group(1)
        return self.csrf

    def post_json(self, path: str, body: Any) -> Reply:
        headers = {"Content-Type": "application/json"}
        if self.csrf:
            headers["X-CSRFToken"] = self.csrf
        return self.request("POST", path, json.dumps(body), headers)

    def post_form(self, path: str, fields: dict[str, str]) -> Reply:
        from urllib.parse import urlencode

        data = dict(fields)
        if self.csrf:
            data.setdefault("csrf_token", self.csrf)
        return self.request(
            "POST", path, urlencode(data), {"Content-Type": "application/x-www-form-urlencoded"}
        )
