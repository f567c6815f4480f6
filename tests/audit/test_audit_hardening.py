"""Attacks and accidents on the decision log.

A kill between the log's sync and the head's rename is recovered, not
reported as tampering; a rewrite of the whole chain and its head is caught
with the key; the files are owner-only; a log that cannot be written raises
its own error kind and exits 5.
"""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from exportgate.audit.log import (KEYED, PLAIN, AuditLog, canonical, head_path, pending_path,
                                  read_key, record_hash, verify)
from exportgate._cli import main
from exportgate._exits import EXIT_AUDIT
from exportgate._exceptions import AuditError, ConfigError

from tests.helpers import ROOT, h100_order

KEY = b"k" * 32
REGIME = "us-ai-diffusion-2025"


def _event(n: int) -> dict[str, Any]:
    return {"decision_id": f"d-{n}", "order_id": f"SO-{n}", "result": {"outcome": "allow"},
            "input": {"order": {"id": f"SO-{n}", "parties": {"ship_to": {"name": "ACME"}}}}}


def _log(tmp_path: Path, n: int, key: bytes | None = None) -> Path:
    path = tmp_path / "audit.jsonl"
    log = AuditLog(path, key=key)
    for i in range(1, n + 1):
        log.append(_event(i))
    return path


def _records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text().splitlines()]


# -- files at rest -------------------------------------------------------------------


def test_the_log_and_its_head_are_owner_only(tmp_path: Path) -> None:
    path = _log(tmp_path, 2)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(head_path(path).stat().st_mode) == 0o600


# -- a kill at each step of an append ------------------------------------------------------

_KILLER = textwrap.dedent("""
    import os, sys
    from exportgate.audit import log as _audit
    path, step = sys.argv[1], sys.argv[2]
    real = _audit.os

    class Os:
        def __getattr__(self, name):
            return getattr(real, name)
        heads = 0

        def write(self, fd, data):  # the records (the head is written with pwrite)
            if step == "before-record":
                real._exit(9)
            return real.write(fd, data)
        def pwrite(self, fd, data, offset):
            Os.heads += 1  # the first is the head's intent, the second the head
            if step == "before-head" and Os.heads == 2:
                real._exit(9)
            return real.pwrite(fd, data, offset)

    _audit.os = Os()
    log = _audit.AuditLog(path, key=(sys.argv[3].encode() if len(sys.argv) > 3 else None))
    log.append({"decision_id": "d-x", "order_id": "SO-KILLED", "result": {}})
    """)


def _killed_append(path: Path, step: str, key: bytes | None = None) -> None:
    args = [sys.executable, "-c", _KILLER, str(path), step] + ([key.decode()] if key else [])
    proc = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 9, proc.stderr


def test_a_kill_between_the_record_and_the_head_is_recovered_not_reported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(tmp_path, 3)
    _killed_append(path, "before-head")
    head = json.loads(head_path(path).read_text())
    assert len(_records(path)) == 4 and head["records"] == 3 and head["next"]["records"] == 4
    report = verify(path)
    assert report.ok, report.problems
    assert report.notes and "head's intent anchors them" in report.notes[0]
    assert main(["audit", "verify", str(path)]) == 0
    assert "4 records, chain intact" in capsys.readouterr().out
    AuditLog(path).append(_event(5))
    head = json.loads(head_path(path).read_text())
    assert "next" not in head and {k: head[k] for k in ("records", "hash", "chain", "log")} == {
        "records": 5, "hash": _records(path)[-1]["hash"], "chain": PLAIN,
        "log": _records(path)[0]["hash"]}
    assert verify(path).ok and not verify(path).notes


def test_a_kill_before_the_record_is_written_loses_nothing(tmp_path: Path) -> None:
    path = _log(tmp_path, 3)
    _killed_append(path, "before-record")
    assert len(_records(path)) == 3
    assert json.loads(head_path(path).read_text())["next"]["records"] == 4
    report = verify(path)
    assert report.ok and "nothing was lost" in report.notes[0]
    AuditLog(path).append(_event(4))
    assert verify(path).ok and not verify(path).notes
    assert [r["seq"] for r in _records(path)] == [1, 2, 3, 4]


