"""The quota ledger: reservations at check, commitments at shipment, releases.

Quota semantics (docs/regimes.md):

- a quota key names what it limits (``lpp:<consignee>:<year>``, ...);
- checking an order reserves what its lines consume, in line order;
- re-checking the same order id replaces its reservations, never adds;
- shipping commits them, cancelling releases them;
- two checks at once never both take the last of a quota.

`SqlLedger` holds the logic once, in portable SQL; a backend supplies the
connection, the placeholder style and how to lock a set of quota keys for
the length of one transaction (SQLite: ``BEGIN IMMEDIATE``, one writer at a
time; PostgreSQL: transaction-scoped advisory locks). A ledger is chosen by
URL: ``sqlite:///path`` or ``postgresql://...``. The schema's migrations
are `schema`'s; the license registry's SQL is `registry`'s (a part of every
`SqlLedger`).
"""
from __future__ import annotations

import datetime as dt
import json
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterable, Iterator, Protocol

from .._exceptions import InputError, LedgerError, OrderClosedError
from .._model import Consumption
from .clock import now
from .registry import LicenseRegistry, LicenseTerms
from .schema import MIGRATIONS, SCHEMA_VERSION


RESERVED, COMMITTED, RELEASED = "reserved", "committed", "released"


@dataclass(frozen=True)
class QuotaState:
    """One quota key as ``ledger show`` prints it."""

    quota: str
    cap: int | None
    reserved: int
    committed: int

    @property
    def remaining(self) -> int | None:
        return None if self.cap is None else self.cap - self.reserved - self.committed

    def to_dict(self) -> dict[str, Any]:
        return {"quota": self.quota, "cap": self.cap, "reserved": self.reserved,
                "committed": self.committed, "remaining": self.remaining}


class QuotaLock(Protocol):
    """An open ledger transaction for one order, its quota keys locked.

    ``usage`` is what other orders hold of the keys; ``licenses`` the terms
    of every license whose entries are among the keys (a license the registry
    does not hold is absent), both read under the keys' locks.
    """

    usage: dict[str, int]
    licenses: dict[str, LicenseTerms]

    def reserve(self, consumes: list[tuple[str, Consumption]], regime: str, outcome: str,
                parameters: dict[str, Any]) -> None: ...


