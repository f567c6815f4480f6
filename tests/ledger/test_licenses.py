"""Granted licenses on both ledger backends: the registry, and a race for the last units.

Four processes check orders of 5 units each at once against one license
entry of 50 units: exactly ten are allowed under it, the rest fall through
to the regime's ``license``; never more than the entry's quantity is
reserved, and the ledger holds exactly what the decisions consume.
"""
from __future__ import annotations

import multiprocessing
import random
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

import cli
import license_race
from test_ledger_crash import ledger_state, printed_state, run_and_kill
from exportgate import Consumption, Order
from exportgate.ledger import licenses as _licenses
from exportgate._exceptions import ConfigError
from exportgate.ledger.base import SCHEMA_VERSION
from exportgate.ledger.urls import open_ledger

PROCESSES = 4
ORDERS_PER_PROCESS = 8
SIZE = 5


@pytest.fixture(scope="module")
def license_pool() -> Iterator[Any]:
    pool = multiprocessing.get_context("spawn").Pool(PROCESSES)
    try:
        pool.map(license_race.warm_up, range(PROCESSES), chunksize=1)
        yield pool
    finally:
        pool.close()
        pool.join()


def test_the_registry_on_each_backend(ledger_url: str) -> None:
    ledger = open_ledger(ledger_url)
    try:
        assert ledger.version() == SCHEMA_VERSION >= 3
        license_race.record(ledger)
        with pytest.raises(ConfigError, match="already recorded"):
            license_race.record(ledger)
        [lic] = _licenses.registry(ledger)
        assert (lic.number, lic.items) == (license_race.NUMBER,
                                           ({"item": license_race.ITEM, "quantity": 50},))
        order = Order.from_dict(license_race.order_doc("SO-1", 1))
        assert [x.number for x in _licenses.licenses_for(ledger, order)] == [license_race.NUMBER]
        for day in ("2026-02-01", "2028-01-31"):
            assert ledger.licenses_for("CN", ["X", "C1"], day)
        assert not ledger.licenses_for("CN", ["C1"], "2028-02-01")
        assert not ledger.licenses_for("CN", ["C1"], "2026-01-31")
        assert not ledger.licenses_for("HK", ["C1"], "2026-03-02")
        assert not ledger.licenses_for("CN", ["C2"], "2026-03-02")
        _licenses.revoke(ledger, license_race.NUMBER)
        assert not _licenses.licenses_for(ledger, order)
        assert _licenses.registry(ledger)[0].revoked_at is not None
        assert _licenses.listing(ledger)[0]["state"] == "revoked"
    finally:
        ledger.close()


