#!/usr/bin/env python3
"""Ledger throughput: reservations per second, without any policy evaluation.

    .venv/bin/python bench/ledger_bench.py [--postgres URL] [--orders N]

Each check is a full ledger transaction (lock the keys, read the usage,
write the reservation, commit), as the gate makes it, with the policy
evaluation left out: this is the ledger's own ceiling. Four shapes, each on
SQLite and PostgreSQL: 1 or 8 processes, all orders on one quota key (they
must queue) or each process on its own key (they need not). Ratios are
against SQLite with one process, measured in the same run.

Without ``--postgres`` a throw-away server is started with the test suite's
fixture (tests/ledger/pgserver.py; ``make postgres`` installs the binaries).
"""
from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

from exportgate import Consumption
from exportgate.ledger.urls import open_ledger

ROOT = Path(__file__).resolve().parents[1]


def work(task: tuple[str, int, int, bool]) -> int:
    url, worker, n, shared = task
    ledger = open_ledger(url, timeout=60)
    key = "lpp:bench:2025" if shared else f"lpp:bench-{worker}:2025"
    try:
        for i in range(n):
            with ledger.lock_keys(f"B-{worker}-{i}", [key]) as lock:
                used = lock.usage.get(key, 0)
                lock.reserve([("10", Consumption(key, 1, used + 10))], "bench", "notify", {})
    finally:
        ledger.close()
    return n


def run(url: str, processes: int, orders: int, shared: bool) -> float:
    open_ledger(url).close()
    tasks = [(url, w, orders // processes, shared) for w in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        pool.map(time.sleep, [0.05] * processes, chunksize=1)  # started and imported
        started = time.perf_counter()
        done = sum(pool.map(work, tasks, chunksize=1))
        return done / (time.perf_counter() - started)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postgres", help="a PostgreSQL database URL (default: start one)")
    ap.add_argument("--orders", type=int, default=800, help="checks per measurement")
    args = ap.parse_args()
    server = None
    if args.postgres is None:
        sys.path.insert(0, str(ROOT / "tests" / "ledger"))
        from pgserver import MISSING, PgServer, find_bindir
        bindir = find_bindir()
        if bindir is None:
            print(MISSING, file=sys.stderr)
            return 2
        server = PgServer(bindir).start()
    try:
        with tempfile.TemporaryDirectory(prefix="exportgate-bench-") as tmp:
            runs = 0
            baseline = None
            print(f"{'backend':10} {'procs':>5} {'keys':8} {'checks/s':>9} {'ratio':>6}")
            for backend in ("sqlite", "postgresql"):
                for processes, shared in ((1, True), (8, True), (8, False)):
                    runs += 1
                    if backend == "sqlite":
                        url = f"sqlite:///{tmp}/bench-{runs}.db"
                    elif server is not None:
                        url = server.create_schema("bench")
                    else:
                        url = args.postgres
                    rate = run(url, processes, args.orders, shared)
                    baseline = baseline or rate
                    print(f"{backend:10} {processes:>5} {'shared' if shared else 'own':8} "
                          f"{rate:>9.0f} {rate / baseline:>6.2f}")
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
