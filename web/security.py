"""Secrets, passwords, PINs, their throttles, and sign-ins the station can take back.

Balance history is personal health data. What keeps it to its owner:

- the staff password and members' PINs are stored as scrypt hashes (werkzeug's
  `generate_password_hash`, which calls `hashlib.scrypt`: memory-hard, from the standard library);
- wrong guesses are throttled in the database, so the limit holds under parallel tries (the
  attempt is counted *before* the slow hash check, inside one SQLite write transaction) and
  survives a restart; counted per member (or staff account) and per client;
- a sign-in (a member's unlock, a staff login) and a share link live in the database, the cookie
  only names them: Lock, a PIN change, logout or a new staff password delete them server-side, so
  a copied cookie or link stops working; idle ones end by themselves;
- the key that signs cookies lives in its own file, readable only by the station's user.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

from station.store_web import (
    Counters,
    WebStore,
    delete_setting,
    get_setting,
    replace_staff_password,
)

MEMBER_IDLE_S = 120.0  # a member's unlock ends after 2 minutes without a request
STAFF_IDLE_S = 15 * 60.0  # staff sign-in ends after 15 minutes without a request
SHARE_TTL_S = 15 * 60.0  # a share link works this long
THROTTLE_WINDOW_S = 600.0  # wrong guesses count for 10 minutes

# (what is counted, how many wrong guesses in the window before it waits)
PIN_LIMITS = {"member+client": 5, "member": 10, "client": 20}
STAFF_LIMITS = {"client": 5, "network": 10}  # how they apply: web/access.py staff_counters

_PIN = re.compile(r"[0-9]{4,8}")  # ASCII digits only: what the kiosk's keypad can type


# --- the staff password --------------------------------------------------------------------


def set_staff_password(db: sqlite_utils.Database, password: str) -> None:
    """New staff password: also ends every staff sign-in and clears the staff throttle."""
    if len(password) < 8:
        raise ValueError("the staff password needs at least 8 characters")
    replace_staff_password(db, generate_password_hash(password))


def check_staff_password(db: sqlite_utils.Database, password: str) -> bool:
    stored = get_setting(db, "staff_password_hash")
    return bool(stored) and check_password_hash(stored, password)


def hash_pin(pin: str) -> str:
    return generate_password_hash(pin)


def valid_pin(pin: str) -> bool:
    """4 to 8 ASCII digits (`str.isdigit` would also take Arabic-Indic and other digits)."""
    return _PIN.fullmatch(pin) is not None


# --- the cookie-signing key ------------------------------------------------------------------


def secret_key_path(db_path: str | Path) -> Path:
    """The key file beside the database: `balance-station.db` -> `balance-station.key`."""
    return Path(db_path).with_suffix(".key")


def secret_key(db_path: str | Path) -> str:
    """The key that signs cookies: made once in a file only the station's user can read.

    Older stations kept the key in the database; it is deleted there (cookies signed with it
    stop working, nobody who copied the database can forge one).
    """
    path = secret_key_path(db_path)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)  # tighten a key file copied with looser rights
        key = path.read_text().strip()
        if len(key) >= 32:
            return key
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC, 0o600)
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    delete_setting(db_path, "secret_key")
    return key


# --- stored state: sign-ins, share links, throttles -----------------------------------------


def _digest(token: str) -> str:
    """Tokens are stored hashed: a copy of the database opens no sign-in and no share link."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Refused:
    """Too many wrong guesses: wait this long."""

    wait_s: float

    @property
    def message(self) -> str:
        return lockout_message(self.wait_s)


def lockout_message(wait_s: float) -> str:
    """The same words for PINs and the staff password."""
    minutes = max(1, math.ceil(wait_s / 60.0))
    unit = "minute" if minutes == 1 else "minutes"
    return f"Too many wrong tries. Try again in {minutes} {unit}."


class AuthStore:
    """Sign-ins, share links and throttles: tokens and rules here, rows in `WebStore`.

    Shared by all of waitress's threads (every call opens its own short connection).
    """

    def __init__(self, db_path: str | Path) -> None:
        self.rows = WebStore(db_path, {"member": MEMBER_IDLE_S, "staff": STAFF_IDLE_S})

    # --- sign-ins ---------------------------------------------------------------------------
    def start(self, kind: str, member_id: int | None = None) -> str:
        """A new sign-in: returns the token the cookie carries."""
        token = secrets.token_urlsafe(32)
        self.rows.add_sign_in(_digest(token), kind, member_id, time.time())
        return token

    def current(self, kind: str, token: str | None, idle_s: float) -> dict | None:
        """The live sign-in this token names (and it counts as activity), or None."""
        if not isinstance(token, str) or not token:
            return None
        found = self.rows.touch_sign_in(_digest(token), kind, time.time(), idle_s)
        return None if found is None else {"member_id": found[0]}

    def end(self, token: str | None) -> None:
        if isinstance(token, str) and token:
            self.rows.end_sign_in(_digest(token))

    def revoke_member(self, member_id: int, *, share_links: bool = True) -> None:
        """Every unlock of this member ends now, and (a PIN change) every share link too.

        Handing the kiosk over keeps the links: a member sends their history to their phone
        and then leaves the kiosk to the next person; the link is theirs until it expires.
        """
        self.rows.end_member(member_id, share_links)

    # --- share links ------------------------------------------------------------------------
    def share(self, member_id: int, ttl_s: float = SHARE_TTL_S) -> tuple[str, float]:
        """A new share link token and when it expires; expired links are deleted on the way."""
        token = secrets.token_urlsafe(24)
        now = time.time()
        self.rows.add_share_link(_digest(token), member_id, now + ttl_s, now)
        return token, now + ttl_s

    def shared_link(self, token: str) -> tuple[int, float] | None:
        """(member id, expiry) of a live share link, or None."""
        return self.rows.share_link(_digest(token), time.time())

    def shared_member(self, token: str) -> int | None:
        found = self.shared_link(token)
        return None if found is None else found[0]

    def count(self, table: str) -> int:
        """Rows in one of the web tables (tests and the benchmark)."""
        return self.rows.count(table)

    # --- throttle ---------------------------------------------------------------------------
    def reserve(self, kind: str, counted: Counters) -> str | Refused:
        """Count one guess before it is checked, or refuse it.

        `counted` maps a name to (key, limit), e.g. {"member": ("7", 10), "client": (ip, 20)};
        exactly `limit` of many parallel guesses are counted. Returns the attempt's id, to
        `forgive` if it was right.
        """
        attempt = uuid.uuid4().hex
        wait_s = self.rows.reserve(kind, counted, attempt, time.time, THROTTLE_WINDOW_S)
        return Refused(wait_s) if wait_s > 0 else attempt

    def forgive(self, attempt: str, kind: str | None = None, key: str | None = None) -> None:
        """A right guess does not count; optionally clear earlier ones of one counter too."""
        self.rows.forgive(attempt, kind, key)

    def attempts_left(self, kind: str, counted: Counters) -> int:
        """Wrong guesses still allowed before the first counter makes the client wait."""
        return self.rows.attempts_left(kind, counted, time.time() - THROTTLE_WINDOW_S)


def pin_counters(member_id: int, client: str) -> Counters:
    return {
        "member+client": (f"{member_id}|{client}", PIN_LIMITS["member+client"]),
        "member": (str(member_id), PIN_LIMITS["member"]),
        "client": (client, PIN_LIMITS["client"]),
    }
