"""The web layer's stored state: settings, sign-ins, share links and the guess throttle.

Only SQL lives here; what a token is, how long a sign-in lasts and how many guesses are
allowed is `web/security.py`'s business. Tables (created by `station/schema.py`):

- `settings`      key, value (the staff password hash)
- `web_sessions`  id_hash (SHA-256 of the cookie's token), kind (member / staff), member_id,
                  created_at, last_seen (seconds since the epoch)
- `share_links`   token_hash, member_id, expires_at (seconds since the epoch)
- `throttle`      kind ("pin:member", "staff:client", ...), key, at, attempt: one row per
                  counted guess and counter

Every call of `WebStore` opens its own short connection (SQLite in WAL mode; many web
threads), so one object serves all of waitress's threads.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlite_utils

from .store import open_database

WEB_TABLES = ("web_sessions", "share_links", "throttle")

# a counter of guesses: name -> (key, limit), e.g. {"member": ("7", 10), "client": (ip, 20)}
Counters = dict[str, tuple[str, int]]


# --- settings ------------------------------------------------------------------------------


def get_setting(db: sqlite_utils.Database, key: str) -> str | None:
    row = db.execute("select value from settings where key = ?", [key]).fetchone()
    return None if row is None else row[0]


def set_setting(db: sqlite_utils.Database, key: str, value: str) -> None:
    with db.conn:
        db["settings"].upsert({"key": key, "value": value}, pk="key")


def delete_setting(db_path: str | Path, key: str) -> None:
    """Remove a setting from a database file, if the file has that table at all."""
    db = sqlite_utils.Database(db_path)  # not migrated: this may run before the station did
    try:
        if "settings" in db.table_names():
            with db.conn:
                db.execute("delete from settings where key = ?", [key])
    finally:
        db.close()


def replace_staff_password(db: sqlite_utils.Database, password_hash: str) -> None:
    """The new hash; every staff sign-in and the staff throttle end in the same transaction."""
    with db.conn:
        db["settings"].upsert({"key": "staff_password_hash", "value": password_hash}, pk="key")
        db.execute("delete from web_sessions where kind = 'staff'")
        db.execute("delete from throttle where kind like 'staff:%'")


# --- sign-ins, share links, throttle -------------------------------------------------------


class WebStore:
    """Rows of `web_sessions`, `share_links` and `throttle`; tokens arrive already hashed."""

    def __init__(self, db_path: str | Path, idle_s: dict[str, float]) -> None:
        """`idle_s`: how long a sign-in of each kind lasts without a request."""
        self.db_path = str(db_path)
        self.idle_s = idle_s
        open_database(self.db_path).close()  # the tables exist from here on

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

    def _forget_stale(self, conn: sqlite3.Connection, now: float) -> None:
        """Expired share links and ended sign-ins leave the database (no unbounded growth)."""
        conn.execute("delete from share_links where expires_at < ?", [now])
        for kind, idle_s in self.idle_s.items():
            conn.execute(
                "delete from web_sessions where kind = ? and last_seen < ?", [kind, now - idle_s]
            )

    # --- sign-ins ---------------------------------------------------------------------------
    def add_sign_in(self, id_hash: str, kind: str, member_id: int | None, now: float) -> None:
        with self._transaction() as conn:
            self._forget_stale(conn, now)
            conn.execute(
                "insert into web_sessions values (?, ?, ?, ?, ?)",
                [id_hash, kind, member_id, now, now],
            )

    def touch_sign_in(
        self, id_hash: str, kind: str, now: float, idle_s: float
    ) -> tuple[int | None] | None:
        """(member id,) of a sign-in seen within `idle_s`, marked as seen now; None if ended."""
        with self._transaction() as conn:
            row = conn.execute(
                "select member_id, last_seen from web_sessions where id_hash = ? and kind = ?",
                [id_hash, kind],
            ).fetchone()
            if row is None:
                return None
            if now - row[1] > idle_s:
                conn.execute("delete from web_sessions where id_hash = ?", [id_hash])
                return None
            conn.execute("update web_sessions set last_seen = ? where id_hash = ?", [now, id_hash])
            return (row[0],)

    def end_sign_in(self, id_hash: str) -> None:
        with self._transaction() as conn:
            conn.execute("delete from web_sessions where id_hash = ?", [id_hash])

    def end_member(self, member_id: int, share_links: bool) -> None:
        """Every sign-in of a member ends, and (if asked) every share link of theirs."""
        with self._transaction() as conn:
            conn.execute(
                "delete from web_sessions where kind = 'member' and member_id = ?", [member_id]
            )
            if share_links:
                conn.execute("delete from share_links where member_id = ?", [member_id])

    # --- share links ------------------------------------------------------------------------
    def add_share_link(
        self, token_hash: str, member_id: int, expires_at: float, now: float
    ) -> None:
        with self._transaction() as conn:
            self._forget_stale(conn, now)
            conn.execute(
                "insert into share_links values (?, ?, ?)", [token_hash, member_id, expires_at]
            )

    def share_link(self, token_hash: str, now: float) -> tuple[int, float] | None:
        """(member id, expiry) of a link still live at `now`, or None."""
        with self._transaction() as conn:
            row = conn.execute(
                "select member_id, expires_at from share_links "
                "where token_hash = ? and expires_at >= ?",
                [token_hash, now],
            ).fetchone()
        return None if row is None else (int(row[0]), float(row[1]))

    def count(self, table: str) -> int:
        """Rows in one of the web tables (tests and the benchmark)."""
        if table not in WEB_TABLES:
            raise ValueError(f"not a web table: {table}")
        with self._transaction() as conn:
            return conn.execute(f"select count(*) from {table}").fetchone()[0]

    # --- throttle ---------------------------------------------------------------------------
    def reserve(
        self,
        kind: str,
        counted: Counters,
        attempt: str,
        clock: Callable[[], float],
        window_s: float,
    ) -> float:
        """Count one guess under every counter, or none: 0.0, or the seconds still to wait.

        Counting and inserting happen in one write transaction, so 100 parallel guesses
        reserve exactly `limit` places. The clock is read once the write lock is held: a guess
        that waited for the lock must not count from before the guesses that went ahead of it.
        """
        with self._transaction() as conn:
            now = clock()
            since = now - window_s
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
                    wait = max(wait, ats[len(ats) - limit] + window_s - now)
            if wait > 0:
                return wait
            conn.executemany(
                "insert into throttle values (?, ?, ?, ?)",
                [(f"{kind}:{name}", key, now, attempt) for name, (key, _) in counted.items()],
            )
            return 0.0

    def forgive(self, attempt: str, kind: str | None = None, key: str | None = None) -> None:
        """Forget one counted guess; optionally every earlier one of one counter too."""
        with self._transaction() as conn:
            conn.execute("delete from throttle where attempt = ?", [attempt])
            if kind is not None:
                conn.execute("delete from throttle where kind = ? and key = ?", [kind, key])

    def attempts_left(self, kind: str, counted: Counters, since: float) -> int:
        """Guesses each counter still allows since `since`; the smallest of them."""
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
