"""The policy contract in code: the input document and the parsing of the result.

docs/policy-contract.md describes both documents. The input is one whole
order plus the quota other orders already hold of the keys the order may
touch; the output is checked against a cerberus schema before it becomes a
`Decision`, so a policy that answers something malformed is held, not trusted.
"""
from __future__ import annotations

from typing import Any

import cerberus

from ._exceptions import UndefinedResult
from ._model import Consumption, Decision, LineDecision, Order, Outcome, Reason
from ._regime import Regime

CONTRACT = 1

_REASON = {"type": "dict", "schema": {
    "code": {"type": "string", "required": True}, "cite": {"type": "string", "required": True},
    "message": {"type": "string", "required": True}, "row": {"type": "string"}}}

DECISION_OUTPUT: dict[str, Any] = {
    "contract": {"type": "integer", "required": True, "allowed": [CONTRACT]},
    "regime": {"type": "string", "required": True},
    "outcome": {"type": "string", "required": True,
                "allowed": [o.value for o in Outcome]},
    "lines": {"type": "list", "required": True, "schema": {"type": "dict", "schema": {
        "id": {"type": "string", "required": True},
        "outcome": {"type": "string", "required": True, "allowed": [o.value for o in Outcome]},
        "class": {"type": "string"},
        "reasons": {"type": "list", "required": True, "minlength": 1, "schema": _REASON},
        "obligations": {"type": "list", "required": True, "schema": {"type": "dict"}},
        "consumes": {"type": "list", "required": True, "schema": {"type": "dict", "schema": {
            "quota": {"type": "string", "required": True},
            "tpp": {"type": "integer", "required": True, "min": 0},
            "cap": {"type": "integer", "nullable": True}}}},
    }}},
}


def policy_input(order: Order, quota: dict[str, int] | None = None) -> dict[str, Any]:
    """The input document for one order (contract version 1)."""
    return {"contract": CONTRACT, "order": order.to_dict(), "quota": dict(quota or {})}


def parse_quota_keys(raw: Any, regime: Regime) -> list[str]:
    if raw is None:
        raise UndefinedResult(f"{regime.id}: quota_keys is undefined for this order")
    if not isinstance(raw, list) or not all(isinstance(k, str) for k in raw):
        raise UndefinedResult(f"{regime.id}: quota_keys is not a list of strings")
    return sorted(raw)


def parse_decision(raw: Any, order: Order, regime: Regime, keys: list[str]) -> Decision:
    """Check the policy's answer against the contract and the order; build the Decision."""
    if raw is None:
        raise UndefinedResult(f"{regime.id}: the decision is undefined for order {order.id}")
    v = cerberus.Validator(DECISION_OUTPUT, allow_unknown=True)
    if not isinstance(raw, dict) or not v.validate(raw):
        errors = v.errors if isinstance(raw, dict) else "not an object"
        raise UndefinedResult(f"{regime.id}: malformed decision for order {order.id}: {errors}")
    ids = [line["id"] for line in raw["lines"]]
    if ids != [line.id for line in order.lines]:
        raise UndefinedResult(f"{regime.id}: the decision's lines {ids} do not match the "
                              f"order's lines {[line.id for line in order.lines]}")
    if raw["regime"] != regime.id:
        raise UndefinedResult(f"policy answered for regime {raw['regime']!r}, not {regime.id!r}")
    lines = []
    for line in raw["lines"]:
        consumes = tuple(Consumption(c["quota"], c["tpp"], c.get("cap"))
                         for c in line["consumes"])
        for c in consumes:
            if c.quota not in keys:
                raise UndefinedResult(f"{regime.id}: line {line['id']} consumes {c.quota}, "
                                      "which quota_keys did not announce")
        lines.append(LineDecision(
            id=line["id"], outcome=Outcome(line["outcome"]),
            reasons=tuple(Reason(r["code"], r["cite"], r["message"], r.get("row"))
                          for r in line["reasons"]),
            obligations=tuple(line["obligations"]), consumes=consumes,
            item_class=line.get("class")))
    decision = Decision(order=order.id, regime=regime.id, lines=tuple(lines),
                        parameters=dict(regime.parameters), revision=regime.revision)
    if decision.outcome.value != raw["outcome"]:
        raise UndefinedResult(f"{regime.id}: order outcome {raw['outcome']} is not its worst "
                              f"line ({decision.outcome.value})")
    return decision
