"""The configuration file: validated by cerberus, errors naming the key, and what it selects."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from exportgate import ConfigError, UnknownRegimeError
from exportgate._cli import main
from exportgate._gate import Gate
from exportgate._plugins import Plugins
from exportgate._settings import Settings

from tests.helpers import h100_order


def _file(tmp_path: Path, doc: Any, name: str = "exportgate.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc))
    return path


def _error(doc: Any) -> str:
    with pytest.raises(ConfigError) as err:
        Settings.from_dict(doc)
    return str(err.value)


# -- validation: every error names its key ------------------------------------------


@pytest.mark.parametrize("doc, key", [
    ({"engine": {"name": "opa-http"}}, "engine.url"),
    ({"engine": {"name": "opa-http", "url": "127.0.0.1:8181"}}, "engine.url"),
    ({"engine": {"name": "opa-http", "url": "ftp://127.0.0.1"}}, "engine.url"),
    ({"engine": {"name": "opa-http", "url": "http://127.0.0.1:8181/v1/data"}}, "engine.url"),
    ({"engine": {"name": "opa-http", "url": "http://127.0.0.1:99999"}}, "engine.url"),
    ({"engine": {"read_timeout": 0}}, "engine.read_timeout"),
    ({"engine": {"connect_timeout": "fast"}}, "engine.connect_timeout"),
    ({"engine": {"read_timeout": True}}, "engine.read_timeout"),
    ({"engine": {"retries": -1}}, "engine.retries"),
    ({"engine": {"check_revision": "yes"}}, "engine.check_revision"),
    ({"engine": {"name": ""}}, "engine.name"),
    ({"engine": {"nmae": "opa"}}, "engine.nmae"),
    ({"engine": "opa"}, "engine"),
    ({"ledger_timeout": -1}, "ledger_timeout"),
    ({"audit_log": 3}, "audit_log"),
    ({"catalogs": "items.yaml"}, "catalogs"),
    ({"calendar": [{"regime": "us-ai-diffusion-2025"}]}, "calendar.0.effective_from"),
    ({"calendar": [{"regime": "x", "effective_from": "2025-13-01"}]},
     "calendar.0.effective_from"),
    ({"parameters": {"us-ai-diffusion-2025": 5}}, "parameters.us-ai-diffusion-2025"),
    ({"regimes": []}, "regimes"),
])
def test_a_bad_value_names_its_key(doc: dict[str, Any], key: str) -> None:
    assert f"{key} " in _error(doc) or f"{key}:" in _error(doc)


def test_a_bad_file_names_the_file_and_the_key(tmp_path: Path) -> None:
    path = _file(tmp_path, {"engine": {"name": "opa-http"}})
    with pytest.raises(ConfigError, match=r"configuration .*exportgate\.yaml: engine\.url"):
        Settings.from_file(path)


def test_an_empty_or_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("")
    assert Settings.from_file(tmp_path / "empty.yaml").engine_name == "embedded"
    (tmp_path / "bad.yaml").write_text("engine: [")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Settings.from_file(tmp_path / "bad.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        Settings.from_file(tmp_path / "missing.yaml")


def test_calendar_dates_must_be_in_order() -> None:
    assert "effective_to must be after effective_from" in _error({"calendar": [
        {"regime": "us-ai-diffusion-2025", "effective_from": "2025-05-15",
         "effective_to": "2025-05-15"}]})


def test_a_calendar_naming_an_unknown_regime_is_an_error() -> None:
    settings = Settings.from_dict({"calendar": [{"regime": "us-nope",
                                                 "effective_from": "2025-01-01"}]})
    with pytest.raises(UnknownRegimeError, match="calendar: regime 'us-nope'"):
        Plugins(settings, entry_points=False)


def test_an_unknown_parameter_names_regime_and_key() -> None:
    settings = Settings.from_dict({"parameters": {"us-ai-diffusion-2025": {"lpp_cap": 1}}})
    with pytest.raises(ConfigError, match=r"parameters\.us-ai-diffusion-2025\.lpp_cap"):
        Plugins(settings, entry_points=False)


def test_an_unknown_engine_names_engine_name(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, {"engine": {"name": "wasm"}})
    order = tmp_path / "o.json"
    order.write_text(json.dumps(h100_order("SO-1", "IN", 1)))
    assert main(["--config", str(path), "check", "--regime", "us-ai-diffusion-2025",
                 str(order)]) == 2
    assert "engine.name: unknown engine 'wasm'" in capsys.readouterr().err


# -- what the file selects ----------------------------------------------------------


def test_defaults_run_everything_in_process() -> None:
    settings = Settings.load()
    assert settings.engine == {"name": "embedded", "url": None, "connect_timeout": 1.0,
                               "read_timeout": 1.0, "retries": 0, "check_revision": True}
    assert settings.audit_log is None


def test_the_whole_file(tmp_path: Path) -> None:
    path = _file(tmp_path, {
        "engine": {"name": "opa-http", "url": "http://127.0.0.1:8181", "connect_timeout": 0.5,
                   "read_timeout": 2, "retries": 1},
        "ledger": "sqlite:///state/ledger.db",
        "catalogs": ["items.yaml"],
        "audit_log": "logs/decisions.jsonl",
        "parameters": {"us-country-deals-2025": {"low_volume_cap_tpp": 1000}},
        "calendar": [{"regime": "us-advanced-computing-2023", "effective_from": "2023-11-17",
                      "effective_to": "2025-05-15"},
                     {"regime": "us-ai-diffusion-2025", "effective_from": "2025-05-15"}],
    })
    s = Settings.from_file(path)
    assert s.engine_name == "opa-http"
    assert s.engine["connect_timeout"] == 0.5 and s.engine["read_timeout"] == 2
    assert s.engine["retries"] == 1 and s.engine["check_revision"] is True
    assert s.ledger == f"sqlite:///{tmp_path / 'state' / 'ledger.db'}"
    assert s.catalogs == [tmp_path / "items.yaml"]
    assert s.audit_log == tmp_path / "logs" / "decisions.jsonl"
    assert s.parameters == {"us-country-deals-2025": {"low_volume_cap_tpp": 1000}}
    assert [e["regime"] for e in s.calendar] == ["us-advanced-computing-2023",
                                                 "us-ai-diffusion-2025"]


def test_config_flag_wins_over_the_environment(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    env = _file(tmp_path, {"engine": {"name": "opa"}}, "env.yaml")
    flag = _file(tmp_path, {"engine": {"name": "embedded"}}, "flag.yaml")
    monkeypatch.setenv("EXPORTGATE_CONFIG", str(env))
    assert Settings.load().engine_name == "opa"
    assert Settings.load(str(flag)).engine_name == "embedded"


def test_the_configured_engine_decides(tmp_path: Path) -> None:
    settings = Settings.from_file(_file(tmp_path, {"engine": {"name": "opa"}}))
    with Gate(settings, regime_id="us-ai-diffusion-2025",
              ledger_url=f"sqlite:///{tmp_path / 'l.db'}") as gate:
        assert gate.engine.name == "opa"
        assert gate.check(h100_order("SO-1", "KR", 1)).decision.error is None


def test_parameter_overrides_reach_the_decision(tmp_path: Path) -> None:
    settings = Settings.from_file(_file(tmp_path, {
        "parameters": {"us-ai-diffusion-2025": {"lpp_cap_tpp": 15832}}}))
    with Gate(settings, regime_id="us-ai-diffusion-2025",
              ledger_url=f"sqlite:///{tmp_path / 'l.db'}") as gate:
        decision = gate.check(h100_order("SO-1", "IN", 2)).decision
    assert decision.parameters == {"lpp_cap_tpp": 15832}
    assert decision.lines[0].reasons[0].code != "LPP"  # 2 x 15832 TPP exceed the cap


CALENDAR = {"calendar": [
    {"regime": "us-advanced-computing-2023", "effective_from": "2023-11-17",
     "effective_to": "2025-05-15"},
    {"regime": "us-ai-diffusion-2025", "effective_from": "2025-05-15",
     "effective_to": "2026-01-01"},
    {"regime": "us-country-deals-2025", "effective_from": "2026-01-01"},
]}


@pytest.mark.parametrize("date, regime", [
    ("2024-06-01", "us-advanced-computing-2023"),
    ("2025-05-14", "us-advanced-computing-2023"),
    ("2025-05-15", "us-ai-diffusion-2025"),
    ("2025-12-31", "us-ai-diffusion-2025"),
    ("2026-01-01", "us-country-deals-2025"),
    ("2028-06-30", "us-country-deals-2025"),
])
def test_the_calendar_picks_the_regime_in_force(tmp_path: Path, date: str,
                                                regime: str) -> None:
    settings = Settings.from_file(_file(tmp_path, CALENDAR))
    with Gate(settings, ledger_url=f"sqlite:///{tmp_path / 'l.db'}") as gate:
        assert gate.check(h100_order("SO-1", "KR", 1, date=date)).decision.regime == regime


def test_no_regime_in_force_is_an_input_error(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, CALENDAR)
    order = tmp_path / "o.json"
    order.write_text(json.dumps(h100_order("SO-OLD", "KR", 1, date="2022-01-01")))
    assert main(["--config", str(path), "check", str(order)]) == 2
    assert "no regime in the calendar is in force on 2022-01-01" in capsys.readouterr().err


def test_the_cli_uses_the_calendar_through_the_environment(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EXPORTGATE_CONFIG", str(_file(tmp_path, CALENDAR)))
    orders = tmp_path / "orders.jsonl"
    orders.write_text("".join(json.dumps(h100_order(f"SO-{d}", "KR", 1, date=d)) + "\n"
                              for d in ("2025-01-02", "2025-06-02", "2026-06-02")))
    assert main(["batch", "--ledger", f"sqlite:///{tmp_path / 'l.db'}", "--json",
                 str(orders)]) == 0
    regimes = [json.loads(line)["regime"] for line in capsys.readouterr().out.splitlines()]
    assert regimes == ["us-advanced-computing-2023", "us-ai-diffusion-2025",
                       "us-country-deals-2025"]
