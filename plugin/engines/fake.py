"""An engine that answers from a function, for tests and plugin authors.

Like httpx's ``MockTransport``: hand the gate a `FakeEngine` whose handler
returns what an engine would (or raises `EngineError`), and the rest of the
path (contract checks, fold, ledger, audit, hooks) runs for real. It is not
registered as an engine: a deployment cannot select it by name.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._regime import Regime

#: handler(regime, rule, input) -> the rule's value (None: undefined).
Handler = Callable[[Regime, str, dict[str, Any]], Any]


class FakeEngine:
    """Answers every evaluation with ``handler``; records the inputs it was given."""

    name = "fake"

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.inputs: list[dict[str, Any]] = []

    def evaluate(self, regime: Regime, rule: str, input: dict[str, Any]) -> Any:
        self.inputs.append(input)
        return self.handler(regime, rule, input)

    def run_tests(self, regime: Regime) -> list[tuple[str, bool, str]]:
        return []

    def close(self) -> None:
        pass
