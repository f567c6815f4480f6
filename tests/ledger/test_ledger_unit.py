"""The ledger API on both backends: schema, reservations, lifecycle, locking."""
from __future__ import annotations

import datetime as dt
import multiprocessing
import threading
import time
from typing import Any, Iterator

import pytest

from exportgate import Consumption, InputError, LedgerError, OrderClosedError
from exportgate._cli import parse_duration
from exportgate.ledger.base import SqlLedger
from exportgate.ledger.schema import MIGRATIONS, SCHEMA_VERSION
from exportgate.ledger.urls import open_ledger

CAP = 1000


def use(quota: str, tpp: int, line: str = "10", cap: int | None = CAP) -> tuple[str, Consumption]:
    return (line, Consumption(quota, tpp, cap))


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[SqlLedger]:
    led = open_ledger(ledger_url, timeout=5.0)
    try:
        yield led
    finally:
        led.close()


def check(ledger: SqlLedger, order: str, consumes: list[tuple[str, Consumption]],
          outcome: str = "notify") -> dict[str, int]:
    """Reserve ``consumes`` for ``order``; return the usage the hold saw."""
    with ledger.lock_keys(order, [c.quota for _, c in consumes]) as lock:
        seen = dict(lock.usage)
        lock.reserve(consumes, "test-regime", outcome, {})
    return seen


def totals(ledger: SqlLedger) -> dict[str, tuple[int | None, int, int, int | None]]:
    return {q.quota: (q.cap, q.reserved, q.committed, q.remaining) for q in ledger.show()}


# -- schema -----------------------------------------------------------


def test_init_is_idempotent_and_versioned(ledger: SqlLedger) -> None:
    assert ledger.version() == SCHEMA_VERSION == MIGRATIONS[-1][0]
    assert ledger.init() == SCHEMA_VERSION
    assert ledger.init() == SCHEMA_VERSION
    with ledger._tx() as cur:
        cur.execute("SELECT version FROM eg_schema ORDER BY version")
        assert [r[0] for r in cur.fetchall()] == [v for v, _ in MIGRATIONS]
    # Reopening an initialised ledger migrates nothing and keeps the data.
    check(ledger, "A", [use("lpp:c1:2025", 100)])
    again = open_ledger(ledger.url)
    try:
        assert again.version() == SCHEMA_VERSION
        assert totals(again) == {"lpp:c1:2025": (CAP, 100, 0, 900)}
    finally:
        again.close()


def test_one_timeout_default(ledger_url: str) -> None:
    """An unconfigured ledger waits as long as the configuration's default says."""
    from exportgate._settings import Settings
    configured = Settings.from_dict({}).ledger_timeout
    assert configured == Settings().ledger_timeout
    led = open_ledger(ledger_url)
    try:
        assert led.timeout == configured  # type: ignore[attr-defined]
    finally:
        led.close()


def test_versions_are_monotonic() -> None:
    versions = [v for v, _ in MIGRATIONS]
    assert versions == list(range(1, len(versions) + 1))


