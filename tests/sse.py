"""A tiny Server-Sent Events reader for tests (the browser's EventSource, in Python)."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any


def events(port: int, timeout: float = 10.0) -> Iterator[tuple[str, Any]]:
    """Yield (event name, parsed data) from the station's live stream."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    conn.request("GET", "/api/stream")
    response = conn.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type", "").startswith("text/event-stream")
    name, data = "message", []
    try:
        while True:
            line = response.readline()
            if not line:
                return
            line = line.decode().rstrip("\n")
            if not line:
                if data:
                    yield name, json.loads("\n".join(data))
                name, data = "message", []
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())
    finally:
        conn.close()
