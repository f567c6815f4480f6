#!/usr/bin/env python3
"""``exportgate`` with its ledger on PostgreSQL, set through the configuration.

For ``tests/conformance/run.py --exe``: run.py gives every case a fresh
SQLite ledger on the command line (``--ledger sqlite:///...``), and a
``--ledger`` flag wins over the configuration. This wrapper drops that flag,
creates a fresh schema in the database ``$EXPORTGATE_PG_BASE`` names, writes
a configuration whose ``ledger:`` is that schema (on top of
``$EXPORTGATE_CONFIG``, if set), and runs the real command line with it. It
appends ``<schema> <orders in the ledger>`` to ``$EXPORTGATE_PG_LOG`` so the
test can see the cases really ran on PostgreSQL, then drops the schema.
"""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import quote

import psycopg
import yaml


def strip_ledger(argv: list[str]) -> list[str]:
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--ledger":
            skip = True
        elif not arg.startswith("--ledger="):
            out.append(arg)
    return out


def ledger_arg(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--ledger" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--ledger="):
            return arg.split("=", 1)[1]
    return None


def main() -> int:
    base = os.environ["EXPORTGATE_PG_BASE"]
    # A case that records licenses first (`exportgate license add`) runs two
    # commands on one ledger: the schema is named after the case's --ledger,
    # kept after `license`, and dropped (and logged) after the decisions.
    given = ledger_arg(sys.argv[1:])
    tag = hashlib.sha256(given.encode()).hexdigest()[:12] if given else uuid.uuid4().hex[:12]
    schema = f"conf_{tag}"
    keep = strip_ledger(sys.argv[1:])[:1] == ["license"]
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    sep = "&" if "?" in base else "?"
    ledger = f"{base}{sep}options={quote(f'-c search_path={schema}')}"
    config: dict[str, object] = {}
    if os.environ.get("EXPORTGATE_CONFIG"):
        config = yaml.safe_load(Path(os.environ["EXPORTGATE_CONFIG"]).read_text()) or {}
    config["ledger"] = ledger
    exe = Path(sys.executable).with_name("exportgate")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "exportgate._cli"]
    try:
        with tempfile.TemporaryDirectory(prefix="exportgate-pgconf-") as tmp:
            path = Path(tmp, "exportgate.yaml")
            path.write_text(yaml.safe_dump(config))
            code = subprocess.run(cmd + strip_ledger(sys.argv[1:]),
                                  env={**os.environ, "EXPORTGATE_CONFIG": str(path)}).returncode
    finally:
        if not keep:
            drop(base, schema)
    return code


def drop(base: str, schema: str) -> None:
    """Drop a case's schema, logging how many orders it decided."""
    with psycopg.connect(base, autocommit=True) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (f'"{schema}".eg_orders',)).fetchone()
        count = conn.execute(f'SELECT count(*) FROM "{schema}".eg_orders').fetchone()[0] \
            if row and row[0] else 0
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
    if os.environ.get("EXPORTGATE_PG_LOG"):
        with open(os.environ["EXPORTGATE_PG_LOG"], "a") as log:
            log.write(f"{schema} {count}\n")


if __name__ == "__main__":
    sys.exit(main())
