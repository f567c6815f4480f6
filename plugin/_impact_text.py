"""The impact report printed for a terminal: summary first, then the orders that change.

Held orders come before anything else: they are no effect of the rule, and
every count leaves them out.
"""
from __future__ import annotations

from typing import Any, Callable, TextIO

from ._impact_compare import OUTCOMES
from ._impact_quota import turned_away


def _n(x: int | float) -> str:
    return f"{x:,.1f}" if isinstance(x, float) else f"{x:,}"


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}" + ("" if n == 1 else "s")


def _move(t: dict[str, Any], h100: bool = True) -> str:
    text = (f"{t['from']} -> {t['to']}: {_count(t['lines'], 'line')}, "
            f"{_count(t['orders'], 'order')}")
    if h100 and t.get("tpp"):
        text += f", {_n(t['tpp'])} TPP ({_n(t['h100eq'])} H100-eq)"
    return text


def title(report: dict[str, Any]) -> str:
    """The report's title, naming the sides as the command line does.

    ``--regime A --against B`` reads "A against B": the rule in force first.
    """
    sides = report["sides"]
    return f"Impact report: {sides['before']['label']} against {sides['after']['label']}"


Write = Callable[[str], Any]


def _held(report: dict[str, Any], w: Write) -> None:
    held, book = report["held"], report["book"]
    if not held["orders"]:
        return
    w(f"HELD: {_count(held['orders'], 'order')} of {_n(book['orders'])} could not be "
      "decided (the engine, the sidecar or the ledger did not answer): they are no "
      "effect of the rule, and every count below leaves them out\n")
    for h in held["first"]:
        for side in ("before", "after"):
            if h[side] is not None:
                w(f"  order {h['order']} ({side}): {h[side]}\n")
    if held["orders"] > len(held["first"]):
        w(f"  ... and {_n(held['orders'] - len(held['first']))} more "
          "(--json lists every order)\n")
    w("\n")


def _heading(report: dict[str, Any], w: Write) -> None:
    sides, book = report["sides"], report["book"]
    w(f"{title(report)}\n"
      f"  before (--regime):  {sides['before']['label']}, revision "
      f"{sides['before']['revision']}\n"
      f"  after  (--against): {sides['after']['label']}, revision "
      f"{sides['after']['revision']}\n"
      f"Made {report['made']} by exportgate {report['exportgate']}\n")
    where = ", ".join(book.get("files", [])) if book["kind"] == "files" else \
        f"open orders in {book['ledger']} (inputs from {book['audit_log']})"
    w(f"Order book: {_n(book['orders'])} orders, {_n(book['lines'])} lines, "
      f"{_n(book['tpp'])} TPP ({_n(book['h100eq'])} H100-eq); {where}\n")
    if book["kind"] == "ledger":
        if book["missing"]:
            w(f"  not in the decision log, not screened: {', '.join(book['missing'])}\n")
        if book["committed_orders"]:
            w(f"  quota committed by {book['committed_orders']} shipped orders counts on "
              "both sides\n")


def _outcomes(report: dict[str, Any], w: Write) -> None:
    w("\nOutcomes            before                    after\n"
      "            lines  orders  H100-eq     lines  orders  H100-eq\n")
    ob, oa = report["outcomes"]["before"], report["outcomes"]["after"]
    for o in OUTCOMES:
        w(f"  {o:8} {ob[o]['lines']:>7,} {ob[o]['orders']:>7,} {ob[o]['h100eq']:>8,.0f}   "
          f"{oa[o]['lines']:>7,} {oa[o]['orders']:>7,} {oa[o]['h100eq']:>8,.0f}\n")


