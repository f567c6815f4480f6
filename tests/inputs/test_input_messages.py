"""Messages that say the real cause: a number too large, a byte order mark, a record that
nearly is an order.

A quantity of ``1e400`` in pretty-printed JSON was reported as "invalid JSON
at line 1 column 2"; a UTF-8 BOM before canonical JSON and a canonical order
without ``lines`` both as "no adapter claims this record".
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest
from exportgate._cli import main

from tests.helpers import h100_order

REGIME = "us-ai-diffusion-2025"
BOM = b"\xef\xbb\xbf"


@pytest.fixture
def check(tmp_path: Path, capsys: pytest.CaptureFixture[str]
          ) -> Callable[..., tuple[int, str, str]]:
    """Run ``exportgate check`` (or the command given) on a file of these bytes."""
    def run(name: str, content: bytes, command: str = "check") -> tuple[int, str, str]:
        path = tmp_path / name
        path.write_bytes(content)
        code = main([command, "--regime", REGIME, "--ledger",
                     f"sqlite:///{tmp_path / 'l.db'}", "--json", str(path)])
        out, err = capsys.readouterr()
        return code, out, err
    return run


def test_a_number_too_large_in_a_pretty_printed_order_names_its_field(check: Callable[..., tuple[int, str, str]]) -> None:
    text = json.dumps(h100_order("BIG-1", "IN", 1), indent=2).replace(
        '"quantity": 1', '"quantity": 1e400')
    code, out, err = check("big.json", text.encode())
    assert (code, out) == (2, "")
    assert "1e400 is too large for a number at lines[0].quantity" in err
    assert "line 1 column 2" not in err


def test_a_broken_pretty_printed_order_says_where_it_breaks(check: Callable[..., tuple[int, str, str]]) -> None:
    text = json.dumps(h100_order("CUT-1", "IN", 1), indent=2)
    cut = text.replace('"quantity": 1', '"quantity": ')
    code, _, err = check("cut.json", cut.encode())
    # the value is missing: the parser stops at the brace on the line after "quantity"
    lineno = cut[:cut.index('"quantity"')].count("\n") + 2
    assert code == 2 and f"cut.json: invalid JSON at line {lineno} column 5" in err


def test_a_byte_order_mark_before_an_order_is_not_content(check: Callable[..., tuple[int, str, str]]) -> None:
    doc = json.dumps(h100_order("BOM-1", "IN", 100))
    code, out, err = check("bom.json", BOM + doc.encode())
    assert code == 0, err
    assert json.loads(out)["order"] == "BOM-1"
    code, out, err = check("bom-pretty.json",
                            BOM + json.dumps(h100_order("BOM-2", "IN", 100), indent=2).encode())
    assert code == 0, err
    assert json.loads(out)["order"] == "BOM-2"


def test_a_byte_order_mark_before_json_lines(check: Callable[..., tuple[int, str, str]]) -> None:
    text = "".join(json.dumps(h100_order(f"BOM-{n}", "IN", 100)) + "\n" for n in (1, 2))
    code, out, err = check("bom.jsonl", BOM + text.encode(), "batch")
    assert code == 0, err
    assert [json.loads(x)["order"] for x in out.splitlines()] == ["BOM-1", "BOM-2"]


def test_a_canonical_order_without_lines_says_so(check: Callable[..., tuple[int, str, str]]
                                                 ) -> None:
    order = h100_order("NOLINES-1", "IN", 1)
    del order["lines"]
    code, out, err = check("nolines.json", json.dumps(order).encode())
    assert (code, out) == (2, "")
    assert "no adapter claims this record; nearest: canonical (looks like a canonical order " \
           "but has no `lines`)" in err
