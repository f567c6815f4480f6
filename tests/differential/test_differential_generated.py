"""Random valid orders, decided by rego-cpp and by OPA: the decisions must be identical.

At least 2,000 generated orders per regime (``EXPORTGATE_DIFF_EXAMPLES``),
from a fixed seed so CI is repeatable (``EXPORTGATE_DIFF_SEED=random`` for a
fresh search). The regimes run in parallel worker processes, one per core.
A disagreement fails with Hypothesis's shrunk order; fix it in the Rego and
keep the order in ``regressions.jsonl``.
"""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Iterator

import pytest

import differ
from exportgate._plugins import Plugins
from exportgate._settings import Settings

REGIMES = sorted(Plugins(Settings(), entry_points=False).regimes)

#: Rows each regime's generated orders must reach, so a generator that
#: drifts into one corner fails loudly instead of passing on easy cases.
_COMMON = {"EMBARGO", "RESTRICTED_PARTY", "DOMESTIC", "NOT_CONTROLLED",
           "CLASSIFICATION_CONFLICT", "NAC", "ACA", "NLR", "DC_VEU"}
MUST_REACH = {
    "us-advanced-computing-2023": _COMMON | {"D5_ADVANCED", "HQ_D5", "D1_D4_ADVANCED"},
    "us-ai-diffusion-2025": _COMMON | {"TIER3", "AIA", "AIA_UNAVAILABLE", "UVEU", "NVEU", "LPP",
                                       "TIER2_LICENSE", "ALLOCATION_EXHAUSTED", "TPP_UNKNOWN"},
    "us-country-deals-2025": _COMMON | {"CONCERN", "LOW_VOLUME", "LICENSE_REQUIRED",
                                        "TPP_UNKNOWN"},
}


#: Each regime's orders are generated in this many independent runs (seeds
#: seed, seed+1, ...), so the runs balance over the cores.
CHUNKS = 2


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, list[Future[dict[str, Any]]]]]:
    """Every regime's runs, submitted at once to a pool of spawned workers."""
    workers = max(1, min(2, os.cpu_count() or 1))
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
    n, seed = differ.examples(), differ.seed()
    share = -(-n // CHUNKS)
    futures = {r: [pool.submit(differ.run_generated, r, share,
                               None if seed is None else seed + i)
                   for i in range(CHUNKS)] for r in REGIMES}
    try:
        yield futures
    finally:
        pool.shutdown(cancel_futures=True)


@pytest.mark.slow
@pytest.mark.parametrize("regime_id", REGIMES)
def test_generated_orders_decide_alike(
        regime_id: str, runs: dict[str, list[Future[dict[str, Any]]]]) -> None:
    results = [f.result() for f in runs[regime_id]]
    examples = sum(r["examples"] for r in results)
    codes: dict[str, int] = {}
    for r in results:
        for code, k in r["codes"].items():
            codes[code] = codes.get(code, 0) + k
    print(f"\n{regime_id}: {examples} orders in {sum(r['seconds'] for r in results):.0f} s "
          f"(worker time); reasons: {dict(sorted(codes.items()))}")
    for r in results:
        if r["error"]:
            pytest.fail(f"{regime_id}: the engines disagree\n{r['error']}", pytrace=False)
    assert examples >= differ.examples()
    missing = MUST_REACH.get(regime_id, set()) - set(codes)
    assert examples < 1000 or not missing, f"the generated orders never reached {sorted(missing)}"
