"""Fault injection: kill the process at every write boundary of a check and of a batch.

The boundaries of one ``exportgate check`` that reserves quota, with an audit
log: the ledger commit (which stores the audit records: their durable
write), the records' write to the log, the head's write, the output. The process is killed (``os._exit``, no cleanup, as SIGKILL
would) just before and just after each; in a batch (several transactions),
at the first and at the second occurrence of each. Every time:

- what was reported (a complete decision line on stdout) is in the ledger,
  as reported, and in the audit log as a decision;
- every record in the log is in the ledger as recorded: nothing in the log
  was rolled back (`audit verify --ledger` finds no record not committed);
  a record committed but not yet written is written by the next run;
- the audit log verifies, or recovers (a note, never a tampering report);
- checking the same orders again succeeds and leaves exactly one set of
  reservations and a log that verifies, with nothing left over.

These hold whatever order the gate takes the steps in, on SQLite and on
PostgreSQL.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from exportgate.audit.log import Report, verify
from exportgate.ledger.urls import open_ledger

from tests.helpers import ROOT, h100_order

REGIME = "us-ai-diffusion-2025"

#: Installs one kill point, then runs the command line. Exit status 9 = killed there.
_RUNNER = textwrap.dedent("""
    import os, sys
    point, _, nth = sys.argv[1].partition("@")
    nth = int(nth or 1)
    argv = sys.argv[2:]
    seen = {}

    def die():
        sys.stdout.flush()
        os._exit(9)

    def hit(name):
        # die the nth time the run reaches the point
        if name == point:
            seen[name] = seen.get(name, 0) + 1
            if seen[name] == nth:
                die()

    from exportgate import _batch, _cli
    _batch.CHUNK = 2  # several transactions in a small batch, on SQLite too

    from exportgate.audit import log as _audit

    from exportgate.ledger import sqlite as _ledger_sqlite

    commit = _ledger_sqlite._Conn.commit
    def patched_commit(self):
        writing = self.raw.in_transaction and self.raw.total_changes > 0
        if writing:
            hit("before-ledger-commit")
        commit(self)
        if writing:
            hit("after-ledger-commit")
    _ledger_sqlite._Conn.commit = patched_commit

    try:  # PostgreSQL: a commit after a statement that wrote
        import psycopg
        wrote = [False]
        execute = psycopg.Cursor.execute
        def patched_execute(self, query, *args, **kwargs):
            if str(query).lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                wrote[0] = True
            return execute(self, query, *args, **kwargs)
        psycopg.Cursor.execute = patched_execute
        pg_commit = psycopg.Connection.commit
        def patched_pg_commit(self):
            writing, wrote[0] = wrote[0], False
            if writing:
                hit("before-ledger-commit")
            pg_commit(self)
            if writing:
                hit("after-ledger-commit")
        psycopg.Connection.commit = patched_pg_commit
    except ImportError:
        pass

    real_os = _audit.os
    class Os:
        def __getattr__(self, name):
            return getattr(real_os, name)
        def write(self, fd, data):  # the records of one transaction
            hit("before-audit-record")
            n = real_os.write(fd, data)
            hit("after-audit-record")
            return n
        heads = 0
        def pwrite(self, fd, data, offset):  # the head: its intent, then the head
            Os.heads += 1
            if Os.heads % 2 == 0:
                hit("before-head")
            n = real_os.pwrite(fd, data, offset)
            if Os.heads % 2 == 0:
                hit("after-head")
            return n
    _audit.os = Os()

    printed = _cli._print_checked
    def patched_print(checked, args):
        hit("before-output")
        printed(checked, args)
        hit("after-output")
    _cli._print_checked = patched_print

    sys.exit(_cli.main(argv))
    """)

POINTS = ["before-ledger-commit", "after-ledger-commit", "before-audit-record",
          "after-audit-record", "before-head", "after-head", "before-output", "after-output"]


def _run(point: str, argv: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXPORTGATE_LOAD_PLUGINS": ""}
    env.pop("EXPORTGATE_CONFIG", None)
    return subprocess.run([sys.executable, "-c", _RUNNER, point, *argv], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _reported(stdout: str) -> list[dict[str, Any]]:
    """The complete decision lines on stdout (a line cut by the kill was not reported)."""
    return [json.loads(line) for line in stdout.split("\n")[:-1] if line.strip()]


def _state(db: str, log: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    ledger = open_ledger(db)
    try:
        rows = ledger.reservations()
    finally:
        ledger.close()
    records = [json.loads(x) for x in log.read_text().splitlines()] if log.exists() else []
    return rows, records


def _consumes(decision: dict[str, Any]) -> list[tuple[str, int]]:
    return sorted((c["quota"], c["tpp"]) for line in decision["lines"] for c in line["consumes"])


def _verified(db: str, log: Path) -> Report:
    ledger = open_ledger(db)
    try:
        return verify(log, ledger=ledger)
    finally:
        ledger.close()


def _held(rows: list[dict[str, Any]], order: str) -> list[tuple[str, int]]:
    return sorted((r["quota"], r["tpp"]) for r in rows if r["order"] == order)


def _check_nothing_rolled_back_counts(db: str, log: Path, point: str) -> Report:
    """Every record taken as a decision is in the ledger as recorded; every record not
    committed left nothing there (each order is decided once here)."""
    rows, records = _state(db, log)
    report = _verified(db, log)
    assert report.ok, (point, report.problems)
    rolled_back = {u.line for u in report.uncommitted}
    for line, record in enumerate(records, 1):
        if line in rolled_back:
            assert _held(rows, record["order_id"]) == [], (point, record["order_id"])
        else:
            assert _held(rows, record["order_id"]) == _consumes(record["result"]), \
                (point, record["order_id"])
    return report


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("pg_server").create_schema("kill"))


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_each_write_boundary_loses_nothing_reported(point: str, ledger_url: str,
                                                               tmp_path: Path) -> None:
    db = ledger_url
    log = tmp_path / "audit.jsonl"
    config = tmp_path / "exportgate.yaml"
    config.write_text(f"audit_log: {log}\n")
    for name, dest in (("SO-0", "IN"), ("SO-1", "IN")):
        (tmp_path / f"{name}.json").write_text(json.dumps(h100_order(name, dest, 10)))
    argv = ["--config", str(config), "check", "--json", "--regime", REGIME, "--ledger", db]

    # An earlier decision, so the chain and the quota are not empty.
    first = _run("none", [*argv, str(tmp_path / "SO-0.json")])
    assert first.returncode == 0, first.stderr
    [earlier] = _reported(first.stdout)
    assert _consumes(earlier), "the test order must reserve quota"

    killed = _run(point, [*argv, str(tmp_path / "SO-1.json")])
    assert killed.returncode == 9, (point, killed.returncode, killed.stderr)
    assert "Traceback" not in killed.stderr

    rows, records = _state(db, log)
    for decision in [earlier, *_reported(killed.stdout)]:
        held = sorted((r["quota"], r["tpp"]) for r in rows if r["order"] == decision["order"])
        assert held == _consumes(decision), (point, decision["order"])
        audited = [r for r in records if r["order_id"] == decision["order"]]
        assert audited and audited[-1]["result"]["outcome"] == decision["outcome"], point
    report = verify(log)
    assert report.ok, (point, report.problems)
    _check_nothing_rolled_back_counts(db, log, point)

    again = _run("none", [*argv, str(tmp_path / "SO-1.json")])
    assert again.returncode == 0, (point, again.stderr)
    [decision] = _reported(again.stdout)
    rows, records = _state(db, log)
    held = sorted((r["quota"], r["tpp"]) for r in rows if r["order"] == "SO-1")
    assert held == _consumes(decision)
    assert records[-1]["order_id"] == "SO-1"
    assert records[-1]["result"]["outcome"] == decision["outcome"]
    final = verify(log)
    assert final.ok and not final.notes, (point, final.problems, final.notes)
    assert json.loads(log.with_name(log.name + ".head").read_text())["records"] == len(records)


BATCH = [f"B-{n}" for n in range(5)]
#: Kill points where a transaction committed and its records are not in the log yet.
COMMITTED_NOT_WRITTEN = ("after-ledger-commit", "before-audit-record")


@pytest.mark.slow
@pytest.mark.parametrize("nth", [1, 2])
@pytest.mark.parametrize("point", POINTS)
def test_a_kill_at_each_write_boundary_of_a_batch_counts_no_rolled_back_record(
        point: str, nth: int, ledger_url: str, tmp_path: Path) -> None:
    db = ledger_url
    log = tmp_path / "audit.jsonl"
    config = tmp_path / "exportgate.yaml"
    config.write_text(f"audit_log: {log}\n")
    book = tmp_path / "book.jsonl"
    book.write_text("".join(json.dumps(h100_order(o, "IN", 10)) + "\n" for o in BATCH))
    argv = ["--config", str(config), "batch", "--json", "--workers", "0", "--regime", REGIME,
            "--ledger", db, str(book)]

    open_ledger(db).close()  # created and migrated: the commits counted are the batch's
    killed = _run(f"{point}@{nth}", argv)
    assert killed.returncode == 9, (point, nth, killed.returncode, killed.stderr)
    assert "Traceback" not in killed.stderr

    rows, records = _state(db, log)
    report = _check_nothing_rolled_back_counts(db, log, point)
    assert report.uncommitted == (), (point, nth)  # nothing in the log was rolled back
    if point in COMMITTED_NOT_WRITTEN:  # the ledger holds them; the next run writes them
        assert any("not yet in the log" in note for note in report.notes), (point, nth)
    decisions = {records[n - 1]["hash"] for n in range(1, len(records) + 1)
                 if n not in {u.line for u in report.uncommitted}}
    for decision in _reported(killed.stdout):
        assert _held(rows, decision["order"]) == _consumes(decision), (point, decision["order"])
        audited = [r for r in records if r["order_id"] == decision["order"]]
        assert audited and audited[-1]["hash"] in decisions, (point, decision["order"])
        assert audited[-1]["result"]["outcome"] == decision["outcome"], point

    again = _run("none", argv)
    assert again.returncode == 0, (point, again.stderr)
    decided = _reported(again.stdout)
    assert [d["order"] for d in decided] == BATCH
    rows, records = _state(db, log)
    for decision in decided:
        assert _held(rows, decision["order"]) == _consumes(decision)
        assert [r for r in records if r["order_id"] == decision["order"]][-1]["result"][
            "outcome"] == decision["outcome"]
    final = _verified(db, log)
    assert final.ok and not final.notes, (point, final.problems, final.notes)
    assert final.decisions == len(records) - len(report.uncommitted)
