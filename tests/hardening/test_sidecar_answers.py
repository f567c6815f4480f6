"""What a sidecar says back is read as hostile text: no secret comes out of it, no
ambiguous JSON goes in.

A sidecar (or a proxy in front of it) whose error page echoes the request's
headers sends the bearer token back. Whatever part of the answer carries it
(an error body, a JSON result quoted in a contract error, the
``decision_id``, a malformed status line), the token must reach none of
stderr, the decision JSON and the audit log. An answer that gives a key twice
is refused: which value the sidecar meant is unknown.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from exportgate._cli import main
from exportgate._exceptions import UndefinedResult
from exportgate._gate import Gate
from exportgate._model import Outcome
from exportgate._settings import Settings
from exportgate.engines.http import OpaHttpEngine, redact_secrets, secret_forms
from hostile import FakeSidecar

from tests.helpers import h100_order

REGIME = "us-ai-diffusion-2025"
#: Characters Go's JSON encoder escapes (``&<>``), JSON escapes (``"\``) or may (``/``).
TOKEN = 'tok&en<4711>/s3cr"et\\x'


def _config(tmp_path: Path, url: str) -> Path:
    (tmp_path / "token").write_text(TOKEN + "\n")
    config = tmp_path / "exportgate.yaml"
    config.write_text(yaml.safe_dump({
        "engine": {"name": "opa-http", "url": url, "token_file": "token",
                   "check_revision": False},
        "ledger": "sqlite:///ledger.db", "audit_log": "audit.jsonl"}))
    return config


def _check(tmp_path: Path, side: FakeSidecar,
           capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any], str, str]:
    config = _config(tmp_path, side.url)
    (tmp_path / "order.json").write_text(json.dumps(h100_order("SO-1", "IN", 10)))
    code = main(["--config", str(config), "check", "--regime", REGIME, "--json",
                 str(tmp_path / "order.json")])
    out, err = capsys.readouterr()
    return code, json.loads(out), err, (tmp_path / "audit.jsonl").read_text()


def _leaks(*texts: str) -> list[str]:
    """The texts that hold the token, or a recognisable part of it."""
    parts = (TOKEN, "s3cr", "tok&en", "tok\\u0026en", "4711")
    return [t for t in texts if any(p in t for p in parts)]


@pytest.mark.parametrize("mode, status, shown", [
    ("echo", 500, "answered HTTP 500"),
    ("echo", 401, "answered HTTP 401"),
    ("echo", 400, "Authorization: Bearer ***"),
    ("echo-json", 200, "contract"),
])
def test_a_sidecar_echoing_the_token_holds_the_order_without_showing_it(
        fake_sidecar: FakeSidecar, tmp_path: Path, capsys: pytest.CaptureFixture[str],
        mode: str, status: int, shown: str) -> None:
    fake_sidecar.mode, fake_sidecar.status = mode, status
    code, decision, err, audit = _check(tmp_path, fake_sidecar, capsys)
    assert code == 3
    assert decision["outcome"] == "license" and shown in decision["error"]
    if mode == "echo":
        assert "***" in decision["error"]      # the echo is shown, masked
    assert _leaks(err, decision["error"], json.dumps(decision), audit) == []


def test_a_status_line_echoing_the_token_is_reported_without_it(
        fake_sidecar: FakeSidecar, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fake_sidecar.mode = "echo-status"
    code, decision, err, audit = _check(tmp_path, fake_sidecar, capsys)
    assert code == 3 and decision["outcome"] == "license"
    assert "Bearer ***" in decision["error"]
    assert _leaks(err, json.dumps(decision), audit) == []


def test_a_decision_id_echoing_the_token_is_recorded_without_it(
        fake_sidecar: FakeSidecar, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A good answer whose ``decision_id`` echoes the headers: decided, and masked."""
    order = h100_order("SO-1", "IN", 10)
    with Gate(Settings(), regime_id=REGIME, ledger_url="sqlite:///:memory:") as gate:
        prepared = gate.prepare(order)
        regime = gate.regime_for(prepared)
        fake_sidecar.result = gate.engine.evaluate(regime, "ladders",
                                                   gate.policy_input(prepared, regime))
    fake_sidecar.mode = "echo-id"
    code, decision, err, audit = _check(tmp_path, fake_sidecar, capsys)
    assert code == 0 and decision["error"] is None
    assert "Bearer ***" in audit                # the id is recorded, masked
    assert _leaks(err, json.dumps(decision), audit) == []