def test_an_older_versions_pending_head_is_still_settled(tmp_path: Path) -> None:
    """A log last written by a version that renamed a synced pending head over the head."""
    path = _log(tmp_path, 3)
    lines = path.read_text().splitlines()
    pending_path(path).write_text(json.dumps({"records": 3,
                                              "hash": json.loads(lines[-1])["hash"]}))
    head_path(path).write_text(json.dumps({"records": 2, "hash": json.loads(lines[1])["hash"]}))
    assert verify(path).ok and "anchors them" in verify(path).notes[0]
    AuditLog(path).append(_event(4))
    assert not pending_path(path).exists()
    assert verify(path).ok and not verify(path).notes


def test_a_group_is_one_write_and_one_sync(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = _log(tmp_path, 1)
    from exportgate.audit import log as audit
    calls: list[str] = []
    real_fsync, real_write = os.fsync, os.write

    def fsync(fd: int) -> None:
        calls.append("fsync")
        real_fsync(fd)

    def write(fd: int, data: bytes) -> int:
        calls.append("write")
        return real_write(fd, data)
    monkeypatch.setattr(audit.os, "fsync", fsync)
    monkeypatch.setattr(audit.os, "write", write)
    written = AuditLog(path).append_many([_event(n) for n in range(2, 12)], "ledger")
    assert calls == ["write", "fsync"]
    assert [r["seq"] for r in written] == list(range(2, 12))
    assert all(r["commit"] == "ledger" for r in written)
    assert [r["hash"] for r in _records(path)[1:]] == [r["hash"] for r in written]
    assert path.read_text().splitlines()[1:] == [canonical(r) for r in written]
    assert verify(path).ok and not verify(path).notes


def test_each_line_is_the_records_canonical_json_keyed_or_not(tmp_path: Path) -> None:
    for key in (None, KEY):
        path = _log(tmp_path / ("keyed" if key else "plain"), 3, key)
        for line in path.read_text().splitlines():
            record = json.loads(line)
            assert line == canonical(record) and record_hash(record, key) == record["hash"]


def test_a_keyed_log_recovers_the_same_way(tmp_path: Path) -> None:
    path = _log(tmp_path, 2, KEY)
    _killed_append(path, "before-head", KEY)
    assert verify(path, key=KEY).ok
    AuditLog(path, key=KEY).append(_event(4))
    assert verify(path, key=KEY).ok and not pending_path(path).exists()


def test_a_forged_pending_head_does_not_hide_an_appended_record(tmp_path: Path) -> None:
    """The pending head is trusted only for the one record right after the head."""
    path = _log(tmp_path, 3)
    lines = path.read_text().splitlines()
    forged = {**json.loads(lines[-1]), "seq": 9, "order_id": "SO-FORGED"}
    forged["hash"] = record_hash(forged)
    path.write_text("\n".join(lines + [canonical(forged)]) + "\n")
    pending_path(path).write_text(json.dumps({"records": 9, "hash": forged["hash"]}))
    assert not verify(path).ok


def test_stale_temporary_heads_of_older_versions_are_cleaned_up(tmp_path: Path) -> None:
    path = _log(tmp_path, 1)
    stale = path.with_name(path.name + ".head.4242.tmp")
    stale.write_text("{}")
    AuditLog(path).append(_event(2))
    assert not stale.exists() and verify(path).ok


# -- the keyed chain -----------------------------------------------------------------


def test_a_keyed_log_verifies_only_with_its_key(tmp_path: Path) -> None:
    path = _log(tmp_path, 3, KEY)
    assert all(r["chain"] == KEYED for r in _records(path))
    assert verify(path, key=KEY).ok and verify(path, key=KEY).keyed
    with pytest.raises(ConfigError, match="keyed"):
        verify(path)
    wrong = verify(path, key=b"w" * 32)
    assert [p.kind for p in wrong.problems].count("edited") == 3


def _rewrite_unkeyed(path: Path, change: dict[str, Any], head: bool = True,
                     chain: str | None = None) -> None:
    """What someone who can write the log, but not read the key, can do: a whole new chain.

    Each record says ``chain`` (plain) when given, else nothing; ``head``: the
    head beside the log is rewritten to match (else it is left as it was).
    """
    prev, out = "0" * 64, []
    for rec in _records(path):
        rec = {k: v for k, v in rec.items() if k not in ("hash", "chain")}
        rec.update(change if rec["seq"] == 2 else {})
        rec["prev_hash"] = prev
        if chain is not None:
            rec["chain"] = chain
        rec["hash"] = record_hash(rec)
        prev = rec["hash"]
        out.append(canonical(rec))
    path.write_text("\n".join(out) + "\n")
    if head:
        head_path(path).write_text(json.dumps({"records": len(out), "hash": prev}))


def test_a_rewrite_of_the_whole_chain_and_head_is_caught_with_the_key(tmp_path: Path) -> None:
    path = _log(tmp_path, 3, KEY)
    _rewrite_unkeyed(path, {"result": {"outcome": "deny"}})
    assert verify(path).ok  # unkeyed, the rewrite is a perfect chain
    report = verify(path, key=KEY)
    assert not report.ok and "unkeyed" in [p.kind for p in report.problems]


def test_every_record_and_the_head_state_the_chain_scheme(tmp_path: Path) -> None:
    plain, keyed = _log(tmp_path / "p", 2), _log(tmp_path / "k", 2, KEY)
    assert [r["chain"] for r in _records(plain)] == [PLAIN, PLAIN]
    assert json.loads(head_path(plain).read_text())["chain"] == PLAIN
    assert json.loads(head_path(keyed).read_text())["chain"] == KEYED


@pytest.mark.parametrize("chain", [None, PLAIN])
def test_a_keyed_log_rewritten_as_a_plain_chain_never_verifies_as_plain(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], chain: str | None) -> None:
    """The attack: the records rewritten as a perfect plain chain; the head says keyed."""
    path = _log(tmp_path, 3, KEY)
    _rewrite_unkeyed(path, {"result": {"outcome": "allow"}}, head=False, chain=chain)
    assert main(["audit", "verify", str(path)]) == 2
    out, err = capsys.readouterr()
    assert "chain intact" not in out
    assert "the head beside the log says the chain is keyed" in err and "--key-file" in err
    kinds = [p.kind for p in verify(path, key=KEY).problems]
    assert "unkeyed" in kinds and "removed" in kinds  # the head's keyed record is gone
    with pytest.raises(AuditError, match="head says the chain is keyed"):
        AuditLog(path, key=KEY).append(_event(4))  # the writer does not bless the rewrite
    assert len(_records(path)) == 3


