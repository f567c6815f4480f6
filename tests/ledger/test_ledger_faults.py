"""The ledger unreachable or too slow: the order is held, reserves nothing, exit non-zero.

``ledger_timeout`` in the configuration bounds every wait on the ledger. When
it expires, or the ledger cannot be reached at all, each order's lines are
``license`` with an ``error`` (fail closed: never ``allow``), nothing of the
order is reserved, and ``exportgate batch`` exits 3.
"""
from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Any, Iterator

import psycopg
import pytest

import cli
import scenario
from exportgate import LedgerError
from exportgate.ledger.urls import open_ledger
from exportgate.ledger.postgres import PostgresLedger, lock_id, redact
from exportgate.screening.store import ScreeningStore
from pgserver import PgServer, free_port

EXIT_HELD = 3


def assert_held(proc: Any, n: int, why: str) -> list[dict[str, Any]]:
    printed = cli.decisions(proc.stdout)
    assert proc.returncode == EXIT_HELD, (proc.returncode, proc.stderr)
    assert len(printed) == n
    for d in printed:
        assert d["outcome"] == "license"
        assert d["error"] and why in d["error"], d["error"]
        assert all(line["outcome"] == "license" and not line["consumes"] for line in d["lines"])
    assert "held" in proc.stderr
    return printed


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    return cli.write_orders(tmp_path / "orders.jsonl", scenario.order_docs(2, "F"))


@pytest.fixture
def unreachable(backend: str, tmp_path: Path) -> str:
    if backend == "postgresql":
        # A loopback port nothing listens on: the connection is refused.
        return f"postgresql://postgres@127.0.0.1:{free_port()}/exportgate"
    # A ledger file under a path that cannot be a directory.
    (tmp_path / "not-a-dir").write_text("")
    return f"sqlite:///{tmp_path / 'not-a-dir' / 'ledger.db'}"


def test_ledger_unreachable(unreachable: str, orders: Path, tmp_path: Path) -> None:
    config = cli.write_config(tmp_path / "exportgate.yaml", ledger=unreachable, timeout=2.0)
    proc = cli.run_batch(orders, None, config)  # the ledger comes from the configuration
    assert_held(proc, 2, "cannot connect")


class LockHolder:
    """Another client holding the lock every check of the scenario needs."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn: Any = None

    def __enter__(self) -> "LockHolder":
        if self.url.startswith("sqlite:"):
            import sqlite3
            self.conn = sqlite3.connect(self.url[len("sqlite:///"):], isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")  # the one writer
        else:
            self.conn = psycopg.connect(self.url)
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)",
                              (lock_id("q", scenario.LPP_KEY),))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.url.startswith("sqlite:"):
            self.conn.execute("ROLLBACK")
        else:
            self.conn.rollback()
        self.conn.close()


def test_ledger_too_slow(ledger_url: str, orders: Path, tmp_path: Path) -> None:
    open_ledger(ledger_url).close()
    config = cli.write_config(tmp_path / "exportgate.yaml", ledger=ledger_url, timeout=1.0)
    with LockHolder(ledger_url):  # held until the batch ends: only the timeout ends a wait
        proc = cli.run_batch(orders, None, config)
    assert_held(proc, 2, "")
    assert "lock" in proc.stderr.lower()
    led = open_ledger(ledger_url)
    try:
        assert led.orders() == [] and led.show() == []
    finally:
        led.close()
    # Once the other client lets go, the same batch goes through.
    proc = cli.run_batch(orders, None, config)
    assert proc.returncode == 0, proc.stderr
    assert [d["outcome"] for d in cli.decisions(proc.stdout)] == ["notify", "notify"]


def test_reads_do_not_wait_for_a_writer(ledger_url: str) -> None:
    """What a check reads before its decision (shipped orders, licenses in force, the
    screening list in force) and what the ledger commands show answer while another
    client holds the write lock: on SQLite a read is a deferred transaction on the last
    commit, so it neither waits for nor sees the writer's uncommitted work."""
    gate = scenario.gate(ledger_url, timeout=0.5)
    try:
        assert gate.check(scenario.order_doc("READ-1", 100)).decision.error is None
    finally:
        gate.ledger.close()
    led = open_ledger(ledger_url, timeout=0.5)
    try:
        with LockHolder(ledger_url) as holder:
            if ledger_url.startswith("sqlite:"):  # uncommitted: no reader may see it
                holder.conn.execute("DELETE FROM eg_orders")
            assert led.closed(["READ-1", "NOPE"]) == set()
            assert led.licenses_for("AE", ["X"], "2026-01-01") == []
            assert ScreeningStore(led).current() is None
            assert [o["order"] for o in led.orders()] == ["READ-1"]
            assert [r["order"] for r in led.reservations("READ-1")] == ["READ-1"]
    finally:
        led.close()


