#!/usr/bin/env python3
"""Start-up: a cold ``exportgate check`` of one order, as a user runs it.

    .venv/bin/python bench/startup.py [--runs N] [--regime ID] [--order FILE] [--no-bytecode]

Each run is a fresh process: ``exportgate check --regime ID --ledger
sqlite:///TMP/ledger.db ORDER`` on the default (embedded) engine, with the
start-up cache warm (what every check after the first one runs with) and
with it off (``EXPORTGATE_NO_CACHE=1``: the first check after an install or
a regime change). Baselines measured in the same run, in turn with the
checks so a drift of the machine touches all alike: ``python -c pass`` (the
interpreter alone) and ``python -c "import exportgate"``. CPU is the
child's user + system time (its own accounting, so other load on the
machine inflates it less than wall time); median and p90 of the runs.

Bytecode is compiled once into a private folder and used, as an installed
package has it; ``--no-bytecode`` measures with none (every module compiled
on every start, as with ``PYTHONDONTWRITEBYTECODE=1`` in a source tree). The
goal (issue "Start fast"): a cold check in at most 0.3 s of CPU.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 0.3


def exportgate_command() -> list[str]:
    """The installed ``exportgate`` script beside this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("exportgate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "exportgate._cli"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one fresh process; its exit must be 0."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {proc.returncode}\n{err}")
    return usage.ru_utime + usage.ru_stime, wall


def p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15, help="runs of each command (default 15)")
    ap.add_argument("--regime", default="us-advanced-computing-2023")
    ap.add_argument("--order", type=Path, help="an order file (default: the first order of "
                                               "examples/orders.jsonl)")
    ap.add_argument("--no-bytecode", action="store_true",
                    help="no compiled bytecode: every module compiled on every start")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="exportgate-startup-") as tmp:
        work = Path(tmp)
        order = args.order
        if order is None:
            order = work / "order.json"
            first = (ROOT / "examples" / "orders.jsonl").read_text().splitlines()[0]
            order.write_text(first + "\n")
        base = {k: v for k, v in os.environ.items()
                if k not in ("PYTHONDONTWRITEBYTECODE", "EXPORTGATE_CONFIG",
                             "EXPORTGATE_NO_CACHE")}
        if args.no_bytecode:
            base["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            base["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        warm = {**base, "XDG_CACHE_HOME": str(work / "cache")}
        cold = {**warm, "EXPORTGATE_NO_CACHE": "1"}
        check = [*exportgate_command(), "check", "--regime", args.regime,
                 "--ledger", f"sqlite:///{work / 'ledger.db'}", str(order)]
        commands = {
            "python -c pass": ([sys.executable, "-c", "pass"], base),
            "import exportgate": ([sys.executable, "-c", "import exportgate"], base),
            "check, cache warm": (check, warm),
            "check, cache off": (check, cold),
        }
        for argv, env in commands.values():  # warm-up: bytecode, the cache, the ledger
            timed(argv, env)
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        wall: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.runs):
            for name, (argv, env) in commands.items():
                c, w = timed(argv, env)
                cpu[name].append(c)
                wall[name].append(w)

    floor = statistics.median(cpu["python -c pass"])
    package = statistics.median(cpu["import exportgate"])
    print(f"cold exportgate check, {args.runs} runs each, regime {args.regime}, "
          f"{'no bytecode' if args.no_bytecode else 'bytecode compiled'}")
    print(f"{'':20} {'cpu median':>11} {'cpu p90':>9} {'wall median':>12} "
          f"{'x python':>9} {'x import':>9}")
    for name in commands:
        med = statistics.median(cpu[name])
        print(f"{name:20} {med:10.3f}s {p90(cpu[name]):8.3f}s "
              f"{statistics.median(wall[name]):11.3f}s {med / floor:8.1f}x "
              f"{med / package:8.2f}x")
    check_cpu = statistics.median(cpu["check, cache warm"])
    print(f"goal: a cold check <= {GOAL_S:.1f} s CPU: {check_cpu:.3f} s "
          f"({'met' if check_cpu <= GOAL_S else 'not met'}); the cache saves "
          f"{statistics.median(cpu['check, cache off']) - check_cpu:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
