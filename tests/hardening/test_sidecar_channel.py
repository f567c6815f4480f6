"""Attacks on the sidecar channel: every one ends in an EngineError (a held line), fast.

A trickling sidecar, a proxy in the environment, a sidecar that wants a
token, TLS with the wrong CA or without the client certificate, an answer
too large or too deep, a redirect: the engine never waits past its deadline,
never sends the order anywhere but the sidecar, never shows the token.
"""
from __future__ import annotations

import logging
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exportgate.engines.http import OpaHttpEngine
from exportgate._exceptions import ConfigError, EngineError, EngineUnavailable, UndefinedResult
from exportgate._plugins import Plugins
from exportgate._regime import Regime
from exportgate._settings import Settings
from hostile import FakeSidecar, Pki

TOKEN = "s3cret-token-4711"


@pytest.fixture(scope="module")
def regime() -> Regime:
    return Plugins(Settings(), entry_points=False).regimes["us-ai-diffusion-2025"]


def _engine(url: str, **cfg: Any) -> OpaHttpEngine:
    settings = Settings.from_dict({"engine": {"name": "opa-http", "url": url,
                                              "check_revision": False, **cfg}})
    return OpaHttpEngine(settings)


def _ask(engine: OpaHttpEngine, regime: Regime) -> Any:
    try:
        return engine.evaluate(regime, "ladders", {"order": {"id": "SO-1"}})
    finally:
        engine.close()


# -- deadlines ---------------------------------------------------------------------


def test_a_sidecar_trickling_its_answer_is_cut_off_at_the_deadline(
        fake_sidecar: FakeSidecar, regime: Regime) -> None:
    """Each byte comes well within the read timeout: only the deadline can stop it."""
    fake_sidecar.mode, fake_sidecar.delay = "trickle", 0.1
    engine = _engine(fake_sidecar.url, read_timeout=0.5, timeout=0.8)
    engine._ready = True
    with pytest.raises(EngineUnavailable, match="did not answer .* in time .*deadline 0.8 s"):
        _ask(engine, regime)
    assert fake_sidecar.cut_off.wait(30), "the engine waited for the whole answer"


def test_a_sidecar_trickling_its_status_line_is_cut_off_at_the_deadline(
        fake_sidecar: FakeSidecar, regime: Regime) -> None:
    fake_sidecar.mode, fake_sidecar.delay = "trickle-headers", 0.1
    engine = _engine(fake_sidecar.url, read_timeout=0.5, timeout=0.6)
    with pytest.raises(EngineUnavailable, match="in time"):
        _ask(engine, regime)
    assert fake_sidecar.cut_off.wait(30), "the engine waited for the whole status line"


def test_the_default_deadline_is_connect_plus_read_timeout(fake_sidecar: FakeSidecar) -> None:
    engine = _engine(fake_sidecar.url, connect_timeout=0.3, read_timeout=0.4)
    assert engine.deadline == pytest.approx(0.7)
    engine.close()


def test_a_prompt_sidecar_answers_within_the_deadline(fake_sidecar: FakeSidecar,
                                                      regime: Regime) -> None:
    fake_sidecar.result = {"10": []}
    assert _ask(_engine(fake_sidecar.url, timeout=2), regime) == {"10": []}
    assert [m for m, _, _ in fake_sidecar.seen] == ["GET", "POST"]


# -- the proxy environment ------------------------------------------------------------


@pytest.fixture
def trap() -> Iterator[FakeSidecar]:
    """A "proxy" that answers every request itself, with a result the gate would trust."""
    proxy = FakeSidecar()
    proxy.result = {"forged": True}
    yield proxy
    proxy.close()


