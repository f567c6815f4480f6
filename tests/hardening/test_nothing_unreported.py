"""Nothing reserved goes unreported: once quota is committed, the decision reaches the host.

The printing of a committed decision cannot fail, whatever text it carries,
and one order that cannot be re-checked does not stop the orders after it.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from exportgate._cli import _print_checked, main
from exportgate._gate import Checked
from exportgate.ledger.urls import open_ledger
from exportgate._model import Decision, LineDecision, Order, Outcome, Reason

from tests.helpers import h100_order

REGIME = "us-ai-diffusion-2025"


def _checked_with_surrogates() -> Checked:
    """A decision whose text holds lone surrogates (a host's own Python objects may)."""
    doc = h100_order("SO-\ud800", "IN", 10)
    doc["lines"][0]["item"] = "H100 \udfff"
    order = Order.from_dict(doc)
    line = LineDecision("10", Outcome.NOTIFY, (Reason("LPP", "cite", "msg \ud800"),))
    return Checked(order, Decision(order=order.id, regime=REGIME, lines=(line,)))


@pytest.mark.parametrize("as_json", [False, True])
def test_printing_a_committed_decision_never_raises(as_json: bool,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", errors="strict")
    monkeypatch.setattr(sys, "stdout", stream)
    _print_checked(_checked_with_surrogates(),
                   argparse.Namespace(json=as_json, writeback=False))
    stream.flush()
    text = raw.getvalue().decode("utf-8")
    assert "SO-" in text and ("\\ud800" in text or "\\\\ud800" in text)


def test_a_table_that_cannot_be_drawn_falls_back_to_json(monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    import exportgate._cli as cli

    def broken(*args: Any) -> None:
        raise ValueError("a renderer bug")

    monkeypatch.setattr(cli, "decision_table", broken)
    _print_checked(_checked_with_surrogates(), argparse.Namespace(json=False, writeback=False))
    out = capsys.readouterr().out
    assert json.loads(out)["lines"][0]["outcome"] == "notify"


def _shipped_a_then_batch(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                          *flags: str) -> tuple[int, str, str, dict[str, str]]:
    db = f"sqlite:///{tmp_path / 'l.db'}"
    one = tmp_path / "a.json"
    one.write_text(json.dumps(h100_order("A", "IN", 10)))
    assert main(["check", "--json", "--regime", REGIME, "--ledger", db, str(one)]) == 0
    ledger = open_ledger(db)
    ledger.commit("A")
    ledger.close()
    capsys.readouterr()
    batch = tmp_path / "b.jsonl"
    batch.write_text("".join(json.dumps(h100_order(x, "IN", 10)) + "\n" for x in "BAC"))
    code = main(["batch", "--json", *flags, "--regime", REGIME, "--ledger", db, str(batch)])
    out, err = capsys.readouterr()
    ledger = open_ledger(db)
    try:
        states = {r["order"]: r["state"] for r in ledger.reservations()}
    finally:
        ledger.close()
    return code, out, err, states


def test_a_shipped_order_in_a_batch_stops_it_before_anything_is_decided(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err, states = _shipped_a_then_batch(tmp_path, capsys)
    assert code == 2 and out == "" and "A" in err and "Traceback" not in err
    assert states == {"A": "committed"}


def test_with_keep_going_a_shipped_order_is_reported_and_the_rest_decided(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err, states = _shipped_a_then_batch(tmp_path, capsys, "--keep-going")
    assert [json.loads(x)["order"] for x in out.splitlines()] == ["B", "C"]
    assert "A" in err and "Traceback" not in err
    assert code == 2
    assert states == {"A": "committed", "B": "reserved", "C": "reserved"}


def test_a_log_that_fails_after_the_commit_still_reports_what_was_reserved(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger's commit is the records' durable write: a log file that cannot be
    written after it leaves the decisions reserved, so they are reported (exit 5)."""
    from exportgate.audit import log as audit

    def full(fd: int, data: bytes) -> int:
        raise OSError(28, "No space left on device")
    db = f"sqlite:///{tmp_path / 'l.db'}"
    config = tmp_path / "c.yaml"
    config.write_text(f"audit_log: {tmp_path / 'audit.jsonl'}\n")
    batch = tmp_path / "b.jsonl"
    batch.write_text("".join(json.dumps(h100_order(x, "IN", 10)) + "\n" for x in "ABC"))
    monkeypatch.setattr(audit.os, "write", full)
    code = main(["--config", str(config), "batch", "--json", "--regime", REGIME,
                 "--ledger", db, str(batch)])
    out, err = capsys.readouterr()
    assert code == 5 and "committed in the ledger" in err and "Traceback" not in err
    reported = [json.loads(x) for x in out.splitlines()]
    assert [d["order"] for d in reported] == ["A", "B", "C"]
    assert all(d["error"] is None for d in reported)
    ledger = open_ledger(db)
    try:
        assert {r["order"] for r in ledger.reservations()} == {"A", "B", "C"}
    finally:
        ledger.close()
