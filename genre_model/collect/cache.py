"""SQLite cache of API responses, so a rerun is incremental and an interrupted run resumes.

    cache = ResponseCache(Path("data/collect/cache.sqlite"))
    cache.get(request_key) or cache.put(request_key, body)

One row per request, keyed by the request without its API key. Each put is its
own transaction: a process killed mid-run leaves whole rows or none.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path


class ResponseCache:
    """Validated API response bodies, keyed by request."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._connection = sqlite3.connect(path)
        with self._connection:
            self._connection.execute(
                "CREATE TABLE IF NOT EXISTS responses "
                "(request TEXT PRIMARY KEY, body TEXT NOT NULL, fetched_at TEXT NOT NULL)"
            )

    def get(self, request: str) -> str | None:
        row = self._connection.execute("SELECT body FROM responses WHERE request = ?", (request,)).fetchone()
        return row[0] if row else None

    def put(self, request: str, body: str) -> None:
        fetched_at = datetime.now(UTC).isoformat(timespec="seconds")
        with self._connection:
            self._connection.execute(
                "INSERT OR REPLACE INTO responses (request, body, fetched_at) VALUES (?, ?, ?)",
                (request, body, fetched_at),
            )

    def __len__(self) -> int:
        return self._connection.execute("SELECT COUNT(*) FROM responses").fetchone()[0]

    def close(self) -> None:
        self._connection.close()
