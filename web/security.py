"""Secrets, the staff password, members' PINs and their rate limit.

Balance history is personal health data: a member's history opens only after their PIN
(members may choose none), PIN attempts are rate-limited, the staff password is stored hashed
(werkzeug's scrypt), and every form and JSON POST carries a CSRF token (Flask-WTF).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

MAX_PIN_FAILURES = 5
PIN_WINDOW_S = 600.0
MEMBER_UNLOCK_S = 15 * 60.0  # a member's unlocked history closes itself after this


def _settings(db: sqlite_utils.Database) -> sqlite_utils.db.Table:
    if "settings" not in db.table_names():
        db["settings"].create({"key": str, "value": str}, pk="key")
    return db["settings"]


def get_setting(db: sqlite_utils.Database, key: str) -> str | None:
    try:
        return _settings(db).get(key)["value"]
    except sqlite_utils.db.NotFoundError:
        return None


def set_setting(db: sqlite_utils.Database, key: str, value: str) -> None:
    with db.conn:
        _settings(db).upsert({"key": key, "value": value}, pk="key")


def secret_key(db: sqlite_utils.Database) -> str:
    """The key that signs session cookies, made once and kept in the database."""
    key = get_setting(db, "secret_key")
    if key is None:
        key = secrets.token_hex(32)
        set_setting(db, "secret_key", key)
    return key


def set_staff_password(db: sqlite_utils.Database, password: str) -> None:
    if len(password) < 8:
        raise ValueError("the staff password needs at least 8 characters")
    set_setting(db, "staff_password_hash", generate_password_hash(password))


def check_staff_password(db: sqlite_utils.Database, password: str) -> bool:
    stored = get_setting(db, "staff_password_hash")
    return bool(stored) and check_password_hash(stored, password)


def hash_pin(pin: str) -> str:
    return generate_password_hash(pin)


def valid_pin(pin: str) -> bool:
    return pin.isdigit() and 4 <= len(pin) <= 8


class PinLimiter:
    """At most 5 wrong PINs per member in 10 minutes; then that member waits."""

    def __init__(self) -> None:
        self._failures: dict[int, deque[float]] = {}
        self._lock = threading.Lock()

    def retry_after(self, member_id: int) -> float:
        with self._lock:
            recent = self._recent(member_id)
            if len(recent) < MAX_PIN_FAILURES:
                return 0.0
            return max(0.0, recent[0] + PIN_WINDOW_S - time.monotonic())

    def failed(self, member_id: int) -> int:
        """Record a wrong PIN; returns the attempts left."""
        with self._lock:
            recent = self._recent(member_id)
            recent.append(time.monotonic())
            return max(0, MAX_PIN_FAILURES - len(recent))

    def succeeded(self, member_id: int) -> None:
        with self._lock:
            self._failures.pop(member_id, None)

    def _recent(self, member_id: int) -> deque[float]:
        q = self._failures.setdefault(member_id, deque())
        while q and q[0] < time.monotonic() - PIN_WINDOW_S:
            q.popleft()
        return q
