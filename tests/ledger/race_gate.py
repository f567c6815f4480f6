"""What a race's worker process runs, whichever race it is (`scenario`, `license_race`).

Each race module keeps its own regime, settings and orders, and hands them
here: one `Plugins` per regime and process, so the regime is compiled once
per worker; checks in turn, their decisions as JSON dicts; a warm-up that
compiles the regime before the clock starts. Worker processes import this
module (``spawn``): keep it free of pytest.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from exportgate import Order, Settings
from exportgate._gate import Gate
from exportgate._plugins import Plugins

_plugins: dict[str, Plugins] = {}


def gate(settings: Settings, regime: str, ledger_url: str) -> Gate:
    """A Gate on ``ledger_url``; the regime stays compiled across calls in one process."""
    if regime not in _plugins:
        _plugins[regime] = Plugins(settings)
    return Gate(settings, regime_id=regime, ledger_url=ledger_url, plugins=_plugins[regime])


def check_all(g: Gate, orders: Iterable[Order | dict[str, Any]]) -> list[dict[str, Any]]:
    """Check ``orders`` in turn on ``g``, then close its ledger; the decisions as JSON dicts."""
    try:
        return [g.check(order).decision.to_dict() for order in orders]
    finally:
        g.ledger.close()


def warm(g: Gate, order: dict[str, Any]) -> int:
    """Load and compile ``g``'s regime by evaluating ``order`` once; close its ledger."""
    g.engine.evaluate(g.fixed_regime, "ladders", {"contract": 2, "order": order})
    g.ledger.close()
    return 0
