"""Concurrent checks race for the last of a quota: 8 processes x 50 orders.

Through the real Gate and the real ``us-ai-diffusion-2025`` regime (embedded
engine), one LPP allowance and one country allocation that only some of the
400 orders fit (see `scenario`). After each run:

- the reserved total of each quota stays within its cap;
- every order got a decision, and none was held;
- the ledger holds exactly what the decisions consume;
- the decisions equal a serial replay of the orders in the ledger's commit
  order (``eg_orders.check_seq``, drawn under the check's locks), which
  means every check saw exactly the quota the checks before it reserved.
"""
from __future__ import annotations

import multiprocessing
import os
from collections import Counter, defaultdict
from typing import Any, Callable, Iterator

import pytest

import scenario
from exportgate import Order
from exportgate.ledger.urls import open_ledger

PROCESSES = 8
ORDERS_PER_PROCESS = 50
#: 20 in CI; fewer only for a quick local loop.
REPETITIONS = int(os.environ.get("EXPORTGATE_LEDGER_REPETITIONS", "20"))


@pytest.fixture(scope="session")
def race_pool() -> Iterator[Any]:
    """Eight worker processes, each with the regime compiled, reused by every run."""
    pool = multiprocessing.get_context("spawn").Pool(PROCESSES)
    try:
        pool.map(scenario.warm_up, range(PROCESSES), chunksize=1)
        yield pool
    finally:
        pool.close()
        pool.join()


@pytest.fixture(scope="session")
def replayer() -> scenario.Replayer:
    return scenario.Replayer()


@pytest.fixture(scope="session")
def race_orders(replayer: scenario.Replayer) -> list[Order]:
    """The 400 orders, validated and enriched once (the runs only differ in timing)."""
    return [replayer.prepare(doc)
            for doc in scenario.order_docs(PROCESSES * ORDERS_PER_PROCESS)]


@pytest.mark.slow
@pytest.mark.parametrize("run", range(REPETITIONS))
def test_race_for_the_last_of_a_quota(run: int, new_ledger_url: Callable[[], str],
                                      race_pool: Any, race_orders: list[Order],
                                      replayer: scenario.Replayer) -> None:
    url = new_ledger_url()
    open_ledger(url).close()  # `exportgate ledger init`, as a deployment does first
    tasks = [(url, race_orders[w::PROCESSES]) for w in range(PROCESSES)]
    chunks = race_pool.map(scenario.check_orders, tasks, chunksize=1)

    decisions = {d["order"]: d for chunk in chunks for d in chunk}
    assert len(decisions) == len(race_orders), "an order got no decision"
    held = [d for d in decisions.values() if d.get("error")]
    assert not held, f"held: {held[0]['order']}: {held[0]['error']}"

    ledger = open_ledger(url)
    try:
        shown = {q.quota: q for q in ledger.show()}
        ledger_orders = ledger.orders()
        rows = ledger.reservations()
    finally:
        ledger.close()

    # Never more than the cap, and the quotas really ran out.
    consumed: dict[str, int] = defaultdict(int)
    for d in decisions.values():
        for line in d["lines"]:
            for c in line["consumes"]:
                consumed[c["quota"]] += c["tpp"]
    assert set(shown) == set(scenario.CAPS)
    for key, cap in scenario.CAPS.items():
        assert shown[key].cap == cap
        assert shown[key].reserved == consumed[key] <= cap
        assert shown[key].remaining is not None and shown[key].remaining < 160 * scenario.H100_TPP
    outcomes = Counter(d["outcome"] for d in decisions.values())
    assert set(outcomes) == {"notify", "license", "deny"}, outcomes

    # The ledger holds exactly what the decisions consume, order by order.
    held_by: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for r in rows:
        held_by[r["order"]].append((r["quota"], r["tpp"]))
    for oid, d in decisions.items():
        assert held_by.get(oid, []) == [(c["quota"], c["tpp"]) for line in d["lines"]
                                        for c in line["consumes"]], oid

    # Decisions equal a serial replay in the ledger's commit order.
    commit_order = [o["order"] for o in ledger_orders]
    assert sorted(commit_order) == sorted(decisions)
    seqs = [o["check_seq"] for o in ledger_orders]
    assert len(set(seqs)) == len(seqs) and seqs == sorted(seqs)
    by_id = {o.id: o for o in race_orders}
    replayed = replayer.replay([by_id[oid] for oid in commit_order])
    for oid in commit_order:
        assert decisions[oid] == replayed[oid], f"{oid} differs from the serial replay"

    # It was a race: the commit order interleaves the processes.
    worker = {o.id: i % PROCESSES for i, o in enumerate(race_orders)}
    switches = sum(worker[a] != worker[b] for a, b in zip(commit_order, commit_order[1:]))
    assert switches >= PROCESSES, f"only {switches} switches between processes"
