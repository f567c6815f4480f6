"""Fixtures of the attacks: a hostile stand-in sidecar and a throwaway PKI (127.0.0.1 only)."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from hostile import FakeSidecar, Pki, _ca, _leaf


@pytest.fixture
def fake_sidecar() -> Iterator[FakeSidecar]:
    side = FakeSidecar()
    yield side
    side.close()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    d = tmp_path_factory.mktemp("pki")
    _ca(d, "test-ca")
    _ca(d, "other-ca")
    _leaf(d, "server", "test-ca", "subjectAltName=IP:127.0.0.1\n"
          "extendedKeyUsage=serverAuth\n")
    _leaf(d, "client", "test-ca", "extendedKeyUsage=clientAuth\n")
    return Pki(d / "test-ca.pem", d / "server.pem", d / "server.key", d / "client.pem",
               d / "client.key", d / "other-ca.pem")
