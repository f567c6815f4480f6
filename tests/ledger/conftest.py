"""Fixtures of the ledger suite: every test runs on SQLite and on a real PostgreSQL.

The PostgreSQL server is started once per test session (see `pgserver`);
each test gets a fresh, empty schema on it (a database of its own where
the test says so), or a fresh SQLite file. When
the server binaries are missing the PostgreSQL tests FAIL (never skip): CI
must run the whole suite on both backends. `make postgres` installs them.
"""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import Callable, Iterator

import pytest

from pgserver import MISSING, PgServer, find_bindir

BACKENDS = ("sqlite", "postgresql")


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


_sqlite_files = itertools.count()


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


@pytest.fixture
def pg_server_or_none(backend: str, request: pytest.FixtureRequest) -> PgServer | None:
    """The server on the ``postgresql`` backend, None on ``sqlite``."""
    if backend != "postgresql":
        return None
    server: PgServer = request.getfixturevalue("pg_server")
    return server