@pytest.mark.parametrize("backend", ["postgresql"])
def test_a_revocation_waits_for_the_check_that_holds_the_license(ledger_url: str,
                                                                 pg_server: Any) -> None:
    """A revocation takes the locks of the license's entries, so it cannot commit between
    a check's reading of the license's terms and its draw. (SQLite runs one writer at a
    time: there the two cannot overlap at all.)"""
    checker, revoker = open_ledger(ledger_url), open_ledger(ledger_url)
    watcher = pg_server.connect(autocommit=True)
    revoked: list[str] = []
    try:
        license_race.record(checker)
        with checker.lock_keys("SO-1", [license_race.KEY]) as lock:
            assert lock.licenses[license_race.NUMBER].in_force("2026-03-02")
            thread = threading.Thread(
                target=lambda: revoked.append(_licenses.revoke(revoker, license_race.NUMBER)))
            thread.start()
            while thread.is_alive() and not watcher.execute(
                    "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            ).fetchone():
                time.sleep(0.002)
            assert thread.is_alive(), "the revocation did not wait for the check's lock"
            lock.reserve([("10", Consumption(license_race.KEY, 5, license_race.UNITS))],
                         license_race.REGIME, "allow", {})
        thread.join()
        [order] = checker.orders()
        assert order["checked_at"] < revoked[0]
        with checker.lock_keys("SO-2", [license_race.KEY]) as lock:
            assert not lock.licenses[license_race.NUMBER].in_force("2026-03-02")
    finally:
        watcher.close()
        checker.close()
        revoker.close()


@pytest.mark.slow
@pytest.mark.parametrize("run", range(2))
def test_race_for_the_last_units_of_a_license(run: int, new_ledger_url: Callable[[], str],
                                              license_pool: Any) -> None:
    url = new_ledger_url()
    ledger = open_ledger(url)
    try:
        license_race.record(ledger)
    finally:
        ledger.close()
    orders = [license_race.order_doc(f"SO-{w}-{i}", SIZE)
              for w in range(PROCESSES) for i in range(ORDERS_PER_PROCESS)]
    tasks = [(url, orders[w::PROCESSES]) for w in range(PROCESSES)]
    chunks = license_pool.map(license_race.check_orders, tasks, chunksize=1)
    decisions = {d["order"]: d for chunk in chunks for d in chunk}
    assert len(decisions) == len(orders)
    held = [d for d in decisions.values() if d.get("error")]
    assert not held, held[0]["error"]

    codes = Counter(d["lines"][0]["reasons"][0]["code"] for d in decisions.values())
    assert codes == {"LICENSED": license_race.UNITS // SIZE,
                     "CASE_BY_CASE_2026": len(orders) - license_race.UNITS // SIZE}
    ledger = open_ledger(url)
    try:
        shown = {q.quota: q for q in ledger.show()}
        rows = ledger.reservations()
        report = _licenses.show(ledger, license_race.NUMBER)
    finally:
        ledger.close()
    assert shown[license_race.KEY].reserved == license_race.UNITS
    assert report["entries"][0]["remaining"] == 0
    assert sorted((r["order"], r["tpp"]) for r in rows) == sorted(
        (d["order"], c["tpp"]) for d in decisions.values()
        for c in d["lines"][0]["consumes"])


# -- a batch killed mid-run ----------------------------------------------------

#: Orders of 1 and 2 units in turn: the first 33 fit the license's 50 units.
KILL_ORDERS = 300


def _license_batch(url: str, orders: Path) -> list[str]:
    return cli.exe() + ["batch", "--regime", license_race.REGIME, "--json", "--ledger", url,
                        str(orders)]


def _fresh(new_ledger_url: Callable[[], str]) -> str:
    url = new_ledger_url()
    ledger = open_ledger(url)
    try:
        license_race.record(ledger)
    finally:
        ledger.close()
    return url


@pytest.mark.slow
@pytest.mark.parametrize("run", range(3))
def test_sigkill_mid_batch_against_a_license(run: int, new_ledger_url: Callable[[], str],
                                             tmp_path: Path) -> None:
    """After a SIGKILL the license holds what the orders decided so far took, each as
    an uninterrupted run decides it, never more than its units; a re-run converges."""
    orders = cli.write_orders(tmp_path / "orders.jsonl", [
        license_race.order_doc(f"K-{i:03d}", 1 + i % 2) for i in range(KILL_ORDERS)])
    ref_url = _fresh(new_ledger_url)
    proc = subprocess.run(_license_batch(ref_url, orders), capture_output=True, text=True,
                          env=cli.env(), timeout=120)
    assert proc.returncode == 0, proc.stderr
    ids = [d["order"] for d in cli.decisions(proc.stdout)]
    want = ledger_state(ref_url)
    assert {o for _, o in want["orders"].values()} == {"allow", "license"}

    url = _fresh(new_ledger_url)
    rng = random.Random(f"license-{run}")
    stdout, killed = run_and_kill(_license_batch(url, orders), cli.env(),
                             rng.randrange(1, 40), rng.uniform(0, 0.01))
    printed = cli.decisions(stdout)
    print(f"run {run}: killed={killed}, {len(printed)} of {KILL_ORDERS} printed")
    got = ledger_state(url)
    # The ledger holds a prefix of the file's orders, every printed one among
    # them as printed, each exactly as an uninterrupted run decides it (a
    # group of orders commits together on SQLite, then prints: a kill while
    # it prints leaves decisions made and kept, not yet shown; a re-run shows
    # them).
    kept = len(got["orders"])
    assert len(printed) <= kept and set(got["orders"]) == set(ids[:kept])
    printed_orders, printed_rows = printed_state(printed)
    assert {k: got["orders"][k] for k in printed_orders} == printed_orders
    assert {k: v for k, v in got["reservations"].items() if k[0] in printed_orders} \
        == printed_rows
    assert got["orders"] == {k: want["orders"][k] for k in ids[:kept]}
    assert got["reservations"] == {k: v for k, v in want["reservations"].items()
                                   if k[0] in got["orders"]}
    held = sum(r[2] for r in got["reservations"].values() if r[1].startswith("license:"))
    assert held <= license_race.UNITS

    rerun = subprocess.run(_license_batch(url, orders), capture_output=True, text=True,
                           env=cli.env(), timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert ledger_state(url) == want


# -- a revocation in the middle of a batch -------------------------------------

#: Identical orders of one unit each, against a license with units for all of
#: them ten times over: only the revocation can stop them.
REVOKE_ORDERS = 3000


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_revocation_stops_every_draw_after_it(workers: int,
                                                new_ledger_url: Callable[[], str],
                                                tmp_path: Path) -> None:
    """Another process revokes the license while a batch of identical orders draws on it.

    Every order the ledger decided after the revocation committed (its check
    stamped after the revocation's) is held under the regime, not allowed under
    the license, and holds nothing of it; every order decided before keeps
    what it took. The revocation is made as soon as the first draws are
    committed, so both sets are there.
    """
    url = new_ledger_url()
    orders = cli.write_orders(tmp_path / "orders.jsonl", [
        license_race.order_doc(f"R-{i:05d}", 1) for i in range(REVOKE_ORDERS)])
    config = tmp_path / "exportgate.yaml"
    config.write_text("ledger_timeout: 60\n")
    out, err = tmp_path / "out.jsonl", tmp_path / "err.txt"
    ledger = open_ledger(url, timeout=60)
    try:
        license_race.record(ledger, units=10 * REVOKE_ORDERS)
        with out.open("w") as stdout, err.open("w") as stderr:
            proc = subprocess.Popen(_license_batch(url, orders) + ["--workers", str(workers)],
                                    stdout=stdout, stderr=stderr, env=cli.env(config))
            try:
                while not ledger.license_reservations(license_race.NUMBER) \
                        and proc.poll() is None:
                    time.sleep(0.002)
                revoked_at = _licenses.revoke(ledger, license_race.NUMBER)
                assert proc.wait(timeout=300) == 0, err.read_text()
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        checked_at = {o["order"]: o["checked_at"] for o in ledger.orders()}
        held = ledger.license_reservations(license_race.NUMBER)
    finally:
        ledger.close()
    decided = {d["order"]: d for d in cli.decisions(out.read_text())}
    assert len(decided) == len(checked_at) == REVOKE_ORDERS
    after = {o for o, stamp in checked_at.items() if stamp > revoked_at}
    before = set(checked_at) - after
    print(f"{len(before)} orders decided before the revocation, {len(after)} after")
    assert before and after, "the revocation did not fall inside the batch"
    codes = {o: [r["code"] for r in d["lines"][0]["reasons"]] for o, d in decided.items()}
    assert {o for o in after if codes[o][0] != "CASE_BY_CASE_2026"} == set()
    assert {o for o in after if decided[o]["outcome"] != "license"
            or decided[o]["lines"][0]["consumes"]} == set()
    assert {o for o in before if codes[o][0] != "LICENSED"} == set()
    assert sorted(r["order"] for r in held) == sorted(before)