def test_the_proxy_environment_is_ignored(fake_sidecar: FakeSidecar, trap: FakeSidecar,
                                          regime: Regime,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(var, trap.url)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert _ask(_engine(fake_sidecar.url), regime) == {"ok": True}
    assert trap.seen == [] and fake_sidecar.seen


def test_an_explicit_proxy_is_used(fake_sidecar: FakeSidecar, trap: FakeSidecar,
                                   regime: Regime) -> None:
    assert _ask(_engine(fake_sidecar.url, proxy=trap.url), regime) == {"forged": True}
    assert trap.seen and trap.seen[-1][1].startswith(fake_sidecar.url)
    assert fake_sidecar.seen == []


# -- the bearer token ---------------------------------------------------------------


def test_a_sidecar_wanting_a_token_is_named_as_such(fake_sidecar: FakeSidecar,
                                                     regime: Regime) -> None:
    fake_sidecar.token = TOKEN
    with pytest.raises(EngineError, match="HTTP 401.*bearer token.*engine.token_file"):
        _ask(_engine(fake_sidecar.url), regime)


def test_the_token_from_a_file_is_sent(fake_sidecar: FakeSidecar, regime: Regime,
                                       tmp_path: Path) -> None:
    fake_sidecar.token = TOKEN
    (tmp_path / "token").write_text(TOKEN + "\n")
    assert _ask(_engine(fake_sidecar.url, token_file=str(tmp_path / "token")), regime) \
        == {"ok": True}
    assert all(h.get("Authorization") == f"Bearer {TOKEN}" for _, _, h in fake_sidecar.seen)


def test_the_token_from_the_environment_is_sent(fake_sidecar: FakeSidecar, regime: Regime,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    fake_sidecar.token = TOKEN
    monkeypatch.setenv("EG_OPA_TOKEN", TOKEN)
    assert _ask(_engine(fake_sidecar.url, token_env="EG_OPA_TOKEN"), regime) == {"ok": True}


def test_the_token_never_shows(fake_sidecar: FakeSidecar, regime: Regime, tmp_path: Path,
                               caplog: pytest.LogCaptureFixture) -> None:
    fake_sidecar.token = "another-token-0000"  # the sidecar refuses ours
    (tmp_path / "token").write_text(TOKEN)
    engine = _engine(fake_sidecar.url, token_file=str(tmp_path / "token"), retries=1)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(EngineError) as err:
        _ask(engine, regime)
    shown = [str(err.value), repr(engine), repr(engine.__dict__.get("url")),
             caplog.text, repr(Settings.from_dict({"engine": {
                 "name": "opa-http", "url": fake_sidecar.url,
                 "token_file": str(tmp_path / "token")}}))]
    assert "HTTP 401" in str(err.value)
    assert not any(TOKEN in text for text in shown)


@pytest.mark.parametrize("cfg, message", [
    ({"token_file": "missing-token"}, "engine.token_file .*missing-token: cannot read"),
    ({"token_env": "EG_UNSET_TOKEN"}, "EG_UNSET_TOKEN is empty or unset"),
    ({"token_file": "t", "token_env": "X"}, "give one, not both"),
])
def test_a_token_that_cannot_be_had_is_a_config_error(cfg: dict[str, Any], message: str,
                                                      tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EG_UNSET_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=message):
        _engine("http://127.0.0.1:8181", **cfg)


def test_a_token_file_with_a_line_break_inside_is_refused(tmp_path: Path) -> None:
    (tmp_path / "t").write_text("abc\ndef")
    with pytest.raises(ConfigError, match="cannot carry") as err:
        _engine("http://127.0.0.1:8181", token_file=str(tmp_path / "t"))
    assert "abc" not in str(err.value)


# -- TLS -----------------------------------------------------------------------------


def _tls(pki: Pki, client_ca: Path | None = None) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki.server_cert, pki.server_key)
    if client_ca is not None:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


@pytest.fixture
def tls_sidecar(pki: Pki) -> Iterator[FakeSidecar]:
    side = FakeSidecar(tls=_tls(pki))
    yield side
    side.close()


@pytest.fixture
def mtls_sidecar(pki: Pki) -> Iterator[FakeSidecar]:
    side = FakeSidecar(tls=_tls(pki, client_ca=pki.ca))
    yield side
    side.close()


def test_tls_with_the_sidecars_ca_and_a_token(tls_sidecar: FakeSidecar, pki: Pki,
                                              regime: Regime, tmp_path: Path) -> None:
    tls_sidecar.token = TOKEN
    (tmp_path / "token").write_text(TOKEN)
    engine = _engine(tls_sidecar.url, ca_file=str(pki.ca), token_file=str(tmp_path / "token"))
    assert _ask(engine, regime) == {"ok": True}


def test_tls_with_an_unknown_ca_is_a_tls_failure(tls_sidecar: FakeSidecar, pki: Pki,
                                                  regime: Regime) -> None:
    with pytest.raises(EngineUnavailable, match="TLS failed.*engine.ca_file") as err:
        _ask(_engine(tls_sidecar.url, ca_file=str(pki.other_ca)), regime)
    assert "certificate verify failed" in str(err.value).lower() or "CERTIFICATE" in str(
        err.value)


def test_mutual_tls_without_the_client_certificate_fails_closed(
        mtls_sidecar: FakeSidecar, pki: Pki, regime: Regime) -> None:
    with pytest.raises(EngineUnavailable, match="TLS failed|cannot be reached"):
        _ask(_engine(mtls_sidecar.url, ca_file=str(pki.ca)), regime)


def test_mutual_tls_with_the_client_certificate(mtls_sidecar: FakeSidecar, pki: Pki,
                                                regime: Regime) -> None:
    engine = _engine(mtls_sidecar.url, ca_file=str(pki.ca), cert_file=str(pki.client_cert),
                     key_file=str(pki.client_key))
    assert _ask(engine, regime) == {"ok": True}


@pytest.mark.parametrize("key", ["ca_file", "cert_file"])
def test_tls_files_need_an_https_url(key: str, pki: Pki) -> None:
    with pytest.raises(ConfigError, match=f"engine.{key}: needs an https://"):
        _engine("http://127.0.0.1:8181", **{key: str(pki.ca)})


def test_a_missing_ca_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="engine.ca_file: .* is not a readable file"):
        _engine("https://127.0.0.1:8181", ca_file=str(tmp_path / "nope.pem"))


