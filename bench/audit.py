#!/usr/bin/env python3
"""The audit log's cost: Gate.check of a 10-line order with the log on and off.

    .venv/bin/python bench/audit.py [--engines embedded,opa] [--seconds 5]
                                    [--batch-orders 2000]

Per engine, on a SQLite ledger (``synchronous=FULL``), in this run:

* **check**: `Gate.check` of a 10-line order, one after the other, with no
  audit log (the baseline) and with one; p50 and p99, and the ratio of each
  to the baseline's;
* **fsyncs**: the ``fsync`` calls per check, counted (the audit log's and
  SQLite's own are apart);
* **batch** (the embedded engine): `Gate.batch` over ``--batch-orders``
  one-line orders evaluated in process, audit on and off: orders/s and the
  ratio.

The files live in a temporary directory on the file system of this
repository (``--dir`` to choose another): an fsync's cost is the disk's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import REGIME, engines_available, order, pct, samples  # noqa: E402

from exportgate import Gate, Settings  # noqa: E402
from exportgate._plugins import Plugins  # noqa: E402


class FsyncCount:
    """Counts ``os.fsync`` calls (the audit log's) while installed."""

    def __init__(self) -> None:
        self.calls = 0
        self._real = os.fsync

    @contextmanager
    def counting(self) -> Iterator[None]:
        real = self._real

        def counted(fd: int) -> None:
            self.calls += 1
            real(fd)
        os.fsync = counted
        try:
            yield
        finally:
            os.fsync = real


def gate(plugins: Plugins, engine: str, tmp: Path, name: str, audit: bool) -> Gate:
    settings = Settings(audit_log=tmp / f"{name}.jsonl" if audit else None)
    return Gate(settings, regime_id=REGIME, plugins=plugins, engine=engine,
                ledger_url=f"sqlite:///{tmp / f'{name}.db'}")


def checks(g: Gate, lines: int, seconds: float, prefix: str) -> list[float]:
    counter = iter(range(10**9))
    return samples(lambda: g.check(order(f"{prefix}-{next(counter)}", lines)), seconds,
                   at_least=200, at_most=5000)


def one_engine(plugins: Plugins, engine: str, tmp: Path, seconds: float
               ) -> dict[str, Any]:
    off = gate(plugins, engine, tmp, f"{engine}-off", False)
    on = gate(plugins, engine, tmp, f"{engine}-on", True)
    # Interleave the two, so that a change in the machine's load falls on both.
    base: list[float] = []
    audited: list[float] = []
    count = FsyncCount()
    for round_ in range(4):
        base += checks(off, 10, seconds / 4, f"OFF{round_}")
        with count.counting():
            audited += checks(on, 10, seconds / 4, f"ON{round_}")
    off.close()
    on.close()
    fsyncs = count.calls / (len(audited) + 4)  # samples() warms up once a round
    return {"engine": engine, "off_p50": statistics.median(base), "off_p99": pct(base, 99),
            "on_p50": statistics.median(audited), "on_p99": pct(audited, 99),
            "audit_fsyncs": fsyncs}


def batch(plugins: Plugins, tmp: Path, orders: int) -> dict[str, float]:
    from exportgate._adapter import Record
    rows: dict[str, float] = {}
    for audit in (False, True):
        g = gate(plugins, "embedded", tmp, f"batch-{'on' if audit else 'off'}", audit)
        records = [Record.from_value(order(f"B-{i}", 1), f"bench:{i}") for i in range(orders)]
        t = time.perf_counter()
        done = sum(1 for _ in g.batch(records, workers=0))
        rows["on" if audit else "off"] = done / (time.perf_counter() - t)
        g.close()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--engines", default="embedded,opa")
    ap.add_argument("--seconds", type=float, default=6.0, help="time per measurement")
    ap.add_argument("--batch-orders", type=int, default=2000)
    ap.add_argument("--dir", default=str(HERE.parent), help="where the files go")
    args = ap.parse_args()
    os.environ.setdefault("EXPORTGATE_LOAD_PLUGINS", "")
    plugins = Plugins(Settings(), entry_points=False)
    names = engines_available(plugins, args.engines.split(","))
    print(f"# audit log cost ({os.cpu_count()} CPUs, Python {sys.version.split()[0]})\n")
    print("## Gate.check, 10-line order, SQLite ledger (synchronous=FULL)\n")
    print(f"{'engine':9} {'off p50':>9} {'off p99':>9} {'on p50':>9} {'on p99':>9} "
          f"{'p50 x':>6} {'p99 x':>6} {'+p50':>8} {'audit fsyncs':>13}")
    with tempfile.TemporaryDirectory(dir=args.dir, prefix=".bench-audit-") as name:
        tmp = Path(name)
        for engine in names:
            r = one_engine(plugins, engine, tmp, args.seconds)
            ms: Callable[[float], str] = lambda s: f"{s * 1e3:7.2f}ms"  # noqa: E731
            print(f"{engine:9} {ms(r['off_p50'])} {ms(r['off_p99'])} {ms(r['on_p50'])} "
                  f"{ms(r['on_p99'])} {r['on_p50'] / r['off_p50']:5.2f}x "
                  f"{r['on_p99'] / r['off_p99']:5.2f}x {ms(r['on_p50'] - r['off_p50'])} "
                  f"{r['audit_fsyncs']:13.2f}")
        if args.batch_orders and "embedded" in names:
            b = batch(plugins, tmp, args.batch_orders)
            print(f"\n## Gate.batch, {args.batch_orders} one-line orders, in process\n")
            print(f"audit off {b['off']:8.0f} orders/s   audit on {b['on']:8.0f} orders/s   "
                  f"on/off {b['on'] / b['off']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
