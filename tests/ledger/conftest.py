"""Fixtures of the ledger suite: every test runs on SQLite and on a real PostgreSQL.

The ledgers (`pg_server`, `backend`, `ledger_url`) are the shared ones of
tests/conftest.py; here what only the ledger suite asks for.
"""
from __future__ import annotations

import pytest

from tests.ledger.pgserver import PgServer


@pytest.fixture
def pg_server_or_none(backend: str, request: pytest.FixtureRequest) -> PgServer | None:
    """The server on the ``postgresql`` backend, None on ``sqlite``."""
    if backend != "postgresql":
        return None
    server: PgServer = request.getfixturevalue("pg_server")
    return server
