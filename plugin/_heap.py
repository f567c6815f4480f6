"""How exportgate's own processes run Python's cyclic garbage collector.

A decision allocates thousands of short-lived containers (the order, its
policy input, the engine's answer, the decision and its JSON), nearly all
freed by reference counting alone. At Python's default thresholds (700,
10, 10) the collector still runs every 700 allocations and scans what
start-up built (regimes, catalogs, the engine's data) again and again:
measured on a batch's deciding pass (100,000 lines), a third of its CPU
(docs/performance.md, "The collector"). Our processes (the command line,
a batch's workers, the service) collect young objects every `THRESHOLDS`
allocations instead, and set aside what start-up built (`gc.freeze`). A
host that embeds the `Gate` keeps its own settings: nothing here runs on
import.
"""
from __future__ import annotations

import gc

#: The collector's thresholds (young, middle, old generation) in exportgate's processes.
THRESHOLDS = (50_000, 20, 100)


def tune() -> None:
    """Collect young objects every `THRESHOLDS` allocations: once, at a process's start."""
    gc.set_threshold(*THRESHOLDS)


def settle() -> None:
    """Set aside everything built so far (start-up's long-lived objects), so no later
    collection scans it: once start-up is over."""
    gc.collect()
    gc.freeze()
