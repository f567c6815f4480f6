"""Granted licenses on both ledger backends: the registry, and a race for the last units.

Four processes check orders of 5 units each at once against one license
entry of 50 units: exactly ten are allowed under it, the rest fall through
to the regime's ``license``; never more than the entry's quantity is
reserved, and the ledger holds exactly what the decisions consume.
"""
from __future__ import annotations

import multiprocessing
from collections import Counter
from typing import Any, Callable, Iterator

import pytest

import license_race
from exportgate import _licenses
from exportgate._exceptions import ConfigError
from exportgate._ledger import SCHEMA_VERSION, open_ledger

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
        _licenses.revoke(ledger, license_race.NUMBER)
        assert _licenses.registry(ledger)[0].revoked_at is not None
        assert _licenses.listing(ledger)[0]["state"] == "revoked"
    finally:
        ledger.close()


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