def test_migrates_a_version_1_ledger(ledger_url: str) -> None:
    led = _unopened(ledger_url)
    try:
        # Build the ledger as version 1 left it, with one order in it.
        with led._tx() as cur:
            cur.execute("CREATE TABLE eg_schema (version INTEGER NOT NULL)")
            for statement in MIGRATIONS[0][1]:
                cur.execute(statement)
            cur.execute("INSERT INTO eg_schema (version) VALUES (1)")
            cur.execute(led._sql(
                "INSERT INTO eg_orders (order_id, regime, outcome, state, parameters, "
                "checked_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
                ("OLD", "r", "notify", "reserved", "{}", "2025-01-01T00:00:00+00:00",
                 "2025-01-01T00:00:00+00:00"))
            cur.execute(led._sql(
                "INSERT INTO eg_reservations (order_id, seq, line_id, quota, tpp, cap, state, "
                "created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
                ("OLD", 0, "10", "q", 40, CAP, "reserved", "x", "x"))
        assert led.version() == 1
        assert led.init() == SCHEMA_VERSION
        assert led.version() == SCHEMA_VERSION
        assert totals(led) == {"q": (CAP, 40, 0, 960)}
        check(led, "NEW", [use("q", 10)])
        seqs = {o["order"]: o["check_seq"] for o in led.orders()}
        assert seqs["OLD"] is None and seqs["NEW"] >= 1
    finally:
        led.close()


def _unopened(url: str) -> SqlLedger:
    """The backend object for ``url`` without running ``init``."""
    if url.startswith("sqlite:"):
        from exportgate.ledger.sqlite import SqliteLedger
        return SqliteLedger(url, 5.0)
    from exportgate.ledger.postgres import PostgresLedger
    return PostgresLedger(url, 5.0)


def test_refuses_a_newer_schema(ledger: SqlLedger) -> None:
    with ledger._tx() as cur:
        cur.execute(f"INSERT INTO eg_schema (version) VALUES ({SCHEMA_VERSION + 1})")
    with pytest.raises(LedgerError, match="newer than this exportgate"):
        ledger.init()


def _init_worker(url: str) -> int:
    led = open_ledger(url)
    try:
        return led.version()
    finally:
        led.close()


def test_concurrent_first_init(backend: str, new_ledger_url: Any,
                               pg_server_or_none: Any) -> None:
    """Several servers starting at once on an empty database migrate it once."""
    # A database of its own on PostgreSQL: the public schema, as in production.
    ledger_url = pg_server_or_none.create_database() if pg_server_or_none else new_ledger_url()
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(4) as pool:
        versions = pool.map(_init_worker, [ledger_url] * 8, chunksize=1)
    assert versions == [SCHEMA_VERSION] * 8
    led = _unopened(ledger_url)
    try:
        with led._tx() as cur:
            cur.execute("SELECT COUNT(*) FROM eg_schema")
            assert cur.fetchone()[0] == len(MIGRATIONS)
    finally:
        led.close()


# -- checking ---------------------------------------------------------


def test_usage_is_what_other_orders_hold(ledger: SqlLedger) -> None:
    assert check(ledger, "A", [use("lpp:c1:2025", 300), use("alloc:IN", 50, "20")]) == {}
    assert check(ledger, "B", [use("lpp:c1:2025", 200)]) == {"lpp:c1:2025": 300}
    # A's own reservation is not part of what A sees when it is re-checked.
    with ledger.lock_keys("A", ["lpp:c1:2025", "alloc:IN", "other"]) as lock:
        assert lock.usage == {"lpp:c1:2025": 200}
        lock.reserve([use("lpp:c1:2025", 300), use("alloc:IN", 50, "20")], "r", "notify", {})
    assert totals(ledger) == {"alloc:IN": (CAP, 50, 0, 950),
                              "lpp:c1:2025": (CAP, 500, 0, 500)}


def test_recheck_replaces_never_counts_twice(ledger: SqlLedger) -> None:
    check(ledger, "A", [use("q", 300), use("q", 100, "20")])
    check(ledger, "A", [use("q", 300), use("q", 100, "20")])
    assert totals(ledger)["q"] == (CAP, 400, 0, 600)
    check(ledger, "A", [use("q", 700)])
    assert totals(ledger)["q"] == (CAP, 700, 0, 300)
    assert [(r["line"], r["tpp"]) for r in ledger.reservations("A")] == [("10", 700)]
    # A re-check that consumes nothing (say, now denied) frees the quota.
    check(ledger, "A", [], outcome="deny")
    assert totals(ledger) == {}
    assert [o["outcome"] for o in ledger.orders()] == ["deny"]


def test_lines_keep_their_order(ledger: SqlLedger) -> None:
    check(ledger, "A", [use("q", 1, "30"), use("r", 2, "10"), use("q", 3, "20")])
    assert [(r["seq"], r["line"], r["quota"]) for r in ledger.reservations("A")] == [
        (0, "30", "q"), (1, "10", "r"), (2, "20", "q")]


def test_a_failing_hold_leaves_the_ledger_unchanged(ledger: SqlLedger) -> None:
    check(ledger, "A", [use("q", 100)])
    before = (totals(ledger), ledger.reservations(), ledger.orders())
    with pytest.raises(RuntimeError, match="policy blew up"):
        with ledger.lock_keys("A", ["q"]) as lock:
            lock.reserve([use("q", 900)], "r", "notify", {})
            raise RuntimeError("policy blew up")
    with pytest.raises(RuntimeError):
        with ledger.lock_keys("B", ["q"]) as lock:
            lock.reserve([use("q", 5)], "r", "notify", {})
            raise RuntimeError("again")
    assert (totals(ledger), ledger.reservations(), ledger.orders()) == before
    # The ledger still works after the rollback.
    assert check(ledger, "B", [use("q", 5)]) == {"q": 100}


def test_check_seq_follows_commit_order(ledger: SqlLedger) -> None:
    for order in ("C", "A", "B", "A"):
        check(ledger, order, [use("q", 1)])
    assert [o["order"] for o in ledger.orders()] == ["C", "B", "A"]
    seqs = [o["check_seq"] for o in ledger.orders()]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3


# -- lifecycle --------------------------------------------------------


def test_commit_release(ledger: SqlLedger) -> None:
    check(ledger, "A", [use("q", 100), use("r", 10, "20")])
    check(ledger, "B", [use("q", 200)])
    assert ledger.commit("A") == 2
    assert totals(ledger) == {"q": (CAP, 200, 100, 700), "r": (CAP, 0, 10, 990)}
    # Committed quota still counts for everyone else.
    assert check(ledger, "C", [use("q", 1)]) == {"q": 300}
    assert ledger.release("B") == 1
    assert totals(ledger)["q"] == (CAP, 1, 100, 899)
    # A shipped order that is cancelled after all frees its commitment too.
    assert ledger.release("A") == 2
    assert totals(ledger) == {"q": (CAP, 1, 0, 999)}
    states = {o["order"]: o["state"] for o in ledger.orders()}
    assert states == {"A": "released", "B": "released", "C": "reserved"}


def test_recheck_of_a_committed_order_is_refused(ledger: SqlLedger) -> None:
    check(ledger, "A", [use("q", 100)])
    ledger.commit("A")
    with pytest.raises(OrderClosedError, match="order A"):
        check(ledger, "A", [use("q", 1)])
    assert totals(ledger) == {"q": (CAP, 0, 100, 900)}
    # Released, it can be checked again, and counts once.
    ledger.release("A")
    check(ledger, "A", [use("q", 50)])
    check(ledger, "A", [use("q", 60)])
    assert totals(ledger) == {"q": (CAP, 60, 0, 940)}


def test_transitions_that_make_no_sense(ledger: SqlLedger) -> None:
    with pytest.raises(InputError, match="not in the ledger"):  # the caller's mistake
        ledger.commit("NOPE")
    with pytest.raises(InputError, match="not in the ledger"):
        ledger.release("NOPE")
    check(ledger, "A", [use("q", 1)])
    ledger.release("A")
    with pytest.raises(LedgerError, match="is released"):
        ledger.commit("A")
    with pytest.raises(LedgerError, match="is released"):
        ledger.release("A")
    # An order that consumed nothing can still be committed and released.
    check(ledger, "D", [], outcome="allow")
    assert ledger.commit("D") == 0
    assert ledger.release("D") == 0


def test_expire(ledger: SqlLedger) -> None:
    check(ledger, "OLD", [use("q", 100)])
    check(ledger, "SHIPPED", [use("q", 10)])
    ledger.commit("SHIPPED")
    check(ledger, "FRESH", [use("q", 1)])
    assert ledger.expire(dt.timedelta(days=1)) == []
    # Back-date OLD's and SHIPPED's checks by two hours.
    two_hours_ago = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)).isoformat(
        timespec="microseconds")
    with ledger._tx() as cur:
        cur.execute(ledger._sql("UPDATE eg_orders SET checked_at = ? WHERE order_id <> ?"),
                    (two_hours_ago, "FRESH"))
    # OLD is reserved and older than the cutoff; SHIPPED is committed; FRESH is new.
    assert ledger.expire(dt.timedelta(hours=1)) == ["OLD"]
    assert totals(ledger) == {"q": (CAP, 1, 10, 989)}
    assert ledger.expire(dt.timedelta(hours=1)) == []
    assert ledger.expire(dt.timedelta(0)) == ["FRESH"]
    assert totals(ledger) == {"q": (CAP, 0, 10, 990)}
    states = {o["order"]: o["state"] for o in ledger.orders()}
    assert states == {"OLD": "released", "SHIPPED": "committed", "FRESH": "released"}


