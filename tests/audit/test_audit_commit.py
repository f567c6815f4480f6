"""The ledger's commit is the audit record's commit.

A decision's record is written (and synced) before its ledger transaction
commits, and the transaction carries the record's hash: a record whose
transaction did not commit stays in the chain but is never taken as a
decision (`audit verify --ledger`), and a committed record the log lost is
a removal. The records of one transaction are one write and one sync.
"""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from exportgate._adapter import Record
from exportgate._cli import main
from exportgate._gate import Gate
from exportgate._settings import Settings
from exportgate.audit import log as audit
from exportgate.audit.log import head_path, verify
from exportgate.ledger.urls import open_ledger

from tests.helpers import h100_order

REGIME = "us-ai-diffusion-2025"


def _gate(tmp_path: Path) -> Gate:
    return Gate(Settings(audit_log=tmp_path / "audit.jsonl"), regime_id=REGIME,
                ledger_url=f"sqlite:///{tmp_path / 'l.db'}")


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


def _verified(tmp_path: Path) -> audit.Report:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        return verify(tmp_path / "audit.jsonl", ledger=ledger)
    finally:
        ledger.close()


def _failing_commit(gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ledger's next commits fail (a disk error), after the log was synced."""
    def commit() -> None:
        raise sqlite3.OperationalError("disk I/O error")
    monkeypatch.setattr(gate.ledger.conn, "commit", commit)


def test_each_decision_commits_its_records_hash_with_the_ledger(tmp_path: Path) -> None:
    with _gate(tmp_path) as gate:
        for n in range(3):
            gate.check(h100_order(f"SO-{n}", "IN", 10))
        held = gate.ledger.audit_records(_records(tmp_path / "audit.jsonl")[0]["hash"])
    records = _records(tmp_path / "audit.jsonl")
    assert [r["commit"] for r in records] == ["ledger"] * 3
    assert held == {r["hash"]: (r["seq"], r["order_id"]) for r in records}
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 3 and report.uncommitted == ()


def test_a_record_whose_transaction_rolled_back_is_not_a_decision(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    with _gate(tmp_path) as gate:
        gate.check(h100_order("SO-0", "IN", 10))
        _failing_commit(gate, monkeypatch)
        checked = gate.check(h100_order("SO-1", "IN", 10))
        assert checked.decision.error and "disk I/O error" in checked.decision.error
    records = _records(tmp_path / "audit.jsonl")
    # SO-1's record was synced before the commit failed; then its held decision.
    assert [(r["order_id"], r.get("commit")) for r in records] == [
        ("SO-0", "ledger"), ("SO-1", "ledger"), ("SO-1", None)]
    assert verify(tmp_path / "audit.jsonl").ok  # the chain is intact
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 2
    assert [(u.line, u.seq, u.order_id) for u in report.uncommitted] == [(2, 2, "SO-1")]
    assert main(["audit", "verify", "--ledger", f"sqlite:///{tmp_path / 'l.db'}",
                 str(tmp_path / "audit.jsonl")]) == 0
    out = capsys.readouterr().out
    assert "audit.jsonl:2: not committed: record 2 (order SO-1)" in out
    assert "2 decision(s), 1 record(s) not committed (rolled back)" in out
    assert main(["audit", "verify", "--json", "--ledger", f"sqlite:///{tmp_path / 'l.db'}",
                 str(tmp_path / "audit.jsonl")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["decisions"] == 2 and doc["uncommitted"] == [
        {"line": 2, "seq": 2, "order": "SO-1"}]


def test_without_the_ledger_verify_says_the_records_need_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _gate(tmp_path) as gate:
        gate.check(h100_order("SO-0", "IN", 10))
    assert main(["audit", "verify", str(tmp_path / "audit.jsonl")]) == 0
    assert "1 record(s) commit with the ledger: give --ledger URL" in capsys.readouterr().out


def test_a_committed_record_missing_from_the_log_is_a_removal(tmp_path: Path) -> None:
    with _gate(tmp_path) as gate:
        for n in range(3):
            gate.check(h100_order(f"SO-{n}", "IN", 10))
    path = tmp_path / "audit.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2]) + "\n")  # the last record dropped
    head_path(path).unlink()  # and the head that would have said so
    assert verify(path).ok  # the log alone cannot tell
    report = _verified(tmp_path)
    assert [(p.kind, "record 3 (order SO-2)" in p.message) for p in report.problems] == [
        ("removed", True)]


def test_records_after_a_lost_head_write_are_anchored_by_the_ledger(tmp_path: Path) -> None:
    """A power loss can take the head's last write (not synced), never the records'."""
    with _gate(tmp_path) as gate:
        gate.check(h100_order("SO-0", "IN", 10))
        head = head_path(tmp_path / "audit.jsonl").read_text()
        gate.check(h100_order("SO-1", "IN", 10))
    head_path(tmp_path / "audit.jsonl").write_text(head)  # as the disk kept it
    assert [p.kind for p in verify(tmp_path / "audit.jsonl").problems] == ["inserted"]
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 2
    assert "the ledger anchors them" in report.notes[0]


def test_a_forged_record_after_the_head_is_not_anchored_by_the_ledger(tmp_path: Path) -> None:
    with _gate(tmp_path) as gate:
        gate.check(h100_order("SO-0", "IN", 10))
    path = tmp_path / "audit.jsonl"
    forged = audit.AuditLog(tmp_path / "copy.jsonl")  # chained onto a copy of the log
    (tmp_path / "copy.jsonl").write_text(path.read_text())
    [record] = forged.append_many([{"order_id": "SO-X", "result": {}}], "ledger")
    with path.open("a") as f:
        f.write(audit.canonical(record) + "\n")
    report = _verified(tmp_path)
    assert [p.kind for p in report.problems] == ["inserted"]
    assert [u.order_id for u in report.uncommitted] == ["SO-X"]


def test_a_batch_chunk_is_one_write_and_one_sync_of_the_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        syncs.append(fd)
        real(fd)
    monkeypatch.setattr(audit.os, "fsync", fsync)
    records = [Record.from_value(h100_order(f"B-{n}", "IN", 10), f"book:{n}")
               for n in range(6)]
    with _gate(tmp_path) as gate:
        decided = list(gate.batch(records, workers=0))
    assert len(decided) == 6 and len(syncs) == 1
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 6
