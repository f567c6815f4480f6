"""Benchmarks: the cost of a decision and of a batch, per engine, as figures and ratios.

Every figure is measured in this run, on this machine, against a baseline
measured in the same run:

* **raw evaluation**: one engine evaluation of an order's policy input (the
  regime compiled once), for 1, 10, 100 and 1,000-line orders;
* **Gate.check** p50/p99 for the same orders on a SQLite ledger, and
  exportgate's own time per order: all but the engine evaluation and the
  ledger's durable commit, as a ratio of the raw evaluation;
* **validation**: the canonical order's validation and the answer's parsing,
  per 10-line order;
* **batch**: ``exportgate batch`` over a generated order book (bench/orderbook.py)
  as a separate process: lines/s and peak memory (max RSS of the process and
  its workers).

    python bench/run.py                 # 10k-line batches (make bench)
    python bench/run.py --batch-lines 1000000 --engines embedded
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import orderbook  # noqa: E402

from exportgate import Gate, Settings  # noqa: E402
from exportgate._plugins import Plugins  # noqa: E402
from exportgate._policy import parse_ladders, policy_input  # noqa: E402
from exportgate._validate import order_from_dict, validate_order  # noqa: E402

REGIME = "us-ai-diffusion-2025"
SIZES = (1, 10, 100, 1000)


def order(order_id: str, lines: int) -> dict[str, Any]:
    """An order of ``lines`` H100 lines to a Tier 2 consignee (LPP, then the allocation)."""
    return {"id": order_id, "date": "2025-06-02",
            "parties": {"ship_to": {"id": f"C-{order_id}", "country": "IN"}},
            "lines": [{"id": str(10 * (i + 1)), "item": "H100", "quantity": 10,
                       "classification": {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45}}
                      for i in range(lines)]}


def samples(fn: Callable[[], object], seconds: float, at_least: int = 5,
            at_most: int = 2000) -> list[float]:
    """Times of repeated calls (after one warm-up) for about ``seconds``."""
    fn()
    out: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(out) < at_least or (time.perf_counter() < deadline and len(out) < at_most):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


class Timed:
    """Wraps an engine, adding up the time its evaluations take."""

    def __init__(self, engine: Any) -> None:
        self.engine, self.name, self.seconds = engine, engine.name, 0.0

    def evaluate(self, regime: Any, rule: str, doc: dict[str, Any]) -> Any:
        t = time.perf_counter()
        try:
            return self.engine.evaluate(regime, rule, doc)
        finally:
            self.seconds += time.perf_counter() - t

    def run_tests(self, regime: Any) -> Any:
        return self.engine.run_tests(regime)

    def close(self) -> None:
        pass


def engines_available(plugins: Plugins, wanted: list[str]) -> list[str]:
    names = []
    for name in wanted:
        try:
            plugins.engine(name)
            names.append(name)
        except Exception as exc:  # an optional engine that is not installed
            print(f"(engine {name} skipped: {exc})", file=sys.stderr)
    return names


def per_order(plugins: Plugins, engine_name: str, seconds: float) -> list[dict[str, Any]]:
    regime = plugins.regime(REGIME)
    engine = plugins.engine(engine_name)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in SIZES:
            doc = policy_input(order_from_dict(order("RAW", size)))
            raw = samples(lambda: engine.evaluate(regime, "ladders", doc), seconds)
            timed = Timed(engine)
            gate = Gate(Settings(), regime_id=REGIME, plugins=plugins, engine=timed,
                        ledger_url=f"sqlite:///{Path(tmp) / f'{engine_name}-{size}.db'}")
            conn = gate.ledger.conn
            commit_seconds = [0.0]
            real_commit = conn.commit

            def commit() -> None:
                t = time.perf_counter()
                real_commit()
                commit_seconds[0] += time.perf_counter() - t
            conn.commit = commit
            counter = iter(range(10**9))
            timed.seconds = commit_seconds[0] = 0.0
            checks = samples(lambda: gate.check(order(f"G-{next(counter)}", size)), seconds)
            n = len(checks) + 1  # the warm-up call counts in the engine and commit totals
            own = (sum(checks) + checks[0] - timed.seconds - commit_seconds[0]) / n
            gate.close()
            rows.append({"engine": engine_name, "lines": size,
                         "raw_p50_ms": statistics.median(raw) * 1e3,
                         "check_p50_ms": statistics.median(checks) * 1e3,
                         "check_p99_ms": pct(checks, 99) * 1e3,
                         "own_ms": own * 1e3,
                         "own_ratio": own / statistics.median(raw),
                         "commit_ms": commit_seconds[0] / n * 1e3})
    return rows


def hot_path(plugins: Plugins, seconds: float) -> dict[str, float]:
    regime = plugins.regime(REGIME)
    doc = order("V", 10)
    parsed = order_from_dict(doc)
    answer = plugins.engine("embedded").evaluate(regime, "ladders", policy_input(parsed))
    validate = statistics.median(samples(lambda: validate_order(doc), seconds)) * 1e3
    parse = statistics.median(samples(lambda: parse_ladders(answer, parsed, regime),
                                      seconds)) * 1e3
    return {"validate_ms": validate, "parse_answer_ms": parse, "total_ms": validate + parse}


def batch(engine_name: str, book: Path, lines: int, workers: int | None
          ) -> dict[str, Any]:
    """``exportgate batch`` as its own process: lines/s and peak memory."""
    with tempfile.TemporaryDirectory() as tmp:
        exe = str(Path(sys.executable).parent / "exportgate")
        cmd = [exe, "batch", "--regime", REGIME,
               "--engine", engine_name, "--json", "--ledger",
               f"sqlite:///{Path(tmp) / 'batch.db'}", str(book)]
        if workers is not None:
            cmd[2:2] = ["--workers", str(workers)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        t = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        elapsed = time.perf_counter() - t
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    decided = sum(len(json.loads(x)["lines"]) for x in proc.stdout.splitlines() if x)
    return {"engine": engine_name, "workers": "auto" if workers is None else workers,
            "lines": lines, "decided": decided, "exit": proc.returncode,
            "seconds": elapsed, "lines_per_s": decided / elapsed,
            "peak_mb": max(peak_kb, before) / 1024,
            "stderr": proc.stderr.strip().splitlines()[-1:] if proc.returncode > 1 else []}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--engines", default="embedded,opa")
    ap.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    ap.add_argument("--batch-lines", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=None)
    ap.add_argument("--skip-batch", action="store_true")
    args = ap.parse_args()
    os.environ.setdefault("EXPORTGATE_LOAD_PLUGINS", "")
    plugins = Plugins(Settings(), entry_points=False)
    names = engines_available(plugins, args.engines.split(","))

    print(f"# exportgate benchmarks ({os.cpu_count()} CPUs, Python {sys.version.split()[0]})\n")
    print("## One order: raw evaluation, Gate.check (SQLite), exportgate's own time\n")
    print(f"{'engine':9} {'lines':>5} {'raw p50':>9} {'check p50':>10} {'check p99':>10} "
          f"{'own':>8} {'own/raw':>8} {'commit':>8}")
    for name in names:
        for row in per_order(plugins, name, args.seconds):
            print(f"{row['engine']:9} {row['lines']:5} {row['raw_p50_ms']:7.2f}ms "
                  f"{row['check_p50_ms']:8.2f}ms {row['check_p99_ms']:8.2f}ms "
                  f"{row['own_ms']:6.2f}ms {row['own_ratio']:7.2f}x {row['commit_ms']:6.2f}ms")
    hp = hot_path(plugins, args.seconds)
    print("\n## Hot path, 10-line order\n")
    print(f"validation {hp['validate_ms']:.3f} ms + answer parsing {hp['parse_answer_ms']:.3f} ms"
          f" = {hp['total_ms']:.3f} ms")
    if args.skip_batch:
        return 0
    print(f"\n## exportgate batch over {args.batch_lines:,} generated lines\n")
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "book.jsonl"
        with book.open("w") as out:
            n_orders = orderbook.write(args.batch_lines, out)
        print(f"{n_orders:,} orders; book {book.stat().st_size / 1e6:.1f} MB\n")
        print(f"{'engine':9} {'workers':>7} {'lines/s':>9} {'seconds':>8} {'peak MB':>8} exit")
        for name in names:
            row = batch(name, book, args.batch_lines, args.workers)
            print(f"{row['engine']:9} {row['workers']!s:>7} {row['lines_per_s']:9,.0f} "
                  f"{row['seconds']:8.1f} {row['peak_mb']:8.0f} {row['exit']} "
                  f"{' '.join(row['stderr'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
