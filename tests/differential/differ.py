"""Evaluate one order on the embedded engine (rego-cpp) and on OPA, and compare.

Both engines see the same policy input, exactly as the gate builds it (the
order alone, policy contract 2), and their ``ladders`` answers are compared
whole: every line's class, TPP, extra rows and ladder, every candidate with
its outcome, code and quota. The common answer is then folded with the
usage the caller gives, as the gate folds it, into the decision returned.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from exportgate.engines.opa import OpaEngine
from exportgate.engines.embedded import RegopyEngine
from exportgate._enrich import require_classification
from exportgate._fold import Renderer, fold
from exportgate._model import Order
from exportgate._policy import parse_ladders, policy_input
from exportgate._regime import Regime
from exportgate._validate import order_from_dict


class Disagreement(AssertionError):
    pass


def engines() -> dict[str, Any]:
    return {"embedded": RegopyEngine(), "opa": OpaEngine()}


def _show(value: Any) -> str:
    return json.dumps(value, sort_keys=True)[:4000]


def compare(engs: dict[str, Any], regime: Regime, order_doc: dict[str, Any],
            usage_for: Callable[[list[str]], dict[str, int]],
            validate: bool = True,
            licenses: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Decide ``order_doc`` on both engines; raise Disagreement on any difference.

    ``usage_for(keys)`` gives the quota other orders hold of the announced keys;
    ``licenses`` go into the input as the gate puts recorded licenses there.
    Returns the (common) decision value.
    """
    order = order_from_dict(order_doc) if validate else Order.from_dict(order_doc)
    require_classification(order)
    doc = policy_input(order)
    if licenses:
        doc["licenses"] = licenses
    out = {name: e.evaluate(regime, "ladders", doc) for name, e in engs.items()}
    if out["embedded"] != out["opa"]:
        raise Disagreement(f"{regime.id}: ladders differ\n  input: {_show(doc)}\n"
                           f"  embedded: {_show(out['embedded'])}\n  opa: {_show(out['opa'])}")
    if out["opa"] is None:
        raise Disagreement(f"{regime.id}: both engines left the ladders undefined\n"
                           f"  input: {_show(doc)}")
    ladders = parse_ladders(out["opa"], order, regime)
    # The licenses the ledger would read as in force under the entries' locks.
    in_force = {x["number"] for x in licenses or ()
                if not x.get("revoked_at") and x["issued"] <= order.date <= x["expires"]}
    picks = fold(ladders, usage_for(ladders.keys()), in_force)
    return Renderer(regime).decide(order, ladders, picks).to_dict()


def regime_ids() -> list[str]:
    from exportgate._plugins import Plugins
    from exportgate._settings import Settings
    return sorted(Plugins(Settings(), entry_points=False).regimes)


def examples() -> int:
    """Generated orders per regime: ``EXPORTGATE_DIFF_EXAMPLES``, default 2000."""
    return int(os.environ.get("EXPORTGATE_DIFF_EXAMPLES", "2000"))


def seed() -> int | None:
    """``EXPORTGATE_DIFF_SEED``: a number (default 20260115, so CI is repeatable) or
    ``random`` for a fresh search."""
    raw = os.environ.get("EXPORTGATE_DIFF_SEED", "20260115")
    return None if raw == "random" else int(raw)


def run_generated(regime_id: str, n: int, seed_: int | None) -> dict[str, Any]:
    """Decide ``n`` generated orders on both engines (in a worker process).

    Returns how many were compared, the reason codes seen, the seconds taken
    and, on a disagreement, the failure text with Hypothesis's shrunk example.
    """
    import time
    import traceback

    import gen_orders
    from exportgate._plugins import Plugins
    from exportgate._settings import Settings
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as fix_seed
    from hypothesis import strategies as st

    plugins = Plugins(Settings(), entry_points=False)
    regime = plugins.regime(regime_id)
    engs = engines()
    usage = gen_orders.usage(regime)
    license_usage = gen_orders.license_usage()
    seen: dict[str, int] = {}
    count = 0

    @settings(max_examples=n, deadline=None, database=None, derandomize=False,
              phases=[Phase.generate, Phase.shrink], print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(order=gen_orders.orders(gen_orders.countries(list(plugins.regimes.values()))),
           data=st.data())
    def check(order: dict[str, Any], data: Any) -> None:
        nonlocal count
        granted = data.draw(gen_orders.licenses(order), label="licenses")
        decided = compare(engs, regime, order,
                          lambda keys: {k: data.draw(license_usage if k.startswith("license:")
                                                     else usage, label=k) for k in keys},
                          validate=False, licenses=granted)
        count += 1
        for line in decided["lines"]:
            for reason in line["reasons"]:
                seen[reason["code"]] = seen.get(reason["code"], 0) + 1

    if seed_ is not None:
        check = fix_seed(seed_)(check)
    started = time.perf_counter()
    error = None
    try:
        check()
    except BaseException as exc:  # report everything; the parent fails the test
        error = "".join(traceback.format_exception(exc))
    finally:
        for engine in engs.values():
            engine.close()
    return {"regime": regime_id, "examples": count, "codes": seen, "error": error,
            "seconds": time.perf_counter() - started}