def test_gate_recovers_after_a_fault(ledger_url: str) -> None:
    """A held order leaves the ledger as it was; the next check reconnects and reserves."""
    open_ledger(ledger_url).close()
    gate = scenario.gate(ledger_url, timeout=0.5)
    order = scenario.order_doc("RECOVER", 100)
    try:
        first = gate.check(order).decision
        with LockHolder(ledger_url):
            held = gate.check(order).decision
        again = gate.check(order).decision
    finally:
        gate.ledger.close()
    assert first.error is None and first.outcome.value == "notify"
    assert held.error and held.outcome.value == "license" and not held.consumes
    assert again.to_dict() == first.to_dict()
    led = open_ledger(ledger_url)
    try:
        assert [(q.quota, q.reserved) for q in led.show()] == [
            (scenario.LPP_KEY, 100 * scenario.H100_TPP)]
    finally:
        led.close()


# -- PostgreSQL timeouts, one by one -------------------------------------------


@pytest.fixture
def pg_url(pg_server: PgServer) -> str:
    url = pg_server.create_schema()
    open_ledger(url).close()
    return url


def test_lock_timeout(pg_url: str) -> None:
    led = PostgresLedger(pg_url, timeout=0.5)
    try:
        with LockHolder(pg_url):  # never let go: only the lock timeout ends the wait
            with pytest.raises(LedgerError, match="lock timeout"):
                with led.lock_keys("X", [scenario.LPP_KEY]):
                    pass
        with led.lock_keys("X", [scenario.LPP_KEY]) as lock:  # usable again
            assert lock.usage == {}
    finally:
        led.close()


def test_statement_timeout(pg_url: str) -> None:
    led = PostgresLedger(pg_url, timeout=0.5)
    try:  # the server cancels the statement: a 5 s sleep that ran to its end would not raise
        with pytest.raises(LedgerError, match="statement timeout"):
            with led._tx() as cur:
                cur.execute("SELECT pg_sleep(5)")
    finally:
        led.close()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        sock.close()


def test_connect_timeout(silent_server: int) -> None:
    """The server accepts and never answers: only the connect timeout ends the wait."""
    led = PostgresLedger(f"postgresql://postgres@127.0.0.1:{silent_server}/x", timeout=1.0)
    with pytest.raises(LedgerError, match="cannot connect .*timeout expired"):
        led.init()


def test_url_settings_win_and_passwords_stay_hidden(pg_url: str) -> None:
    led = PostgresLedger(pg_url + "%20-c%20lock_timeout%3D1234", timeout=0.5)
    try:
        with led._tx() as cur:
            cur.execute("SHOW lock_timeout")
            assert cur.fetchone()[0] == "1234ms"
            cur.execute("SHOW statement_timeout")
            assert cur.fetchone()[0] == "500ms"
    finally:
        led.close()
    secret = "postgresql://eg:s3cret@127.0.0.1:1/x?password=s3cret&sslmode=disable"
    assert "s3cret" not in redact(secret)
    with pytest.raises(LedgerError) as err:
        open_ledger(f"postgresql://eg:s3cret@127.0.0.1:{free_port()}/x", timeout=1)
    assert "s3cret" not in str(err.value)


def test_lock_ids_are_stable() -> None:
    # The same key must lock the same thing on every server, in every process,
    # in every release: these numbers must never change.
    assert lock_id("q", "lpp:in-cloud:2025") == 7113071518152008327
    assert lock_id("o", "SO-1") == 5441371668452923564
    assert lock_id("q", "x") != lock_id("o", "x")

