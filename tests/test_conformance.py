"""The conformance cases, in process, through the Gate, on every in-process engine."""
from __future__ import annotations

from typing import Any

import pytest

from exportgate import InputError, Outcome

from exportgate.ledger import licenses as _licenses
from exportgate._gate import Gate

from tests.helpers import conformance_cases

CASES = conformance_cases()


def _opa_installed() -> bool:
    try:
        import opa_bindings  # noqa: F401
    except ImportError:
        return False
    return True


ENGINES = ["embedded", pytest.param("opa", marks=pytest.mark.skipif(
    not _opa_installed(), reason="the OPA Go bindings are not installed"))]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_conformance_case(case: dict[str, Any], engine: str, make_gate: Any) -> None:
    if case.get("expect_error"):
        with pytest.raises(InputError):
            gate: Gate = make_gate(case["regime"], engine=engine)
            for order in case["orders"]:
                gate.check(order)
        return
    gate = make_gate(case["regime"], engine=engine)
    if case.get("licenses"):
        _licenses.add(gate.ledger, _licenses.parse({"licenses": case["licenses"]}, case["name"]))
    for order, want in zip(case["orders"], case["expect"], strict=True):
        decision = gate.check(order).decision
        assert decision.order == want["order"]
        assert decision.outcome is Outcome(want["outcome"])
        got = {line.id: line.outcome.value for line in decision.lines}
        for line_id, outcome in want["lines"].items():
            assert got[line_id] == outcome, (case["name"], line_id)
        assert decision.error is None
