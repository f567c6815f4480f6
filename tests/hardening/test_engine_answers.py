"""Hostile engine answers: each holds the order (``license`` with an ``error``), reserves
nothing, and never ends in a traceback.

The real embedded engine decides; a `FakeEngine` around it bends one number
of its answer (a line's TPP, a quota's cap) into something that is not a
number the ledger can hold: a boolean, 10**30, NaN, a string, a list nested
100,000 deep.
"""
from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from exportgate.engines.fake import FakeEngine
from exportgate._gate import Gate
from exportgate._model import Outcome
from exportgate._regime import Regime
from exportgate._settings import Settings

from tests.helpers import h100_order

REGIME = "us-ai-diffusion-2025"


class Deep(list):  # type: ignore[type-arg]
    """A list nested 100,000 deep, built without recursion."""

    def __init__(self) -> None:
        super().__init__()
        inner: list[Any] = self
        for _ in range(100_000):
            nxt: list[Any] = []
            inner.append(nxt)
            inner = nxt


def _bent(path: str, value: Callable[[], Any], tmp_path: Path) -> Any:
    real = Gate(Settings(), regime_id=REGIME, ledger_url=f"sqlite:///{tmp_path / 'x.db'}")
    inner = real.engine

    def handler(regime: Regime, rule: str, doc: dict[str, Any]) -> Any:
        answer = copy.deepcopy(inner.evaluate(regime, rule, doc))
        if path == "tpp":
            answer["lines"][0]["tpp"] = value()
        elif path == "units":
            answer["lines"][0]["units"] = value()
        else:
            answer["ladders"]["dc-a"][0]["quota"][path] = value()
        return answer

    with Gate(Settings(), regime_id=REGIME, ledger_url=f"sqlite:///{tmp_path / 'l.db'}",
              engine=FakeEngine(handler)) as gate:
        decision = gate.check(h100_order("SO-1", "IN", 10)).decision
        rows = gate.ledger.reservations()
    real.close()
    return decision, rows


def test_the_unbent_answer_reserves(tmp_path: Path) -> None:
    decision, rows = _bent("tpp", lambda: 158320, tmp_path)
    assert decision.error is None and rows


@pytest.mark.parametrize("field", ["tpp", "units", "cap"])
@pytest.mark.parametrize("value", [lambda: True, lambda: 10 ** 30, lambda: -(10 ** 30),
                                   lambda: float("nan"), lambda: float("inf"), lambda: "12",
                                   lambda: 1.5, Deep],
                         ids=["true", "1e30", "-1e30", "nan", "inf", "string", "float", "deep"])
def test_a_bent_number_holds_the_order(field: str, value: Callable[[], Any],
                                       tmp_path: Path) -> None:
    decision, rows = _bent(field, value, tmp_path)
    assert decision.error, decision
    assert decision.outcome is Outcome.LICENSE
    assert all(line.outcome is Outcome.LICENSE for line in decision.lines)
    assert rows == []
