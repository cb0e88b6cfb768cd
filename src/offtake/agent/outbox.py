"""On-disk buffer (SQLite) of meter readings and site events not yet accepted by the service.

Every record gets its uuid when it is created and keeps it across retries and agent
restarts; the service is idempotent on that id, so a record that was delivered but not
yet marked sent (a crash between the two) is counted once when resent.  A record is
deleted from the pending set only after the service answered 2xx for it.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    record_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('reading', 'event')),
    payload TEXT NOT NULL,
    created_at REAL NOT NULL,
    sent_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (kind, sent_at, created_at);
"""


class Outbox:
    """Readings and events waiting for delivery; safe across restarts (WAL, one writer)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def add(self, kind: str, record_id: str, payload: dict) -> bool:
        """Store a record once; False when that id is already stored."""
        cur = self._db.execute(
            "INSERT OR IGNORE INTO outbox (record_id, kind, payload, created_at) "
            "VALUES (?, ?, ?, ?)", (record_id, kind, json.dumps(payload), time.time()))
        return cur.rowcount == 1

    def pending(self, kind: str, limit: int = 500) -> list[dict]:
        rows = self._db.execute(
            "SELECT payload FROM outbox WHERE kind = ? AND sent_at IS NULL "
            "ORDER BY created_at, record_id LIMIT ?", (kind, limit)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def mark_sent(self, record_ids: list[str]) -> None:
        now = time.time()
        self._db.executemany("UPDATE outbox SET sent_at = ? WHERE record_id = ?",
                             [(now, rid) for rid in record_ids])

    def count(self, kind: str, *, sent: bool | None = None) -> int:
        sql = "SELECT COUNT(*) FROM outbox WHERE kind = ?"
        if sent is True:
            sql += " AND sent_at IS NOT NULL"
        elif sent is False:
            sql += " AND sent_at IS NULL"
        return int(self._db.execute(sql, (kind,)).fetchone()[0])

    def close(self) -> None:
        self._db.close()
