"""Who may call which route, and from where: the station's network exposure, in one table.

"The kiosk" is a browser on the station itself: a request from 127.0.0.1 or ::1. Everything
else, other loopback addresses such as 127.0.0.2 included, is "the network" (a phone or laptop
on the studio Wi-Fi). Do not put the station behind a reverse proxy on the same machine: every
request would then look local.

By default the network gets only share pages (a member's history behind a private link that
expires), their exports and the static files they need. With `[web] network_access = "staff"`
the owner opens every other page to the network, but only behind the staff password. A
request the table refuses gets a 404 from the network (nothing says the route exists).

`ROUTES` is the single source of truth: docs/security.md prints it and a test checks it
against `app.url_map`, so a new route cannot be added without deciding who may call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask, abort, request, session

from .security import MEMBER_IDLE_S, STAFF_IDLE_S, STAFF_LIMITS, AuthStore

LOCAL_ADDRESSES = frozenset({"127.0.0.1", "::1"})


@dataclass(frozen=True)
class Rule:
    who: str  # who may call it, in words for the table
    network: bool = False  # served to the network by default


KIOSK = "kiosk"
MEMBER = "member who unlocked (PIN) in this browser, or staff"
STAFF = "staff (password)"
SHARE = "anyone with a live share link"

ROUTES: dict[str, Rule] = {
    "static": Rule("anyone (scripts, styles, Chart.js)", network=True),
    "members.shared": Rule(SHARE, network=True),
    "members.shared_export": Rule(SHARE, network=True),
    "kiosk": Rule(KIOSK),
    "api_mat": Rule(KIOSK),
    "api_status": Rule(KIOSK),
    "api_sessions": Rule(KIOSK + "; member ids and body weight to staff only"),
    "api_kiosk": Rule(KIOSK + "; the member only to whom unlocked them"),
    "api_kiosk_select": Rule(KIOSK + "; a member only after their unlock"),
    "api_stream": Rule(KIOSK + "; no member ids"),
    "members.list_members": Rule(KIOSK + " (names for the picker)"),
    "members.unlock": Rule(KIOSK + " (PIN, throttled)"),
    "members.lock": Rule(KIOSK),
    "members.claim": Rule(KIOSK + " (the guest run just ended, with the PIN, throttled)"),
    "members.api_runs": Rule(MEMBER),
    "members.api_sessions_export": Rule(MEMBER),
    "members.api_export": Rule(MEMBER),
    "members.api_recording": Rule(MEMBER),
    "members.api_steps": Rule(MEMBER),
    "members.history": Rule(MEMBER),
    "members.share": Rule(MEMBER),
    "members.staff_home": Rule("anyone: the login page; staff: their pages"),
    "members.staff_login": Rule("anyone with the staff password (throttled)"),
    "members.staff_logout": Rule(STAFF),
    "members.staff_members": Rule(STAFF),
    "members.staff_add": Rule(STAFF),
    "members.staff_edit": Rule(STAFF),
}
LOGIN_ENDPOINTS = frozenset({"members.staff_home", "members.staff_login"})


def is_local(remote_addr: str | None) -> bool:
    return remote_addr in LOCAL_ADDRESSES


def client_address() -> str:
    return request.remote_addr or "unknown"


def staff_counters(client: str) -> dict[str, tuple[str, int]]:
    """What a staff-password guess from `client` counts against (see AuthStore.reserve).

    The kiosk and the network are counted apart, so nobody on the studio Wi-Fi can lock staff
    out of the kiosk: a network client has 5 wrong guesses of its own, and all network clients
    together 10 (someone who can change address must not guess for ever); the kiosk has its own
    5, which no network guess touches.
    """
    if is_local(client):
        return {"kiosk": ("kiosk", STAFF_LIMITS["client"])}
    return {
        "client": (client, STAFF_LIMITS["client"]),
        "network": ("network", STAFF_LIMITS["network"]),
    }


class Access:
    """The current request's sign-ins (from the stored sessions) and the network rule."""

    def __init__(self, store: AuthStore, network_access: str = "share") -> None:
        self.store = store
        self.network_access = network_access

    # --- sign-ins named by this browser's cookie ----------------------------------------------
    def member(self) -> int | None:
        """The member unlocked in this browser, if the unlock is still alive."""
        found = self.store.current("member", session.get("member_sid"), MEMBER_IDLE_S)
        if found is None:
            session.pop("member_sid", None)
            return None
        return int(found["member_id"])

    def staff(self) -> bool:
        found = self.store.current("staff", session.get("staff_sid"), STAFF_IDLE_S)
        if found is None:
            session.pop("staff_sid", None)
        return found is not None

    def sign_in_member(self, member_id: int) -> None:
        self.store.end(session.get("member_sid"))
        session["member_sid"] = self.store.start("member", member_id)

    def sign_out_member(self) -> None:
        self.store.end(session.pop("member_sid", None))

    def sign_in_staff(self) -> None:
        self.store.end(session.get("staff_sid"))
        session["staff_sid"] = self.store.start("staff")

    def sign_out_staff(self) -> None:
        self.store.end(session.pop("staff_sid", None))

    # --- the network rule -----------------------------------------------------------------------
    def check(self) -> None:
        """Before every request: refuse what the table does not serve to this client."""
        if is_local(request.remote_addr):
            return
        rule = ROUTES.get(request.endpoint or "")
        if rule is not None and rule.network:
            return
        opened = rule is not None and self.network_access == "staff"
        if opened and (request.endpoint in LOGIN_ENDPOINTS or self.staff()):
            return
        abort(404)  # the network is not told that a kiosk-only route exists

    def install(self, app: Flask) -> None:
        app.before_request(self.check)
        app.extensions["balance_access"] = self


def access_of(app: Any) -> Access:
    return app.extensions["balance_access"]


def route_table(app: Flask) -> list[tuple[str, str, str, str]]:
    """(methods, path, who, from where) for every route, in the order of the URL map."""
    rows = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        methods = ", ".join(sorted(m for m in rule.methods or () if m not in ("HEAD", "OPTIONS")))
        found = ROUTES.get(rule.endpoint)
        if found is None:
            rows.append((methods, rule.rule, "(not in the table: kiosk only)", "kiosk"))
            continue
        where = "kiosk and network" if found.network else "kiosk; network only if opened, as staff"
        rows.append((methods, rule.rule, found.who, where))
    return rows


def markdown_table(app: Flask) -> str:
    """The table in docs/security.md (`python -m web.access` prints it)."""
    lines = ["| Method | Path | Who | From where |", "|---|---|---|---|"]
    for methods, path, who, where in route_table(app):
        lines.append(f"| {methods} | `{path}` | {who} | {where} |")
    return "\n".join(lines)


def _print_table() -> None:
    import tempfile

    from station.cli import default_config_path
    from station.core.config import load_config
    from station.live import LiveHub

    from .app import create_app

    with tempfile.TemporaryDirectory() as folder:
        app = create_app(load_config(default_config_path()), LiveHub(), dict, f"{folder}/routes.db")
        print(markdown_table(app))


if __name__ == "__main__":
    _print_table()
