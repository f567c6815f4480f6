"""The embedded ledger: one SQLite file, one writer at a time.

``BEGIN IMMEDIATE`` takes the database's write lock before the quota is read,
so the read, the evaluation and the write of one order happen while no other
process can reserve: two checks can never both take the last of a quota. A
writer waits at most the configured timeout for the lock, then the check is
held (``license`` with an error). What only reads (the licenses, screening
list and shipped orders a check looks up before its decision, the ledger
commands' listings) is a deferred transaction on the last commit: it neither
waits for the writer nor sees its uncommitted work.

A new ledger file is created owner-only (0600): it names customers and what
they ordered. SQLite gives its ``-wal`` and ``-shm`` files the mode of the
database file. An existing file keeps the mode it has.
"""
from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from .._exceptions import ConfigError
from .._schemas import LEDGER_TIMEOUT
from .base import SqlLedger
from .._redact import redact_url

#: The mode of a ledger file this module creates.
FILE_MODE = 0o600


class SqliteLedger(SqlLedger):
    placeholder = "?"
    group_commits = True

    def __init__(self, url: str, timeout: float = LEDGER_TIMEOUT) -> None:
        super().__init__()
        self.url = url
        self.timeout = timeout
        path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
        if not path:
            raise ConfigError(f"ledger {redact_url(url)!r}: write sqlite:///relative/path.db "
                              "or sqlite:////absolute/path.db")
        self.path = path

    def _connect(self) -> Any:
        if self.path != ":memory:" and not self.path.startswith("file:"):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(self.path)
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
        self._enable_wal(conn)
        conn.execute("PRAGMA synchronous=FULL")
        return _Conn(conn)

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        """Switch to WAL; processes opening a new file at once may find it locked: retry."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() >= deadline:
                    conn.close()
                    raise
                time.sleep(0.005)

    @property
    def label(self) -> str:
        return redact_url(self.url)

    def _begin(self, conn: Any) -> None:
        conn.raw.execute("BEGIN IMMEDIATE")

    def _begin_read(self, conn: Any) -> None:
        # Deferred: a read transaction on the WAL's last commit, beside any writer.
        conn.raw.execute("BEGIN")

    def _errors(self) -> tuple[type[BaseException], ...]:
        # OverflowError: an integer beyond 64 bits (SQLite's INTEGER) reached a statement.
        return (sqlite3.Error, OSError, OverflowError)


def _create_private(path: str) -> None:
    """Create ``path`` empty and owner-only unless it exists (SQLite then fills it)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


class _Conn:
    """sqlite3 in autocommit mode with explicit BEGIN; commit/rollback as DB-API."""

    def __init__(self, raw: sqlite3.Connection) -> None:
        self.raw = raw

    def cursor(self) -> sqlite3.Cursor:
        return self.raw.cursor()

    def commit(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("COMMIT")

    def rollback(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        self.raw.close()
