"""Fuzz every route of the running station: no 5xx, no traceback in its log, no echo of input.

Every rule of `app.url_map` is called with every method, path values that are too big, negative,
unicode or path-like, and bodies that are missing, malformed, deeply nested, of the wrong type or
1 MB large; as a guest at the kiosk, as staff with a member unlocked (so the checks behind the
sign-ins are reached too) and as a phone on the network (127.0.0.2). Bounded: a few thousand
requests to this machine's loopback, a few minutes at most on a loaded machine.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from urllib.parse import quote

from station.live import LiveHub
from web.app import create_app

from .test_security import PIN, STAFF, config_file, make_db
from .webclient import KIOSK, NETWORK, Client

MB = 1024 * 1024
ENDS_SIGN_INS = {
    "members.lock",
    "members.unlock",
    "members.staff_login",
    "members.staff_logout",
    "members.staff_edit",
}
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD")
TEXT_VALUES = [
    "csv",
    "json",
    "x" * 2000,
    "../../../etc/passwd",
    "..%2F..%2Fapp.py",
    "ünï😀",
    "%00",
    "' or 1=1 --",
    "<script>",
]
INT_VALUES = ["1", "2", "0", str(2**63 - 1), str(2**63), str(10**40), "-1", "1e3", "０"]
PATH_VALUES = ["kiosk.js", "../app.py", "%2e%2e/%2e%2e/app.py", "vendor/../kiosk.js", "ü/ñ"]
QUERIES = ["", "?from=2026-01-01&to=2026-12-31", "?from=" + "9" * 4000, "?to=%ff%fe&from=%E2%80%AE"]
BODIES: list[tuple[str, bytes]] = [
    ("", b""),
    ("application/json", b"{"),
    ("application/json", json.dumps({"pin": 1234, "exercise": [], "member_id": "x"}).encode()),
    ("application/json", json.dumps({"pin": "١٢٣٤", "exercise": "quiet_stance"}).encode()),
    ("application/json", json.dumps({"member_id": 2**70, "exercise": "backward_walk"}).encode()),
    ("application/json", b"[" * 30_000),
    ("application/json", b'{"a":"' + b"x" * MB + b'"}'),
    ("application/x-www-form-urlencoded", b"name=%C3%BC" + b"x" * 100 + b"&pin=%D9%A1%D9%A2"),
    ("application/x-www-form-urlencoded", b"password=" + b"y" * MB),
    ("text/plain", bytes(range(256))),
]


def values_for(rule, share_path: str) -> list[str]:
    """Paths for one rule: each converter argument filled with every fuzz value in turn."""
    if rule.endpoint in ("members.shared", "members.shared_export"):
        token = share_path.rsplit("/", 1)[1]
        tokens = [token, *TEXT_VALUES]
    else:
        tokens = TEXT_VALUES
    pools = {"int": INT_VALUES, "path": PATH_VALUES, "default": TEXT_VALUES}
    paths = []
    for converter, arg in re.findall(r"<(?:([a-z]+):)?([a-z_]+)>", rule.rule):
        pool = tokens if arg == "token" else pools.get(converter or "default", TEXT_VALUES)
        for value in pool:
            filled = {a: "1" for a in rule.arguments}
            filled.update(fmt="csv", token=tokens[0], filename="kiosk.js")
            filled[arg] = value
            paths.append(fill(rule.rule, filled))
    if not rule.arguments:
        paths.append(rule.rule)
    return paths


def fill(pattern: str, values: dict[str, str]) -> str:
    def sub(match: re.Match) -> str:
        value = values[match.group(2)]
        return value if "%" in value else quote(value, safe="/")

    return re.sub(r"<(?:([a-z]+):)?([a-z_]+)>", sub, pattern)


def insider(port: int, member_id: int) -> Client:
    """Staff signed in and a member unlocked, with a CSRF token: reaches the deepest checks."""
    client = Client(port, KIOSK)
    client.fetch_csrf("/staff")
    assert client.post_form("/staff/login", {"password": STAFF}).status == 302
    assert client.post_json(f"/api/members/{member_id}/unlock", {"pin": PIN}).status == 200
    return client


def test_every_route_survives_fuzzing(station_factory, tmp_path, config):
    db = tmp_path / "station.db"
    ada, _ = make_db(db)
    st = station_factory("--config", str(config_file(tmp_path)), db=db)
    log: list[str] = []
    reader = threading.Thread(target=lambda: log.extend(st.proc.stdout), daemon=True)
    reader.start()

    rules = sorted(
        create_app(config, LiveHub(), dict, tmp_path / "routes.db").url_map.iter_rules(),
        key=lambda r: r.endpoint in ENDS_SIGN_INS,  # these last: they end the insider's sign-ins
    )
    staff = insider(st.port, ada)
    share = staff.post_json(f"/api/members/{ada}/share", {}).json()["url"]
    share_path = "/share/" + share.rsplit("/share/", 1)[1]
    guest = Client(st.port, KIOSK, timeout_s=60)
    guest.fetch_csrf("/")
    phone = Client(st.port, NETWORK, timeout_s=60)

    statuses: Counter[int] = Counter()
    failures: list[str] = []
    cases = 0
    started = time.monotonic()
    for rule in rules:
        if rule.endpoint == "api_stream":
            continue  # a stream never ends by itself; fuzzed below with wrong methods only
        paths = values_for(rule, share_path)
        for n, path in enumerate(paths):
            # every value with every query; every method and body on the first and a few more
            for query in QUERIES:
                for client in (guest, staff, phone):
                    cases += 1
                    send(client, "GET", path + query, None, statuses, failures)
            bodies = BODIES if n % 4 == 0 else BODIES[:2]
            for method in METHODS:
                for ctype, body in bodies:
                    for client in (guest, staff, phone):
                        cases += 1
                        send(client, method, path, (ctype, body), statuses, failures)
    for method in METHODS:
        if method not in ("GET", "HEAD"):
            for client in (guest, staff, phone):
                cases += 1
                send(client, method, "/api/stream", ("", b""), statuses, failures)
    elapsed = time.monotonic() - started
    st.stop()
    reader.join(timeout=30)
    print(
        f"fuzz: {len(rules)} routes, {cases} requests in {elapsed:.0f} s; "
        f"statuses {dict(sorted(statuses.items()))}; "
        f"5xx: {sum(n for code, n in statuses.items() if code >= 500)}"
    )
    assert not failures, failures[:10]
    assert cases > 3000
    text = "".join(log)
    assert "Traceback" not in text and "Exception" not in text, text[-3000:]


def send(client: Client, method: str, path: str, body, statuses: Counter, failures: list) -> None:
    headers = {}
    data = None
    if body is not None:
        ctype, data = body
        if ctype:
            headers["Content-Type"] = ctype
        if client.csrf:
            headers["X-CSRFToken"] = client.csrf
    try:
        reply = client.request(method, path, data, headers)
    except (BrokenPipeError, ConnectionResetError):
        statuses[0] += 1  # the server stopped a 1 MB upload early: fine
        return
    statuses[reply.status] += 1
    where = f"{method} {path[:80]} ({client.source}, {len(data or b'')} bytes)"
    if reply.status >= 500:
        failures.append(f"{reply.status} for {where}: {reply.text[:200]}")
    if reply.status >= 400 and len(reply.body) > 4000:
        failures.append(f"{reply.status} for {where} echoes {len(reply.body)} bytes")
