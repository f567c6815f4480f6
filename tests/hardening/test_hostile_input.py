"""Hostile and clumsy input: each is an input error (exit 2) with a message, never a traceback,
and nothing of the offending order is reserved.
"""
from __future__ import annotations

import json
import stat
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from exportgate._catalog import ItemCatalog
from exportgate._cli import main
from exportgate._exceptions import ConfigError, InputError, ValidationError
from exportgate._input import RecordFile
from exportgate.ledger.sqlite import SqliteLedger
from exportgate._parties import PartyMaster
from exportgate._settings import Settings
from exportgate._validate import order_from_dict

from tests.helpers import h100_order, reserved

REGIME = "us-ai-diffusion-2025"


def _order(**changes: Any) -> dict[str, Any]:
    order = h100_order("SO-1", "IN", 10)
    order.update(changes)
    return order


def _check_text(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str],
                *extra: str) -> tuple[int, str, str]:
    path = tmp_path / "order.json"
    path.write_text(text, encoding="utf-8")
    code = main(["check", "--regime", REGIME, "--ledger", f"sqlite:///{tmp_path / 'l.db'}",
                 *extra, str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def _refused(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str],
             message: str) -> None:
    code, out, err = _check_text(tmp_path, text, capsys)
    assert code == 2, (code, out, err)
    assert message in err and "Traceback" not in err
    assert out == ""
    assert reserved(tmp_path / "l.db") == []


# -- the order itself ---------------------------------------------------------------


def test_a_lone_surrogate_in_a_party_name(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    order = _order()
    order["parties"]["ship_to"]["name"] = "ACME \ud800 Ltd"
    _refused(tmp_path, json.dumps(order), capsys, "not valid Unicode text")


def test_a_lone_surrogate_in_an_item(tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    order = _order()
    order["lines"][0]["item"] = "H100\udfff"
    _refused(tmp_path, json.dumps(order), capsys, "not valid Unicode text")


def test_json_nested_100000_deep_in_an_order_field(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    text = json.dumps(_order())[:-1] + ', "x_note": ' + "[" * 100_000 + "]" * 100_000 + "}"
    _refused(tmp_path, text, capsys, "nested more than 64 levels deep")


def test_json_nested_past_the_limit_but_within_python(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    text = json.dumps(_order())[:-1] + ', "x_note": ' + "[" * 200 + "]" * 200 + "}"
    _refused(tmp_path, text, capsys, "nested more than 64 levels deep")


def test_a_5000_digit_quantity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = json.dumps(_order()).replace('"quantity": 10', '"quantity": ' + "9" * 5000)
    _refused(tmp_path, text, capsys, "not valid JSON")


def test_a_4000_digit_quantity_is_quoted_safely() -> None:
    order = _order()
    order["lines"][0]["quantity"] = int("9" * 4000)
    with pytest.raises(ValidationError, match="at most 1,000,000,000, got a 13,288-bit integer"):
        order_from_dict(order)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_non_finite_numbers_are_input_errors(literal: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    order = _order()
    order["lines"][0]["classification"] = {"eccn": "3A090", "tpp": 100, "pd": 0}
    text = json.dumps(order).replace('"pd": 0', f'"pd": {literal}')
    _refused(tmp_path, text, capsys, "not valid JSON")


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_pd_from_python_is_an_input_error(value: float) -> None:
    order = _order()
    order["lines"][0]["classification"] = {"eccn": "3A090", "tpp": 100, "pd": value}
    with pytest.raises(ValidationError, match="classification.pd must be a finite number"):
        order_from_dict(order)


@pytest.mark.parametrize("field, value", [("quantity", True),
                                          ("classification", {"tpp": True, "eccn": "3A090"}),
                                          ("id", True), ("item", False)])
def test_booleans_are_not_numbers(field: str, value: Any) -> None:
    order = _order()
    order["lines"][0][field] = value
    with pytest.raises(ValidationError):
        order_from_dict(order)


def test_tpp_true_is_refused_on_the_command_line(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    order = _order()
    order["lines"][0]["classification"] = {"eccn": "3A090", "tpp": True}
    _refused(tmp_path, json.dumps(order), capsys, "classification.tpp must be of type integer")


def test_a_nul_in_the_order_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _refused(tmp_path, json.dumps(_order(id="SO-\u00001")), capsys, "control characters")


def test_a_numeric_order_id_is_refused_so_1_and_string_1_cannot_collide(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _refused(tmp_path, json.dumps(_order(id=1)), capsys, "id must be of type string")


def test_control_characters_in_line_and_party_ids() -> None:
    for mutate in (lambda o: o["lines"][0].update(id="10\n"),
                   lambda o: o["parties"]["ship_to"].update(id="c\x00")):
        order = _order()
        mutate(order)
        with pytest.raises(ValidationError, match="control characters"):
            order_from_dict(order)


# -- batches -------------------------------------------------------------------------


def test_keep_going_reports_a_malformed_line_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(h100_order("SO-1", "KR", 1)) + "\n{not json\n"
                    + json.dumps(h100_order("SO-3", "KR", 1)) + "\n")
    errors: list[InputError] = []
    records = list(RecordFile(str(path), on_error=errors.append))
    # The bad line stands in its place, unreadable, so a batch reports it in order.
    assert [r.data["id"] if r.data else None for r in records] == ["SO-1", None, "SO-3"]
    assert records[1].unreadable is not None and ":2:" in records[1].unreadable
    assert errors == []


def test_keep_going_on_the_command_line(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(h100_order("SO-1", "KR", 1)) + "\n{not json\n"
                    + json.dumps(h100_order("SO-3", "KR", 1)) + "\n")
    code = main(["batch", "--keep-going", "--json", "--regime", REGIME, "--ledger",
                 f"sqlite:///{tmp_path / 'l.db'}", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and f"{path}:2" in err and "Traceback" not in err
    assert [json.loads(x)["order"] for x in out.splitlines()] == ["SO-1", "SO-3"]


def test_without_keep_going_a_malformed_line_stops_before_anything_is_decided(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "b.jsonl"
    path.write_text(json.dumps(h100_order("SO-1", "IN", 10)) + "\n{not json\n")
    code = main(["batch", "--regime", REGIME, "--ledger", f"sqlite:///{tmp_path / 'l.db'}",
                 str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and f"{path}:2" in err
    assert reserved(tmp_path / "l.db") == []


def _refused_big_batch(tmp_path: Path, lines: int,
                       capsys: pytest.CaptureFixture[str]) -> int:
    """A batch of ``lines`` good lines and a broken last one: the peak memory of refusing it."""
    path = tmp_path / f"big-{lines}.jsonl"
    line = json.dumps(h100_order("SO-{}", "KR", 1))
    with path.open("w") as f:
        for n in range(lines):
            f.write(line.replace("SO-{}", f"SO-{n}") + "\n")
        f.write('{"id": "SO-last", "lines": [\n')
    db = tmp_path / f"l-{lines}.db"
    tracemalloc.start()
    try:
        code = main(["batch", "--regime", REGIME, "--ledger", f"sqlite:///{db}", str(path)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out, err = capsys.readouterr()
    assert code == 2 and out == "" and f":{lines + 1}:" in err
    assert reserved(db) == []
    return peak


@pytest.mark.slow
def test_a_big_batch_with_a_bad_last_line_is_refused_before_anything_is_decided_in_flat_memory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every line is read before the first is decided, and none is kept in memory: the
    orders read wait on disk (the spool), so refusing a big batch at its last line
    decides nothing, reserves nothing, and its memory does not grow with the lines read.
    (The workers evaluate as they read: that has no effect outside them.)
    """
    small = _refused_big_batch(tmp_path, 2_000, capsys)
    large = _refused_big_batch(tmp_path, 10_000, capsys)
    # 8,000 more orders kept would take tens of megabytes (each is kilobytes parsed)
    assert large - small < 1_000_000, (small, large)


# -- configuration and data files ---------------------------------------------------------


BOMB = ("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
        + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
                  for i in range(8)))


def _load_config(tmp_path: Path, text: str) -> str:
    path = tmp_path / "exportgate.yaml"
    path.write_text(text)
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError) as err:
            Settings.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16_000_000, peak  # refused before expanding (9**9 nodes would be gigabytes)
    assert len(str(err.value)) < 1000
    return str(err.value)


def test_a_yaml_alias_bomb_in_the_configuration(tmp_path: Path) -> None:
    assert "alias bomb" in _load_config(tmp_path, BOMB)


def test_a_yaml_alias_bomb_in_plugins_block(tmp_path: Path) -> None:
    text = BOMB.replace("i: &i", "plugins:\n  block: &i")
    assert "alias bomb" in _load_config(tmp_path, text)


def test_a_self_referencing_alias_in_the_configuration(tmp_path: Path) -> None:
    assert "contains it" in _load_config(tmp_path, "plugins: &p {block: [*p]}\n")


def test_deeply_nested_yaml_in_the_configuration(tmp_path: Path) -> None:
    text = "adapters:\n  x: " + "[" * 100_000 + "]" * 100_000 + "\n"
    assert "nested more than 64 levels" in _load_config(tmp_path, text)


def test_deeply_nested_yaml_in_a_catalog(tmp_path: Path) -> None:
    path = tmp_path / "items.yaml"
    path.write_text("version: 1\nitems:\n  X: {name: " + "[" * 5000 + "]" * 5000 + "}\n")
    with pytest.raises(ConfigError, match="nested more than 64 levels"):
        ItemCatalog().load_file(path)


def test_a_5000_digit_number_in_a_catalog(tmp_path: Path) -> None:
    path = tmp_path / "items.yaml"
    path.write_text("version: 1\nitems:\n  X: {tpp: " + "9" * 5000 + "}\n")
    with pytest.raises(ConfigError):
        ItemCatalog().load_file(path)


def test_a_nan_pd_in_a_catalog(tmp_path: Path) -> None:
    path = tmp_path / "items.yaml"
    path.write_text("version: 1\nitems:\n  X: {eccn: 3A090, tpp: 10, pd: .nan}\n")
    with pytest.raises(ConfigError, match="finite"):
        ItemCatalog().load_file(path)


def test_a_lone_surrogate_in_the_party_master(tmp_path: Path) -> None:
    path = tmp_path / "parties.yaml"
    path.write_text('version: 1\nparties:\n  C1: {country: DE, name: "ACME \\ud800"}\n')
    with pytest.raises(ConfigError, match="not valid Unicode text"):
        PartyMaster().load_file(path)


# -- files at rest ----------------------------------------------------------------------


def test_a_new_sqlite_ledger_is_owner_only(tmp_path: Path) -> None:
    db = tmp_path / "sub" / "ledger.db"
    ledger = SqliteLedger(f"sqlite:///{db}")
    ledger.init()
    ledger.close()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    for side in db.parent.glob("ledger.db-*"):
        assert stat.S_IMODE(side.stat().st_mode) & 0o077 == 0, side
