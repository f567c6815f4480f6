#!/usr/bin/env python3
"""The audit log's cost: Gate.check of a 10-line order with the log on and off.

    .venv/bin/python bench/audit.py [--engines embedded,opa] [--seconds 6]
                                    [--batch-orders 1000] [--against REV]

Per engine, on a SQLite ledger (``synchronous=FULL``), in this run:

* **check**: `Gate.check` of a 10-line order, one after the other, with no
  audit log (the baseline) and with one, interleaved; p50 and p99, and the
  ratio of each to the baseline's;
* **syncs**: the audit log's ``fsync`` calls per check (SQLite's own commit
  sync comes on top, with the log on or off);
* **batch** (the embedded engine, in process): `Gate.batch` over
  ``--batch-orders`` one-line orders, audit on and off: orders/s and ratio.

``--against REV`` measures this tree and the package as it was at git
revision ``REV`` (for instance the commit before a change), each in its own
process, alternating rounds, so that both see the same machine: the figures
come out side by side, with the ratio after/before.

The files live in a temporary directory on the file system of this
repository (``--dir`` to choose another): a sync costs what that disk costs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from run import REGIME, engines_available, order, pct, samples  # noqa: E402

from exportgate import Gate, Settings  # noqa: E402
from exportgate._plugins import Plugins  # noqa: E402


@contextmanager
def counting_syncs(count: list[int]) -> Iterator[None]:
    """Count ``os.fsync`` calls (the audit log's: SQLite syncs in C) while inside."""
    real = os.fsync

    def counted(fd: int) -> None:
        count[0] += 1
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


def checks(plugins: Plugins, engine: str, tmp: Path, seconds: float) -> dict[str, Any]:
    """Samples of Gate.check, audit off and on (interleaved), and the log's syncs per check."""
    off = gate(plugins, engine, tmp, f"{engine}-off", False)
    on = gate(plugins, engine, tmp, f"{engine}-on", True)
    base: list[float] = []
    audited: list[float] = []
    syncs = [0]
    ids = iter(range(10**9))
    for _ in range(4):
        base += samples(lambda: off.check(order(f"OFF-{next(ids)}", 10)), seconds / 8,
                        at_least=50, at_most=5000)
        with counting_syncs(syncs):
            audited += samples(lambda: on.check(order(f"ON-{next(ids)}", 10)), seconds / 8,
                               at_least=50, at_most=5000)
    off.close()
    on.close()
    return {"off": base, "on": audited, "syncs": syncs[0] / (len(audited) + 4)}


def batch(plugins: Plugins, tmp: Path, orders: int) -> dict[str, float]:
    from exportgate._adapter import Record
    rates: dict[str, float] = {}
    for audit in (False, True):
        name = "on" if audit else "off"
        g = gate(plugins, "embedded", tmp, f"batch-{name}", audit)
        records = [Record.from_value(order(f"B-{i}", 1), f"bench:{i}") for i in range(orders)]
        t = time.perf_counter()
        done = sum(1 for _ in g.batch(records, workers=0))
        rates[name] = done / (time.perf_counter() - t)
        g.close()
    return rates


def measure(args: argparse.Namespace) -> dict[str, Any]:
    """Every figure of one process, as raw samples."""
    os.environ.setdefault("EXPORTGATE_LOAD_PLUGINS", "")
    plugins = Plugins(Settings(), entry_points=False)
    out: dict[str, Any] = {"engines": {}}
    with tempfile.TemporaryDirectory(dir=args.dir, prefix=".bench-audit-") as name:
        tmp = Path(name)
        for engine in engines_available(plugins, args.engines.split(",")):
            out["engines"][engine] = checks(plugins, engine, tmp, args.seconds)
        if args.batch_orders and "embedded" in out["engines"]:
            out["batch"] = batch(plugins, tmp, args.batch_orders)
    return out


def package_at(rev: str, where: Path) -> Path:
    """The exportgate package as it was at ``rev``, importable from the returned folder."""
    tree = where / "tree"
    tree.mkdir()
    blob = subprocess.run(["git", "archive", rev, "plugin", "adapters", "rego"], cwd=ROOT,
                          check=True, capture_output=True).stdout
    with tarfile.open(fileobj=BytesIO(blob)) as tar:
        tar.extractall(tree, filter="data")
    pkg = where / "path" / "exportgate"
    pkg.mkdir(parents=True)
    for item in (tree / "plugin").iterdir():
        (pkg / item.name).symlink_to(item)
    (pkg / "adapters").symlink_to(tree / "adapters")
    (pkg / "rego").symlink_to(tree / "rego")
    return where / "path"


def in_process(args: argparse.Namespace, path: Path | None) -> dict[str, Any]:
    """`measure` in a child process: this tree's package, or the one under ``path``."""
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = str(path)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--engines",
           args.engines, "--seconds", str(args.seconds), "--batch-orders",
           str(args.batch_orders), "--dir", args.dir]
    proc = subprocess.run(cmd, env=env, cwd=tempfile.gettempdir(), check=True,
                          capture_output=True, text=True)
    return json.loads(proc.stdout.splitlines()[-1])


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"engines": {}, "batch": {}}
    for run in runs:
        for engine, r in run["engines"].items():
            e = out["engines"].setdefault(engine, {"off": [], "on": [], "syncs": []})
            e["off"] += r["off"]
            e["on"] += r["on"]
            e["syncs"].append(r["syncs"])
        for k, v in run.get("batch", {}).items():
            out["batch"].setdefault(k, []).append(v)
    return out


