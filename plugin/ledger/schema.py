"""The ledger's schema: its versioned migrations, one list for every backend.

`SqlLedger.init` applies them in order, each in the same transaction as the
row that records its version, so ``init`` is idempotent and safe to run from
several processes at once. Never edit a released migration; add the next
version.
"""
from __future__ import annotations

#: A migration statement: portable SQL, or ``{dialect: SQL}`` for what differs
#: (a dialect missing from the mapping skips the statement).
Statement = str | dict[str, str]

#: Versioned migrations, applied in order by ``init``, each in the same
#: transaction as the row that records its version: ``init`` is idempotent.
#: Never edit a released migration; add the next version.
MIGRATIONS: tuple[tuple[int, tuple[Statement, ...]], ...] = (
    (1, (
        """CREATE TABLE IF NOT EXISTS eg_orders (
            order_id   TEXT PRIMARY KEY,
            regime     TEXT NOT NULL,
            outcome    TEXT NOT NULL,
            state      TEXT NOT NULL,
            parameters TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            changed_at TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS eg_reservations (
            order_id   TEXT NOT NULL,
            seq        INTEGER NOT NULL,
            line_id    TEXT NOT NULL,
            quota      TEXT NOT NULL,
            tpp        BIGINT NOT NULL,
            cap        BIGINT,
            state      TEXT NOT NULL,
            created_at TEXT NOT NULL,
            changed_at TEXT NOT NULL,
            PRIMARY KEY (order_id, seq))""",
        "CREATE INDEX IF NOT EXISTS eg_reservations_quota ON eg_reservations (quota, state)",
    )),
    # v2: the ledger's commit order. ``check_seq`` is drawn inside the locked
    # transaction of a check, so checks that share a quota key (or an order id)
    # get increasing numbers in the order they committed; a serial replay of
    # the orders by ``check_seq`` reproduces their decisions.
    (2, (
        "ALTER TABLE eg_orders ADD COLUMN check_seq BIGINT",
        {"postgresql": "CREATE SEQUENCE IF NOT EXISTS eg_check_seq"},
        "CREATE INDEX IF NOT EXISTS eg_orders_check_seq ON eg_orders (check_seq)",
        "CREATE INDEX IF NOT EXISTS eg_orders_state ON eg_orders (state, checked_at)",
    )),
    # v3: the license registry (docs/licenses.md). What an order takes of a
    # license entry is an ordinary reservation of its quota key
    # ``license:<number>:<entry index>``; this table holds the licenses
    # themselves. The list columns are JSON text.
    (3, (
        """CREATE TABLE IF NOT EXISTS eg_licenses (
            number       TEXT PRIMARY KEY,
            issued       TEXT NOT NULL,
            expires      TEXT NOT NULL,
            destinations TEXT NOT NULL,
            consignees   TEXT NOT NULL,
            end_users    TEXT,
            items        TEXT NOT NULL,
            conditions   TEXT,
            revoked_at   TEXT,
            added_at     TEXT NOT NULL)""",
    )),
    # v4: restricted-party screening (docs/screening.md; `screening.store` holds
    # the logic). A loaded list is a version named by its file's sha256; its
    # entries (one row each, the entry as JSON text) are written with it and
    # never changed; the one row of eg_screening_current names the version in
    # force. A clearance binds a party as screened to one entry as listed.
    (4, (
        """CREATE TABLE IF NOT EXISTS eg_screening_versions (
            version_id TEXT PRIMARY KEY,
            published  TEXT,
            loaded_at  TEXT NOT NULL,
            file       TEXT NOT NULL,
            counts     TEXT NOT NULL,
            entries    INTEGER NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS eg_screening_entries (
            version_id  TEXT NOT NULL,
            seq         INTEGER NOT NULL,
            entry_id    TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            doc         TEXT NOT NULL,
            PRIMARY KEY (version_id, seq))""",
        "CREATE UNIQUE INDEX IF NOT EXISTS eg_screening_entries_id "
        "ON eg_screening_entries (version_id, entry_id)",
        """CREATE TABLE IF NOT EXISTS eg_screening_current (
            slot       INTEGER PRIMARY KEY,
            version_id TEXT NOT NULL,
            changed_at TEXT NOT NULL)""",
        """CREATE TABLE IF NOT EXISTS eg_screening_clearances (
            clearance_id      BIGINT PRIMARY KEY,
            party_id          TEXT NOT NULL,
            party_fingerprint TEXT NOT NULL,
            party_name        TEXT NOT NULL,
            entry_id          TEXT NOT NULL,
            entry_list        TEXT NOT NULL,
            entry_name        TEXT NOT NULL,
            entry_fingerprint TEXT NOT NULL,
            version_id        TEXT,
            cleared_by        TEXT NOT NULL,
            cleared_at        TEXT NOT NULL,
            why               TEXT NOT NULL,
            revoked_at        TEXT,
            revoked_by        TEXT,
            revoked_why       TEXT)""",
        "CREATE INDEX IF NOT EXISTS eg_screening_clearances_party "
        "ON eg_screening_clearances (party_fingerprint, revoked_at)",
    )),
    # v5: the audit records committed with their decisions. A check's
    # transaction inserts the hash of the decision's audit record, so the
    # ledger's commit is the record's commit (plugin/audit/log.py); ``log_id``
    # is the hash of the log's first record (several logs may share a ledger).
    (5, (
        """CREATE TABLE IF NOT EXISTS eg_audit (
            hash        TEXT PRIMARY KEY,
            log_id      TEXT NOT NULL,
            seq         BIGINT NOT NULL,
            order_id    TEXT NOT NULL,
            recorded_at TEXT NOT NULL)""",
        "CREATE INDEX IF NOT EXISTS eg_audit_log ON eg_audit (log_id, seq)",
    )),
    # v6: the ledger's commit is the audit record's one durable write: the
    # transaction stores the record's line, held until the log file is synced
    # past it (then set NULL); the next append writes what a writer stopped
    # between its commit and its write did not.
    (6, (
        "ALTER TABLE eg_audit ADD COLUMN line TEXT",
    )),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
