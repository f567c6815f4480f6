"""Fixtures of the screening tests: ledgers on SQLite and on a real PostgreSQL.

As in the ledger suite (tests/ledger/conftest.py): the server is started once
per session when a test asks for it; each test gets a fresh schema on it, or
a fresh SQLite file. Missing server binaries FAIL the PostgreSQL tests
(`make postgres` installs them), never skip them.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.ledger.pgserver import MISSING, PgServer, find_bindir

BACKENDS = ("sqlite", "postgresql")

_sqlite_files = itertools.count()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(MISSING, pytrace=False)
    server = PgServer(bindir)
    try:
        server.start()
    except Exception:
        server.stop()
        raise
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def new_ledger_url(backend: str, request: pytest.FixtureRequest,
                   tmp_path: Path) -> Callable[[], str]:
    """A factory of URLs of fresh, empty ledgers on the test's backend."""
    if backend == "postgresql":
        server: PgServer = request.getfixturevalue("pg_server")
        return server.create_schema

    def sqlite_url() -> str:
        return f"sqlite:///{tmp_path / f'ledger-{next(_sqlite_files)}.db'}"
    return sqlite_url


@pytest.fixture
def ledger_url(new_ledger_url: Callable[[], str]) -> str:
    return new_ledger_url()