# -- answers ---------------------------------------------------------------------------


def test_an_answer_larger_than_the_cap_is_refused(fake_sidecar: FakeSidecar,
                                                  regime: Regime) -> None:
    fake_sidecar.mode, fake_sidecar.size = "huge", 200_000
    with pytest.raises(UndefinedResult, match="more than 100,000 bytes"):
        _ask(_engine(fake_sidecar.url, max_response_bytes=100_000), regime)


def test_an_answer_nested_100000_deep_is_refused(fake_sidecar: FakeSidecar,
                                                  regime: Regime) -> None:
    fake_sidecar.mode, fake_sidecar.size = "deep", 100_000
    with pytest.raises(UndefinedResult, match="not JSON .*nested too deeply"):
        _ask(_engine(fake_sidecar.url), regime)


def test_a_redirect_is_not_followed(fake_sidecar: FakeSidecar, trap: FakeSidecar,
                                    regime: Regime, tmp_path: Path) -> None:
    fake_sidecar.mode, fake_sidecar.location = "redirect", trap.url + "/v1/data/x"
    (tmp_path / "token").write_text(TOKEN)
    with pytest.raises(EngineError, match="HTTP 307"):
        _ask(_engine(fake_sidecar.url, token_file=str(tmp_path / "token")), regime)
    assert trap.seen == []


def test_a_token_is_never_sent_in_clear_off_this_host(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN)
    with pytest.raises(ConfigError, match="in clear") as err:
        _engine("http://10.1.2.3:8181", token_file=str(tmp_path / "token"))
    assert TOKEN not in str(err.value)
    for url in ("http://127.0.0.1:8181", "http://localhost:8181", "http://[::1]:8181",
                "https://10.1.2.3:8181"):
        _engine(url, token_file=str(tmp_path / "token")).close()
