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
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils
from werkzeug.security import check_password_hash, generate_password_hash

MEMBER_IDLE_S = 120.0  # a member's unlock ends after 2 minutes without a request
STAFF_IDLE_S = 15 * 60.0  # staff sign-in ends after 15 minutes without a request
SHARE_TTL_S = 15 * 60.0  # a share link works this long
THROTTLE_WINDOW_S = 600.0  # wrong guesses count for 10 minutes

# (what is counted, how many wrong guesses in the window before it waits)
PIN_LIMITS = {"member+client": 5, "member": 10, "client": 20}
STAFF_LIMITS = {"account": 10, "client": 5}

_PIN = re.compile(r"[0-9]{4,8}")  # ASCII digits only: what the kiosk's keypad can type


# --- settings (the staff password hash) ----------------------------------------------------


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


def set_staff_password(db: sqlite_utils.Database, password: str) -> None:
    """New staff password: also ends every staff sign-in and clears the staff throttle."""
    if len(password) < 8:
        raise ValueError("the staff password needs at least 8 characters")
    set_setting(db, "staff_password_hash", generate_password_hash(password))
    ensure_tables(db)
    with db.conn:
        db.execute("delete from web_sessions where kind = 'staff'")
        db.execute("delete from throttle where kind like 'staff:%'")


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
    db = sqlite_utils.Database(db_path)
    try:
        if "settings" in db.table_names():
            with db.conn:
                db.execute("delete from settings where key = 'secret_key'")
    finally:
        db.close()
    return key


# --- stored state: sign-ins, share links, throttles -----------------------------------------


