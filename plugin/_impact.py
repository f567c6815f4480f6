"""The impact report: what a proposed rule does to an order book, in numbers.

Two *sides* decide the same order book: a regime, optionally with what-if
parameter overrides (``us-ai-diffusion-2025:lpp_cap_tpp=7916000``). Each
side runs through `Gate.batch` in what-if mode on a throwaway ledger, so
quotas deplete in book order as they would, and nothing is audited or told
to the host. This module only counts what the decisions say: every rule and
number stays in the regimes.

The order book comes from files (any adapter format) or from the ledger:
the latest policy input, in the decision log, of every order the ledger
still holds as reserved. Quota the ledger holds as committed (shipped
orders) is copied into each side's throwaway ledger, so an open order sees
what shipments already used of the keys both regimes name alike.

The report (`build_report`) is one JSON-ready document; `render_text`
prints it for a terminal and `exportgate._impact_html` draws it.

This module assembles the report; its parts live beside it:
`_impact_sides` (the two sides and their overrides), `_impact_book` (the
order book), `_impact_run` (deciding a side), `_impact_compare` (outcome
counts, transitions, groups), `_impact_quota` (quota use and what ran out)
and `_impact_text` (the terminal). The names the command line and the
tests use are importable from here.

An order held on either side (the engine, the sidecar or the ledger could
not answer: every line ``license`` with an ``error``) says nothing about the
rule: it is left out of every count and comparison, listed under ``held``,
and the terminal report says so before anything else; ``exportgate diff``
then exits 3.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any

from . import __version__
from ._impact_book import OrderBook, book_from_files, book_from_ledger, latest_inputs
from ._impact_compare import (OUTCOMES, LineFact, facts_of, group, h100_equivalent,
                              outcome_counts, transitions)
from ._impact_quota import RUNS_OUT_SHARE, quota_use, turned_away
from ._impact_run import WHAT_IF_LEDGER, OrderResult, SideRun, run_side
from ._impact_sides import Side, parse_side, side_settings
from ._impact_text import render_text, title
from ._plugins import Plugins
from ._settings import Settings

__all__ = ["HELD_SHOWN", "OUTCOMES", "REPORT_VERSION", "RUNS_OUT_SHARE", "WHAT_IF_LEDGER",
           "OrderBook", "Side", "book_from_files", "book_from_ledger", "build_report",
           "impact", "latest_inputs", "parse_side", "quota_use", "render_text", "run_side",
           "side_settings", "title", "turned_away"]

REPORT_VERSION = 1
#: Held orders listed by name in the report (all are counted).
HELD_SHOWN = 20

Pairs = list[tuple[OrderResult, OrderResult]]


def _side_doc(run: SideRun) -> dict[str, Any]:
    return {"spec": run.side.spec, "regime": run.side.regime, "label": run.side.label,
            "title": run.regime.title, "status": run.regime.status,
            "effective_from": run.regime.effective_from,
            "effective_to": run.regime.effective_to,
            "overrides": dict(run.side.overrides),
            "parameters": dict(run.regime.parameters), "revision": run.regime.revision}


def _held_doc(held: Pairs) -> dict[str, Any]:
    """The orders held on either side: counted, and the first `HELD_SHOWN` named."""
    return {"orders": len(held), "lines": sum(len(a.lines) for a, _ in held),
            "before": sum(1 for a, _ in held if a.error is not None),
            "after": sum(1 for _, b in held if b.error is not None),
            "first": [{"order": a.order, "before": a.error, "after": b.error}
                      for a, b in held[:HELD_SHOWN]]}


def _book_doc(before: SideRun, book: OrderBook, h: int) -> dict[str, Any]:
    every_line = [line for r in before.results for line in r.lines]
    total_tpp = sum(line.tpp or 0 for line in every_line)
    return {**book.source, "orders": len(before.results), "lines": len(every_line),
            "tpp": total_tpp, "h100eq": h100_equivalent(total_tpp, h),
            "lines_without_tpp": sum(1 for line in every_line if line.tpp is None)}


def _orders_doc(pairs: Pairs, facts: list[LineFact]) -> list[dict[str, Any]]:
    """Every order: its outcome on each side and the lines whose outcome or reason changed."""
    by_order: dict[int, list[LineFact]] = defaultdict(list)
    for f in facts:
        by_order[f.order].append(f)
    orders = []
    for i, (a, b) in enumerate(pairs):
        changes = [{"line": f.line_id, "before": f.before, "after": f.after,
                    "reason_before": f.reason_before, "reason_after": f.reason_after,
                    "tpp": f.tpp}
                   for f in by_order[i]
                   if f.before != f.after or f.reason_before != f.reason_after]
        orders.append({"order": a.order, "country": a.country, "consignee": a.consignee,
                       "before": a.outcome, "after": b.outcome, "changes": changes,
                       "held": a.error is not None or b.error is not None,
                       "errors": [e for e in (a.error, b.error) if e]})
    return orders


def _order_transitions(decided: Pairs) -> list[dict[str, Any]]:
    """Orders by their outcome before and after, changed moves first, most orders first."""
    moves: Counter[tuple[str, str]] = Counter((a.outcome, b.outcome) for a, b in decided)
    return [{"from": a, "to": b, "changed": a != b, "orders": n}
            for (a, b), n in sorted(moves.items(),
                                    key=lambda kv: (kv[0][0] == kv[0][1], -kv[1], kv[0]))]


def _changed_doc(facts: list[LineFact], h: int) -> dict[str, Any]:
    changed = [f for f in facts if f.before != f.after]
    tpp = sum(f.tpp or 0 for f in changed)
    return {"lines": len(changed), "orders": len({f.order for f in changed}),
            "tpp": tpp, "h100eq": h100_equivalent(tpp, h)}


def _quota_docs(before: SideRun, after: SideRun,
                book: OrderBook) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Each side's quota use, and the keys that turned lines away on either side."""
    quota = {"before": quota_use(before, book), "after": quota_use(after, book)}
    ran_out = [{"side": side, "quota": q["quota"], "cap": q["cap"], "share": q["share"],
                **q["ran_out"]}
               for side in ("before", "after") for q in quota[side] if q["ran_out"]]
    return quota, ran_out