class SqlLedger(LicenseRegistry):
    """The ledger logic over a DB-API connection. Backends subclass it.

    Its public methods are the ledger's interface for hosts and plugins
    (the Tryton module, the impact report): ``lock_keys``/``group`` for checks,
    ``commit``, ``release``, ``expire``, ``orders``, ``reservations``,
    ``show``, and the license registry's ``add_licenses``, ``license_rows``,
    ``licenses_for``, ``revoke_license``, ``license_reservations``.
    """

    placeholder = "?"
    dialect = "sqlite"
    url = ""

    @property
    def label(self) -> str:
        """The URL as messages show it (a backend hides passwords here)."""
        return self.url

    # -- backend hooks -------------------------------------------------

    def _connect(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _begin(self, conn: Any) -> None:
        """Start a write transaction."""
        raise NotImplementedError  # pragma: no cover

    def _begin_read(self, conn: Any) -> None:
        """Start a transaction that only reads: one snapshot, no write lock. A backend
        whose write transactions lock the whole ledger (SQLite) starts a lighter one."""
        self._begin(conn)

    def _lock(self, cur: Any, keys: list[str], order_id: str) -> None:
        """Lock the quota keys and the order id until the transaction ends.

        Called at most once per transaction, before anything else is read or
        written (a backend that takes several locks must take them in one
        global order). A backend whose `_begin` already locks the whole
        ledger (SQLite) needs nothing here.
        """

    def _lock_schema(self, cur: Any) -> None:
        """Serialise ``init`` against itself (concurrent first starts)."""

    def _has_table(self, cur: Any, name: str) -> bool:
        cur.execute(self._sql("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"),
                    (name,))
        return cur.fetchone() is not None

    def _next_check_seq(self, cur: Any) -> int:
        """The next commit-order number; called under the check's locks."""
        cur.execute("SELECT COALESCE(MAX(check_seq), 0) + 1 FROM eg_orders")
        return int(cur.fetchone()[0])

    def _errors(self) -> tuple[type[BaseException], ...]:
        raise NotImplementedError  # pragma: no cover

    def describe_error(self, exc: BaseException) -> str:
        """A driver error as messages show it (a backend hides credentials here)."""
        return str(exc)

    # -- plumbing ------------------------------------------------------

    def __init__(self) -> None:
        self._conn: Any = None

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)

    @property
    def conn(self) -> Any:
        if self._conn is None:
            try:
                self._conn = self._connect()
            except self._errors() as exc:
                raise LedgerError(f"ledger {self.label}: cannot connect "
                                  f"({self.describe_error(exc)})") from None
        return self._conn

    @contextmanager
    def _tx(self, read_only: bool = False) -> Iterator[Any]:
        """One transaction; ``read_only`` when it only reads, so it never waits for a
        writer (a check's reads of licenses, screening lists and shipped orders)."""
        conn = self.conn
        try:
            (self._begin_read if read_only else self._begin)(conn)
            cur = conn.cursor()
            yield cur
            conn.commit()
        except self._errors() as exc:
            self._rollback()
            raise LedgerError(f"ledger {self.label}: {self.describe_error(exc)}") from None
        except BaseException:
            self._rollback()
            raise

    def _rollback(self) -> None:
        try:
            if self._conn is not None:
                self._conn.rollback()
        except Exception:
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    # -- schema --------------------------------------------------------

    def init(self) -> int:
        """Create or migrate the schema; safe to run any number of times, at once.

        An up-to-date ledger is only read (no DDL, no lock), so processes that
        open it at run time need no privilege to create tables. Otherwise the
        migrations run in one transaction under the schema lock: of several
        processes starting together on an empty database, one migrates and
        the others find the work done.
        """
        current = self.version()
        if current == SCHEMA_VERSION:
            return current
        with self._tx() as cur:
            self._lock_schema(cur)
            cur.execute("CREATE TABLE IF NOT EXISTS eg_schema (version INTEGER NOT NULL)")
            current = self._version(cur)
            self._check_version(current)
            for version, statements in MIGRATIONS:
                if version <= current:
                    continue
                for statement in statements:
                    sql = statement.get(self.dialect) if isinstance(statement, dict) else statement
                    if sql:
                        cur.execute(sql)
                cur.execute(self._sql("INSERT INTO eg_schema (version) VALUES (?)"), (version,))
                current = version
        return current

    def version(self) -> int:
        """The schema version in the database (0 before ``init``)."""
        with self._tx() as cur:
            current = self._version(cur) if self._has_table(cur, "eg_schema") else 0
        self._check_version(current)
        return current

    @staticmethod
    def _version(cur: Any) -> int:
        cur.execute("SELECT MAX(version) FROM eg_schema")
        row = cur.fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def _check_version(self, current: int) -> None:
        if current > SCHEMA_VERSION:
            raise LedgerError(f"ledger {self.label}: its schema is version {current}, "
                              f"newer than this exportgate knows ({SCHEMA_VERSION}); "
                              "upgrade exportgate")

    # -- checking ------------------------------------------------------

    #: Whether several orders may be checked in one transaction (`group`): true
    #: where a transaction holds the whole ledger anyway (SQLite), so a batch
    #: pays one durable commit per group instead of one per order.
    group_commits = False

    @contextmanager
    def lock_keys(self, order_id: str, keys: Iterable[str]) -> Iterator["_SqlQuotaLock"]:
        """Lock ``keys`` for one order and expose what other orders use of them.

        The reservations written through the lock become visible atomically
        when the block ends; an exception inside leaves the ledger as it was.
        """
        with self._tx() as cur:
            yield self._lock_keys(cur, order_id, keys)

    @contextmanager
    def group(self) -> Iterator["_SqlGroup"]:
        """One transaction for the checks of several orders, in order (``batch``).

        Each order's lock sees what the earlier orders of the group reserved;
        everything becomes visible, durably, when the block ends, or nothing
        does. Several orders only on ledgers with `group_commits` (elsewhere
        the first order's locks would be held until the last commits); one
        order on any ledger, where it is `lock_keys`.
        """
        with self._tx() as cur:
            yield _SqlGroup(self, cur)

    def _lock_keys(self, cur: Any, order_id: str, keys: Iterable[str]) -> "_SqlQuotaLock":
        """Lock and read for one order inside an open transaction (OrderClosedError if shipped)."""
        keys = sorted(set(keys))
        self._lock(cur, keys, order_id)
        cur.execute(self._sql("SELECT state FROM eg_orders WHERE order_id = ?"), (order_id,))
        row = cur.fetchone()
        if row and row[0] == COMMITTED:
            raise OrderClosedError(f"order {order_id}: its quota was committed at "
                                   "shipment; release it before re-checking")
        usage: dict[str, int] = {}
        if keys:
            marks = ",".join("?" for _ in keys)
            cur.execute(self._sql(
                f"SELECT quota, SUM(tpp) FROM eg_reservations WHERE quota IN ({marks}) "
                "AND order_id <> ? AND state IN ('reserved', 'committed') GROUP BY quota"),
                (*keys, order_id))
            usage = {q: int(total) for q, total in cur.fetchall()}
        return _SqlQuotaLock(self, cur, order_id, usage, self._license_terms(cur, keys))

    def closed(self, order_ids: Iterable[str]) -> set[str]:
        """Which of ``order_ids`` are committed (shipped): a check of them would be refused."""
        ids = sorted(set(order_ids))
        found: set[str] = set()
        with self._tx(read_only=True) as cur:
            for start in range(0, len(ids), 500):
                part = ids[start:start + 500]
                marks = ",".join("?" for _ in part)
                cur.execute(self._sql(f"SELECT order_id FROM eg_orders WHERE state = ? "
                                      f"AND order_id IN ({marks})"), (COMMITTED, *part))
                found.update(r[0] for r in cur.fetchall())
        return found

    # -- lifecycle -----------------------------------------------------

    def _transition(self, order_id: str, from_states: tuple[str, ...], to_state: str,
                    checked_before: str | None = None) -> int | None:
        """Move one order (and its quota) from ``from_states`` to ``to_state``.

        Returns the number of reservation rows moved, or None when the order
        is not in one of ``from_states`` (or was re-checked after
        ``checked_before``) and ``checked_before`` was given; without it that
        is a `LedgerError` naming the order's state, and an order the ledger
        does not hold at all is an `InputError`.
        """
        marks = ",".join("?" for _ in from_states)
        with self._tx() as cur:
            self._lock(cur, [], order_id)
            sql = (f"SELECT state, checked_at FROM eg_orders WHERE order_id = ? "
                   f"AND state IN ({marks})")
            cur.execute(self._sql(sql), (order_id, *from_states))
            row = cur.fetchone()
            if row is None or (checked_before is not None and row[1] >= checked_before):
                if checked_before is not None:
                    return None
                cur.execute(self._sql("SELECT state FROM eg_orders WHERE order_id = ?"),
                            (order_id,))
                found = cur.fetchone()
                if found is None:  # the caller's mistake, not the ledger's (exit 2)
                    raise InputError(f"order {order_id}: not in the ledger")
                raise LedgerError(f"order {order_id}: is {found[0]}, not "
                                  + " or ".join(from_states))
            stamp = now()
            cur.execute(self._sql("UPDATE eg_reservations SET state = ?, changed_at = ? "
                                  "WHERE order_id = ? AND state = ?"),
                        (to_state, stamp, order_id, row[0]))
            count = int(cur.rowcount or 0)
            cur.execute(self._sql("UPDATE eg_orders SET state = ?, changed_at = ? "
                                  "WHERE order_id = ?"), (to_state, stamp, order_id))
        return count

    def commit(self, order_id: str) -> int:
        """The host shipped the order: its reservations become commitments.

        Returns the number of reservations committed. A committed order can
        no longer be re-checked (`OrderClosedError`) until it is released.
        """
        moved = self._transition(order_id, (RESERVED,), COMMITTED)
        assert moved is not None
        return moved

    def release(self, order_id: str) -> int:
        """The order was cancelled: its reservations (or commitments) are freed."""
        moved = self._transition(order_id, (RESERVED, COMMITTED), RELEASED)
        assert moved is not None
        return moved

    def expire(self, older_than: dt.timedelta) -> list[str]:
        """Release reservations not shipped within ``older_than``; returns the order ids.

        Each order is expired in its own short transaction under its lock, and
        only if it is still reserved and was not re-checked since the cutoff:
        a check racing with ``expire`` keeps its fresh reservation.
        """
        cutoff = (dt.datetime.now(dt.timezone.utc) - older_than).isoformat(
            timespec="microseconds")
        with self._tx() as cur:
            cur.execute(self._sql("SELECT order_id FROM eg_orders WHERE state = ? "
                                  "AND checked_at < ? ORDER BY order_id"), (RESERVED, cutoff))
            candidates = [r[0] for r in cur.fetchall()]
        expired = []
        for order_id in candidates:
            if self._transition(order_id, (RESERVED,), RELEASED, checked_before=cutoff) is not None:
                expired.append(order_id)
        return expired

    # -- reading -------------------------------------------------------

    def show(self) -> list[QuotaState]:
        with self._tx(read_only=True) as cur:
            cur.execute(
                "SELECT quota, MAX(cap), "
                "SUM(CASE WHEN state = 'reserved' THEN tpp ELSE 0 END), "
                "SUM(CASE WHEN state = 'committed' THEN tpp ELSE 0 END) "
                "FROM eg_reservations WHERE state IN ('reserved', 'committed') "
                "GROUP BY quota ORDER BY quota")
            rows = cur.fetchall()
        return [QuotaState(q, None if cap is None else int(cap), int(r or 0), int(c or 0))
                for q, cap, r, c in rows]

    def reservations(self, order_id: str | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT order_id, seq, line_id, quota, tpp, cap, state FROM eg_reservations "
               "WHERE state IN ('reserved', 'committed')")
        args: tuple[Any, ...] = ()
        if order_id is not None:
            sql += " AND order_id = ?"
            args = (order_id,)
        sql += " ORDER BY order_id, seq"
        with self._tx(read_only=True) as cur:
            cur.execute(self._sql(sql), args)
            cols = ("order", "seq", "line", "quota", "tpp", "cap", "state")
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def orders(self) -> list[dict[str, Any]]:
        with self._tx(read_only=True) as cur:
            cur.execute("SELECT order_id, regime, outcome, state, parameters, checked_at, "
                        "check_seq FROM eg_orders ORDER BY check_seq, checked_at, order_id")
            cols = ("order", "regime", "outcome", "state", "parameters", "checked_at",
                    "check_seq")
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def audit_records(self, log_id: str) -> dict[str, tuple[int, str, bool]]:
        """The audit records of one log committed here: hash -> (seq, order id, whether
        the ledger still holds its line: the log was not synced past it yet)."""
        with self._tx(read_only=True) as cur:
            cur.execute(self._sql("SELECT hash, seq, order_id, line IS NOT NULL FROM eg_audit "
                                  "WHERE log_id = ?"), (log_id,))
            return {h: (int(seq), order_id, bool(held))
                    for h, seq, order_id, held in cur.fetchall()}


