"""Fixtures of the engine suite: a bundle of every regime, and the test sidecar serving it."""
from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from exportgate.engines.bundle import write_bundle
from exportgate._plugins import Plugins
from exportgate._settings import Settings
from sidecar import Sidecar


@pytest.fixture(scope="session")
def bundle_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``exportgate bundle`` of every built-in regime, default parameters."""
    path = tmp_path_factory.mktemp("bundle") / "bundle.tar.gz"
    write_bundle(Plugins(Settings(), entry_points=False).regimes.values(), path)
    return path


@pytest.fixture(scope="session")
def sidecar(bundle_file: Path) -> Iterator[Sidecar]:
    with Sidecar(bundle_file) as side:
        yield side


@pytest.fixture
def side(sidecar: Sidecar) -> Iterator[Sidecar]:
    """The shared sidecar, put back in order after each test's faults."""
    yield sidecar
    sidecar.mode, sidecar.delay = "ok", 0.0


@pytest.fixture
def dead_url() -> str:
    """A loopback URL where nothing listens (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
