"""The generated-order runs start with the first test of this folder, in worker processes.

They take most of the suite's time; started early, they run on the other
core while the conformance cases and Rego tests run here.
"""
from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

import differ
import pytest

#: Each regime's orders are generated in this many independent runs (seeds
#: seed, seed+1, ...), so the runs balance over the cores.
CHUNKS = 2

Runs = dict[str, list["Future[dict[str, Any]]"]]


@pytest.fixture(scope="session", autouse=True)
def generated_runs(request: pytest.FixtureRequest) -> Iterator[Runs | None]:
    """Submit every regime's runs at once, if any generated-order test was selected."""
    selected = any(item.name.startswith("test_generated_orders_decide_alike")
                   for item in request.session.items)
    if not selected:
        yield None
        return
    workers = max(1, min(2, os.cpu_count() or 1))
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    n, seed = differ.examples(), differ.seed()
    share = -(-n // CHUNKS)
    futures: Runs = {r: [pool.submit(differ.run_generated, r, share,
                                     None if seed is None else seed + i)
                         for i in range(CHUNKS)] for r in differ.regime_ids()}
    try:
        yield futures
    finally:
        pool.shutdown(cancel_futures=True)