class _SqlGroup:
    """The open transaction `SqlLedger.group` yields: one lock per order, in order."""

    def __init__(self, ledger: SqlLedger, cur: Any) -> None:
        self._ledger = ledger
        self._cur = cur

    def lock_keys(self, order_id: str, keys: Iterable[str]) -> "_SqlQuotaLock":
        return self._ledger._lock_keys(self._cur, order_id, keys)

    def audited(self, rows: Iterable[tuple[str, str, int, str, str]]) -> None:
        """Commit audit records with this transaction: (hash, log id, seq, order id, line)."""
        stamp = now()
        self._cur.executemany(self._ledger._sql(
            "INSERT INTO eg_audit (hash, log_id, seq, order_id, recorded_at, line) "
            "VALUES (?, ?, ?, ?, ?, ?)"),
            [(h, log_id, seq, order, stamp, line) for h, log_id, seq, order, line in rows])

    def audit_lines(self, log_id: str, after_seq: int) -> list[tuple[int, str]]:
        """The held lines of a log's records after ``after_seq``, by seq."""
        self._cur.execute(self._ledger._sql(
            "SELECT seq, line FROM eg_audit WHERE log_id = ? AND seq > ? "
            "AND line IS NOT NULL ORDER BY seq"), (log_id, after_seq))
        return [(int(seq), str(line)) for seq, line in self._cur.fetchall()]

    def audit_synced(self, log_id: str, after_seq: int, seq: int) -> None:
        """The log is synced up to ``seq``: its lines after ``after_seq`` up to there
        are dropped."""
        self._cur.execute(self._ledger._sql(
            "UPDATE eg_audit SET line = NULL WHERE log_id = ? AND seq > ? AND seq <= ? "
            "AND line IS NOT NULL"), (log_id, after_seq, seq))