def test_parse_duration() -> None:
    assert parse_duration("30d") == dt.timedelta(days=30)
    assert parse_duration(" 12h") == dt.timedelta(hours=12)
    assert parse_duration("2w") == dt.timedelta(weeks=2)
    from exportgate import ConfigError
    with pytest.raises(ConfigError, match="30d"):
        parse_duration("thirty days")


# -- show -------------------------------------------------------------


def test_show(ledger: SqlLedger) -> None:
    assert ledger.show() == []
    check(ledger, "A", [use("lpp:c1:2025", 600, cap=1000), use("alloc:IN", 5, "20", cap=None)])
    check(ledger, "B", [use("lpp:c1:2025", 300, cap=1000)])
    ledger.commit("B")
    shown = [q.to_dict() for q in ledger.show()]
    assert shown == [
        {"quota": "alloc:IN", "cap": None, "reserved": 5, "committed": 0, "remaining": None},
        {"quota": "lpp:c1:2025", "cap": 1000, "reserved": 600, "committed": 300,
         "remaining": 100},
    ]


# -- locking ----------------------------------------------------------


def _hold_in_thread(url: str, order: str, keys: list[str], consumes: list[Any],
                    started: threading.Event, release: threading.Event,
                    seen: dict[str, Any]) -> None:
    led = open_ledger(url, timeout=10.0)
    try:
        with led.lock_keys(order, keys) as lock:
            seen[order] = dict(lock.usage)
            seen[order + "@"] = time.monotonic()
            started.set()
            release.wait(10)
            lock.reserve(consumes, "r", "notify", {})
    finally:
        led.close()


