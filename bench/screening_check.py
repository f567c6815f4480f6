"""A check with screening on beside the same check with it off, on a 30,000-entry list.

    .venv/bin/python bench/screening_check.py [--entries 30000] [--orders 400]

One SQLite ledger holds a generated list (bench/screening.py's generator,
loaded through `ScreeningStore.load` as `exportgate screening load` does).
Two gates on it decide the same 10-line orders, one with screening off (the
baseline, measured in the same run) and one with it on: each order has a
sold-to, a ship-to and an end user named like a distributor's customers,
and a fifth of the orders repeat an earlier order's parties (what the
per-party cache serves). Printed: `Gate.check` p50/p99 per side, what
screening adds, and the ratio; and the one-time cost a process pays to read
the list and build its index (a cold ``exportgate check`` pays it per order,
a batch or the service once).
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from screening import clean, generate  # noqa: E402  (bench/screening.py)

from exportgate import Gate  # noqa: E402
from exportgate._settings import Settings  # noqa: E402
from exportgate.ledger.urls import open_ledger  # noqa: E402
from exportgate.screening.lists import LoadedList  # noqa: E402
from exportgate.screening.store import ScreeningStore  # noqa: E402

REGIME = "us-advanced-computing-2023"


def orders(n: int, names: list[str], seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        if out and rng.random() < 0.2:
            parties = out[rng.randrange(len(out))]["parties"]
        else:
            parties = {role: {"id": f"{role}-{i}", "country": "JP", "name": rng.choice(names)}
                       for role in ("sold_to", "ship_to", "end_user")}
        out.append({"id": f"SO-{i}", "date": "2026-06-02", "parties": parties,
                    "lines": [{"id": str(10 * (k + 1)), "item": "H100", "quantity": 1}
                              for k in range(10)]})
    return out


def timed(gate: Gate, docs: list[dict[str, Any]]) -> list[float]:
    gate.check(docs[0])  # warm: engine compiled, index built
    out = []
    for doc in docs:
        started = time.perf_counter()
        gate.check(doc)
        out.append((time.perf_counter() - started) * 1000)
    return out


def p(xs: list[float], q: float) -> float:
    return sorted(xs)[min(len(xs) - 1, int(q * len(xs)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=30_000)
    ap.add_argument("--orders", type=int, default=400)
    args = ap.parse_args()
    listed = generate(args.entries, 7)
    entries = [x.entry for x in listed]
    rng = random.Random(5)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{os.path.join(tmp, 'ledger.db')}"
        ledger = open_ledger(url)
        loaded = LoadedList.of("generated.csv", repr(len(entries)).encode(), entries)
        ScreeningStore(ledger).load(loaded.version, loaded.entries)
        ledger.close()
        from exportgate.screening.index import Index
        names = [clean(rng, Index(entries[:2000])) for _ in range(300)]
        docs = orders(args.orders, names)
        off = Gate(Settings.from_dict({"screening": {"enabled": False}}), regime_id=REGIME,
                   ledger_url=url)
        on = Gate(Settings(), regime_id=REGIME, ledger_url=url)
        started = time.perf_counter()
        assert on.screener is not None
        on.screener.index(on.screener.version())  # type: ignore[arg-type]
        cold = time.perf_counter() - started
        base = timed(off, [{**d, "id": d["id"] + "-off"} for d in docs])
        with_ = timed(on, docs)
        off.close()
        on.close()
    print(f"list: {args.entries:,} entries; orders: {args.orders} of 10 lines, 3 parties each")
    print(f"read the list and build its index, once per process: {cold:.2f} s")
    for label, xs in (("screening off (baseline)", base), ("screening on", with_)):
        print(f"  Gate.check {label:26} p50 {statistics.median(xs):6.2f} ms   "
              f"p99 {p(xs, 0.99):6.2f} ms")
    added = statistics.median(with_) - statistics.median(base)
    print(f"screening adds {added:.2f} ms at p50 "
          f"(x{statistics.median(with_) / statistics.median(base):.2f}), "
          f"{p(with_, 0.99) - p(base, 0.99):.2f} ms at p99")
    return 0


if __name__ == "__main__":
    sys.exit(main())
