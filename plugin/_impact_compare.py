"""The comparison of two sides, line by line: outcome counts, transitions, groups.

Only lines of orders decided on both sides count: an order held on either
side (no decision) says nothing about the rule.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from ._exceptions import ExportgateError
from ._impact_run import SideRun
from ._model import Outcome

OUTCOMES = tuple(o.value for o in Outcome)


@dataclass(frozen=True)
class LineFact:
    order: int
    order_id: str
    line_id: str
    country: str
    consignee: str
    consignee_name: str | None
    tpp: int | None
    before: str
    after: str
    reason_before: str | None
    reason_after: str | None


def facts_of(before: SideRun, after: SideRun) -> list[LineFact]:
    """The lines of the orders decided on both sides (held orders are no rule's effect)."""
    out = []
    for i, (a, b) in enumerate(zip(before.results, after.results, strict=True)):
        if a.order != b.order:
            raise ExportgateError(f"the sides decided different orders ({a.order}, {b.order})")
        if a.error is not None or b.error is not None:
            continue
        for la, lb in zip(a.lines, b.lines, strict=True):
            out.append(LineFact(
                order=i, order_id=a.order, line_id=la.id, country=a.country,
                consignee=a.consignee, consignee_name=a.consignee_name, tpp=la.tpp,
                before=la.outcome, after=lb.outcome, reason_before=la.reason,
                reason_after=lb.reason))
    return out


def h100_equivalent(tpp: int, h100_tpp: int) -> float:
    """TPP as a number of H100s (one decimal), the unit the report counts in."""
    return round(tpp / h100_tpp, 1)


def outcome_counts(facts: list[LineFact], side: str, h100_tpp: int,
                   order_outcomes: list[str]) -> dict[str, dict[str, Any]]:
    """Per outcome on one ``side`` (before, after): lines, orders, TPP and H100-eq."""
    lines: Counter[str] = Counter()
    tpp: Counter[str] = Counter()
    for f in facts:
        o = getattr(f, side)
        lines[o] += 1
        tpp[o] += f.tpp or 0
    orders = Counter(order_outcomes)
    return {o: {"lines": lines[o], "orders": orders[o], "tpp": tpp[o],
                "h100eq": h100_equivalent(tpp[o], h100_tpp)} for o in OUTCOMES}


def transitions(facts: list[LineFact], h100_tpp: int,
                changed_only: bool = False) -> list[dict[str, Any]]:
    """Lines by (outcome before, outcome after): changed moves first, the largest first."""
    lines: Counter[tuple[str, str]] = Counter()
    tpp: Counter[tuple[str, str]] = Counter()
    orders: dict[tuple[str, str], set[int]] = defaultdict(set)
    for f in facts:
        key = (f.before, f.after)
        if changed_only and f.before == f.after:
            continue
        lines[key] += 1
        tpp[key] += f.tpp or 0
        orders[key].add(f.order)
    rank = {o: n for n, o in enumerate(OUTCOMES)}
    keys = sorted(lines, key=lambda k: (k[0] == k[1], -lines[k], rank[k[0]], rank[k[1]]))
    return [{"from": a, "to": b, "changed": a != b, "lines": lines[(a, b)],
             "orders": len(orders[(a, b)]), "tpp": tpp[(a, b)],
             "h100eq": h100_equivalent(tpp[(a, b)], h100_tpp)} for a, b in keys]


def group(facts: list[LineFact], key: str, h100_tpp: int,
          names: dict[str, str | None] | None = None) -> list[dict[str, Any]]:
    """The lines grouped by ``key`` (country, consignee), those that change most first."""
    groups: dict[str, list[LineFact]] = defaultdict(list)
    for f in facts:
        groups[getattr(f, key)].append(f)
    out = []
    for name, members in groups.items():
        changed = [f for f in members if f.before != f.after]
        entry: dict[str, Any] = {key: name}
        if names is not None:
            entry["name"] = names.get(name)
        entry.update({
            "lines": len(members), "orders": len({f.order for f in members}),
            "tpp": sum(f.tpp or 0 for f in members),
            "changed_lines": len(changed), "changed_orders": len({f.order for f in changed}),
            "changed_tpp": sum(f.tpp or 0 for f in changed),
            "before": dict(Counter(f.before for f in members)),
            "after": dict(Counter(f.after for f in members)),
            "transitions": [{k: t[k] for k in ("from", "to", "lines", "orders", "tpp")}
                            for t in transitions(changed, h100_tpp)],
        })
        out.append(entry)
    out.sort(key=lambda e: (-e["changed_lines"], -e["changed_tpp"], -e["lines"], e[key]))
    return out
