"""Benchmarks: the cost of one decision, as ratios against a baseline in the same run.

Baseline: one `decision` evaluation of a two-line order on the embedded
engine, the regime compiled once. Compared with it: recompiling the regime
per order (what an integration that builds an interpreter per call pays),
the OPA engine in process (when installed), a whole `Gate.check` with the
SQLite ledger (quota keys, lock, evaluation, reservation), and a 64-line
order that exercises the quota fold. Run: `make bench`.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from exportgate import Settings
from exportgate._engine_regopy import RegopyEngine
from exportgate._gate import Gate
from exportgate._model import Order
from exportgate._plugins import Plugins
from exportgate._policy import policy_input
from exportgate._validate import order_from_dict

REGIME = "us-ai-diffusion-2025"


def order(order_id: str, lines: int) -> dict:
    return {"id": order_id, "date": "2025-06-02",
            "parties": {"ship_to": {"id": "C300", "country": "IN"}},
            "lines": [{"id": str(10 * (i + 1)), "item": "H100", "quantity": 10,
                       "classification": {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45}}
                      for i in range(lines)]}


def timeit(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds per call over `repeat` calls, after a warm-up call."""
    fn()
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples)


def main() -> int:
    plugins = Plugins(Settings(), entry_points=False)
    regime = plugins.regime(REGIME)
    small: Order = order_from_dict(order("B-1", 2))
    big: Order = order_from_dict(order("B-2", 64))
    doc, big_doc = policy_input(small), policy_input(big)
    engine = plugins.engine("embedded")
    results: list[tuple[str, float]] = []
    base = timeit(lambda: engine.evaluate(regime, "decision", doc), 200)
    results.append(("embedded, compiled once (baseline)", base))
    results.append(("embedded, recompiled per order",
                    timeit(lambda: RegopyEngine().evaluate(regime, "decision", doc), 10)))
    if "opa" in plugins.engines:
        try:
            opa = plugins.engine("opa")
            results.append(("opa in process", timeit(
                lambda: opa.evaluate(regime, "decision", doc), 200)))
        except Exception as exc:  # the optional engine is not installed
            print(f"(opa engine skipped: {exc})", file=sys.stderr)
    results.append(("embedded, 64-line order (quota fold)",
                    timeit(lambda: engine.evaluate(regime, "decision", big_doc), 20)))
    with tempfile.TemporaryDirectory() as tmp:
        gate = Gate(Settings(), regime_id=REGIME, plugins=plugins,
                    ledger_url=f"sqlite:///{Path(tmp) / 'bench.db'}")
        counter = iter(range(10**9))
        results.append(("Gate.check with the SQLite ledger", timeit(
            lambda: gate.check(order(f"G-{next(counter)}", 2)), 100)))
        gate.close()
    print(f"{'case':42} {'ms/order':>10} {'orders/s':>10} {'ratio':>8}")
    for name, seconds in results:
        print(f"{name:42} {seconds * 1e3:10.3f} {1 / seconds:10.0f} {seconds / base:8.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
