"""Engine ``opa``: OPA's Go ``rego`` package in process (opa-golib-python-bindings)."""
from __future__ import annotations

import builtins
import dataclasses
import json
import sys
from typing import Any

import pytest
from exportgate import EngineError, EngineUnavailable
from exportgate._cli import main
from exportgate.engines.opa import INSTALL, OpaEngine
from exportgate._gate import Gate
from exportgate._plugins import Plugins
from exportgate._policy import policy_input
from exportgate._settings import Settings
from exportgate._validate import order_from_dict

from tests.helpers import h100_order

PLUGINS = Plugins(Settings(), entry_points=False)
REGIME = PLUGINS.regime("us-ai-diffusion-2025")


def test_opa_is_a_registered_engine() -> None:
    assert {"embedded", "opa", "opa-http"} <= set(PLUGINS.engines)
    assert PLUGINS.engine("opa").name == "opa"


def test_it_decides_and_reuses_the_compiled_regime() -> None:
    engine = OpaEngine()
    order = h100_order("SO-1", "IN", 10)
    order["lines"][0]["classification"] = {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45}
    doc = policy_input(order_from_dict(order))
    answer = engine.evaluate(REGIME, "ladders", doc)
    assert answer["regime"] == REGIME.id and answer["contract"] == 2
    ladder = answer["ladders"][answer["lines"][0]["ladder"]]
    assert [(c["row"], c.get("quota", {}).get("key")) for c in ladder] == [
        ("D6", "lpp:in-1:2025"), ("D8", "alloc:IN"), ("D9", None)]
    assert len(engine._compiled) == 1
    engine.evaluate(REGIME, "ladders", doc)
    assert len(engine._compiled) == 1
    engine.close()


def test_an_undefined_rule_is_none() -> None:
    assert OpaEngine().evaluate(REGIME, "no_such_rule", {"order": {}}) is None


def test_a_policy_that_does_not_compile_is_an_engine_error() -> None:
    broken = dataclasses.replace(REGIME, modules={**REGIME.modules,
                                                  "x/broken.rego": "package x\ny := z\n"})
    with pytest.raises(EngineError, match="OPA could not compile us-ai-diffusion-2025"):
        OpaEngine().evaluate(broken, "ladders", {})


def test_an_evaluation_error_is_an_engine_error() -> None:
    bad = dataclasses.replace(REGIME, modules={
        **REGIME.modules, "x/div.rego": "package exportgate.regimes.us_ai_diffusion_2025\n"
                                        "boom := 1 / input.zero\n"})
    with pytest.raises(EngineError, match="divide by zero"):
        OpaEngine().evaluate(bad, "boom", {"zero": 0})


def test_a_failing_rego_test_is_reported_with_its_detail() -> None:
    tests = {"t/x_test.rego": "package t_test\nimport rego.v1\n"
                              "test_passes if true\ntest_fails if 1 == 2\n"
                              "test_value := 3\n"}
    regime = dataclasses.replace(REGIME, test_modules=tests)
    results = {name: (ok, detail) for name, ok, detail in OpaEngine().run_tests(regime)}
    assert results == {"t/x_test.rego::test_fails": (False, "undefined"),
                       "t/x_test.rego::test_passes": (True, ""),
                       "t/x_test.rego::test_value": (False, "evaluated to 3")}


def test_missing_bindings_say_how_to_install_them(monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "opa_bindings":
            raise ImportError("No module named 'opa_bindings'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "opa_bindings", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(EngineUnavailable) as err:
        Plugins(Settings(), entry_points=False).engine("opa")
    assert INSTALL in str(err.value)
    assert "--ignore-requires-python --no-deps opa-golib-python-bindings==0.4.4" in INSTALL


def test_missing_bindings_fail_the_command_with_the_install_line(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "opa_bindings", None)  # import fails
    order = tmp_path / "o.json"
    order.write_text(json.dumps(h100_order("SO-1", "IN", 1)))
    code = main(["check", "--engine", "opa", "--regime", REGIME.id, "--ledger",
                 f"sqlite:///{tmp_path / 'l.db'}", str(order)])
    assert code != 0
    assert "pip install --ignore-requires-python --no-deps" in capsys.readouterr().err


def test_exportgate_test_runs_on_opa(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["test", "--engine", "opa", "--regime", "us-country-deals-2025"]) == 0
    out = capsys.readouterr().out
    assert "opa       us-country-deals-2025" in out and " 0 failed" in out


def test_a_gate_on_opa_decides_as_on_embedded(tmp_path: Any) -> None:
    out = {}
    for name in ("embedded", "opa"):
        with Gate(Settings(), regime_id=REGIME.id, engine=name,
                  ledger_url=f"sqlite:///{tmp_path / (name + '.db')}") as gate:
            out[name] = [gate.check(h100_order(f"SO-{n}", dest, 1000)).decision.to_dict()
                         for n, dest in enumerate(["IN", "IN", "KR", "CN", "AE"])]
    assert out["embedded"] == out["opa"]
