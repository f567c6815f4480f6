"""A password in a URL never reaches a message, whatever shape the URL has."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from exportgate._exceptions import ConfigError, ExportgateError
from exportgate.ledger.postgres import PostgresLedger
from exportgate.ledger.sqlite import SqliteLedger
from exportgate._redact import has_credentials, redact_url
from exportgate._settings import Settings, check_ledger_url

SECRET = "Sup3rS3cret"

SHAPES = [
    f"postgresql://app:{SECRET}@db.example:5432/ledger",
    f"postgresql://app:{SECRET}/x@db.example/ledger",            # raw '/'
    f"postgresql://app:{SECRET}@x@db.example/ledger",            # raw '@'
    f"postgresql://app:{SECRET}%zz@db.example/ledger",           # bad percent-escape
    f"postgresql+psycopg://app:{SECRET}@db.example/ledger",      # driver in the scheme
    f"postgress://app:{SECRET}@db.example/ledger",               # mistyped scheme
    f"postgresql:/app:{SECRET}@db.example/ledger",               # one slash
    f"app:{SECRET}@db.example/ledger",                          # no scheme
    f"postgresql://db.example/ledger?user=app&password={SECRET}",
    f"host=db.example user=app password={SECRET} dbname=ledger",
    f"host=db.example password='{SECRET} x' dbname=ledger",
    f"postgresql://app:{SECRET}@db.example/ledger?application_name=a@b",
]


@pytest.mark.parametrize("url", SHAPES)
def test_redact_url_hides_the_password_whatever_the_shape(url: str) -> None:
    shown = redact_url(url)
    assert SECRET not in shown and "***" in shown
    assert has_credentials(url)


def test_redact_url_keeps_what_is_not_secret() -> None:
    assert redact_url("sqlite:///var/lib/eg/ledger.db") == "sqlite:///var/lib/eg/ledger.db"
    assert redact_url("postgresql://app@db/ledger") == "postgresql://app@db/ledger"
    assert redact_url("http://127.0.0.1:8181") == "http://127.0.0.1:8181"
    assert redact_url({"url": f"postgresql://a:{SECRET}@h/db"}) == "<dict, not a URL string>"


def _config_error(doc: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as err:
        Settings.from_dict(doc)
    return str(err.value)


@pytest.mark.parametrize("url", [u for u in SHAPES if not u.startswith("postgresql://")
                                 and not u.startswith("postgresql+")])
def test_a_mistyped_ledger_url_is_refused_redacted(url: str) -> None:
    message = _config_error({"ledger": url})
    assert "ledger" in message and SECRET not in message


@pytest.mark.parametrize("value", [
    {"url": f"postgresql://app:{SECRET}@db/ledger"},
    [f"postgresql://app:{SECRET}@db/ledger"],
    {"password": SECRET},
])
def test_a_wrongly_typed_ledger_value_is_never_printed(value: Any) -> None:
    message = _config_error({"ledger": value})
    assert "ledger: must be a URL string" in message and SECRET not in message


def test_a_ledger_value_in_a_file_is_never_printed(tmp_path: Path) -> None:
    path = tmp_path / "exportgate.yaml"
    path.write_text(yaml.safe_dump({"ledger": {"url": f"postgresql://a:{SECRET}@h/db"}}))
    with pytest.raises(ConfigError) as err:
        Settings.load(path)
    assert SECRET not in str(err.value)


@pytest.mark.parametrize("url", [
    f"http://admin:{SECRET}@127.0.0.1:8181",
    f"https://admin:{SECRET}/x@127.0.0.1:8181",
    f"http://admin:{SECRET}@127.0.0.1:8181/v1/data",
])
def test_an_engine_url_with_credentials_is_refused_redacted(url: str) -> None:
    message = _config_error({"engine": {"name": "opa-http", "url": url}})
    assert "engine.url" in message and "credentials" in message and SECRET not in message


def test_an_engine_url_of_the_wrong_type_is_never_printed() -> None:
    message = _config_error({"engine": {"name": "opa-http",
                                        "url": {"u": f"http://a:{SECRET}@h"}}})
    assert "engine.url" in message and SECRET not in message


@pytest.mark.parametrize("url", SHAPES[:7])
def test_the_postgres_ledger_never_prints_the_password(url: str) -> None:
    try:
        ledger = PostgresLedger(url.replace("postgress:", "postgresql:")
                                .replace("postgresql:/app", "postgresql://app"), timeout=0.5)
    except ConfigError as exc:
        assert SECRET not in str(exc)
        return
    assert SECRET not in ledger.label


def test_the_postgres_ledger_scrubs_driver_errors() -> None:
    url = f"postgresql://app:{SECRET}@127.0.0.1:1/ledger"
    ledger = PostgresLedger(url, timeout=0.5)
    text = ledger.describe_error(RuntimeError(f"could not use {url} with password {SECRET}"))
    assert SECRET not in text


def test_a_postgres_ledger_that_cannot_connect_hides_the_password() -> None:
    """Port 1 on loopback refuses at once: the message names the ledger, not the password."""
    ledger = PostgresLedger(f"postgresql://app:{SECRET}@127.0.0.1:1/ledger", timeout=0.5)
    with pytest.raises(ExportgateError) as err:
        ledger.init()
    assert "cannot connect" in str(err.value) and SECRET not in str(err.value)


def test_check_ledger_url_is_the_cli_gatekeeper() -> None:
    with pytest.raises(ConfigError) as err:
        check_ledger_url(f"mysql://root:{SECRET}@h/db", "--ledger")
    assert "--ledger" in str(err.value) and SECRET not in str(err.value)
    assert check_ledger_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_bad_sqlite_url_is_redacted() -> None:
    with pytest.raises(ConfigError) as err:
        SqliteLedger(f"sqlite:app:{SECRET}@h")
    assert SECRET not in str(err.value)


def test_a_mistyped_ledger_on_the_command_line_is_refused_redacted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from exportgate._cli import main
    order = tmp_path / "o.json"
    order.write_text("{}")
    for url in (f"mysql://root:{SECRET}@h/db", f"postgresql+psycopg://a:{SECRET}@h/db"):
        assert main(["check", "--regime", "us-ai-diffusion-2025", "--ledger", url,
                     str(order)]) == 2
        err = capsys.readouterr().err
        assert "--ledger" in err and SECRET not in err


@pytest.mark.parametrize("url", [f"postgress://app:{SECRET}@db/ledger",
                                 f"postgresql+psycopg://app:{SECRET}@db/ledger"])
def test_open_ledger_never_prints_the_password(url: str) -> None:
    from exportgate.ledger.urls import open_ledger
    with pytest.raises(ExportgateError) as err:
        open_ledger(url)
    assert SECRET not in str(err.value)
