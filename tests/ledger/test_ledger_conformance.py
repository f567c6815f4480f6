"""The conformance cases, with the ledger on PostgreSQL set through the configuration.

``run.py`` drives the real command line; `pg_exportgate` puts each case's
ledger in a fresh schema of the test server through ``EXPORTGATE_CONFIG``
(``make test`` runs the same cases on SQLite).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from pgserver import PgServer

HERE = Path(__file__).resolve().parent
RUN_PY = HERE.parents[0] / "conformance" / "run.py"


@pytest.mark.slow
def test_conformance_on_postgresql(pg_server: PgServer, tmp_path: Path) -> None:
    log = tmp_path / "schemas.log"
    env = {**os.environ, "EXPORTGATE_PG_BASE": pg_server.create_database("conformance"),
           "EXPORTGATE_PG_LOG": str(log)}
    env.pop("EXPORTGATE_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, str(RUN_PY), "--exe", f"{sys.executable} {HERE / 'pg_exportgate.py'}"],
        capture_output=True, text=True, env=env, timeout=900)
    summary = proc.stdout.strip().splitlines()[-1:] or [""]
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert summary[0].endswith(" 0 failed"), proc.stdout
    runs = [line.split() for line in log.read_text().splitlines()]
    cases = int(summary[0].split()[0])
    assert len(runs) == cases
    assert sum(int(n) for _, n in runs) > 0, "no case reserved anything on PostgreSQL"
