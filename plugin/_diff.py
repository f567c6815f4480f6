"""``exportgate diff``: what changes for a set of orders if another regime applied.

The question a compliance officer gets the week a rule is announced. Each
regime decides the orders in file order on its own throwaway in-memory
ledger (so quotas deplete as they would), without audit records or host
callbacks; the report lists every line whose outcome or reason changes.
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ._gate import Gate
from ._plugins import Plugins
from ._settings import Settings

WHAT_IF_LEDGER = "sqlite:///:memory:"


def diff_orders(settings: Settings, records: list[Any], before: str, after: str,
                adapter: str | None = None) -> list[dict[str, Any]]:
    """One entry per order: its outcome under each regime and the lines that change."""
    plugins = Plugins(settings)
    gates = [Gate(settings, regime_id=rid, ledger_url=WHAT_IF_LEDGER, plugins=plugins,
                  what_if=True) for rid in (before, after)]
    try:
        decided = [list(g.batch(records, adapter)) for g in gates]
    finally:
        for g in gates:
            g.close()
    report = []
    for old, new in zip(*decided, strict=True):
        changes = []
        for a, b in zip(old.decision.lines, new.decision.lines, strict=True):
            ra = a.reasons[0].code if a.reasons else None
            rb = b.reasons[0].code if b.reasons else None
            if a.outcome != b.outcome or ra != rb:
                changes.append({"line": a.id, "before": a.outcome.value, "after": b.outcome.value,
                                "reason_before": ra, "reason_after": rb})
        report.append({"order": old.decision.order, "before": old.decision.outcome.value,
                       "after": new.decision.outcome.value, "changes": changes})
    return report


def cmd_diff(args: argparse.Namespace) -> int:
    from ._cli import read_records
    settings = Settings.load(args.config)
    records = list(read_records(args.file, batch=True))
    report = diff_orders(settings, records, args.regime, args.against, args.adapter)
    changed = [r for r in report if r["changes"]]
    if args.json:
        for entry in report:
            print(json.dumps(entry))
        return 0
    out = sys.stdout
    out.write(f"{len(changed)} of {len(report)} orders change from {args.regime} "
              f"to {args.against}\n")
    for entry in changed:
        out.write(f"order {entry['order']}: {entry['before']} -> {entry['after']}\n")
        for c in entry["changes"]:
            out.write(f"  line {c['line']}: {c['before']} ({c['reason_before']}) -> "
                      f"{c['after']} ({c['reason_after']})\n")
    return 0


def add_command(sub: Any) -> None:
    p = sub.add_parser("diff", help="what changes for these orders under another regime")
    p.add_argument("--regime", required=True, help="the regime in force")
    p.add_argument("--against", required=True, help="the regime to compare with")
    p.add_argument("--adapter", help="force a record adapter by name")
    p.add_argument("--json", action="store_true", help="one JSON line per order")
    p.add_argument("file")
    p.set_defaults(func=cmd_diff)
