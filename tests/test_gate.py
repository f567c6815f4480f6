"""The gate's guarantees: fail closed, atomic per order, overrides recorded, calendar."""
from __future__ import annotations

from typing import Any

import pytest

from exportgate import (ConfigError, EngineError, FakeEngine, LedgerError, Outcome, Settings,
                        UnknownRegimeError)
from exportgate._gate import Gate
from exportgate._regime import Regime

from tests.helpers import h100_order


def raising(regime: Regime, rule: str, input: dict[str, Any]) -> Any:
    raise EngineError("engine exploded")


def crashing(regime: Regime, rule: str, input: dict[str, Any]) -> Any:
    """An engine failing in a way it did not foresee (a plugin's bug)."""
    raise KeyError("lines")


def answering(answer: Any) -> FakeEngine:
    return FakeEngine(lambda regime, rule, input: answer)


def ladders(**change: Any) -> dict[str, Any]:
    """A well-formed answer for h100_order("X", "IN", 100) with one part changed."""
    doc = {"contract": 2, "regime": "us-ai-diffusion-2025",
           "facts": {"dest": "IN", "hq": "IN", "parent_hq": "IN", "consignee": "in-1",
                     "year": 2025, "lists": ""},
           "ladders": {"dc-a": [{"row": "D9", "outcome": "deny", "code": "ALLOCATION_EXHAUSTED"}]},
           "lines": [{"id": "10", "class": "adv-a", "tpp": 1583200, "units": 100, "extra": [],
                      "ladder": "dc-a"}]}
    doc.update(change)
    return doc


METERED_LAST = [{"row": "D6", "outcome": "notify", "code": "LPP",
                 "quota": {"key": "lpp:in-1:2025", "cap": 26900000, "measure": "tpp"}}]


@pytest.mark.parametrize("engine", [
    FakeEngine(raising),
    FakeEngine(crashing),  # not an EngineError: still held, no traceback
    answering(None),  # undefined
    answering(ladders(lines=[])),  # lines missing
    answering(ladders(contract=1)),  # an older contract
    answering(ladders(regime="us-country-deals-2025")),  # another regime's answer
    answering(ladders(ladders={"dc-a": []})),  # an empty ladder
    answering(ladders(ladders={"dc-a": METERED_LAST})),  # may fall off its end
    answering(ladders(ladders={"dc-a": [{"row": "D9", "outcome": "ship", "code": "X"}]})),
    answering(ladders(ladders={"dc-a": [{"row": "NOPE", "outcome": "allow", "code": "X"}]})),
    answering(ladders(ladders={"dc-a": [{"row": "D9", "outcome": "allow", "code": "X"}]})),
    answering(ladders(lines=[{"id": "10", "class": "adv-a", "tpp": True, "units": 100,
                              "extra": [], "ladder": "dc-a"}])),  # a boolean is no number
], ids=["raises", "crashes", "undefined", "wrong-lines", "contract-1", "other-regime", "empty-ladder",
        "metered-last", "bad-outcome", "unknown-row", "outcome-not-the-rows", "bool-tpp"])
def test_an_engine_that_cannot_answer_holds_every_line(make_gate: Any, engine: Any) -> None:
    gate = make_gate(engine=engine)
    decision = gate.check(h100_order("X", "IN", 100)).decision
    assert decision.error
    assert decision.outcome is Outcome.LICENSE
    assert all(line.outcome is Outcome.LICENSE for line in decision.lines)
    assert decision.lines[0].reasons[0].code == "EVALUATION_ERROR"
    assert gate.ledger.reservations() == []


def test_the_fake_engine_drives_the_real_fold(make_gate: Any) -> None:
    """A well-formed answer is folded, rendered and reserved like any engine's."""
    fake = answering(ladders(ladders={"dc-a": METERED_LAST + [
        {"row": "D9", "outcome": "deny", "code": "ALLOCATION_EXHAUSTED"}]}))
    gate = make_gate(engine=fake)
    decision = gate.check(h100_order("X", "IN", 100)).decision
    assert decision.error is None and decision.lines[0].outcome is Outcome.NOTIFY
    assert "1,583,200 of in-1's 26,900,000 TPP" in decision.lines[0].reasons[0].message
    assert [r["quota"] for r in gate.ledger.reservations()] == ["lpp:in-1:2025"]
    assert fake.inputs and "quota" not in fake.inputs[0]


def test_a_failed_recheck_keeps_the_earlier_reservation(make_gate: Any) -> None:
    gate = make_gate()
    gate.check(h100_order("A", "IN", 100))
    before = gate.ledger.reservations()
    broken = make_gate(engine=FakeEngine(raising), ledger=gate.ledger_url)
    assert broken.check(h100_order("A", "IN", 900)).decision.error
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


