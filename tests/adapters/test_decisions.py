"""The examples decide as expected under every regime, and as their canonical equivalents do."""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import erp_examples as ex
import pytest
from exportgate import Decision, Record, Settings
from exportgate._gate import Gate
from exportgate._plugins import Plugins

GateFor = Callable[[str], Gate]

CASES = [(rel, order_id, key) for rel, orders in ex.EXPECTED["records"].items()
         for order_id in orders for key in ex.REGIMES]


@pytest.fixture
def gate_for(tmp_path: Path, settings: Settings,
             plugins: Plugins) -> Iterator[GateFor]:
    """``gate_for(regime key)``: a gate on a fresh ledger (the compiled engines are shared)."""
    gates: list[Gate] = []

    def make(key: str) -> Gate:
        url = f"sqlite:///{tmp_path / f'ledger-{len(gates)}.db'}"
        gates.append(Gate(settings, regime_id=ex.REGIMES[key], ledger_url=url, plugins=plugins))
        return gates[-1]

    yield make
    for gate in gates:
        gate.ledger.close()


def _decide(gate: Gate, rec: Record, order_id: str) -> Decision:
    orders, adapter = gate.read(rec)
    [order] = [o for o in orders if o.id == order_id]
    return gate.check(order, adapter).decision


@pytest.mark.parametrize("rel,order_id,key", CASES)
def test_example_decides_as_expected(rel: str, order_id: str, key: str, gate_for: GateFor) -> None:
    decision = _decide(gate_for(key), ex.record(rel), order_id)
    outcome, lines = ex.EXPECTED["records"][rel][order_id][key]
    assert decision.error is None
    assert (decision.outcome.value, {ld.id: ld.outcome.value for ld in decision.lines}) \
        == (outcome, lines)


@pytest.mark.parametrize("rel", ex.RECORDS)
@pytest.mark.parametrize("key", list(ex.REGIMES))
def test_record_decides_as_its_canonical_equivalent(rel: str, key: str, gate_for: GateFor) -> None:
    for canonical in ex.canonical(rel):
        from_record = _decide(gate_for(key), ex.record(rel), canonical["id"])
        from_canonical = _decide(gate_for(key), Record.from_value(canonical, "canonical"),
                                 canonical["id"])
        assert from_record.to_dict() == from_canonical.to_dict()


@pytest.mark.parametrize("rel", ex.RECORDS)
def test_check_record_hands_the_adapters_writeback_to_the_host(rel: str, gate_for: GateFor) -> None:
    checked = gate_for("aid").check_record(ex.record(rel))
    for c in checked:
        assert c.writeback is not None
        assert c.writeback["adapter"] == ex.adapter_of(rel)
        assert c.writeback["order"] == c.order.id
        assert c.writeback["outcome"] == c.decision.outcome.value
        assert c.writeback["block"] is (c.decision.outcome.value != "allow")
