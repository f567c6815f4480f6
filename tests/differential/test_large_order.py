"""A large order decides the same whether its lines are evaluated in slices or whole.

`Gate.evaluate` asks the engine with one line of each kind, at most
`LINES_PER_CALL` lines a call, the order's facts identical in each (so rego-cpp
can hold an order of any size); the fold stays whole, over every line in
order. On `opa`, which evaluates the whole input too, the two decisions
must be identical.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from exportgate import Gate, Settings
from exportgate._contexts import LINES_PER_CALL
from exportgate._decide import Evaluated
from exportgate.engines.base import ask

LINES = 20_000
CATALOG = ["NVIDIA-H100-SXM5-80GB", "NVIDIA-H200-SXM-141GB", "NVIDIA-HGX-H100-8GPU",
           "HBM3E-12H-36GB", "NVIDIA-RTX-4090-24GB", "NVIDIA-L40S-48GB"]


def large_order() -> dict[str, Any]:
    """Half catalog items, half 700 kinds of part classified on the line; a Tier 2
    consignee, so LPP runs out part-way and later lines fall through to the allocation."""
    rng = random.Random(11)
    lines = []
    for i in range(LINES):
        line: dict[str, Any] = {"id": str(i + 1), "quantity": rng.randint(1, 40)}
        if i % 2:
            line["item"] = rng.choice(CATALOG)
        else:
            k = rng.randrange(700)
            line["item"] = f"PART-{k}"
            line["classification"] = {"eccn": "3A090.a" if k % 3 else "EAR99",
                                      "tpp": 1000 + 37 * k}
        lines.append(line)
    return {"id": "LARGE-1", "date": "2025-06-02",
            "parties": {"ship_to": {"id": "in-large", "country": "IN"}}, "lines": lines}


@pytest.mark.slow
def test_a_large_order_decides_the_same_in_slices_as_whole(tmp_path: Path) -> None:
    split = Gate(Settings(), regime_id="us-ai-diffusion-2025", engine="opa",
                 ledger_url=f"sqlite:///{tmp_path / 'split.db'}")
    whole = Gate(Settings(), regime_id="us-ai-diffusion-2025", engine="opa",
                 ledger_url=f"sqlite:///{tmp_path / 'whole.db'}")
    try:
        sliced = split.check(large_order())
        calls = split.evaluator.calls
        order = whole.prepare(large_order())
        regime = whole.regime_for(order)
        doc = whole.policy_input(order, regime)
        [alone] = whole.step.run([Evaluated(order, regime, doc,
                                            ask(whole.engine, regime, "ladders", doc))])
    finally:
        split.close()
        whole.close()
    assert calls >= 3  # more kinds of line than one call carries: evaluated in slices
    assert calls <= -(-(700 + len(CATALOG)) // LINES_PER_CALL)
    assert sliced.decision.error is None
    assert sliced.decision == alone.decision
    codes = {line.reasons[0].code for line in alone.decision.lines}
    assert {"LPP", "TIER2_LICENSE"} <= codes  # the fold ran over the whole order, in order
