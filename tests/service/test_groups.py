"""Checks waiting at one moment are decided as one group, each with its own decision.

The decision thread is held busy while requests arrive, so they all wait for
it and are taken as one group (the metrics count the groups); then it is let
go. Every group decision must be what checking the orders one after the
other, in the order the group took them, decides: the audit log gives that
order, and a plain `Gate` on a fresh ledger replays it.
"""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import httpx
import pytest
import uvicorn

from exportgate._gate import Gate
from exportgate._settings import Settings
from exportgate.service.app import Service
from tests.ledger import scenario
from tests.service.live import Subprocess, client, config, free_port, wait_up
from tests.service.test_replicas import consumed, ledger_orders


class Served:
    """A `Service` under uvicorn in a thread, its decision thread at the test's hand."""

    def __init__(self, tmp: Path, **overrides: Any) -> None:
        self.tmp = tmp
        self.cfg = config(tmp, calendar=[],
                          parameters={scenario.REGIME: {"alloc_cap_tpp": scenario.ALLOC_CAP}},
                          **overrides)
        self.service = Service(Settings.load(self.cfg))
        self.base = f"http://127.0.0.1:{free_port()}"
        self.server = uvicorn.Server(uvicorn.Config(
            self.service.app(), host="127.0.0.1", port=int(self.base.rsplit(":", 1)[1]),
            log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_up(self.base, self.thread.is_alive)
        self._groups = (0.0, 0.0)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    def groups(self) -> tuple[float, float]:
        """(groups decided, checks in them) since the last call, from ``/metrics``."""
        with client(self.base) as c:
            text = c.get("/metrics").text
        found = {name: float(value) for name, value in
                 (line.split(" ") for line in text.splitlines()
                  if line.startswith("exportgate_decision_group_size_"))
                 if not name.endswith("}") and "bucket" not in name
                 and not name.endswith("_created")}
        now = (found["exportgate_decision_group_size_count"],
               found["exportgate_decision_group_size_sum"])
        before, self._groups = self._groups, now
        return now[0] - before[0], now[1] - before[1]

    def audited_order_ids(self) -> list[str]:
        lines = (self.tmp / "audit.jsonl").read_text().splitlines()
        return [json.loads(line)["input"]["order"]["id"] for line in lines]

    def as_one_group(self, requests: list[Callable[[], httpx.Response]]
                     ) -> list[httpx.Response]:
        """Send ``requests`` at once while the decision thread is busy: one group."""
        self.groups()
        release = threading.Event()
        busy = self.service.decider._pool.submit(release.wait)
        with ThreadPoolExecutor(len(requests)) as pool:
            futures = [pool.submit(r) for r in requests]
            while self.service.decider.waiting < len(requests) \
                    and not any(f.done() for f in futures):
                time.sleep(0.01)
            release.set()
            busy.result()
            return [f.result() for f in futures]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    live = Served(tmp_path_factory.mktemp("groups"))
    yield live
    live.stop()


def check(served: Served, body: Any) -> Callable[[], httpx.Response]:
    def send() -> httpx.Response:
        with client(served.base) as c:
            return c.post("/v1/check", json=body, params={"regime": scenario.REGIME})
    return send


def test_a_group_racing_for_one_quota_decides_each_order_as_if_one_after_the_other(
        served: Served, tmp_path: Path) -> None:
    orders = scenario.order_docs(40, prefix="GRP")
    responses = served.as_one_group([check(served, o) for o in orders])
    assert served.groups() == (1.0, 40.0), "the 40 waiting checks are one group"
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    decisions = [r.json() for r in responses]
    assert all(d["error"] is None for d in decisions)
    assert [d["order"] for d in decisions] == [o["id"] for o in orders], "each its own"
    used = consumed(decisions)
    for key, cap in scenario.CAPS.items():
        assert 0 < used[key] <= cap, key
    assert any(d["outcome"] == "deny" for d in decisions), "the group must run out the quotas"
    _ledger_matches(served, decisions)
    # one after the other, in the order the group took them, on a fresh ledger
    taken = [i for i in served.audited_order_ids() if i.startswith("GRP-")]
    by_id = {o["id"]: o for o in orders}
    expected = {}
    with Gate(scenario.settings(), regime_id=scenario.REGIME, engine="embedded",
              ledger_url=f"sqlite:///{tmp_path / 'alone.db'}") as gate:
        for order_id in taken:
            expected[order_id] = gate.check(by_id[order_id]).decision.to_dict()
    for d in decisions:
        assert d["outcome"] == expected[d["order"]]["outcome"], d["order"]
        assert [line["consumes"] for line in d["lines"]] == \
            [line["consumes"] for line in expected[d["order"]]["lines"]], d["order"]


def _ledger_matches(served: Served, decisions: list[dict[str, Any]]) -> None:
    """Every order is in the ledger once, holding exactly what its decision consumes."""
    ledger_orders(cast(Subprocess, served), decisions)  # it needs only ``base``


def test_a_bad_record_fails_alone_and_the_rest_of_its_group_is_decided(
        served: Served) -> None:
    good = scenario.order_docs(6, prefix="OK")
    bad = scenario.order_doc("BAD-1", 10)
    del bad["lines"][0]["quantity"]
    responses = served.as_one_group([check(served, o) for o in [*good[:3], bad, *good[3:]]])
    assert served.groups() == (1.0, 7.0)
    statuses = [r.status_code for r in responses]
    assert statuses == [200, 200, 200, 400, 200, 200, 200], [r.text for r in responses]
    assert "BAD-1" in responses[3].text and "quantity" in responses[3].text
    decided = [r.json() for r in responses if r.status_code == 200]
    assert [d["order"] for d in decided] == [o["id"] for o in good]
    _ledger_matches(served, decided)
    with client(served.base) as c:
        assert c.get("/v1/orders/BAD-1").status_code == 404, "nothing of it reserved"


def test_an_identical_resend_in_the_same_group_moves_no_quota(served: Served) -> None:
    order = scenario.order_doc("TWICE-1", 100)
    first, second = served.as_one_group([check(served, order), check(served, order)])
    assert served.groups() == (1.0, 2.0)
    assert first.status_code == second.status_code == 200
    a, b = first.json(), second.json()
    assert a["outcome"] == b["outcome"] and a["error"] is None
    assert [x["consumes"] for x in a["lines"]] == [x["consumes"] for x in b["lines"]]
    _ledger_matches(served, [b])  # held once, not twice


def test_a_failed_group_commit_holds_every_order_of_the_group_and_reserves_nothing(
        tmp_path: Path) -> None:
    # an audit log that cannot be appended to (its path is a directory): the
    # group's transaction rolls back
    live = Served(tmp_path / "srv", audit_log=str(tmp_path))
    try:
        orders = scenario.order_docs(5, prefix="HELD")
        responses = live.as_one_group([check(live, o) for o in orders])
        assert live.groups() == (1.0, 5.0)
        assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]
        decisions = [r.json() for r in responses]
        assert [d["order"] for d in decisions] == [o["id"] for o in orders]
        for d in decisions:
            assert d["outcome"] == "license" and d["error"], d
            assert {line["outcome"] for line in d["lines"]} == {"license"}
        with client(live.base) as c:
            for o in orders:
                assert c.get(f"/v1/orders/{o['id']}").status_code == 404, "nothing reserved"
            assert 'exportgate_held_decisions_total{cause="audit"} 5.0' in c.get("/metrics").text
    finally:
        live.stop()


def test_groups_decided_one_after_another_under_load_match_a_replay_in_their_order(
        tmp_path: Path) -> None:
    # 8 clients at once, each sending its next order as soon as the last is
    # answered: groups follow one another (the next evaluated while the one
    # before is stepped), and every decision must still be what checking the
    # orders one after the other, in the order they were decided, gives
    served = Served(tmp_path / "srv")  # a fresh ledger: the quotas are this test's
    try:
        _decided_under_load_match_a_replay(served, tmp_path)
    finally:
        served.stop()


def _decided_under_load_match_a_replay(served: Served, tmp_path: Path) -> None:
    orders = scenario.order_docs(48, prefix="PIPE")
    served.groups()

    def client_of(mine: list[dict[str, Any]]) -> list[httpx.Response]:
        return [check(served, o)() for o in mine]
    with ThreadPoolExecutor(8) as pool:
        parts = list(pool.map(client_of, [orders[i::8] for i in range(8)]))
    responses = [r for part in parts for r in part]
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    decisions = [r.json() for r in responses]
    assert all(d["error"] is None for d in decisions)
    groups, checks = served.groups()
    assert checks == 48.0 and groups >= 6, "at most 8 in flight: several groups"
    assert any(d["outcome"] == "deny" for d in decisions), "the load must run out the quotas"
    used = consumed(decisions)
    for key, cap in scenario.CAPS.items():
        assert 0 < used[key] <= cap, key
    _ledger_matches(served, decisions)
    taken = [i for i in served.audited_order_ids() if i.startswith("PIPE-")]
    assert sorted(taken) == sorted(o["id"] for o in orders), "each audited once"
    by_id = {o["id"]: o for o in orders}
    expected = {}
    with Gate(scenario.settings(), regime_id=scenario.REGIME, engine="embedded",
              ledger_url=f"sqlite:///{tmp_path / 'alone.db'}") as gate:
        for order_id in taken:
            expected[order_id] = gate.check(by_id[order_id]).decision.to_dict()
    for d in decisions:
        assert d["outcome"] == expected[d["order"]]["outcome"], d["order"]
        assert [line["consumes"] for line in d["lines"]] == \
            [line["consumes"] for line in expected[d["order"]]["lines"]], d["order"]