def ensure_tables(db: sqlite_utils.Database) -> None:
    """The web layer's own tables (sign-ins, share links, throttle), beside the store's."""
    db.executescript(
        """
        create table if not exists web_sessions (
            id_hash text primary key, kind text not null, member_id integer,
            created_at real not null, last_seen real not null);
        create table if not exists share_links (
            token_hash text primary key, member_id integer not null, expires_at real not null);
        create table if not exists throttle (
            kind text not null, key text not null, at real not null, attempt text not null);
        create index if not exists throttle_kind_key on throttle (kind, key, at);
        """
    )


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
    """Sign-ins, share links and throttles kept in the station's SQLite database.

    Every call opens its own short connection (SQLite in WAL mode; many web threads), so the
    object can be shared by all of waitress's threads.
    """

    def __init__(self, db_path: str | Path) -> None:
        self.db_path = str(db_path)
        db = sqlite_utils.Database(self.db_path)
        try:
            ensure_tables(db)
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE: one writer at a time), then closed."""
        conn = sqlite3.connect(self.db_path, timeout=30.0, isolation_level=None)
        try:
            conn.execute("begin immediate")
            yield conn
            conn.execute("commit")
        finally:
            if conn.in_transaction:
                conn.execute("rollback")
            conn.close()

    @staticmethod
    def _forget_stale(conn: sqlite3.Connection, now: float) -> None:
        """Expired share links and ended sign-ins leave the database (no unbounded growth)."""
        conn.execute("delete from share_links where expires_at < ?", [now])
        conn.execute(
            "delete from web_sessions where (kind = 'member' and last_seen < ?) "
            "or (kind = 'staff' and last_seen < ?)",
            [now - MEMBER_IDLE_S, now - STAFF_IDLE_S],
        )

    def _add(self, sql: str, row: list) -> None:
        with self._transaction() as conn:
            self._forget_stale(conn, time.time())
            conn.execute(sql, row)

    # --- sign-ins ---------------------------------------------------------------------------
    def start(self, kind: str, member_id: int | None = None) -> str:
        """A new sign-in: returns the token the cookie carries."""
        token = secrets.token_urlsafe(32)
        now = time.time()
        self._add(
            "insert into web_sessions values (?, ?, ?, ?, ?)",
            [_digest(token), kind, member_id, now, now],
        )
        return token

    def current(self, kind: str, token: str | None, idle_s: float) -> dict | None:
        """The live sign-in this token names (and it counts as activity), or None."""
        if not isinstance(token, str) or not token:
            return None
        now = time.time()
        with self._transaction() as conn:
            row = conn.execute(
                "select member_id, last_seen from web_sessions where id_hash = ? and kind = ?",
                [_digest(token), kind],
            ).fetchone()
            if row is None:
                return None
            if now - row[1] > idle_s:
                conn.execute("delete from web_sessions where id_hash = ?", [_digest(token)])
                return None
            conn.execute(
                "update web_sessions set last_seen = ? where id_hash = ?", [now, _digest(token)]
            )
            return {"member_id": row[0]}

    def end(self, token: str | None) -> None:
        if isinstance(token, str) and token:
            with self._transaction() as conn:
                conn.execute("delete from web_sessions where id_hash = ?", [_digest(token)])

    def revoke_member(self, member_id: int, *, share_links: bool = True) -> None:
        """Every unlock of this member ends now, and (a PIN change) every share link too.

        Handing the kiosk over keeps the links: a member sends their history to their phone
        and then leaves the kiosk to the next person; the link is theirs until it expires.
        """
        with self._transaction() as conn:
            conn.execute(
                "delete from web_sessions where kind = 'member' and member_id = ?", [member_id]
            )
            if share_links:
                conn.execute("delete from share_links where member_id = ?", [member_id])

    # --- share links ------------------------------------------------------------------------
    def share(self, member_id: int, ttl_s: float = SHARE_TTL_S) -> tuple[str, float]:
        """A new share link token and when it expires; expired links are deleted on the way."""
        token = secrets.token_urlsafe(24)
        expires = time.time() + ttl_s
        self._add("insert into share_links values (?, ?, ?)", [_digest(token), member_id, expires])
        return token, expires

    def shared_link(self, token: str) -> tuple[int, float] | None:
        """(member id, expiry) of a live share link, or None."""
        with self._transaction() as conn:
            row = conn.execute(
                "select member_id, expires_at from share_links "
                "where token_hash = ? and expires_at >= ?",
                [_digest(token), time.time()],
            ).fetchone()
        return None if row is None else (int(row[0]), float(row[1]))

    def shared_member(self, token: str) -> int | None:
        found = self.shared_link(token)
        return None if found is None else found[0]

    def count(self, table: str) -> int:
        """Rows in one of the web tables (tests and the benchmark)."""
        assert table in ("web_sessions", "share_links", "throttle")
        with self._transaction() as conn:
            return conn.execute(f"select count(*) from {table}").fetchone()[0]

    # --- throttle ---------------------------------------------------------------------------
    def reserve(self, kind: str, counted: dict[str, tuple[str, int]]) -> str | Refused:
        """Count one guess before it is checked, or refuse it.

        `counted` maps a name to (key, limit), e.g. {"member": ("7", 10), "client": (ip, 20)}.
        Counting and inserting happen in one write transaction, so 100 parallel guesses
        reserve exactly `limit` places. Returns the attempt's id, to `forgive` if it was right.
        """
        now = time.time()
        since = now - THROTTLE_WINDOW_S
        with self._transaction() as conn:
            conn.execute("delete from throttle where at < ?", [since])
            wait = 0.0
            for name, (key, limit) in counted.items():
                ats = [
                    r[0]
                    for r in conn.execute(
                        "select at from throttle where kind = ? and key = ? and at >= ? "
                        "order by at",
                        [f"{kind}:{name}", key, since],
                    )
                ]
                if len(ats) >= limit:
                    wait = max(wait, ats[len(ats) - limit] + THROTTLE_WINDOW_S - now)
            if wait > 0:
                return Refused(wait)
            attempt = uuid.uuid4().hex
            conn.executemany(
                "insert into throttle values (?, ?, ?, ?)",
                [(f"{kind}:{name}", key, now, attempt) for name, (key, _) in counted.items()],
            )
            return attempt

    def forgive(self, attempt: str, kind: str | None = None, key: str | None = None) -> None:
        """A right guess does not count; optionally clear earlier ones of one counter too."""
        with self._transaction() as conn:
            conn.execute("delete from throttle where attempt = ?", [attempt])
            if kind is not None:
                conn.execute("delete from throttle where kind = ? and key = ?", [kind, key])

    def attempts_left(self, kind: str, counted: dict[str, tuple[str, int]]) -> int:
        """Wrong guesses still allowed before the first counter makes the client wait."""
        since = time.time() - THROTTLE_WINDOW_S
        with self._transaction() as conn:
            return min(
                max(
                    0,
                    limit
                    - conn.execute(
                        "select count(*) from throttle where kind = ? and key = ? and at >= ?",
                        [f"{kind}:{name}", key, since],
                    ).fetchone()[0],
                )
                for name, (key, limit) in counted.items()
            )


def pin_counters(member_id: int, client: str) -> dict[str, tuple[str, int]]:
    return {
        "member+client": (f"{member_id}|{client}", PIN_LIMITS["member+client"]),
        "member": (str(member_id), PIN_LIMITS["member"]),
        "client": (client, PIN_LIMITS["client"]),
    }


def staff_counters(client: str) -> dict[str, tuple[str, int]]:
    return {
        "account": ("staff", STAFF_LIMITS["account"]),
        "client": (client, STAFF_LIMITS["client"]),
    }
