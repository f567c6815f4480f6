"""Evaluate one order on the embedded engine (rego-cpp) and on OPA, and compare.

Both engines see the same policy input, exactly as the gate builds it: first
``quota_keys`` (no quota), then ``decision`` with the usage of those keys.
The raw rule values are compared whole (every line's outcome, class,
reasons with their messages, obligations, and the quota consumed), not just
the outcomes.
"""
from __future__ import annotations

import json
import os
from typing import Any, Callable

from exportgate._engine_opa import OpaEngine
from exportgate._engine_regopy import RegopyEngine
from exportgate._enrich import require_classification
from exportgate._policy import policy_input
from exportgate._regime import Regime
from exportgate._validate import order_from_dict


class Disagreement(AssertionError):
    pass


def engines() -> dict[str, Any]:
    return {"embedded": RegopyEngine(), "opa": OpaEngine()}


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)[:4000]


def compare(engs: dict[str, Any], regime: Regime, order_doc: dict[str, Any],
            usage_for: Callable[[list[str]], dict[str, int]]) -> dict[str, Any]:
    """Decide ``order_doc`` on both engines; raise Disagreement on any difference.

    ``usage_for(keys)`` gives the quota other orders hold of the announced keys.
    Returns the (common) decision value.
    """
    order = order_from_dict(order_doc)
    require_classification(order)
    first = policy_input(order)
    keys = {name: e.evaluate(regime, "quota_keys", first) for name, e in engs.items()}
    if keys["embedded"] != keys["opa"]:
        raise Disagreement(f"{regime.id}: quota_keys differ\n  input: {_show(first)}\n"
                           f"  embedded: {_show(keys['embedded'])}\n  opa: {_show(keys['opa'])}")
    announced = sorted(keys["opa"] or [])
    doc = policy_input(order, usage_for(announced))
    out = {name: e.evaluate(regime, "decision", doc) for name, e in engs.items()}
    if out["embedded"] != out["opa"]:
        raise Disagreement(f"{regime.id}: decisions differ\n  input: {_show(doc)}\n"
                           f"  embedded: {_show(out['embedded'])}\n  opa: {_show(out['opa'])}")
    if out["opa"] is None:
        raise Disagreement(f"{regime.id}: both engines left the decision undefined\n"
                           f"  input: {_show(doc)}")
    return dict(out["opa"])


def examples() -> int:
    return int(os.environ.get("EXPORTGATE_DIFF_EXAMPLES", "2000"))
