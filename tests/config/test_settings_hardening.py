"""The hardening settings: files named relative to the configuration, typed, never inlined."""
from __future__ import annotations

from pathlib import Path

import pytest
from exportgate import ConfigError
from exportgate._settings import Settings


def test_engine_files_and_the_audit_key_are_relative_to_the_configuration(tmp_path: Path
                                                                         ) -> None:
    config = tmp_path / "etc" / "exportgate.yaml"
    config.parent.mkdir()
    config.write_text("engine:\n  name: opa-http\n  url: https://127.0.0.1:8181\n"
                      "  token_file: secrets/opa-token\n  ca_file: pki/ca.pem\n"
                      "  cert_file: pki/client.pem\n  key_file: pki/client.key\n"
                      "  timeout: 2.5\n  proxy: http://127.0.0.1:3128\n"
                      "audit_log: audit.jsonl\naudit_key_file: secrets/audit.key\n")
    settings = Settings.load(config)
    base = config.parent.resolve()
    for key, rel in (("token_file", "secrets/opa-token"), ("ca_file", "pki/ca.pem"),
                     ("cert_file", "pki/client.pem"), ("key_file", "pki/client.key")):
        assert settings.engine[key] == str(base / rel)
    assert settings.engine["timeout"] == 2.5
    assert settings.audit_key_file == base / "secrets" / "audit.key"


@pytest.mark.parametrize("engine, key", [
    ({"timeout": True}, "engine.timeout"),
    ({"timeout": 0}, "engine.timeout"),
    ({"token_env": "NOT A NAME"}, "engine.token_env"),
    ({"token_file": ""}, "engine.token_file"),
    ({"max_response_bytes": 10}, "engine.max_response_bytes"),
    ({"token": "inline-secret"}, "engine.token"),
])
def test_bad_hardening_settings_name_their_key(engine: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_dict({"engine": engine})
    assert key in str(err.value) and "inline-secret" not in str(err.value)


def test_a_boolean_ledger_timeout_is_refused() -> None:
    with pytest.raises(ConfigError, match="ledger_timeout"):
        Settings.from_dict({"ledger_timeout": True})
