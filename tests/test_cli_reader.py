"""What a reader of the command line needs: its version, the ledger it used, help on every
leaf, a "did you mean" for a mistyped item, and every error of a record, not the first."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import exportgate
from exportgate._catalog import ItemCatalog
from exportgate._exceptions import ConfigError, ValidationError
from exportgate._validate import validate_data, validate_order
from tests.helpers import h100_order
from tests.test_cli import run, write_jsonl


def test_version_comes_from_the_package_metadata(tmp_path: Path) -> None:
    from importlib.metadata import version

    assert exportgate.__version__ == version("exportgate")
    proc = run("--version", cwd=tmp_path)
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"exportgate {exportgate.__version__}"


@pytest.mark.parametrize("command", ["check", "batch"])
def test_the_default_ledger_is_named_on_stderr_as_an_absolute_url(
        tmp_path: Path, command: str) -> None:
    f = write_jsonl(tmp_path / "o.jsonl", [h100_order("A", "IN", 100)])
    proc = run(command, "--regime", "us-ai-diffusion-2025", str(f), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    db = tmp_path / ".exportgate" / "ledger.db"
    assert f"ledger: sqlite:///{db.resolve()}" in proc.stderr.splitlines()
    with sqlite3.connect(db) as conn:  # the ledger named is the one that holds the quota
        assert conn.execute("SELECT order_id FROM eg_reservations").fetchall() == [("A",)]
    assert "ledger:" not in proc.stdout


def test_a_relative_ledger_url_is_shown_absolute_and_json_stdout_stays_json(
        tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "o.jsonl", [h100_order("A", "IN", 100)])
    text = run("batch", "--regime", "us-ai-diffusion-2025", "--ledger", "sqlite:///sub/l.db",
               str(f), cwd=tmp_path)
    assert f"ledger: sqlite:///{(tmp_path / 'sub' / 'l.db').resolve()}" in text.stderr
    as_json = run("batch", "--regime", "us-ai-diffusion-2025", "--ledger",
                  "sqlite:///sub/l.db", "--json", str(f), cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    assert "ledger:" not in as_json.stderr + as_json.stdout
    assert [json.loads(line)["order"] for line in as_json.stdout.splitlines()] == ["A"]


@pytest.mark.parametrize("args, wanted", [
    (["regimes"], ["--json", "revision", "effective_from"]),
    (["ledger", "show"], ["--json", "remaining", "cap"]),
    (["license", "add"], ["YAML or JSON", "docs/licenses.md", "licenses:"]),
])
def test_leaf_commands_explain_their_options(tmp_path: Path, args: list[str],
                                             wanted: list[str]) -> None:
    proc = run(*args, "--help", cwd=tmp_path)
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())
    for word in wanted:
        assert word in text, word
    option = text[text.index("--json "):] if "--json" in wanted else text
    assert len(option.split()) > 3  # the option says something, not a bare flag


def test_an_unknown_item_gets_a_did_you_mean(tmp_path: Path) -> None:
    order = h100_order("SO-1", "IN", 10)
    order["lines"][0]["item"] = "NVIDIA-H100-SMX"
    order["lines"][0].pop("classification", None)
    f = write_jsonl(tmp_path / "o.jsonl", [order])
    proc = run("check", "--regime", "us-ai-diffusion-2025", "--ledger",
               f"sqlite:///{tmp_path / 'l.db'}", str(f), cwd=tmp_path)
    assert proc.returncode == 2
    assert "item 'NVIDIA-H100-SMX' has no classification" in proc.stderr
    assert "did you mean 'NVIDIA-H100-SXM'" in proc.stderr


def test_suggestions_come_from_ids_and_aliases_as_spelled() -> None:
    catalog = ItemCatalog.builtin()
    assert catalog.suggest("h100-sxm5-80gb")[0] == "NVIDIA-H100-SXM5-80GB"
    assert "H100" in catalog.suggest("H10")
    assert catalog.suggest("a-toaster") == []


def test_every_error_of_a_record_is_printed() -> None:
    doc = h100_order("SO-1", "IN", 10)
    doc["lines"] = [{"id": "10", "item": "H100", "quantity": -1},
                    {"id": "20", "quantity": "x"}]
    with pytest.raises(ValidationError) as err:
        validate_order(doc, "SO-1")
    message = str(err.value)
    assert "more)" not in message
    assert message.startswith("order SO-1 line 10: quantity must be a positive integer, got -1")
    assert "line 20: item is required" in message
    assert "line 20: quantity must be a positive integer, got 'x'" in message
    assert (err.value.line, err.value.field) == ("10", "quantity")


def test_every_error_of_a_data_document_is_printed() -> None:
    schema = {"a": {"type": "integer"}, "b": {"type": "integer"}}
    with pytest.raises(ConfigError) as err:
        validate_data({"a": "x", "b": "y"}, schema, "settings.yaml")
    assert "more)" not in str(err.value)
    assert "a must be of type integer" in str(err.value)
    assert "b must be of type integer" in str(err.value)
