"""A key repeated in any JSON or YAML input is an input error naming the record and the field.

``"quantity": 3, "quantity": 5000`` was decided on 5000 and reserved: which
value the ERP meant is unknown, so nothing of that order may be evaluated or
reserved. The same holds for configuration, license files and the rows of a
table.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from exportgate._cli import main
from exportgate._exceptions import ConfigError, InputError
from exportgate._input import parse_record
from exportgate._settings import Settings
from exportgate._validate import load_yaml
from exportgate.ledger import licenses as _licenses
from exportgate.toolkit import Record

from tests.helpers import h100_order, reserved

REGIME = "us-ai-diffusion-2025"
#: A canonical order whose second line says its quantity twice.
DUPLICATE = ('{"id": "DUP-1", "date": "2025-06-02", "parties": {"ship_to": '
             '{"id": "in-1", "country": "IN"}}, "lines": [{"id": "10", "item": "H100", '
             '"quantity": 3}, {"id": "20", "item": "H100", "quantity": 3, "quantity": 5000}]}')


def test_a_record_read_from_text_refuses_a_repeated_key() -> None:
    with pytest.raises(InputError) as err:
        parse_record(DUPLICATE, "orders.json")
    assert str(err.value).startswith("orders.json: duplicate key \"quantity\" at "
                                     "lines[1].quantity")
    with pytest.raises(InputError, match=r"lines\[1\]\.quantity"):
        Record.from_text(DUPLICATE, "orders.json")


def test_check_refuses_a_repeated_quantity_and_reserves_nothing(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "order.json"
    path.write_text(DUPLICATE + "\n")
    db = tmp_path / "l.db"
    code = main(["check", "--regime", REGIME, "--ledger", f"sqlite:///{db}", "--json",
                 str(path)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert f"{path}:1: duplicate key \"quantity\" at lines[1].quantity" in err
    assert reserved(db) == []


def test_batch_refuses_a_repeated_key_on_any_line_before_deciding_anything(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "orders.jsonl"
    path.write_text(json.dumps(h100_order("GOOD-1", "IN", 100)) + "\n"
                    + DUPLICATE + "\n")
    db = tmp_path / "l.db"
    code = main(["batch", "--regime", REGIME, "--ledger", f"sqlite:///{db}", "--json",
                 str(path)])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert f"{path}:2: duplicate key \"quantity\" at lines[1].quantity" in err
    assert reserved(db) == []


def test_a_pretty_printed_order_names_the_repeated_field(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "order.json"
    doc = h100_order("DUP-2", "IN", 3)
    text = json.dumps(doc, indent=2).replace('"quantity": 3', '"quantity": 3,\n'
                                             '      "quantity": 5000')
    path.write_text(text)
    code = main(["check", "--regime", REGIME, "--ledger", f"sqlite:///{tmp_path / 'l.db'}",
                 str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{path}: duplicate key \"quantity\" at lines[0].quantity" in err


# -- configuration, master data, licenses -----------------------------------------------

def test_a_yaml_configuration_with_a_repeated_key_names_file_line_and_key(
        tmp_path: Path) -> None:
    path = tmp_path / "exportgate.yaml"
    path.write_text("ledger_timeout: 5\nadapters:\n  netsuite:\n    hold_status: A\n"
                    "    hold_status: B\n")
    with pytest.raises(ConfigError) as err:
        Settings.load(path)
    message = str(err.value)
    assert str(path) in message
    assert 'duplicate key "hold_status" at adapters.netsuite.hold_status (line 5' in message


def test_a_repeated_top_level_key_is_refused_even_far_apart(tmp_path: Path) -> None:
    path = tmp_path / "exportgate.yaml"
    path.write_text("ledger: sqlite:///a.db\nledger_timeout: 5\nledger: sqlite:///b.db\n")
    with pytest.raises(ConfigError, match=r'duplicate key "ledger" at ledger \(line 3'):
        Settings.load(path)


def test_yaml_keys_that_read_as_the_same_value_are_a_repetition(tmp_path: Path) -> None:
    path = tmp_path / "items.yaml"
    path.write_text("version: 1\nitems:\n  X: {eccn: EAR99}\n  1: {eccn: EAR99}\n"
                    "  0x1: {eccn: EAR99}\n")
    with pytest.raises(ConfigError, match=r'duplicate key "1" at items.1 \(line 5'):
        load_yaml(path, "item catalog")


def test_yaml_merge_keys_still_override(tmp_path: Path) -> None:
    """``<<`` merges a mapping whose keys the mapping's own keys replace: not a repetition."""
    path = tmp_path / "c.yaml"
    path.write_text("base: &b {a: 1, b: 2}\nderived:\n  <<: *b\n  b: 3\n")
    assert load_yaml(path, "test")["derived"] == {"a": 1, "b": 3}


def test_a_json_configuration_is_read_strictly(tmp_path: Path) -> None:
    path = tmp_path / "exportgate.json"
    path.write_text('{"ledger_timeout": 5, "adapters": {"netsuite": '
                    '{"hold_status": "A", "hold_status": "B"}}}')
    with pytest.raises(ConfigError) as err:
        Settings.load(path)
    assert str(path) in str(err.value)
    assert 'duplicate key "hold_status" at adapters.netsuite.hold_status' in str(err.value)
    path.write_text('{"ledger_timeout": 1e400}')
    with pytest.raises(ConfigError, match="too large for a number at ledger_timeout"):
        Settings.load(path)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_a_license_file_with_a_repeated_quantity_is_refused(tmp_path: Path,
                                                            suffix: str) -> None:
    path = tmp_path / f"licenses{suffix}"
    path.write_text('{"licenses": [{"number": "D1", "issued": "2026-02-01", '
                    '"expires": "2028-01-31", "destinations": ["CN"], "consignees": ["C1"], '
                    '"items": [{"item": "H200", "quantity": 10, "quantity": 10000}]}]}')
    with pytest.raises(ConfigError) as err:
        _licenses.read_file(path)
    assert str(path) in str(err.value)
    assert 'duplicate key "quantity" at licenses[0].items[0].quantity' in str(err.value)


def test_license_add_records_nothing_from_a_file_with_a_repeated_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "licenses.yaml"
    path.write_text("licenses:\n  - number: D1\n    issued: 2026-02-01\n"
                    "    expires: 2028-01-31\n    destinations: [CN]\n    consignees: [C1]\n"
                    "    items: [{item: H200, quantity: 10}]\n    expires: 2030-01-31\n")
    db = tmp_path / "l.db"
    code = main(["license", "--ledger", f"sqlite:///{db}", "add", str(path)])
    assert code == 2
    assert 'duplicate key "expires" at licenses[0].expires (line 8' in capsys.readouterr().err
    assert main(["license", "--ledger", f"sqlite:///{db}", "list", "--json"]) == 0
    assert capsys.readouterr().out == ""
