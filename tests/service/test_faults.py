"""Faults on a live server: the engine, the ledger, the audit log or the deadline cannot
answer, and the order comes back held (200, every line ``license``, an ``error``),
with nothing reserved."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import h100_order
from tests.service.live import InThread, client, config, free_port

FAULTS: dict[str, Callable[[Path], dict[str, Any]]] = {
    # an OPA sidecar that is not there
    "engine": lambda tmp: {"engine": {"name": "opa-http", "url": f"http://127.0.0.1:"
                                      f"{free_port()}", "retries": 0}},
    # a PostgreSQL ledger that is not there
    "ledger": lambda tmp: {"ledger": f"postgresql://exportgate@127.0.0.1:{free_port()}/none",
                           "ledger_timeout": 1},
    # an audit log that cannot be appended to: its path is a directory
    "audit": lambda tmp: {"audit_log": str(tmp)},
    # a deadline no evaluation can meet
    "deadline": lambda tmp: {"service": {"deadline": 0.001}},
}


@pytest.fixture(params=sorted(FAULTS))
def faulty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, InThread]]:
    live = InThread(config(tmp_path / "srv", **FAULTS[request.param](tmp_path / "srv")))
    yield request.param, live
    live.stop()


def test_a_fault_holds_the_order_and_reserves_nothing(faulty: tuple[str, InThread]) -> None:
    cause, live = faulty
    order = h100_order("SVC-FAULT", "IN", 8)
    with client(live.base) as c:
        r = c.post("/v1/check", json=order)
        assert r.status_code == 200, r.text
        doc = r.json()
        assert doc["outcome"] == "license" and doc["error"]
        assert {line["outcome"] for line in doc["lines"]} == {"license"}
        if cause != "ledger":
            assert c.get("/v1/orders/SVC-FAULT").status_code == 404, "nothing reserved"
        else:
            assert c.get("/v1/orders/SVC-FAULT").status_code == 503
            assert c.get("/readyz").status_code == 503
        held = c.get("/metrics").text
        assert f'exportgate_held_decisions_total{{cause="{cause}"}} 1.0' in held
