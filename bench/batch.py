"""Batch at scale: ``exportgate batch`` over a generated order book, against order-by-order checks.

For each engine, in one run on this machine:

* **batch**: ``exportgate batch`` as its own process (audit log on, SQLite
  ledger, ``--json`` output to /dev/null) over a book from bench/orderbook.py:
  lines/s, CPU ms per line (the process and its workers), and peak memory
  (the resident memory of the process and its workers together, sampled);
* **baseline**: the same book's first ``--baseline-lines`` lines decided order
  by order in one process, each order's whole input evaluated alone (the
  path every order took before evaluation by context), audit log on:
  lines/s and CPU ms per line;
* the batch's figures as ratios of the baseline's.

    python bench/batch.py                                  # 100k lines, embedded and opa
    python bench/batch.py --lines 1000000 --engines embedded
    python bench/batch.py --large        # Gate.check of one 1,000- and one 100,000-line order
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import orderbook  # noqa: E402

from exportgate import Gate, Record, Settings  # noqa: E402
from exportgate._decide import Evaluated  # noqa: E402
from exportgate._exceptions import EngineError  # noqa: E402
from exportgate.engines.base import Answer, ask  # noqa: E402
from exportgate.engines.opa import start_again_with_go_runtime  # noqa: E402

REGIME = "us-ai-diffusion-2025"


def _tree_rss_kb(root: int) -> int:
    """Resident memory of ``root`` and its descendants, in KB (from /proc)."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * (os.sysconf("SC_PAGE_SIZE") // 1024)
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(pid, 0) for pid in tree)


def batch(engine: str, book: Path, config: Path, tmp: Path, workers: int | None
          ) -> dict[str, Any]:
    """``exportgate batch`` as its own process: lines/s, CPU per line, peak memory."""
    exe = str(Path(sys.executable).parent / "exportgate")
    totals = tmp / f"totals-{engine}.json"
    cmd = [exe, "--config", str(config), "batch", "--regime", REGIME, "--engine", engine,
           "--json", "--totals", str(totals),
           "--ledger", f"sqlite:///{tmp / f'batch-{engine}.db'}", str(book)]
    if workers is not None:
        cmd[cmd.index("batch") + 1:cmd.index("batch") + 1] = ["--workers", str(workers)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with open(os.devnull, "w") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.PIPE, text=True)
        peak = [0]

        def sample() -> None:
            while proc.poll() is None:
                peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
                time.sleep(0.25)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, err = proc.communicate()
        sampler.join()
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = int(json.loads(totals.read_text())["lines"]) if totals.exists() else 0
    return {"exit": proc.returncode, "seconds": elapsed, "lines": lines,
            "lines_per_s": lines / elapsed if elapsed else 0.0,
            "cpu_ms_per_line": cpu / lines * 1e3 if lines else float("nan"),
            "peak_mb": peak[0] / 1024, "stderr": err.strip().splitlines()[-1:]}


def baseline(engine: str, book: Path, settings: Settings, tmp: Path, lines: int
             ) -> dict[str, Any]:
    """The first ``lines`` lines, order by order, each order's whole input evaluated alone."""
    gate = Gate(settings, regime_id=REGIME, engine=engine,
                ledger_url=f"sqlite:///{tmp / f'baseline-{engine}.db'}")
    records = []
    with book.open() as f:
        taken = 0
        for n, text in enumerate(f, 1):
            if taken >= lines:
                break
            record = Record.from_text(text, f"{book.name}:{n}")
            taken += len(record.data["lines"])
            records.append(record)
    gate.evaluate(gate.prepare(records[0].data))  # compile the regime first
    decided = 0
    cpu0, started = time.process_time(), time.perf_counter()
    for record in records:
        orders, chosen = gate.read_record(record)
        for order in orders:
            regime = gate.regime_for(order)
            doc = gate.policy_input(order, regime)
            answer: Answer | None = None
            failure = None
            try:
                answer = ask(gate.engine, regime, "ladders", doc)
            except EngineError as exc:
                failure = str(exc)
            for checked in gate.step.run([Evaluated(order, regime, doc, answer, failure,
                                                    chosen)]):
                decided += len(checked.decision.lines)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu0
    gate.close()
    return {"lines": decided, "seconds": elapsed, "lines_per_s": decided / elapsed,
            "cpu_ms_per_line": cpu / decided * 1e3}