class _SqlQuotaLock:
    """The lock `SqlLedger.lock_keys` yields."""

    def __init__(self, ledger: SqlLedger, cur: Any, order_id: str, usage: dict[str, int],
                 licenses: dict[str, LicenseTerms]) -> None:
        self._ledger = ledger
        self._cur = cur
        self.order_id = order_id
        self.usage = usage
        self.licenses = licenses

    def reserve(self, consumes: list[tuple[str, Consumption]], regime: str, outcome: str,
                parameters: dict[str, Any]) -> None:
        """Replace the order's reservations with ``consumes`` (line id, consumption).

        Whatever the order held before (reserved, or released rows kept from
        an earlier cancellation) is dropped: a re-check never counts twice.
        A committed order never gets here (`SqlLedger.lock_keys` refuses it).
        """
        sql, cur, stamp = self._ledger._sql, self._cur, now()
        check_seq = self._ledger._next_check_seq(cur)
        cur.execute(sql("DELETE FROM eg_reservations WHERE order_id = ?"), (self.order_id,))
        cur.execute(sql("DELETE FROM eg_orders WHERE order_id = ?"), (self.order_id,))
        cur.execute(sql("INSERT INTO eg_orders (order_id, regime, outcome, state, parameters, "
                        "checked_at, changed_at, check_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"),
                    (self.order_id, regime, outcome, RESERVED,
                     json.dumps(parameters, sort_keys=True), stamp, stamp, check_seq))
        for seq, (line_id, c) in enumerate(consumes):
            cur.execute(sql("INSERT INTO eg_reservations (order_id, seq, line_id, quota, tpp, "
                            "cap, state, created_at, changed_at) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                        (self.order_id, seq, line_id, c.quota, c.tpp, c.cap, RESERVED,
                         stamp, stamp))
