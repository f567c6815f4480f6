"""Every conformance case and every regime's Rego tests, on rego-cpp and on OPA alike.

The conformance cases go through the whole gate (ledger included), once per
engine on a ledger of its own; every decision must be identical on both,
whole (outcomes, reasons, obligations, quota consumed), and as the case
expects. The Rego tests must pass on both engines, test for test.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import differ
import pytest
from exportgate import InputError
from exportgate.engines import rego_text
from exportgate.ledger import licenses as _licenses
from exportgate._gate import Gate
from exportgate._plugins import Plugins
from exportgate._settings import Settings
from exportgate._validate import order_from_dict

from tests.helpers import conformance_cases

CASES = [c for c in conformance_cases() if not c.get("expect_error")]
REGRESSIONS = [json.loads(line) for line in
               (Path(__file__).parent / "regressions.jsonl").read_text().splitlines()
               if line.strip() and not line.startswith("//")]
PLUGINS = Plugins(Settings(), entry_points=False)
REGIMES = sorted(PLUGINS.regimes)


@pytest.fixture(scope="module")
def engines() -> Any:
    engs = differ.engines()
    yield engs
    for engine in engs.values():
        engine.close()


def _decide(case: dict[str, Any], engine: str, ledger: Path) -> list[dict[str, Any]]:
    gate = Gate(Settings(), regime_id=case["regime"], ledger_url=f"sqlite:///{ledger}",
                engine=engine, plugins=Plugins(Settings(), entry_points=False))
    with gate:
        if case.get("licenses"):
            _licenses.add(gate.ledger, _licenses.parse({"licenses": case["licenses"]},
                                                       case["name"]))
        return [gate.check(order).decision.to_dict() for order in case["orders"]]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_conformance_case_decides_alike(case: dict[str, Any], tmp_path: Path) -> None:
    embedded = _decide(case, "embedded", tmp_path / "embedded.db")
    opa = _decide(case, "opa", tmp_path / "opa.db")
    for mine, theirs in zip(embedded, opa, strict=True):
        assert mine == theirs, f"{case['name']}: the engines disagree on {mine['order']}"
    for want, got in zip(case["expect"], opa, strict=True):
        assert got["error"] is None
        assert (got["order"], got["outcome"]) == (want["order"], want["outcome"])
        lines = {line["id"]: line["outcome"] for line in got["lines"]}
        assert {k: lines.get(k) for k in want["lines"]} == want["lines"]


def test_error_cases_fail_alike_on_opa(tmp_path: Path) -> None:
    for case in (c for c in conformance_cases() if c.get("expect_error")):
        with pytest.raises(InputError):
            _decide(case, "opa", tmp_path / f"{case['name']}.db")


def _split_tests(regime_id: str) -> list[tuple[str, Any]]:
    """The regime's own tests; the library's (bar its helpers) run with the first regime only."""
    regime = PLUGINS.regime(regime_id)
    own = {k: v for k, v in regime.test_modules.items()
           if not k.startswith("lib/") or not rego_text.test_rule_names(v)}
    if regime_id == REGIMES[0]:
        own = dict(regime.test_modules)
    return [(regime_id, dataclasses.replace(regime, test_modules=own))]


@pytest.mark.parametrize("regime_id", REGIMES)
def test_rego_tests_pass_on_both_engines(regime_id: str, engines: dict[str, Any]) -> None:
    [(_, regime)] = _split_tests(regime_id)
    results = {name: engine.run_tests(regime) for name, engine in engines.items()}
    names = {name: [test for test, _, _ in res] for name, res in results.items()}
    assert names["embedded"] == names["opa"]
    assert names["opa"], f"{regime_id} has no Rego tests"
    failed = [f"{engine}: {test}: {detail}" for engine, res in results.items()
              for test, ok, detail in res if not ok]
    assert not failed, "\n".join(failed)


@pytest.mark.parametrize("case", REGRESSIONS, ids=[c["name"] for c in REGRESSIONS])
def test_regression_decides_alike(case: dict[str, Any], engines: dict[str, Any]) -> None:
    """Inputs on which the engines once disagreed (regressions.jsonl says how and why)."""
    regime = PLUGINS.regime(case["regime"])
    if case.get("policy_only"):  # the gate rejects it; the policy must still hold it alike
        with pytest.raises(InputError):
            order_from_dict(case["order"])
    decided = differ.compare(engines, regime, case["order"],
                             lambda keys: {k: case.get("quota", {}).get(k, 0) for k in keys},
                             validate=not case.get("policy_only"))
    lines = {line["id"]: line for line in decided["lines"]}
    for line_id, outcome in case.get("expect", {}).items():
        assert lines[line_id]["outcome"] == outcome
    for line_id, codes in case.get("codes", {}).items():
        assert [r["code"] for r in lines[line_id]["reasons"]] == codes


@pytest.mark.parametrize("lines", [65, 1000])
def test_large_orders_are_decided_alike(lines: int, engines: dict[str, Any]) -> None:
    """No limit on lines: a 1,000-line order gets one ladder per line on both engines."""
    order = {"id": f"SO-{lines}", "date": "2025-06-02",
             "parties": {"ship_to": {"id": "C1", "country": "IN"}},
             "lines": [{"id": str(i), "item": "H100", "quantity": 100 + i,
                        "classification": {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45}}
                       for i in range(lines)]}
    regime = PLUGINS.regime("us-ai-diffusion-2025")
    decided = differ.compare(engines, regime, order, lambda keys: {k: 0 for k in keys})
    codes = [line["reasons"][0]["code"] for line in decided["lines"]]
    assert len(codes) == lines
    # LPP (26,900,000 TPP) holds lines 0-14 whole (100..114 H100s, 1,699 in all is the
    # most that fits); the allocation takes the rest until it too runs out.
    assert codes[0] == "LPP" and "TIER2_LICENSE" in codes
    assert all(c in ("LPP", "TIER2_LICENSE", "ALLOCATION_EXHAUSTED") for c in codes)
