"""The ``exportgate diff`` command: what a proposed rule does to an order book.

The question a compliance officer gets the week a rule is announced. Both
sides (a regime, optionally with parameter overrides:
``us-ai-diffusion-2025:lpp_cap_tpp=7916000``) decide the same orders in book
order, each on its own throwaway ledger (so quotas deplete as they would),
without audit records or host callbacks. The report (`exportgate._impact`)
gives the summary first (outcomes per side, transitions, countries,
consignees, quota that runs out), then the orders that change; ``--json``
prints all of it as one document and ``--html`` draws it (docs/impact.md).

Exit codes: 2 for a side the regime's parameter schema refuses (checked
before the book is read), 3 when any order was held on either side (the
report says so first and leaves those orders out of its counts), else 0.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._exceptions import InputError
from ._exits import EXIT_HELD, EXIT_OK
from ._plugins import Plugins
from ._settings import Settings

__all__ = ["add_command", "cmd_diff"]


def cmd_diff(args: argparse.Namespace) -> int:
    # The report's modules are imported by the command, not with the CLI: a check
    # never loads them (docs/performance.md, "Start-up").
    from ._impact import (book_from_files, book_from_ledger, impact, parse_side, render_text,
                          side_settings)
    settings = Settings.load(args.config)
    before, after = parse_side(args.regime), parse_side(args.against)
    if args.top < 1:
        raise InputError("--top: give a positive number")
    base = Plugins(settings)
    for side in (before, after):  # a bad side is refused before the book is read
        side_settings(settings, side, base)
    if args.open:
        if args.file:
            raise InputError("give order files or --open, not both")
        book = book_from_ledger(settings, args.ledger, args.audit_log)
    else:
        if not args.file:
            raise InputError("give the order files to compare, or --open for the orders "
                             "still open in the ledger")
        book = book_from_files(args.file, base, args.adapter)
    report = impact(settings, book, before, after, args.adapter, args.top, base, args.workers)
    if args.html:
        from ._impact_html import render_html
        try:
            Path(args.html).write_text(render_html(report), encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{args.html}: cannot write ({exc.strerror or exc})") from None
    if args.json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        render_text(report, sys.stdout, detail=args.detail, top=args.top)
        if args.html:
            sys.stdout.write(f"\nreport drawn in {args.html}\n")
    for message in book.source.get("missing") or []:
        print(f"exportgate: open order {message} has no record in the decision log; "
              "not screened", file=sys.stderr)
    held = report["held"]
    if held["orders"]:
        print(f"exportgate: {held['orders']} order(s) held (before: {held['before']}, after: "
              f"{held['after']}): the engine, the sidecar or the ledger did not answer; the "
              "report leaves them out", file=sys.stderr)
        return EXIT_HELD
    return EXIT_OK


def add_command(sub: Any) -> None:
    p = sub.add_parser(
        "diff", help="impact report: what changes for these orders under another regime "
                     "or other parameters",
        description="Decide an order book under two sides and report what changes. A side "
                    "is a regime id, optionally with parameter overrides: "
                    "REGIME:NAME=VALUE,NAME=VALUE (validated like the configuration's "
                    "parameters:).")
    p.add_argument("--regime", required=True, metavar="SIDE",
                   help="the regime in force (REGIME[:NAME=VALUE,...])")
    p.add_argument("--against", required=True, metavar="SIDE",
                   help="the regime or parameters to compare with (REGIME[:NAME=VALUE,...])")
    p.add_argument("--adapter", metavar="NAME", help="force a record adapter by name")
    p.add_argument("--json", action="store_true", help="print the whole report as one JSON "
                                                        "document")
    p.add_argument("--html", metavar="FILE", help="also write the report, with charts, as one "
                                                  "self-contained HTML file")
    p.add_argument("--detail", action="store_true",
                   help="list every order that changes (default: the first 20)")
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="engine worker processes for each side (default: one per CPU for "
                        "books of 400 orders or more, none below)")
    p.add_argument("--top", type=int, default=10, metavar="N",
                   help="consignees in the breakdown, and quota keys per side on the "
                        "terminal (default 10)")
    p.add_argument("--open", action="store_true",
                   help="the order book is every order still reserved in the ledger, as the "
                        "decision log last recorded it")
    p.add_argument("--ledger", metavar="URL",
                   help="with --open: the ledger URL (default: the configuration's)")
    p.add_argument("--audit-log", metavar="FILE",
                   help="with --open: the decision log (default: the configuration's "
                        "audit_log)")
    p.add_argument("file", nargs="*", help="order files (any adapter format)")
    p.set_defaults(func=cmd_diff)