def _changes(report: dict[str, Any], w: Write) -> None:
    ch = report["changed"]
    w(f"\nChanges: {_count(ch['lines'], 'line')} in {_count(ch['orders'], 'order')} "
      "change outcome "
      f"({_n(ch['tpp'])} TPP, {_n(ch['h100eq'])} H100-eq)\n")
    for t in report["transitions"]:
        if t["changed"]:
            w(f"  {_move(t)}\n")
    moved_orders = [t for t in report["order_transitions"] if t["changed"]]
    if moved_orders:
        w("  orders by their outcome: " + "; ".join(
            f"{t['from']} -> {t['to']} {_n(t['orders'])}" for t in moved_orders) + "\n")


def _moves(group: dict[str, Any]) -> str:
    """A group's changed transitions, briefly: ``allow -> notify 3; ...``."""
    return "; ".join(_move(t, h100=False).split(":")[0] + f" {t['lines']}"
                     for t in group["transitions"])


def _groups(report: dict[str, Any], w: Write) -> None:
    countries = [c for c in report["countries"] if c["changed_lines"]]
    if countries:
        w("\nBy destination country\n")
        for c in countries:
            w(f"  {c['country']:3} {_n(c['changed_lines'])} of {_count(c['lines'], 'line')}, "
              f"{_count(c['changed_orders'], 'order')}: " + _moves(c) + "\n")
    consignees = [c for c in report["consignees"] if c["changed_lines"]]
    if consignees:
        changing, total = report["consignees_changed"], report["consignees_total"]
        more = "" if len(consignees) == changing else f"; the {len(consignees)} that change most"
        w(f"\nBy consignee ({changing:,} of {total:,} change{more})\n")
        for c in consignees:
            name = f" ({c['name']})" if c.get("name") else ""
            w(f"  {c['consignee']}{name}: {_n(c['changed_lines'])} of "
              f"{_count(c['lines'], 'line')}, {_count(c['changed_orders'], 'order')}: "
              + _moves(c) + "\n")


def _ran_out(report: dict[str, Any], w: Write, detail: bool, top: int) -> None:
    if not report["ran_out"]:
        return
    w("\nQuota that turns lines away (most lines turned away first)\n")
    for side in ("before", "after"):
        hits = sorted((r for r in report["ran_out"] if r["side"] == side),
                      key=lambda r: (-r["refused_lines"], r["quota"]))
        for r in hits if detail else hits[:top]:
            w(f"  {side:6} {r['quota']} (cap {_n(r['cap'])} TPP): "
              f"{turned_away(r['share'], r['order'], r['line'])}; "
              f"{_count(r['refused_lines'], 'line')} in "
              f"{_count(r['refused_orders'], 'order')} turned away\n")
        if not detail and len(hits) > top:
            w(f"  {side:6} ... and {len(hits) - top} more keys (--detail for all)\n")


def _orders(report: dict[str, Any], w: Write, detail: bool, detail_limit: int) -> None:
    changed = [o for o in report["orders"] if o["changes"]]
    shown = changed if detail else changed[:detail_limit]
    w(f"\nOrder by order: {len(changed)} of {len(report['orders'])} orders change in outcome "
      "or deciding reason"
      + ("" if len(shown) == len(changed) else f" (the first {len(shown)}; --detail for all)")
      + "\n")
    for entry in shown:
        w(f"order {entry['order']} ({entry['country']}, {entry['consignee']}): "
          f"{entry['before']} -> {entry['after']}\n")
        for c in entry["changes"]:
            w(f"  line {c['line']}: {c['before']} ({c['reason_before']}) -> "
              f"{c['after']} ({c['reason_after']})\n")


def render_text(report: dict[str, Any], out: TextIO, detail: bool = False,
                detail_limit: int = 20, top: int = 10) -> None:
    """Summary first, then the orders that change (the first ``detail_limit`` unless ``detail``)."""
    w = out.write
    _held(report, w)
    _heading(report, w)
    _outcomes(report, w)
    _changes(report, w)
    _groups(report, w)
    _ran_out(report, w, detail, top)
    _orders(report, w, detail, detail_limit)