def ms(s: float) -> str:
    return f"{s * 1e3:7.2f}ms"


def report(label: str, figures: dict[str, Any]) -> dict[str, dict[str, float]]:
    print(f"### {label}\n")
    print(f"{'engine':9} {'off p50':>9} {'off p99':>9} {'on p50':>9} {'on p99':>9} "
          f"{'p50 x':>6} {'p99 x':>6} {'+p50':>9} {'+p99':>9} {'log syncs':>10}")
    rows: dict[str, dict[str, float]] = {}
    for engine, r in figures["engines"].items():
        row = {"off50": statistics.median(r["off"]), "off99": pct(r["off"], 99),
               "on50": statistics.median(r["on"]), "on99": pct(r["on"], 99),
               "syncs": statistics.mean(r["syncs"]) if isinstance(r["syncs"], list)
               else r["syncs"]}
        rows[engine] = row
        print(f"{engine:9} {ms(row['off50'])} {ms(row['off99'])} {ms(row['on50'])} "
              f"{ms(row['on99'])} {row['on50'] / row['off50']:5.2f}x "
              f"{row['on99'] / row['off99']:5.2f}x  {ms(row['on50'] - row['off50'])} "
              f"{ms(row['on99'] - row['off99'])} {row['syncs']:10.2f}")
    b = figures.get("batch") or {}
    if b:
        off = statistics.median(b["off"]) if isinstance(b["off"], list) else b["off"]
        on = statistics.median(b["on"]) if isinstance(b["on"], list) else b["on"]
        print(f"\nGate.batch, one-line orders in process: audit off {off:6.0f} orders/s, "
              f"on {on:6.0f} orders/s, on/off {on / off:.2f}x")
        rows["batch"] = {"off": off, "on": on}
    print()
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--engines", default="embedded,opa")
    ap.add_argument("--seconds", type=float, default=6.0, help="time per engine and side")
    ap.add_argument("--batch-orders", type=int, default=1000)
    ap.add_argument("--dir", default=str(ROOT), help="where the files go")
    ap.add_argument("--against", metavar="REV", help="also measure the package at REV")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds (--against)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(measure(args)))
        return 0
    print(f"# audit log cost ({os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"load {os.getloadavg()[0]:.1f})\n")
    print("## Gate.check, 10-line order, SQLite ledger (synchronous=FULL)\n")
    if not args.against:
        report("this tree", measure(args))
        return 0
    with tempfile.TemporaryDirectory(prefix="exportgate-bench-") as name:
        path = package_at(args.against, Path(name))
        before: list[dict[str, Any]] = []
        after: list[dict[str, Any]] = []
        for _ in range(args.rounds):
            before.append(in_process(args, path))
            after.append(in_process(args, None))
    old = report(f"before ({args.against})", merge(before))
    new = report("after (this tree)", merge(after))
    print("### after / before\n")
    for engine in new:
        if engine == "batch":
            continue
        o, n = old[engine], new[engine]
        print(f"{engine:9} audit's own cost at p50 {ms(n['on50'] - n['off50'])} vs "
              f"{ms(o['on50'] - o['off50'])}, at p99 {ms(n['on99'] - n['off99'])} vs "
              f"{ms(o['on99'] - o['off99'])}; check with the log p50 "
              f"{n['on50'] / o['on50']:.2f}x, p99 {n['on99'] / o['on99']:.2f}x; "
              f"log syncs {n['syncs']:.2f} vs {o['syncs']:.2f}")
    if "batch" in new and "batch" in old:
        print(f"batch     with the log {new['batch']['on'] / old['batch']['on']:.2f}x "
              "the orders/s of before")
    return 0


if __name__ == "__main__":
    sys.exit(main())