def large_order(lines: int, seed: int = 11) -> dict[str, Any]:
    """One order of ``lines`` lines: catalog items and 700 kinds of part classified on the
    line, to a Tier 2 consignee (LPP runs out part-way)."""
    import random
    rng = random.Random(seed)
    items = [i for i, _, _ in orderbook.ITEMS if i not in orderbook.INLINE]
    out = []
    for i in range(lines):
        line: dict[str, Any] = {"id": str(i + 1), "quantity": rng.randint(1, 40)}
        if i % 2:
            line["item"] = rng.choice(items)
        else:
            k = rng.randrange(700)
            line.update(item=f"PART-{k}", classification={"eccn": "3A090.a", "tpp": 1000 + k})
        out.append(line)
    return {"id": f"LARGE-{lines}", "date": "2025-06-02",
            "parties": {"ship_to": {"id": "in-large", "country": "IN"}}, "lines": out}


def one_order(engine: str, lines: int, settings: Settings, tmp: Path, repeat: int
              ) -> dict[str, Any]:
    """`Gate.check` of one large order: median seconds over ``repeat`` checks (each order
    new to the gate, so nothing is answered from an earlier one), and the peak memory."""
    times = []
    for n in range(repeat):
        gate = Gate(settings, regime_id=REGIME, engine=engine,
                    ledger_url=f"sqlite:///{tmp / f'large-{engine}-{lines}-{n}.db'}")
        gate.evaluate(gate.prepare(large_order(1)))  # compile the regime first
        doc = large_order(lines, seed=n)
        started = time.perf_counter()
        checked = gate.check(doc)
        times.append(time.perf_counter() - started)
        assert checked.decision.error is None, checked.decision.error
        gate.close()
    times.sort()
    return {"seconds": times[len(times) // 2],
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engines", default="embedded,opa")
    ap.add_argument("--lines", type=int, default=100_000)
    ap.add_argument("--baseline-lines", type=int, default=5_000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--large", action="store_true",
                    help="instead: Gate.check of one 1,000-line order (opa) and one "
                         "100,000-line order (each engine)")
    args = ap.parse_args()
    # The baseline on opa as the batch's workers run it:
    start_again_with_go_runtime([sys.executable, *sys.argv])
    if args.large:
        with tempfile.TemporaryDirectory() as name:
            for engine, lines, repeat in (("opa", 1_000, 5), ("opa", 100_000, 1),
                                          ("embedded", 1_000, 5), ("embedded", 100_000, 1)):
                if engine in args.engines.split(","):
                    got = one_order(engine, lines, Settings(), Path(name), repeat)
                    print(f"{engine:9} one order of {lines:7,} lines: "
                          f"{got['seconds'] * 1e3:9,.0f} ms (median of {repeat}); "
                          f"peak {got['peak_mb']:,.0f} MB (this process)")
        return 0
    os.environ.setdefault("EXPORTGATE_LOAD_PLUGINS", "")
    print(f"# exportgate batch at scale ({os.cpu_count()} CPUs, Python "
          f"{sys.version.split()[0]}, load average {os.getloadavg()[0]:.1f} at start)\n")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        book = tmp / "book.jsonl"
        with book.open("w") as out:
            n_orders = orderbook.write(args.lines, out)
        print(f"book: {args.lines:,} lines, {n_orders:,} orders, "
              f"{book.stat().st_size / 1e6:.1f} MB; audit log on\n")
        print(f"{'engine':9} {'path':9} {'lines':>9} {'lines/s':>9} {'CPU ms/line':>12} "
              f"{'peak MB':>8} {'seconds':>8}")
        for engine in args.engines.split(","):
            config = tmp / f"{engine}.yaml"
            config.write_text(f"audit_log: audit-{engine}.jsonl\n")
            base = baseline(engine, book, Settings.load(config), tmp, args.baseline_lines)
            print(f"{engine:9} {'baseline':9} {base['lines']:9,} {base['lines_per_s']:9,.0f} "
                  f"{base['cpu_ms_per_line']:12.3f} {'':>8} {base['seconds']:8.1f}")
            run = batch(engine, book, config, tmp, args.workers)
            print(f"{engine:9} {'batch':9} {run['lines']:9,} {run['lines_per_s']:9,.0f} "
                  f"{run['cpu_ms_per_line']:12.3f} {run['peak_mb']:8.0f} "
                  f"{run['seconds']:8.1f}  exit {run['exit']} {' '.join(run['stderr'])}")
            if run["lines"]:
                print(f"{engine:9} {'ratio':9} {'':>9} "
                      f"{run['lines_per_s'] / base['lines_per_s']:8.1f}x "
                      f"{base['cpu_ms_per_line'] / run['cpu_ms_per_line']:11.1f}x less")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (other work on the machine "
          "moves every figure)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
