"""Fixtures of the service tests: one live `exportgate serve` per module."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.service.live import Subprocess, config


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Subprocess]:
    """``exportgate serve`` on a loopback port, its ledger and audit log in a fresh directory."""
    tmp = tmp_path_factory.mktemp("service")
    live = Subprocess(config(tmp))
    yield live
    live.stop()
