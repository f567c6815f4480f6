"""The engine interface: evaluate one rule of one regime on one input.

Engines are registered by name through ``exportgate_register_engines``. Each
compiles a regime once, on first use, and reuses it. ``evaluate`` returns the
rule's value, returns ``None`` when the rule is undefined, and raises
`EngineError` when it cannot answer; the gate turns both into a held
(``license``) decision, never ``allow``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

from .._exceptions import EngineError, ExportgateError
from .._regime import Regime
from .._settings import Settings


@runtime_checkable
class Engine(Protocol):
    """What every engine provides."""

    name: str

    def evaluate(self, regime: Regime, rule: str, input: dict[str, Any]) -> Any:
        """The value of ``data.<regime package>.<rule>`` for ``input``; ``None`` if undefined."""
        ...

    def run_tests(self, regime: Regime) -> list[tuple[str, bool, str]]:
        """Run the regime's Rego ``test_`` rules: (name, passed, detail) for each."""
        ...

    def close(self) -> None:
        ...


EngineFactory = Callable[[Settings], Engine]


@dataclass(frozen=True)
class Answer:
    """An evaluation's value, with what the engine knows about it.

    ``decision_id`` is the engine's own id of the evaluation (an OPA
    sidecar's ``decision_id``, which joins exportgate's audit record to OPA's
    decision log). An engine offers it by being `Answering`.
    """

    value: Any
    decision_id: str | None = None


@runtime_checkable
class Answering(Protocol):
    """The optional part of `Engine`: an evaluation's value with what the engine knows of it.

    An engine that has more to say than the value (the ``opa-http`` engine's
    sidecar ``decision_id``) implements ``answer``; `ask` then calls it instead
    of ``evaluate``. An engine without it is asked through ``evaluate``, and
    its answers carry no ``decision_id`` (docs/plugins.md, "Writing an engine").
    """

    def answer(self, regime: Regime, rule: str, input: dict[str, Any]) -> Answer:
        """What ``evaluate`` returns, as an `Answer`; raises as ``evaluate`` does."""
        ...


def ask(engine: Engine, regime: Regime, rule: str, input: dict[str, Any]) -> Answer:
    """Evaluate through the engine's ``answer`` when it is `Answering`, else its ``evaluate``.

    Every caller (a check, a batch in process or in a worker) asks through
    here, so an engine that fails in a way it did not foresee (a plugin's
    engine raising ``KeyError``, a binding raising ``RuntimeError``) is an
    engine that could not answer: `EngineError`, and the order is held,
    never a traceback and never an ``allow``.
    """
    try:
        if isinstance(engine, Answering):
            return engine.answer(regime, rule, input)
        return Answer(engine.evaluate(regime, rule, input))
    except ExportgateError:
        raise
    except Exception as exc:
        raise EngineError(f"engine {getattr(engine, 'name', type(engine).__name__)} failed: "
                          f"{type(exc).__name__}: {str(exc)[:300]}") from exc

