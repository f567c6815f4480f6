"""Random valid orders, decided by rego-cpp and by OPA: the decisions must be identical.

At least 2,000 generated orders per regime (``EXPORTGATE_DIFF_EXAMPLES``),
from a fixed seed so CI is repeatable (``EXPORTGATE_DIFF_SEED=random`` for a
fresh search). The regimes run in parallel worker processes, one per core.
A disagreement fails with Hypothesis's shrunk order; fix it in the Rego and
keep the order in ``regressions.jsonl``.
"""
from __future__ import annotations

from typing import Any

import differ
import pytest

#: Rows each regime's generated orders must reach, so a generator that
#: drifts into one corner fails loudly instead of passing on easy cases.
_COMMON = {"EMBARGO", "RESTRICTED_PARTY", "DOMESTIC", "NOT_CONTROLLED",
           "CLASSIFICATION_CONFLICT", "NAC", "ACA", "NLR", "DC_VEU", "LICENSED"}
MUST_REACH = {
    "us-advanced-computing-2023": _COMMON | {"D5_ADVANCED", "HQ_D5", "D1_D4_ADVANCED"},
    "us-ai-diffusion-2025": _COMMON | {"TIER3", "AIA", "AIA_UNAVAILABLE", "UVEU", "NVEU", "LPP",
                                       "TIER2_LICENSE", "ALLOCATION_EXHAUSTED", "TPP_UNKNOWN"},
    "us-country-deals-2025": _COMMON | {"CONCERN", "LOW_VOLUME", "LICENSE_REQUIRED",
                                        "TPP_UNKNOWN"},
}


@pytest.mark.slow
@pytest.mark.parametrize("regime_id", differ.regime_ids())
def test_generated_orders_decide_alike(regime_id: str, generated_runs: Any) -> None:
    results = [f.result() for f in generated_runs[regime_id]]
    examples = sum(r["examples"] for r in results)
    codes: dict[str, int] = {}
    for r in results:
        for code, k in r["codes"].items():
            codes[code] = codes.get(code, 0) + k
    print(f"\n{regime_id}: {examples} orders in {sum(r['seconds'] for r in results):.0f} s "
          f"(worker time); reasons: {dict(sorted(codes.items()))}")
    for r in results:
        if r["error"]:
            pytest.fail(f"{regime_id}: the engines disagree\n{r['error']}", pytrace=False)
    assert examples >= differ.examples()
    missing = MUST_REACH.get(regime_id, set()) - set(codes)
    assert examples < 1000 or not missing, f"the generated orders never reached {sorted(missing)}"


def test_the_generated_orders_are_valid_canonical_orders() -> None:
    """The runs skip validation for speed; every order they draw must pass it."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    import gen_orders
    from exportgate.ledger import licenses as _licenses
    from exportgate._enrich import require_classification
    from tests.licenses.builders import license_doc
    from exportgate._plugins import Plugins
    from exportgate._settings import Settings
    from exportgate._validate import order_from_dict

    plugins = Plugins(Settings(), entry_points=False)

    @settings(max_examples=300, database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(gen_orders.orders(gen_orders.countries(list(plugins.regimes.values()))),
           st.data())
    def check(order: dict[str, Any], data: Any) -> None:
        require_classification(order_from_dict(order))
        # the licenses drawn around it are ones the registry would record
        # (less the revocation, which the registry stamps itself)
        granted = data.draw(gen_orders.licenses(order))
        _licenses.parse({"licenses": [{k: v for k, v in x.items() if k != "revoked_at"}
                                      for x in granted] or [license_doc()]}, "generated")

    check()
