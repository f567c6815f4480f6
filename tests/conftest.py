"""Shared fixtures: settings on temporary paths, gates, the conformance cases."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

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