@pytest.mark.parametrize("text, hidden", [
    ("Authorization: Bearer abc.def-ghi", "abc.def-ghi"),
    ('{"headers": {"Authorization": "Bearer eyJhbGciOi.x_y"}}', "eyJhbGciOi"),
    ("{'authorization': 'Basic dXNlcjpwYXNz'}", "dXNlcjpwYXNz"),
    ("proxy-authorization=Negotiate YIIabc", "YIIabc"),
    ('{"h": "bearer tok\\u0026en"}', "tok"),
])
def test_any_credential_shaped_text_is_masked_whatever_the_token(text: str,
                                                                 hidden: str) -> None:
    shown = redact_secrets(text)
    assert hidden not in shown and "***" in shown
    if text.startswith("{\""):
        json.loads(shown)  # still JSON: only the inside of a string was replaced


def test_the_configured_token_is_masked_in_every_form_a_server_writes_it() -> None:
    forms = secret_forms(TOKEN)
    go = json.dumps(TOKEN)[1:-1].replace("&", "\\u0026").replace("<", "\\u003c") \
        .replace(">", "\\u003e")
    slashed = go.replace("/", "\\/")
    for text in (f"token {TOKEN} seen", json.dumps({"t": TOKEN}), f'{{"t": "{go}"}}',
                 f'{{"t": "{slashed}"}}'):
        assert _leaks(redact_secrets(text, forms)) == [], text
    assert redact_secrets('{"result": {"10": []}}', forms) == '{"result": {"10": []}}'


# -- strict JSON -------------------------------------------------------------------


def _engine(url: str) -> OpaHttpEngine:
    return OpaHttpEngine(Settings.from_dict({"engine": {"name": "opa-http", "url": url,
                                                        "check_revision": False}}))


@pytest.mark.parametrize("body, path", [
    (b'{"result": {"10": []}, "result": {"10": ["allow"]}}', '"result" at result'),
    (b'{"result": {"lines": [{"id": "10", "tpp": 1, "tpp": 9}]}}', "result.lines[0].tpp"),
])
def test_an_answer_giving_a_key_twice_is_refused_naming_the_key(
        fake_sidecar: FakeSidecar, body: bytes, path: str) -> None:
    fake_sidecar.mode, fake_sidecar.body = "raw", body
    engine = _engine(fake_sidecar.url)
    with Gate(Settings(), regime_id=REGIME, ledger_url="sqlite:///:memory:") as gate:
        regime = gate.fixed_regime
    assert regime is not None
    try:
        with pytest.raises(UndefinedResult, match="gives a key twice") as err:
            engine.evaluate(regime, "ladders", {})
    finally:
        engine.close()
    assert path in str(err.value)


def test_a_repeated_key_holds_the_order(fake_sidecar: FakeSidecar, tmp_path: Path) -> None:
    fake_sidecar.mode = "raw"
    fake_sidecar.body = b'{"decision_id": "d-1", "result": {}, "result": {}}'
    settings = Settings.from_dict({"engine": {"name": "opa-http", "url": fake_sidecar.url,
                                              "check_revision": False}})
    with Gate(settings, regime_id=REGIME, ledger_url=f"sqlite:///{tmp_path / 'l.db'}") as gate:
        decision = gate.check(h100_order("SO-1", "IN", 10)).decision
        assert gate.ledger.reservations() == []
    assert decision.outcome is Outcome.LICENSE
    assert all(line.outcome is Outcome.LICENSE for line in decision.lines)
    assert decision.error is not None and 'duplicate key "result"' in decision.error


@pytest.mark.parametrize("body", [b'{"result": NaN}', b'{"result": 1e999}',
                                  b'{"result": "\xff\xfe"}'])
def test_an_answer_that_is_not_strict_json_is_refused(fake_sidecar: FakeSidecar,
                                                      body: bytes) -> None:
    fake_sidecar.mode, fake_sidecar.body = "raw", body
    engine = _engine(fake_sidecar.url)
    with Gate(Settings(), regime_id=REGIME, ledger_url="sqlite:///:memory:") as gate:
        regime = gate.fixed_regime
    assert regime is not None
    try:
        with pytest.raises(UndefinedResult, match="not JSON|not UTF-8"):
            engine.evaluate(regime, "ladders", {})
    finally:
        engine.close()
