"""The OPA engine under Go's collector settings: one process per setting, the same order.

Go reads GOGC and GOMEMLIMIT once, from the environment a process starts
with, so each setting runs in a fresh process: the bench's 10-line order
evaluated ``--evaluations`` times on `opa` (after a warm-up), reporting wall
and CPU time per evaluation (CPU counts Go's collector, which runs on
threads of its own) and the process's peak resident memory, each as a ratio
of Go's defaults measured in the same run.

    python bench/opa_gc.py
    python bench/opa_gc.py --settings 100 400 --evaluations 3000
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REGIME = "us-ai-diffusion-2025"


def measure(evaluations: int) -> dict[str, float]:
    """In this process: wall and CPU ms per evaluation, peak resident MB."""
    sys.path.insert(0, str(HERE))
    from run import order

    from exportgate import Settings
    from exportgate._plugins import Plugins
    from exportgate._policy import policy_input
    from exportgate._validate import order_from_dict
    plugins = Plugins(Settings())
    regime = plugins.regime(REGIME)
    doc = policy_input(order_from_dict(order("GC", 10)))
    engine = plugins.engine("opa")
    for _ in range(100):
        engine.evaluate(regime, "ladders", doc)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(evaluations):
        engine.evaluate(regime, "ladders", doc)
    return {"wall_ms": (time.perf_counter() - wall) / evaluations * 1e3,
            "cpu_ms": (time.process_time() - cpu) / evaluations * 1e3,
            "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--settings", nargs="+", default=["100", "200", "400", "800"],
                    help="GOGC values; the first is the baseline (Go's default: 100)")
    ap.add_argument("--memlimit", default="off", help="GOMEMLIMIT for every run")
    ap.add_argument("--evaluations", type=int, default=2000)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.evaluations)))
        return 0
    print(f"# OPA in process, {args.evaluations:,} evaluations of a 10-line order per "
          f"setting (GOMEMLIMIT={args.memlimit}; load average {os.getloadavg()[0]:.1f})\n")
    print(f"{'GOGC':>6} {'wall ms':>8} {'CPU ms':>7} {'peak MB':>8}   vs GOGC={args.settings[0]}")
    base: dict[str, float] | None = None
    for gogc in args.settings:
        env = {**os.environ, "GOGC": gogc, "GOMEMLIMIT": args.memlimit,
               "EXPORTGATE_LOAD_PLUGINS": ""}
        out = subprocess.run([sys.executable, __file__, "--child", "--evaluations",
                              str(args.evaluations)], env=env, capture_output=True, text=True,
                             check=True, timeout=600)
        got = json.loads(out.stdout.strip().splitlines()[-1])
        base = base or got
        print(f"{gogc:>6} {got['wall_ms']:8.2f} {got['cpu_ms']:7.2f} {got['peak_mb']:8.0f}   "
              f"wall {got['wall_ms'] / base['wall_ms']:.2f}x, CPU "
              f"{got['cpu_ms'] / base['cpu_ms']:.2f}x, memory "
              f"{got['peak_mb'] / base['peak_mb']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