def build_report(before: SideRun, after: SideRun, book: OrderBook,
                 top: int = 10, made: datetime | None = None) -> dict[str, Any]:
    """The whole impact report as one JSON-ready document (docs/impact.md).

    ``made`` (default: now) and the exportgate version are the report's
    provenance, with each side's regime ``revision`` (its policies and data,
    overrides applied): what a memo the report is attached to must cite.
    """
    made = made or datetime.now(timezone.utc)
    h = before.h100_tpp
    facts = facts_of(before, after)
    pairs = list(zip(before.results, after.results, strict=True))
    decided = [(a, b) for a, b in pairs if a.error is None and b.error is None]
    held = [(a, b) for a, b in pairs if a.error is not None or b.error is not None]
    consignees = group(facts, "consignee", h, {f.consignee: f.consignee_name for f in facts})
    quota, ran_out = _quota_docs(before, after, book)
    return {
        "report": "exportgate-impact", "version": REPORT_VERSION,
        "made": made.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "exportgate": __version__,
        "held": _held_doc(held),
        "sides": {"before": _side_doc(before), "after": _side_doc(after)},
        "book": _book_doc(before, book, h),
        "units": {"h100_tpp": h},
        "outcomes": {"before": outcome_counts(facts, "before", h, [a.outcome for a, _ in decided]),
                     "after": outcome_counts(facts, "after", h, [b.outcome for _, b in decided])},
        "changed": _changed_doc(facts, h),
        "transitions": transitions(facts, h),
        "order_transitions": _order_transitions(decided),
        "countries": group(facts, "country", h),
        "consignees": consignees[:top],
        "consignees_total": len(consignees),
        "consignees_changed": sum(1 for c in consignees if c["changed_lines"]),
        "quota": quota,
        "ran_out": ran_out,
        "orders": _orders_doc(pairs, facts),
    }


def impact(settings: Settings, book: OrderBook, before: Side, after: Side,
           adapter: str | None = None, top: int = 10,
           base: Plugins | None = None, workers: int | None = None) -> dict[str, Any]:
    """Decide the book under both sides and build the report."""
    base = base or Plugins(settings)
    runs = [run_side(settings, side, base, book, adapter, workers) for side in (before, after)]
    return build_report(runs[0], runs[1], book, top)
