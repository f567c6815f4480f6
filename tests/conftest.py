"""Shared fixtures: settings on temporary paths, gates, ledgers on SQLite and PostgreSQL.

One PostgreSQL server serves the whole session (`pg_server`: started when
a test first asks for it); each test gets a fresh, empty schema on it, or a
fresh SQLite file. When the server binaries are missing the PostgreSQL
tests FAIL (never skip): CI must run the whole suite on both backends.
`make postgres` installs them.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.ledger.pgserver import MISSING, PgServer, find_bindir

from exportgate._gate import Gate
from exportgate._settings import Settings


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No ambient configuration or third-party plugins leak into a test."""
    monkeypatch.delenv("EXPORTGATE_CONFIG", raising=False)
    monkeypatch.setenv("EXPORTGATE_LOAD_PLUGINS", "")
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def make_gate(tmp_path: Path) -> Callable[..., Gate]:
    """A factory of gates on a fresh SQLite ledger in the test's directory."""
    gates: list[Gate] = []

    def make(regime_id: str | None = "us-ai-diffusion-2025", settings: Settings | None = None,
             ledger: str | None = None, **kw: Any) -> Gate:
        url = ledger or f"sqlite:///{tmp_path / 'ledger.db'}"
        gate = Gate(settings or Settings(), regime_id=regime_id, ledger_url=url, **kw)
        gates.append(gate)
        return gate

    yield make
    for gate in gates:
        gate.close()




# -- ledgers ------------------------------------------------------------------

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
