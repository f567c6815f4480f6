"""How the core asks an engine: through ``answer`` when it declares the optional part
of the protocol (`exportgate.Answering`), else through ``evaluate``."""
from __future__ import annotations

from typing import Any

import pytest

from exportgate import Answer, Answering, EngineError, FakeEngine, Regime
from exportgate._plugins import Plugins
from exportgate._settings import Settings
from exportgate.engines.base import ask

REGIME: Regime = Plugins(Settings(), entry_points=False).regime("us-advanced-computing-2023")


class WithIds(FakeEngine):
    """An engine that numbers its evaluations, as an OPA sidecar does."""

    def answer(self, regime: Regime, rule: str, input: dict[str, Any]) -> Answer:
        return Answer(self.evaluate(regime, rule, input), decision_id="d-1")


class AnswerSetToNone(FakeEngine):
    answer = None


def test_an_answering_engine_is_asked_through_answer() -> None:
    engine = WithIds(lambda regime, rule, doc: {"rule": rule})
    assert isinstance(engine, Answering)
    assert ask(engine, REGIME, "ladders", {}) == Answer({"rule": "ladders"}, "d-1")


@pytest.mark.parametrize("engine", [FakeEngine(lambda regime, rule, doc: 7),
                                    AnswerSetToNone(lambda regime, rule, doc: 7)])
def test_any_other_engine_is_asked_through_evaluate(engine: FakeEngine) -> None:
    assert not isinstance(engine, Answering)
    assert ask(engine, REGIME, "ladders", {}) == Answer(7, None)


def test_an_answer_that_raises_is_an_engine_that_could_not_answer() -> None:
    class Broken(FakeEngine):
        def answer(self, regime: Regime, rule: str, input: dict[str, Any]) -> Answer:
            raise KeyError("decision_id")

    with pytest.raises(EngineError, match="KeyError"):
        ask(Broken(lambda regime, rule, doc: 7), REGIME, "ladders", {})
