"""The shared ledger: one PostgreSQL database for every application server.

When several ERP application servers (each with its own OPA sidecar) check
orders at once, this database is the one point they share. `SqlLedger` holds
the ledger logic; this module supplies the connection, the ``%s``
placeholder and the lock.

Locking: transaction-scoped advisory locks
------------------------------------------
A check reads what other orders hold of its quota keys, evaluates the policy
with that usage, and writes its own reservations, all in one transaction.
Two checks that share a key must not overlap, so before it reads, a check
takes ``pg_advisory_xact_lock`` on a stable 64-bit hash of each of its quota
keys and of its order id (`lock_id`). We chose advisory locks over the two
alternatives:

- ``SELECT ... FOR UPDATE`` on quota rows locks only rows that exist, and a
  quota key exists in the ledger only after its first reservation: the very
  first two checks of a new key would lock nothing. Making it work needs a
  quota table that every check upserts into first, a write per key per check
  that buys nothing. An advisory lock locks the *name* of the key, whether
  or not any row carries it yet.
- ``SERIALIZABLE`` with retry would abort and retry a whole check, policy
  evaluation included, each time two checks touch the same key; with many
  servers checking orders of one large consignee that is the common case,
  and the retry loop would have to live in the gate, not here.

The locks are released by PostgreSQL itself when the transaction commits or
rolls back, including when the client dies (the server sees the socket
close), so a crashed application server never leaves a quota locked.

Deadlocks cannot happen: every transaction takes all of its advisory locks
in one step, in ascending numeric order (a check: its keys and its order;
commit, release and expire: one order each; ``init``: one schema lock), and
takes no other lock before them. Two keys whose hashes collide share a lock,
which only serialises a little more.

The transaction runs at READ COMMITTED: each statement sees everything
committed before it started, and PostgreSQL releases a transaction's locks
only after its commit is visible, so the usage read right after the lock is
the quota's current total.

Timeouts
--------
The ``timeout`` (``ledger_timeout`` in the configuration, 5 s by default)
bounds each wait on the database: ``connect_timeout`` (libpq counts whole
seconds with a minimum of 2, so a sub-2-second timeout connects within 2 s;
a host name with several addresses is tried address by address),
``lock_timeout`` (waiting for another check's lock; nine tenths of the
timeout, so that it fires first and says so) and ``statement_timeout`` (any
one statement). When one expires the operation
raises `LedgerError`; the gate holds the order (``license`` with an
``error``) and nothing of it is reserved. A client that stops responding
inside a transaction loses it, and its locks, after
``idle_in_transaction_session_timeout`` (ten times the timeout, at least
30 s). Settings given explicitly in the URL (``?connect_timeout=10``,
``?options=-c%20lock_timeout%3D2s``) win over these defaults.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict

from .._exceptions import ConfigError
from .._schemas import LEDGER_TIMEOUT
from .base import SqlLedger
from .._redact import redact_url

#: The advisory lock ``init`` takes so that concurrent first starts migrate once.
SCHEMA_LOCK_NAME = "exportgate:schema"


def lock_id(kind: str, name: str) -> int:
    """A stable signed 64-bit advisory-lock id for a quota key (``q``) or order id (``o``).

    blake2b, not Python's ``hash``: the id must be the same in every process
    on every server, across restarts and Python versions.
    """
    digest = hashlib.blake2b(f"{kind}:{name}".encode(), digest_size=8,
                             person=b"exportgate-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


#: The URL with any password replaced by ``***``, for messages and logs.
redact = redact_url


class PostgresLedger(SqlLedger):
    """`SqlLedger` on PostgreSQL (psycopg 3), locking with advisory locks."""

    placeholder = "%s"
    dialect = "postgresql"

    def __init__(self, url: str, timeout: float = LEDGER_TIMEOUT) -> None:
        super().__init__()
        self.url = url
        self.timeout = float(timeout)
        if self.timeout <= 0:
            raise ConfigError(f"ledger {redact(url)}: the timeout must be positive")
        try:
            self._params: dict[str, Any] = conninfo_to_dict(url)
        except psycopg.Error as exc:
            # libpq quotes the text it could not parse: redact the message too.
            raise ConfigError(f"ledger {redact(url)}: not a PostgreSQL connection URL "
                              f"({_scrub(str(exc), url)})") from None

    @property
    def label(self) -> str:
        return redact(self.url)

    # -- backend hooks -------------------------------------------------

    def connect_params(self) -> dict[str, Any]:
        """The libpq parameters: the URL's, plus the timeouts it does not set itself."""
        params = dict(self._params)
        ms = max(1, int(self.timeout * 1000))
        lock_ms = max(1, ms * 9 // 10)  # fires first: the error then says "lock timeout"
        idle_ms = max(30_000, 10 * ms)
        ours = (f"-c statement_timeout={ms} -c lock_timeout={lock_ms} "
                f"-c idle_in_transaction_session_timeout={idle_ms}")
        # Later -c options win: the URL's own come last.
        params["options"] = f"{ours} {params.get('options') or ''}".strip()
        params.setdefault("connect_timeout", str(max(2, math.ceil(self.timeout))))
        params.setdefault("application_name", "exportgate")
        return params

    def _connect(self) -> Any:
        conn = psycopg.connect(**self.connect_params(), autocommit=False)
        conn.isolation_level = psycopg.IsolationLevel.READ_COMMITTED
        return conn

    def _begin(self, conn: Any) -> None:
        # psycopg opens the transaction with the first statement (autocommit off).
        pass

    def _lock(self, cur: Any, keys: list[str], order_id: str) -> None:
        ids = {lock_id("q", k) for k in keys}
        if order_id:
            ids.add(lock_id("o", order_id))
        for ident in sorted(ids):
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (ident,))

    def _lock_schema(self, cur: Any) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock_id("s", SCHEMA_LOCK_NAME),))

    def _has_table(self, cur: Any, name: str) -> bool:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (name,))
        return bool(cur.fetchone()[0])

    def _next_check_seq(self, cur: Any) -> int:
        cur.execute("SELECT nextval('eg_check_seq')")
        return int(cur.fetchone()[0])

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (psycopg.Error, OSError)

    def describe_error(self, exc: BaseException) -> str:
        """A driver error as a message may show it: no part of the URL's password."""
        return _scrub(str(exc), self.url)


def _scrub(text: str, url: str) -> str:
    """``text`` with the URL's password, and any URL-shaped credentials, masked."""
    text = redact_url(text.replace(url, redact_url(url)))
    for secret in _secrets(url):
        text = text.replace(secret, "***")
    return text


def _secrets(url: str) -> list[str]:
    """The password parts of ``url`` (raw and as libpq decoded them), longest first."""
    found: set[str] = set()
    masked = redact_url(url)
    if masked != url:
        # what the mask replaced: compare the URL and its redaction around the mask
        pre, _, post = masked.partition("***")
        if url.startswith(pre) and url.endswith(post) and len(url) > len(pre) + len(post):
            found.add(url[len(pre):len(url) - len(post)] if post else url[len(pre):])
    try:
        password = conninfo_to_dict(url).get("password")
    except Exception:  # unparseable: the raw part above is all there is
        password = None
    if password:
        found.add(str(password))
    return sorted((s for s in found if len(s) >= 3), key=len, reverse=True)
