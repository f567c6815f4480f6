"""Fault injection: kill the process at every write boundary of one check.

The boundaries of one ``exportgate check`` that reserves quota, with an audit
log: the ledger commit, the audit record, the head rename, the output. The
process is killed (``os._exit``, no cleanup, as SIGKILL would) just before
and just after each. Every time:

- what was reported (a complete decision line on stdout) is in the ledger,
  as reported, and in the audit log;
- the audit log verifies, or recovers (a note, never a tampering report);
- checking the same order again succeeds and leaves exactly one set of
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from exportgate.audit.log import pending_path, verify
from exportgate.ledger.urls import open_ledger

from tests.helpers import ROOT, h100_order

REGIME = "us-ai-diffusion-2025"

#: Installs one kill point, then runs the command line. Exit status 9 = killed there.
_RUNNER = textwrap.dedent("""
    import os, sys
    point = sys.argv[1]
    argv = sys.argv[2:]

    def die():
        sys.stdout.flush()
        os._exit(9)

    from exportgate import _cli

    from exportgate.audit import log as _audit

    from exportgate.ledger import sqlite as _ledger_sqlite

    commit = _ledger_sqlite._Conn.commit
    def patched_commit(self):
        writing = self.raw.in_transaction and self.raw.total_changes > 0
        if writing and point == "before-ledger-commit":
            die()
        commit(self)
        if writing and point == "after-ledger-commit":
            die()
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
            if writing and point == "before-ledger-commit":
                die()
            pg_commit(self)
            if writing and point == "after-ledger-commit":
                die()
        psycopg.Connection.commit = patched_pg_commit
    except ImportError:
        pass

    real_os = _audit.os
    class Os:
        writes = 0
        def __getattr__(self, name):
            return getattr(real_os, name)
        def write(self, fd, data):
            Os.writes += 1  # 1: the pending head, 2: the record
            if Os.writes == 2 and point == "before-audit-record":
                die()
            n = real_os.write(fd, data)
            if Os.writes == 2 and point == "after-audit-record":
                die()
            return n
        def replace(self, src, dst):
            if str(dst).endswith(".head") and point == "before-head-rename":
                die()
            real_os.replace(src, dst)
            if str(dst).endswith(".head") and point == "after-head-rename":
                die()
    _audit.os = Os()

    printed = _cli._print_checked
    def patched_print(checked, args):
        if point == "before-output":
            die()
        printed(checked, args)
        if point == "after-output":
            die()
    _cli._print_checked = patched_print

    sys.exit(_cli.main(argv))
    """)

POINTS = ["before-ledger-commit", "after-ledger-commit", "before-audit-record",
          "after-audit-record", "before-head-rename", "after-head-rename", "before-output",
          "after-output"]


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


@pytest.fixture(scope="module")
def pg_server() -> Iterator[Any]:
    """A PostgreSQL cluster on 127.0.0.1 (the ledger suite's; missing binaries fail)."""
    sys.path.insert(0, str(ROOT / "tests" / "ledger"))
    from pgserver import MISSING, PgServer, find_bindir
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(MISSING, pytrace=False)
    server = PgServer(bindir).start()
    try:
        yield server
    finally:
        server.stop()


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
    assert not pending_path(log).exists()