def test_a_plain_rewrite_of_log_and_head_is_caught_by_an_anchor_kept_elsewhere(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Nothing beside the log says keyed any more: the anchor copied elsewhere does."""
    path = _log(tmp_path, 3, KEY)
    (tmp_path / "audit.key").write_bytes(KEY)
    assert main(["audit", "verify", "--json", "--key-file", str(tmp_path / "audit.key"),
                 str(path)]) == 0
    doc = json.loads(capsys.readouterr().out)
    anchor = tmp_path / "anchor.json"  # the documented recipe: {records, hash, chain}
    anchor.write_text(json.dumps({"records": doc["records"], "hash": doc["last_hash"],
                                  "chain": doc["chain"]}))
    assert doc["chain"] == KEYED
    _rewrite_unkeyed(path, {"result": {"outcome": "allow"}})
    assert main(["audit", "verify", str(path)]) == 0  # only the head beside it: plain, and
    assert "plain SHA-256 chain: whoever can write the log" in capsys.readouterr().out
    assert main(["audit", "verify", "--anchor", str(anchor), str(path)]) == 2
    assert "the anchor says the chain is keyed" in capsys.readouterr().err
    assert main(["audit", "verify", "--anchor", str(anchor), "--key-file",
                 str(tmp_path / "audit.key"), str(path)]) == 1
    assert "tampered" in capsys.readouterr().out


def test_a_keyed_head_naming_a_plain_record_is_reported(tmp_path: Path) -> None:
    path = _log(tmp_path, 2)
    head = json.loads(head_path(path).read_text())
    head_path(path).write_text(json.dumps({**head, "chain": KEYED}))
    with pytest.raises(ConfigError, match="keyed"):
        verify(path)
    report = verify(path, key=KEY)
    assert ("unkeyed", 2) in [(p.kind, p.line) for p in report.problems]


def test_a_record_stating_an_unknown_scheme_is_not_taken_for_plain(tmp_path: Path) -> None:
    path = _log(tmp_path, 2)
    lines = path.read_text().splitlines()
    rec = {**json.loads(lines[1]), "chain": "none"}
    rec["hash"] = record_hash({**rec, "chain": PLAIN})
    path.write_text(lines[0] + "\n" + canonical(rec) + "\n")
    [problem] = verify(path).problems
    assert (problem.kind, problem.line) == ("edited", 2)
    assert "unknown chain scheme 'none'" in problem.message


def test_a_record_giving_a_key_twice_is_reported_with_the_key(tmp_path: Path) -> None:
    """A reader taking the first value would see another decision than the hash covers."""
    path = _log(tmp_path, 2)
    lines = path.read_text().splitlines()
    lines[1] = '{"result":{"outcome":"deny"},' + lines[1][1:]
    path.write_text("\n".join(lines) + "\n")
    [problem] = [p for p in verify(path).problems if p.line == 2]
    assert problem.kind == "edited" and 'duplicate key "result"' in problem.message


def test_a_keyed_record_rehashed_without_the_key_is_caught(tmp_path: Path) -> None:
    path = _log(tmp_path, 3, KEY)
    lines = path.read_text().splitlines()
    rec = json.loads(lines[1])
    rec["result"] = {"outcome": "deny"}
    rec["hash"] = record_hash({**rec, "chain": None})  # a plain SHA-256 in its place
    lines[1] = canonical(rec)
    path.write_text("\n".join(lines) + "\n")
    assert [p.kind for p in verify(path, key=KEY).problems][:1] == ["edited"]


def test_an_unkeyed_append_to_a_keyed_log_is_refused(tmp_path: Path) -> None:
    path = _log(tmp_path, 1, KEY)
    with pytest.raises(AuditError, match="keyed"):
        AuditLog(path).append(_event(2))
    assert len(_records(path)) == 1


def test_records_before_the_key_was_turned_on_are_covered_by_the_first_keyed_one(
        tmp_path: Path) -> None:
    path = _log(tmp_path, 2)
    AuditLog(path, key=KEY).append(_event(3))
    assert verify(path, key=KEY).ok


def test_audit_verify_takes_the_key_from_a_file_or_the_configuration(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _log(tmp_path, 2, KEY)
    (tmp_path / "audit.key").write_bytes(KEY + b"\n")
    os.chmod(tmp_path / "audit.key", 0o600)
    assert main(["audit", "verify", str(path)]) == 2
    assert "keyed" in capsys.readouterr().err
    assert main(["audit", "verify", "--key-file", str(tmp_path / "audit.key"), str(path)]) == 0
    assert "chain intact, keyed" in capsys.readouterr().out
    config = tmp_path / "c.yaml"
    config.write_text("audit_log: audit.jsonl\naudit_key_file: audit.key\n")
    assert main(["--config", str(config), "audit", "verify", str(path)]) == 0


def test_a_short_key_is_refused_without_being_shown(tmp_path: Path) -> None:
    (tmp_path / "k").write_text("hunter2")
    with pytest.raises(ConfigError, match="at least 16 bytes") as err:
        read_key(tmp_path / "k")
    assert "hunter2" not in str(err.value)


# -- a log that cannot be written ------------------------------------------------------------


def test_a_full_disk_raises_audit_error(tmp_path: Path) -> None:
    with pytest.raises(AuditError, match="cannot append the decision"):
        AuditLog("/dev/full").append(_event(1))


def test_an_unwritable_place_raises_audit_error(tmp_path: Path) -> None:
    (tmp_path / "audit.jsonl").mkdir()
    with pytest.raises(AuditError, match="cannot append"):
        AuditLog(tmp_path / "audit.jsonl").append(_event(1))


def test_a_record_that_is_not_valid_unicode_raises_audit_error(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with pytest.raises(AuditError, match="UTF-8"):
        AuditLog(path).append({**_event(1), "order_id": "SO-\ud800"})
    assert not path.exists() or path.read_text() == ""


def _check_with_log(tmp_path: Path, log: str,
                    capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    order = tmp_path / "o.jsonl"
    order.write_text("".join(json.dumps(h100_order(f"SO-{n}", "IN", 10)) + "\n"
                             for n in (1, 2, 3)))
    config = tmp_path / "c.yaml"
    config.write_text(f"audit_log: {log}\n")
    code = main(["--config", str(config), "batch", "--json", "--regime", REGIME, "--ledger",
                 f"sqlite:///{tmp_path / 'l.db'}", str(order)])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_unwritable_audit_log_exits_5(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _check_with_log(tmp_path, "/dev/full", capsys)
    assert code == EXIT_AUDIT and "audit log /dev/full" in err and "Traceback" not in err


def test_an_unwritable_audit_log_leaves_nothing_reserved_unreported(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from exportgate.ledger.urls import open_ledger
    code, out, _ = _check_with_log(tmp_path, "/dev/full", capsys)
    reported = {json.loads(x)["order"] for x in out.splitlines() if x.strip()}
    ledger = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        held = {r["order"] for r in ledger.reservations()}
    finally:
        ledger.close()
    assert held <= reported
    assert reported == {"SO-1", "SO-2", "SO-3"}  # every order answered, none dropped
    # The ledger's commit was the records' durable write: it holds them until the
    # log can take them (the next append writes them there).
    import sqlite3
    with sqlite3.connect(tmp_path / "l.db") as db:
        recorded = {r[0] for r in db.execute(
            "SELECT order_id FROM eg_audit WHERE line IS NOT NULL")}
    assert recorded == reported


def test_a_line_nested_100000_deep_is_reported_not_raised(tmp_path: Path) -> None:
    path = _log(tmp_path, 2)
    with path.open("a") as f:
        f.write("[" * 100_000 + "]" * 100_000 + "\n")
    report = verify(path)
    assert ("edited", 3) in [(p.kind, p.line) for p in report.problems]
    AuditLog(path).append(_event(4))  # chains past it, as past a torn line
    assert json.loads(path.read_text().splitlines()[-1])["order_id"] == "SO-4"


def test_the_gate_writes_a_keyed_log_when_the_configuration_names_a_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "audit.key").write_bytes(KEY)
    config = tmp_path / "c.yaml"
    config.write_text("audit_log: audit.jsonl\naudit_key_file: audit.key\n")
    order = tmp_path / "o.json"
    order.write_text(json.dumps(h100_order("SO-1", "IN", 10)))
    assert main(["--config", str(config), "check", "--regime", REGIME, "--ledger",
                 f"sqlite:///{tmp_path / 'l.db'}", str(order)]) == 0
    [record] = _records(tmp_path / "audit.jsonl")
    assert record["chain"] == KEYED and record["hash"] == record_hash(record, KEY)
    capsys.readouterr()
    assert main(["--config", str(config), "audit", "verify",
                 str(tmp_path / "audit.jsonl")]) == 0


def test_verify_notes_a_log_left_readable_by_others(tmp_path: Path) -> None:
    path = _log(tmp_path, 1)
    assert not verify(path).notes
    path.chmod(0o644)
    report = verify(path)
    assert report.ok and "mode 644" in report.notes[0]
