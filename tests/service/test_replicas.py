"""Two `exportgate serve` replicas on one PostgreSQL ledger behave as one.

Checks race through both replicas at once, for one consignee's LPP allowance
and a country allocation (the ledger suite's quota scenario), and for the
last units of a granted license. After each race: nothing over a cap, the
ledger holds exactly what the answered decisions consume (nothing lost),
and every order is in the ledger once, with the outcome it was answered.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.ledger import license_race, scenario
from tests.ledger.pgserver import MISSING, PgServer, find_bindir
from tests.service.live import Subprocess, client, config

#: A race (it starts its own PostgreSQL): out of `make test-fast`.
pytestmark = pytest.mark.slow

#: Requests in flight at once, spread over both replicas.
CLIENTS = 8


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Subprocess, ...]]:
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(MISSING, pytrace=False)
    pg = PgServer(bindir)
    servers: list[Subprocess] = []
    try:
        pg.start()
        url = pg.create_database()
        for name in ("a", "b"):
            tmp = tmp_path_factory.mktemp(f"replica-{name}")
            servers.append(Subprocess(config(
                tmp, ledger=url, ledger_timeout=30, calendar=[], service={"deadline": 60},
                parameters={scenario.REGIME: {"alloc_cap_tpp": scenario.ALLOC_CAP}})))
        yield tuple(servers)
    finally:
        for server in servers:
            server.stop()
        pg.stop()


def race(servers: tuple[Subprocess, ...], orders: list[dict[str, Any]],
         regime: str) -> list[dict[str, Any]]:
    """Post every order at once, alternating replicas; the decisions, in order."""
    def one(i: int) -> dict[str, Any]:
        with client(servers[i % len(servers)].base) as c:
            r = c.post("/v1/check", json=orders[i], params={"regime": regime})
        assert r.status_code == 200, r.text
        doc: dict[str, Any] = r.json()
        assert doc["error"] is None, doc["error"]
        return doc
    with ThreadPoolExecutor(CLIENTS) as pool:
        return list(pool.map(one, range(len(orders))))


def consumed(decisions: list[dict[str, Any]]) -> Counter[str]:
    used: Counter[str] = Counter()
    for d in decisions:
        for line in d["lines"]:
            for c in line["consumes"]:
                used[c["quota"]] += c["tpp"]
    return used


def ledger_orders(server: Subprocess, decisions: list[dict[str, Any]]) -> None:
    """Every order is in the ledger once, with the outcome it was answered."""
    with client(server.base) as c:
        for d in decisions:
            r = c.get(f"/v1/orders/{d['order']}")
            assert r.status_code == 200 and r.json()["outcome"] == d["outcome"]
            held: Counter[str] = Counter()
            for row in r.json()["reservations"]:
                held[row["quota"]] += row["tpp"]
            assert held == consumed([d])


def test_racing_replicas_never_exceed_a_quota(replicas: tuple[Subprocess, ...]) -> None:
    orders = scenario.order_docs(64, prefix="REP")
    decisions = race(replicas, orders, scenario.REGIME)
    used = consumed(decisions)
    for key, cap in scenario.CAPS.items():
        assert 0 < used[key] <= cap, key
    outcomes = Counter(d["outcome"] for d in decisions)
    assert outcomes["deny"] > 0, "the race must run both quotas out"
    ledger_orders(replicas[1], decisions)


def test_racing_replicas_share_out_the_last_units_of_a_license(
        replicas: tuple[Subprocess, ...]) -> None:
    with client(replicas[0].base) as c:
        r = c.post("/v1/licenses", json={"licenses": [{
            "number": license_race.NUMBER, "issued": "2026-02-01", "expires": "2028-01-31",
            "destinations": ["CN"], "consignees": ["C1"],
            "items": [{"item": license_race.ITEM, "quantity": license_race.UNITS}]}]})
        assert r.status_code == 201, r.text
    orders = [license_race.order_doc(f"LIC-{i:03d}", 7) for i in range(24)]
    decisions = race(replicas, orders, license_race.REGIME)
    licensed = [d for d in decisions if d["outcome"] == "allow"]
    assert len(licensed) == license_race.UNITS // 7, "as many as fit, no more"
    assert consumed(decisions)[license_race.KEY] == 7 * len(licensed)
    with client(replicas[1].base) as c:
        entry = c.get(f"/v1/licenses/{license_race.NUMBER}").json()["entries"][0]
    assert entry["remaining"] == license_race.UNITS - 7 * len(licensed)
    ledger_orders(replicas[0], decisions)
