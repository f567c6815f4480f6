"""Deciding an order book under one side, on a throwaway ledger, keeping what the report counts.

Each side runs through `Gate.batch` in what-if mode: quotas deplete in book
order as they would, and nothing is audited or told to the host.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ._gate import Checked, Gate
from ._impact_book import OrderBook
from ._impact_sides import Side, side_settings
from .ledger.urls import open_ledger
from ._model import Consumption, Order
from ._plugins import Plugins
from ._regime import ROOT, Regime
from ._settings import Settings

#: The ledger each side decides on when nothing needs to be carried over.
WHAT_IF_LEDGER = "sqlite:///:memory:"


@dataclass(frozen=True)
class Refusal:
    """A line turned away by a quota key that earlier orders had used up."""

    order: int
    order_id: str
    line: str
    quota: str
    tpp: int


@dataclass(frozen=True)
class LineResult:
    """What the report keeps of a line's decision."""

    id: str
    outcome: str
    reason: str | None
    tpp: int | None
    consumes: tuple[Consumption, ...]


@dataclass(frozen=True)
class OrderResult:
    """What the report keeps of an order and its decision on one side (a book may be large)."""

    order: str
    country: str
    consignee: str
    consignee_name: str | None
    outcome: str
    error: str | None
    lines: tuple[LineResult, ...]


@dataclass
class SideRun:
    """One side's decisions, in book order, and the regime (with overrides) that made them."""

    side: Side
    regime: Regime
    results: list[OrderResult]
    refusals: list[Refusal]
    h100_tpp: int


def _seed(url: str, committed: dict[str, list[tuple[str, Consumption]]]) -> None:
    ledger = open_ledger(url)
    try:
        for order_id, consumes in committed.items():
            with ledger.lock_keys(order_id, [c.quota for _, c in consumes]) as lock:
                lock.reserve(consumes, "committed", "committed", {})
            ledger.commit(order_id)
    finally:
        ledger.close()


def line_tpp(order: Order, index: int) -> int | None:
    """Quantity x TPP per unit, when the (enriched) line states its TPP."""
    line = order.lines[index]
    c = line.classification
    return None if c is None or c.tpp is None else line.quantity * c.tpp


def refusals(index: int, checked: Checked) -> list[Refusal]:
    """The lines of one order that a quota key turned away because earlier orders used it up.

    The decision records, per line, the allowances the line did not fit
    (``LineDecision.refused``: quota, amount, cap); a key counts as lost to
    earlier orders when the line would have fitted it on its own.
    """
    if checked.decision.error is not None:
        return []
    out: list[Refusal] = []
    for ld in checked.decision.lines:
        lost = next((r for r in ld.refused if r.cap is not None and r.tpp <= r.cap), None)
        if lost is not None:
            out.append(Refusal(index, checked.order.id, ld.id, lost.quota, lost.tpp))
    return out


def result_of(checked: Checked) -> OrderResult:
    order, decision = checked.order, checked.decision
    return OrderResult(
        order=decision.order, country=order.ship_to.country, consignee=order.consignee.id,
        consignee_name=order.consignee.name, outcome=decision.outcome.value,
        error=decision.error,
        lines=tuple(LineResult(ld.id, ld.outcome.value,
                               ld.reasons[0].code if ld.reasons else None,
                               line_tpp(order, j), ld.consumes)
                    for j, ld in enumerate(decision.lines)))


def run_side(settings: Settings, side: Side, base: Plugins, book: OrderBook,
             adapter: str | None, workers: int | None = None) -> SideRun:
    """Decide the book under one side, on its own throwaway ledger.

    ``workers`` is the batch's: engine worker processes (None lets the batch
    choose). Each worker loads the side's configuration, overrides included.
    """
    own = side_settings(settings, side, base)
    plugins = Plugins(own)
    results: list[OrderResult] = []
    lost: list[Refusal] = []
    with tempfile.TemporaryDirectory(prefix="exportgate-impact-") as tmp:
        url = WHAT_IF_LEDGER
        if book.committed:
            url = f"sqlite:///{Path(tmp) / 'what-if.db'}"
            _seed(url, book.committed)
        gate = Gate(own, regime_id=side.regime, ledger_url=url, plugins=plugins, what_if=True)
        try:
            regime = plugins.regime(side.regime)
            for i, checked in enumerate(gate.batch(book.records, adapter, workers=workers)):
                results.append(result_of(checked))
                lost.extend(refusals(i, checked))
        finally:
            gate.close()
    units = regime.data[ROOT]["tables"]["lib"]["units"]
    return SideRun(side, regime, results, lost, int(units["h100_tpp"]))
