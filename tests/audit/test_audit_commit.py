"""The ledger's commit is the audit record's commit: one durable write per decision.

A decision's record is chained under the log's lock and stored in its ledger
transaction; once that commits, the record is written to the log, unsynced
(the log is synced every few hundred records, and the ledger holds the lines
until then). A record whose transaction rolled back never reaches the log; a
record committed but not written (a writer stopped in between) is written by
the next append; a committed record the log lost after its sync is a
removal (`audit verify --ledger`).
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
    assert held == {r["hash"]: (r["seq"], r["order_id"], True) for r in records}
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 3 and report.uncommitted == ()
    assert not report.notes


def test_a_transaction_that_rolls_back_leaves_nothing_in_the_log(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with _gate(tmp_path) as gate:
        gate.check(h100_order("SO-0", "IN", 10))
        _failing_commit(gate, monkeypatch)
        checked = gate.check(h100_order("SO-1", "IN", 10))
        assert checked.decision.error and "disk I/O error" in checked.decision.error
    records = _records(tmp_path / "audit.jsonl")
    # SO-1's record was chained, stored in the transaction that failed, never
    # written; its held decision (reserving nothing) is.
    assert [(r["order_id"], r.get("commit")) for r in records] == [
        ("SO-0", "ledger"), ("SO-1", None)]
    assert records[1]["seq"] == 2 and records[1]["prev_hash"] == records[0]["hash"]
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 2 and report.uncommitted == ()


def test_a_record_committed_but_not_written_is_written_by_the_next_append(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    real = os.write
    failing = [True]

    def write(fd: int, data: bytes) -> int:
        if failing[0]:
            raise OSError(28, "No space left on device")
        return real(fd, data)
    with _gate(tmp_path) as gate:
        gate.check(h100_order("SO-0", "IN", 10))
        monkeypatch.setattr(audit.os, "write", write)
        checked = gate.check(h100_order("SO-1", "IN", 10))
        # committed, with its record in the ledger: the decision stands, and says
        # that the log file could not be written
        assert checked.decision.error is None and checked.audit_error is not None
        assert "committed in the ledger" in str(checked.audit_error)
        assert [r["order"] for r in gate.ledger.reservations()] == ["SO-0", "SO-1"]
        assert len(_records(tmp_path / "audit.jsonl")) == 1
        report = _verified(tmp_path)
        assert report.ok and any("1 committed record(s) (2-2) are in the ledger" in note
                                 for note in report.notes)
        assert main(["audit", "verify", "--ledger", f"sqlite:///{tmp_path / 'l.db'}",
                     str(tmp_path / "audit.jsonl")]) == 0
        assert "not yet in the log" in capsys.readouterr().out
        failing[0] = False
        gate.check(h100_order("SO-2", "IN", 10))
    assert [r["order_id"] for r in _records(tmp_path / "audit.jsonl")] == ["SO-0", "SO-1", "SO-2"]
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 3 and not report.notes


def test_a_forged_record_is_reported_as_not_committed(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _gate(tmp_path) as gate:
        gate.check(h100_order("SO-0", "IN", 10))
    path = tmp_path / "audit.jsonl"
    (tmp_path / "copy.jsonl").write_text(path.read_text())
    [record] = audit.AuditLog(tmp_path / "copy.jsonl").append_many(
        [{"order_id": "SO-X", "result": {}}], "ledger")
    with path.open("a") as f:
        f.write(audit.canonical(record) + "\n")
    head_path(path).write_text(head_path(tmp_path / "copy.jsonl").read_text())
    assert verify(path).ok  # a plain chain, head included: the log alone cannot tell
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 1
    assert [(u.line, u.seq, u.order_id) for u in report.uncommitted] == [(2, 2, "SO-X")]
    assert main(["audit", "verify", "--ledger", f"sqlite:///{tmp_path / 'l.db'}",
                 str(path)]) == 0
    out = capsys.readouterr().out
    assert "audit.jsonl:2: not committed: record 2 (order SO-X)" in out
    assert "1 decision(s), 1 record(s) not committed (rolled back)" in out
    assert main(["audit", "verify", "--json", "--ledger", f"sqlite:///{tmp_path / 'l.db'}",
                 str(path)]) == 1 - 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["decisions"] == 1 and doc["uncommitted"] == [
        {"line": 2, "seq": 2, "order": "SO-X"}]


def test_without_the_ledger_verify_says_the_records_need_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with _gate(tmp_path) as gate:
        gate.check(h100_order("SO-0", "IN", 10))
    assert main(["audit", "verify", str(tmp_path / "audit.jsonl")]) == 0
    assert "1 record(s) commit with the ledger: give --ledger URL" in capsys.readouterr().out


def test_a_committed_record_missing_from_the_synced_log_is_a_removal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit.AuditLog, "SYNC_RECORDS", 2)
    with _gate(tmp_path) as gate:
        for n in range(4):  # synced after the second and the fourth
            gate.check(h100_order(f"SO-{n}", "IN", 10))
        gate.check(h100_order("SO-4", "IN", 10))  # the ledger lets go of lines 1-4
        first = _records(tmp_path / "audit.jsonl")[0]["hash"]
        held = {seq: line for seq, _, line in gate.ledger.audit_records(first).values()}
    assert held == {1: False, 2: False, 3: False, 4: False, 5: True}
    path = tmp_path / "audit.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:2] + lines[3:]) + "\n")  # record 3 dropped
    report = _verified(tmp_path)
    assert [(p.kind, "order SO-2" in p.message) for p in report.problems
            if p.line is None] == [("removed", True)]


def test_the_log_is_synced_every_few_hundred_records_not_per_decision(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs: list[int] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        syncs.append(fd)
        real(fd)
    monkeypatch.setattr(audit.os, "fsync", fsync)
    monkeypatch.setattr(audit.AuditLog, "SYNC_RECORDS", 5)
    with _gate(tmp_path) as gate:
        for n in range(12):
            gate.check(h100_order(f"SO-{n}", "IN", 10))
    assert len(syncs) == 2  # after the 5th and the 10th record
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 12 and not report.notes


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


def test_a_batch_chunk_is_one_write_of_the_log_and_no_sync_of_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    syncs: list[int] = []
    writes: list[int] = []
    real, real_write = os.fsync, os.write

    def fsync(fd: int) -> None:
        syncs.append(fd)
        real(fd)

    def write(fd: int, data: bytes) -> int:
        writes.append(fd)
        return real_write(fd, data)
    monkeypatch.setattr(audit.os, "fsync", fsync)
    monkeypatch.setattr(audit.os, "write", write)
    records = [Record.from_value(h100_order(f"B-{n}", "IN", 10), f"book:{n}")
               for n in range(6)]
    with _gate(tmp_path) as gate:
        decided = list(gate.batch(records, workers=0))
    assert len(decided) == 6 and len(writes) == 1 and syncs == []
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 6


def test_one_check_per_process_still_syncs_the_log_and_lets_go_of_the_lines(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The head counts what waits unsynced, so writers that each append once (one
    `exportgate check` per process) share the count."""
    monkeypatch.setattr(audit.AuditLog, "SYNC_RECORDS", 3)
    for n in range(7):
        with _gate(tmp_path) as gate:  # a fresh log object each time
            gate.check(h100_order(f"SO-{n}", "IN", 10))
    with _gate(tmp_path) as gate:
        first = _records(tmp_path / "audit.jsonl")[0]["hash"]
        held = sorted(seq for seq, _, line in gate.ledger.audit_records(first).values() if line)
    head = json.loads(head_path(tmp_path / "audit.jsonl").read_text())
    assert head["synced"] == 6 and head["pruned"] == 6  # synced after 3 and 6, let go after
    assert held == [7]
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 7 and not report.notes


def _checks_in_a_process(folder: str, worker: int, n: int) -> None:
    with _gate(Path(folder)) as gate:
        for i in range(n):
            gate.check(h100_order(f"W{worker}-{i}", "IN", 1))


def test_processes_checking_at_once_keep_one_chain_every_record_committed(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The log's lock is held from before each commit to after the write: the chain
    follows the commits, whatever the processes' interleaving."""
    import multiprocessing
    monkeypatch.setenv("EXPORTGATE_LOAD_PLUGINS", "")
    open_ledger(f"sqlite:///{tmp_path / 'l.db'}").close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_checks_in_a_process, args=(str(tmp_path), w, 8))
             for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    records = _records(tmp_path / "audit.jsonl")
    assert [r["seq"] for r in records] == list(range(1, 25))
    assert len({r["order_id"] for r in records}) == 24
    report = _verified(tmp_path)
    assert report.ok and report.decisions == 24 and not report.notes, report
    ledger = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        order = [o["order"] for o in ledger.orders()]  # by check_seq: the commit order
    finally:
        ledger.close()
    assert order == [r["order_id"] for r in records]
