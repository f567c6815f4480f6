"""Engine ``opa-http``: an OPA sidecar's Data API, and every way it can fail closed.

The sidecar here is `sidecar.Sidecar`: OPA's Data API on loopback over the
``opa`` engine, loaded with a bundle from ``exportgate bundle``. With
``OPA_BIN`` naming a real ``opa`` binary, the same checks run against
``opa run --server --bundle``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exportgate import ConfigError, Outcome
from exportgate._gate import Gate
from exportgate._settings import Settings
from sidecar import Sidecar

from tests.helpers import ROOT, conformance_cases, h100_order, record_licenses

REGIME = "us-ai-diffusion-2025"


def _settings(url: str, **engine: Any) -> Settings:
    return Settings.from_dict({"engine": {"name": "opa-http", "url": url, **engine}})


def _check(tmp_path: Path, url: str, order: dict[str, Any] | None = None,
           regime: str = REGIME, **engine: Any) -> Any:
    with Gate(_settings(url, **engine), regime_id=regime,
              ledger_url=f"sqlite:///{tmp_path / 'l.db'}") as gate:
        return gate.check(order or h100_order("SO-1", "KR", 10)).decision


def _held(decision: Any, why: str) -> None:
    """Every line license, with an error that says ``why``; never allow."""
    assert decision.error and why in decision.error, decision.error
    assert decision.outcome is Outcome.LICENSE
    assert all(line.outcome is Outcome.LICENSE for line in decision.lines)


# -- deciding ---------------------------------------------------------------------


def test_the_sidecar_decides_as_opa_in_process(side: Sidecar, tmp_path: Path) -> None:
    """The quota-heavy cases here; every case goes through run.py below."""
    for case in conformance_cases():
        if case.get("expect_error") or case["regime"] != REGIME:
            continue
        got = {}
        for name, settings in (("opa-http", _settings(side.url)), ("opa", Settings())):
            with Gate(settings, regime_id=case["regime"], engine=None if name == "opa-http"
                      else "opa", ledger_url=f"sqlite:///{tmp_path / case['name']}-{name}.db"
                      ) as gate:
                record_licenses(gate, case)
                got[name] = [gate.check(o).decision.to_dict() for o in case["orders"]]
        assert got["opa-http"] == got["opa"], case["name"]


def test_it_posts_input_to_the_data_api(side: Sidecar, tmp_path: Path) -> None:
    side.requests.clear()
    decision = _check(tmp_path, side.url)
    assert decision.error is None and decision.outcome is Outcome.NOTIFY
    assert side.requests == [
        "GET /health", f"POST /v1/data/exportgate/revisions/{REGIME}",
        "POST /v1/data/exportgate/regimes/us_ai_diffusion_2025/ladders"]


def test_health_and_revision_are_checked_once_then_again_after_a_failure(
        side: Sidecar, tmp_path: Path) -> None:
    with Gate(_settings(side.url), regime_id=REGIME,
              ledger_url=f"sqlite:///{tmp_path / 'l.db'}") as gate:
        gate.check(h100_order("SO-1", "KR", 1))
        side.requests.clear()
        gate.check(h100_order("SO-2", "KR", 1))
        assert not any("health" in r or "revisions" in r for r in side.requests)
        side.mode = "error"
        _held(gate.check(h100_order("SO-3", "KR", 1)).decision, "HTTP 500")
        side.mode = "ok"
        side.requests.clear()
        assert gate.check(h100_order("SO-4", "KR", 1)).decision.error is None
        assert side.requests[0] == "GET /health"


def test_the_sidecar_decision_id_goes_into_the_audit_log(side: Sidecar, tmp_path: Path) -> None:
    settings = Settings.from_dict({"engine": {"name": "opa-http", "url": side.url},
                                   "audit_log": "audit.jsonl"}, base=tmp_path)
    with Gate(settings, regime_id=REGIME, ledger_url=f"sqlite:///{tmp_path / 'l.db'}") as gate:
        decision = gate.check(h100_order("SO-1", "KR", 1)).decision
    # The engine hands its decision id back with the answer; the decision carries it.
    sidecar_id = decision.engine_decision_id
    assert sidecar_id and len(sidecar_id) == 36
    [record] = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert record["labels"] == {"app": "exportgate", "engine": "opa-http",
                                "sidecar_decision_id": sidecar_id}


# -- faults: each one holds the order, never allows it ---------------------------------


def test_sidecar_down(tmp_path: Path, dead_url: str) -> None:
    _held(_check(tmp_path, dead_url), "cannot be reached for the health check")


def test_sidecar_down_after_it_was_ready(tmp_path: Path, dead_url: str) -> None:
    settings = _settings(dead_url)
    with Gate(settings, regime_id=REGIME, ledger_url=f"sqlite:///{tmp_path / 'l.db'}") as g:
        g.engine._ready = True
        g.engine.check_revision = False
        _held(g.check(h100_order("SO-1", "KR", 1)).decision, "connection refused")


def test_sidecar_slower_than_the_read_timeout(side: Sidecar, tmp_path: Path) -> None:
    """The answer comes after 1 s, within the whole deadline (1.2 s): only the read timeout
    can hold the order."""
    side.mode, side.delay = "slow", 1.0
    _held(_check(tmp_path, side.url, read_timeout=0.2), "did not answer")


def test_a_slow_sidecar_within_the_timeout_is_fine(side: Sidecar, tmp_path: Path) -> None:
    side.mode, side.delay = "slow", 0.05
    assert _check(tmp_path, side.url, read_timeout=1.0).error is None


def test_sidecar_answering_500(side: Sidecar, tmp_path: Path) -> None:
    side.mode = "error"
    _held(_check(tmp_path, side.url), "answered HTTP 500")


def test_sidecar_answering_undefined(side: Sidecar, tmp_path: Path) -> None:
    side.mode = "undefined"
    decision = _check(tmp_path, side.url, check_revision=False)
    _held(decision, "without a result")


def test_sidecar_not_ready(side: Sidecar, tmp_path: Path) -> None:
    side.mode = "unready"
    _held(_check(tmp_path, side.url), "is not ready")


def test_a_stale_bundle_is_refused(side: Sidecar, tmp_path: Path) -> None:
    settings = Settings.from_dict({"engine": {"name": "opa-http", "url": side.url},
                                   "parameters": {REGIME: {"lpp_cap_tpp": 1}}})
    with Gate(settings, regime_id=REGIME, ledger_url=f"sqlite:///{tmp_path / 'l.db'}") as g:
        _held(g.check(h100_order("SO-1", "KR", 1)).decision, "rebuild the bundle")


def test_a_sidecar_without_the_regime_is_refused(tmp_path: Path) -> None:
    from exportgate.engines.bundle import write_bundle
    from exportgate._plugins import Plugins
    plugins = Plugins(Settings(), entry_points=False)
    path = tmp_path / "one.tar.gz"
    write_bundle([plugins.regime("us-country-deals-2025")], path)
    with Sidecar(path) as only_deals:
        _held(_check(tmp_path, only_deals.url), f"does not serve regime {REGIME}")


def test_retries_still_fail_closed(tmp_path: Path, dead_url: str) -> None:
    _held(_check(tmp_path, dead_url, retries=2, connect_timeout=0.2), "cannot be reached")


def test_opa_http_needs_a_url() -> None:
    with pytest.raises(ConfigError, match="engine.url: required for engine 'opa-http'"):
        Settings.from_dict({"engine": {"name": "opa-http"}})


def test_selected_on_the_command_line_without_a_url(tmp_path: Path) -> None:
    from exportgate._cli import main
    order = tmp_path / "o.json"
    order.write_text(json.dumps(h100_order("SO-1", "KR", 1)))
    assert main(["check", "--engine", "opa-http", "--regime", REGIME, str(order)]) == 2


# -- the conformance suite through run.py, as a host would run it ---------------------


def _run_conformance(config: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXPORTGATE_CONFIG": str(config),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("EXPORTGATE_LOAD_PLUGINS", None)
    return subprocess.run([sys.executable, str(ROOT / "tests" / "conformance" / "run.py")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)


@pytest.mark.slow
def test_conformance_run_py_on_engine_opa(tmp_path: Path) -> None:
    config = tmp_path / "opa.yaml"
    config.write_text("engine:\n  name: opa\n")
    proc = _run_conformance(config, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed")


@pytest.mark.slow
def test_conformance_run_py_on_engine_opa_http(side: Sidecar, tmp_path: Path) -> None:
    config = tmp_path / "opa-http.yaml"
    config.write_text(f"engine:\n  name: opa-http\n  url: {side.url}\n")
    side.requests.clear()
    proc = _run_conformance(config, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip().splitlines()[-1].endswith(" passed, 0 failed")
    cases = [c for c in conformance_cases() if not c.get("expect_error")]
    decided = sum(len(c["orders"]) for c in cases)
    # Every case asked the sidecar; orders of one batch that share their facts share
    # one evaluation (docs/policy-contract.md), so a case may ask fewer times than it
    # has orders, never more.
    asked = sum(r.endswith("/ladders") for r in side.requests)
    assert len(cases) <= asked <= decided


# -- a real OPA, when there is one -----------------------------------------------------


@pytest.fixture(scope="module")
def real_opa(tmp_path_factory: pytest.TempPathFactory, bundle_file: Path) -> Iterator[str]:
    binary = os.environ.get("OPA_BIN")
    if not binary:
        pytest.skip("OPA_BIN is not set: no real opa binary to run the bundle on")
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path_factory.mktemp("opa") / "opa.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([binary, "run", "--server", "--addr", f"127.0.0.1:{port}",
                                 "--bundle", str(bundle_file)], stdout=out, stderr=out)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/health?bundles", timeout=1) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"opa did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_real_opa_serves_the_bundle(real_opa: str, tmp_path: Path) -> None:
    for case in conformance_cases():
        if case.get("expect_error"):
            continue
        with Gate(_settings(real_opa), regime_id=case["regime"],
                  ledger_url=f"sqlite:///{tmp_path / case['name']}.db") as gate:
            record_licenses(gate, case)
            for order, want in zip(case["orders"], case["expect"], strict=True):
                decision = gate.check(order).decision
                assert decision.error is None, decision.error
                assert decision.outcome.value == want["outcome"], case["name"]


@pytest.mark.slow
def test_conformance_run_py_on_real_opa(real_opa: str, tmp_path: Path) -> None:
    config = tmp_path / "real.yaml"
    config.write_text(f"engine:\n  name: opa-http\n  url: {real_opa}\n")
    proc = _run_conformance(config, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