def test_a_check_waits_for_the_one_holding_its_key(ledger: SqlLedger) -> None:
    """The second check sees the first one's reservation: no double take."""
    seen: dict[str, Any] = {}
    a_in, a_go, b_in = threading.Event(), threading.Event(), threading.Event()
    a = threading.Thread(target=_hold_in_thread, args=(
        ledger.url, "A", ["q"], [use("q", 900)], a_in, a_go, seen))
    a.start()
    assert a_in.wait(10)
    b_go = threading.Event()
    b = threading.Thread(target=_hold_in_thread, args=(
        ledger.url, "B", ["q", "z"], [use("q", 50)], b_in, b_go, seen))
    b.start()
    assert not b_in.wait(0.5), "B got the lock on q while A held it"
    released_at = time.monotonic()
    a_go.set()
    assert b_in.wait(10)
    b_go.set()
    a.join(10)
    b.join(10)
    assert seen["A"] == {} and seen["B"] == {"q": 900}
    assert seen["B@"] >= released_at
    assert totals(ledger)["q"] == (CAP, 950, 0, 50)


def test_checks_on_other_keys_do_not_wait(pg_server: Any) -> None:
    """PostgreSQL only: SQLite has one writer at a time by design."""
    ledger_url = pg_server.create_database()
    seen: dict[str, Any] = {}
    a_in, a_go, b_in, b_go = (threading.Event() for _ in range(4))
    a = threading.Thread(target=_hold_in_thread, args=(
        ledger_url, "A", ["q"], [use("q", 1)], a_in, a_go, seen))
    b = threading.Thread(target=_hold_in_thread, args=(
        ledger_url, "B", ["r"], [use("r", 1)], b_in, b_go, seen))
    open_ledger(ledger_url).close()
    a.start()
    assert a_in.wait(10)
    b.start()
    assert b_in.wait(5), "B waited for A although they share no key"
    a_go.set()
    b_go.set()
    a.join(10)
    b.join(10)


def test_runtime_role_needs_no_ddl(pg_server: Any) -> None:
    """PostgreSQL: the owner runs ``ledger init``; application servers need DML only."""
    url = pg_server.create_database()
    open_ledger(url).close()
    with pg_server.connect(url.rsplit("/", 1)[1], autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS eg_app")
        conn.execute("CREATE ROLE eg_app LOGIN")
        conn.execute("GRANT USAGE ON SCHEMA public TO eg_app")
        conn.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
                     "TO eg_app")
        conn.execute("GRANT USAGE ON SEQUENCE eg_check_seq TO eg_app")
    app = open_ledger(url.replace("postgres@", "eg_app@"))
    try:
        assert app.init() == SCHEMA_VERSION
        check(app, "A", [use("q", 10)])
        app.commit("A")
        check(app, "B", [use("q", 20)])
        assert app.expire(dt.timedelta(0)) == ["B"]
        app.release("A")
        assert totals(app) == {}
        with pytest.raises(LedgerError, match="permission denied"):
            with app._tx() as cur:
                cur.execute("CREATE TABLE eg_nope (x INTEGER)")
    finally:
        app.close()
