"""The gate's guarantees: fail closed, atomic per order, overrides recorded, calendar."""
from __future__ import annotations

from typing import Any

import pytest

from exportgate import (ConfigError, EngineError, LedgerError, Outcome, Settings,
                        UnknownRegimeError)
from exportgate._gate import Gate
from exportgate._regime import Regime

from tests.helpers import h100_order


class BrokenEngine:
    """A fake engine for unit tests: fails, or answers something malformed."""

    name = "broken"

    def __init__(self, answer: Any = None, fail_on: str | None = None) -> None:
        self.answer, self.fail_on = answer, fail_on
        self.real: Any = None

    def evaluate(self, regime: Regime, rule: str, input: dict[str, Any]) -> Any:
        if rule == self.fail_on:
            raise EngineError("engine exploded")
        if rule == "quota_keys":
            return self.real.evaluate(regime, rule, input)
        return self.answer

    def run_tests(self, regime: Regime) -> list[tuple[str, bool, str]]:
        return []

    def close(self) -> None:
        pass


def with_engine(gate: Gate, engine: BrokenEngine) -> Gate:
    engine.real = gate.plugins.engine("embedded")
    gate.plugins.engines["broken"] = lambda settings: engine
    gate.engine_name = "broken"
    return gate


@pytest.mark.parametrize("engine", [
    BrokenEngine(fail_on="decision"),
    BrokenEngine(fail_on="quota_keys"),
    BrokenEngine(answer=None),  # undefined
    BrokenEngine(answer={"contract": 1, "regime": "us-ai-diffusion-2025", "outcome": "allow",
                         "lines": []}),  # lines missing
    BrokenEngine(answer={"contract": 1, "regime": "us-ai-diffusion-2025", "outcome": "allow",
                         "lines": [{"id": "10", "outcome": "allow", "reasons": [],
                                    "obligations": [], "consumes": []}]}),  # no reason
], ids=["raises", "keys-raise", "undefined", "wrong-lines", "no-reason"])
def test_an_engine_that_cannot_answer_holds_every_line(make_gate: Any, engine: Any) -> None:
    gate = with_engine(make_gate(), engine)
    decision = gate.check(h100_order("X", "IN", 100)).decision
    assert decision.error
    assert decision.outcome is Outcome.LICENSE
    assert all(line.outcome is Outcome.LICENSE for line in decision.lines)
    assert decision.lines[0].reasons[0].code == "EVALUATION_ERROR"
    assert gate.ledger.reservations() == []


def test_a_failed_recheck_keeps_the_earlier_reservation(make_gate: Any) -> None:
    gate = make_gate()
    gate.check(h100_order("A", "IN", 100))
    before = gate.ledger.reservations()
    with_engine(gate, BrokenEngine(fail_on="decision"))
    assert gate.check(h100_order("A", "IN", 900)).decision.error
    assert gate.ledger.reservations() == before


def test_a_ledger_that_cannot_answer_holds_the_order(make_gate: Any, tmp_path: Any) -> None:
    (tmp_path / "dir.db").mkdir()
    unopenable = make_gate(ledger=f"sqlite:///{tmp_path / 'dir.db'}")
    with pytest.raises(LedgerError):
        unopenable.ledger.init()
    held = unopenable.check(h100_order("Z", "IN", 1)).decision
    assert held.outcome is Outcome.LICENSE and held.error
    gate2 = make_gate()
    gate2.check(h100_order("A", "IN", 1))
    gate2.ledger.close()
    gate2.ledger.path = str(tmp_path / "dir.db")  # the database vanishes under the gate
    decision = gate2.check(h100_order("B", "IN", 1)).decision
    assert decision.outcome is Outcome.LICENSE and "ledger" in (decision.error or "")


def test_lines_take_quota_in_line_order_and_the_order_is_its_worst_line(make_gate: Any) -> None:
    order = h100_order("TWO", "IN", 1200)
    order["lines"].append({"id": "20", "item": "H100", "quantity": 600})
    decision = make_gate().check(order).decision
    assert [line.outcome for line in decision.lines] == [Outcome.NOTIFY, Outcome.LICENSE]
    assert decision.outcome is Outcome.LICENSE
    assert [(c.quota, c.tpp) for _, c in decision.consumes] == [
        ("lpp:in-1:2025", 1200 * 15832), ("alloc:IN", 600 * 15832)]


def test_a_parameter_override_changes_decisions_and_is_recorded(make_gate: Any) -> None:
    settings = Settings(parameters={"us-ai-diffusion-2025": {"lpp_cap_tpp": 7916000}})
    gate = make_gate(settings=settings)
    decision = gate.check(h100_order("P", "IN", 600)).decision
    assert decision.lines[0].reasons[0].code == "TIER2_LICENSE"
    assert decision.parameters == {"lpp_cap_tpp": 7916000}
    assert decision.to_dict()["parameters"] == {"lpp_cap_tpp": 7916000}
    assert gate.ledger.orders()[0]["parameters"] == '{"lpp_cap_tpp": 7916000}'
    plain = make_gate(ledger=f"sqlite:///{gate.ledger.path}.2").check(
        h100_order("P", "IN", 600)).decision
    assert plain.lines[0].reasons[0].code == "LPP" and plain.parameters == {}


def test_an_unknown_parameter_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="parameters.us-ai-diffusion-2025.lpp_cap"):
        Gate(Settings(parameters={"us-ai-diffusion-2025": {"lpp_cap": 1}}))


def test_the_calendar_picks_the_regime_in_force_on_the_order_date(make_gate: Any) -> None:
    settings = Settings(calendar=[
        {"regime": "us-advanced-computing-2023", "effective_from": "2023-11-17"},
        {"regime": "us-ai-diffusion-2025", "effective_from": "2025-05-15",
         "effective_to": "2025-05-16"},
    ])
    gate = make_gate(regime_id=None, settings=settings)
    assert gate.check(h100_order("D", "IN", 5000, date="2025-05-15")).decision.regime == \
        "us-ai-diffusion-2025"
    assert gate.check(h100_order("B", "IN", 5000, date="2025-06-02")).decision.regime == \
        "us-advanced-computing-2023"
    with pytest.raises(UnknownRegimeError, match="no regime in the calendar"):
        gate.check(h100_order("E", "IN", 1, date="2020-01-01"))


def test_a_regime_is_required_without_a_calendar(make_gate: Any) -> None:
    with pytest.raises(UnknownRegimeError, match="--regime"):
        make_gate(regime_id=None).check(h100_order("N", "IN", 1))