def test_a_check_of_an_order_already_shipped_is_held(make_gate: Any) -> None:
    """The decision step's one behaviour for an order whose quota was committed at shipment:
    held, saying so, and its commitment left as it was (a batch does the same)."""
    gate = make_gate()
    gate.check(h100_order("A", "IN", 100))
    gate.ledger.commit("A")
    shipped = gate.ledger.reservations()
    decision = gate.check(h100_order("A", "IN", 900)).decision
    assert decision.outcome is Outcome.LICENSE
    assert "committed at shipment" in (decision.error or "")
    assert gate.ledger.reservations() == shipped


def test_the_decision_step_alone_holds_what_it_cannot_decide(make_gate: Any,
                                                            tmp_path: Any) -> None:
    """The step as a host's service drives it, without the gate's reading: an order the
    engine could not answer keeps that reason even when the ledger cannot be opened; one
    it answered is held with the ledger's; each is audited, nothing is reserved."""
    from exportgate._decide import DecisionStep, Evaluated
    from exportgate.engines.base import Answer
    from exportgate.ledger.urls import open_ledger
    gate = make_gate()
    order = gate.prepare(h100_order("S", "IN", 100))
    regime = gate.regime_for(order)
    doc = gate.policy_input(order, regime)
    answer = Answer(gate.engine.evaluate(regime, "ladders", doc))
    (tmp_path / "dir.db").mkdir()
    recorded: list[Any] = []
    step = DecisionStep(lambda: open_ledger(f"sqlite:///{tmp_path / 'dir.db'}"),
                        [lambda o, d, i, s: recorded.append((o.id, d.error))])
    unanswered = Evaluated(order, regime, doc, None, "engine exploded")
    answered = Evaluated(order, regime, doc, answer)
    errors = [c.decision.error or "" for c in step.run([unanswered, answered])]
    assert "engine exploded" in errors[0] and "ledger" in errors[1]
    assert [e for _, e in recorded] == errors
    ok = DecisionStep(lambda: gate.ledger, []).run([answered])
    assert [c.decision.lines[0].reasons[0].code for c in ok] == ["LPP"]
    assert [r["order"] for r in gate.ledger.reservations()] == ["S"]


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


def test_a_row_that_only_counts_keeps_the_total_growing(make_gate: Any) -> None:
    """D2N (AIA certification due) counts against the consignee's cumulative total without a
    cap, so a later small order cannot slip back under the threshold."""
    end_user = {"id": "eu-1", "country": "DE", "certifications": ["AIA"]}
    gate = make_gate()
    big = gate.check(h100_order("AIA-1", "DE", 16000, end_user=end_user)).decision
    small = gate.check(h100_order("AIA-2", "DE", 10, end_user=end_user)).decision
    assert [big.lines[0].reasons[0].code, small.lines[0].reasons[0].code] == \
        ["AIA_CERT_SUBMIT", "AIA_CERT_SUBMIT"]
    assert [(r["quota"], r["tpp"], r["cap"]) for r in gate.ledger.reservations()] == [
        ("aia:eu-1", 16000 * 15832, None), ("aia:eu-1", 10 * 15832, None)]
    # Released, the big order no longer counts: the small one is below the threshold again.
    gate.ledger.release("AIA-1")
    again = gate.check(h100_order("AIA-2", "DE", 10, end_user=end_user)).decision
    assert again.lines[0].reasons[0].code == "AIA"


def test_messages_quote_the_numbers_in_force(make_gate: Any) -> None:
    """A parameter override never leaves a stale number in a message or a citation."""
    settings = Settings(parameters={"us-country-deals-2025": {"low_volume_cap_tpp": 3166400}})
    gate = make_gate("us-country-deals-2025", settings=settings)
    reason = gate.check(h100_order("LV", "KR", 100)).decision.lines[0].reasons[0]
    assert reason.code == "LOW_VOLUME"
    assert "3,166,400 TPP per consignee" in reason.cite
    assert "1,583,200 of kr-1's 3,166,400 TPP" in reason.message


def test_each_reason_names_its_trade_compliance_check(make_gate: Any) -> None:
    """The check a row belongs to is the regime's data, carried on every reason."""
    gate = make_gate()
    embargo = gate.check(h100_order("E1", "IR", 1)).decision.lines[0].reasons[0]
    listed = gate.check(h100_order("L1", "DE", 1, end_user={
        "id": "x", "country": "DE", "restrictions": [{"list": "uvl", "policy": "case-by-case"}]})
        ).decision.lines[0].reasons[0]
    legal = gate.check(h100_order("T1", "IN", 100)).decision.lines[0].reasons[0]
    assert [(r.code, r.check) for r in (embargo, listed, legal)] == [
        ("EMBARGO", "embargo"), ("RESTRICTED_PARTY", "sanctioned_list"), ("LPP", "legal_control")]
