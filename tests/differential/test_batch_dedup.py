"""The deduplicated batch decides exactly as order-by-order checks do, on both engines.

A batch asks the engine once per context (`exportgate._contexts`): orders
that share their facts and licenses share one evaluation, with one line of
each kind, the lines' measures taken from each line's quantity. Here a book
from bench/orderbook.py (chips, 8-GPU systems, HBM stacks, repeat
consignees) with licenses recorded for its most frequent consignees of
licensed destinations is decided twice on fresh ledgers: as a batch, and
order by order with each order's whole input evaluated alone, as the
contract defines it. Every decision must be identical, in order, the fold's
quota and the licenses' draw included.
"""
from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from exportgate import Gate, Record, Settings
from exportgate._decide import Checked, Evaluated
from exportgate._exceptions import EngineError
from exportgate.engines.base import Answer, ask
from exportgate.ledger import licenses as _licenses

from tests.helpers import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import orderbook  # noqa: E402

LINES = 1500
LICENSED_DESTINATIONS = ("CN", "IN", "AE", "SA", "MY", "VN", "HK")


def book() -> tuple[list[Record], list[dict[str, Any]]]:
    """The book's records, and licenses for the two most frequent consignees of each
    licensed destination (by item and by ECCN, small enough that some lines fall through)."""
    orders = list(orderbook.orders(LINES, seed=7))
    seen = Counter((o["parties"]["ship_to"]["country"], o["parties"]["ship_to"]["id"])
                   for o in orders)
    licenses = []
    for dest in LICENSED_DESTINATIONS:
        top = [cid for (d, cid), _ in seen.most_common() if d == dest][:2]
        if not top:
            continue
        licenses.append({
            "number": f"L-{dest}", "issued": "2025-01-01", "expires": "2027-12-31",
            "destinations": [dest], "consignees": top,
            "items": [{"item": "NVIDIA-H200-SXM-141GB", "quantity": 400},
                      {"item": "NVIDIA-HGX-H100-8GPU", "quantity": 30},
                      {"eccn": "3A090.a", "quantity": 600},
                      {"eccn": "3A090.c", "quantity": 4000}],
            "conditions": "No reexport."})
    records = [Record.from_value(o, f"book:{i}") for i, o in enumerate(orders)]
    return records, licenses


def gate_for(regime_id: str, engine: str, ledger: Path,
             licenses: list[dict[str, Any]]) -> Gate:
    gate = Gate(Settings(), regime_id=regime_id, engine=engine, ledger_url=f"sqlite:///{ledger}")
    _licenses.add(gate.ledger, _licenses.parse({"licenses": licenses}, "test"))
    return gate


def order_by_order(gate: Gate, records: list[Record]) -> list[Checked]:
    """Each order read, its whole input evaluated alone (no reuse), then decided."""
    out = []
    for record in records:
        orders, chosen = gate.read_record(record)
        for order in orders:
            regime = gate.regime_for(order)
            doc = gate.policy_input(order, regime)
            answer: Answer | None = None
            failure = None
            try:
                answer = ask(gate.engine, regime, "ladders", doc)
            except EngineError as exc:
                failure = str(exc)
            out.extend(gate.step.run([Evaluated(order, regime, doc, answer, failure, chosen)]))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["embedded", "opa"])
@pytest.mark.parametrize("regime_id", ["us-ai-diffusion-2025", "us-advanced-computing-2023"])
def test_the_deduplicated_batch_decides_as_order_by_order_checks(
        engine: str, regime_id: str, tmp_path: Path) -> None:
    records, licenses = book()
    alone_gate = gate_for(regime_id, engine, tmp_path / "alone.db", licenses)
    batch_gate = gate_for(regime_id, engine, tmp_path / "batch.db", licenses)
    try:
        alone = [c.decision for c in order_by_order(alone_gate, records)]
        batched = [c.decision for c in batch_gate.batch(records, workers=0)]
        evaluator = batch_gate.evaluator
    finally:
        alone_gate.close()
        batch_gate.close()
    assert len(batched) == len(alone)
    for a, b in zip(alone, batched, strict=True):
        assert b == a, f"order {a.order} decided differently in the batch"
    lines = sum(len(d.lines) for d in alone)
    # The reuse happened: fewer evaluations than orders, fewer lines than the book's.
    assert evaluator.calls < len(alone) and evaluator.lines < lines / 2
    codes = Counter(r.code for d in alone for line in d.lines for r in line.reasons)
    assert codes["LICENSED"] > 0, "no line drew on a license: the book does not test licenses"
    assert any(line.licenses_not_in_force == () and line.refused
               for d in alone for line in d.lines), "no line fell through a full quota"
    assert any(line.item_class == "hbm" for d in alone for line in d.lines)
    assert codes["SYSTEM"] > 0
