"""The quota race the ledger tests share, and the pieces that check it.

Orders of H100s to one Tier-2 country (IN), all for one consignee, under the
real ``us-ai-diffusion-2025`` regime on the embedded engine. A line goes to
License Exception LPP while the consignee's allowance (26,900,000 TPP a
year, about 1,699 H100) still covers it whole (D6, ``notify``), else to the
country allocation (D8, ``license``; made small here through the regime
parameter ``alloc_cap_tpp``), else it is denied (D9). Sizes are mixed so a
small late order can still fit where a larger earlier one did not.

Worker processes import this module (``spawn``): keep it free of pytest.
"""
from __future__ import annotations

import copy
import json
from typing import Any

from exportgate import Order, Settings
from exportgate._gate import Gate
from exportgate._plugins import Plugins

from tests.ledger import race_gate

REGIME = "us-ai-diffusion-2025"
H100_TPP = 15832
LPP_CAP = 26_900_000
#: The country allocation for the tests: about 1,263 H100.
ALLOC_CAP = 20_000_000
CONSIGNEE = "in-cloud"
COUNTRY = "IN"
LPP_KEY = f"lpp:{CONSIGNEE}:2025"
ALLOC_KEY = f"alloc:{COUNTRY}"
CAPS = {LPP_KEY: LPP_CAP, ALLOC_KEY: ALLOC_CAP}
#: H100s per order, cycled: about 45 of 400 orders fit one quota or the other.
SIZES = (70, 130, 40, 100, 10, 70, 160, 25)


def settings(timeout: float = 30.0) -> Settings:
    return Settings(parameters={REGIME: {"alloc_cap_tpp": ALLOC_CAP}},
                    ledger_timeout=timeout)


def order_doc(order_id: str, quantity: int) -> dict[str, Any]:
    party = {"id": CONSIGNEE, "name": "In Cloud Pvt Ltd", "country": COUNTRY}
    return {
        "id": order_id, "date": "2025-06-02", "ship_from": "US", "transaction": "export",
        "parties": {"sold_to": party, "ship_to": party},
        "lines": [{"id": "10", "item": "NVIDIA-H100-SXM5-80GB", "quantity": quantity,
                   "unit": "EA",
                   "classification": {"eccn": "3A090.a", "tpp": H100_TPP, "pd": 19.45,
                                      "datacenter": True, "dram_bandwidth_gbps": 3350}}],
    }


def order_docs(n: int, prefix: str = "SO", scale: int = 1) -> list[dict[str, Any]]:
    """``n`` orders, sizes cycling through `SIZES` times ``scale``."""
    return [order_doc(f"{prefix}-{i:04d}", scale * SIZES[i % len(SIZES)]) for i in range(n)]


# -- in a worker process -------------------------------------------------


def gate(ledger_url: str, timeout: float = 30.0) -> Gate:
    """A Gate on ``ledger_url``; the regime stays compiled across calls in one process."""
    return race_gate.gate(settings(timeout), REGIME, ledger_url)


def check_orders(task: tuple[str, list[Order]]) -> list[dict[str, Any]]:
    """Pool task: check ``orders`` in turn; return their decisions as JSON dicts."""
    ledger_url, orders = task
    return race_gate.check_all(gate(ledger_url), orders)


def warm_up(_: int) -> int:
    """Pool task: load and compile the regime before the clock starts."""
    return race_gate.warm(gate("sqlite:///:memory:"), order_doc("W", 1))


# -- the serial replay ----------------------------------------------------


class MemoEngine:
    """An engine that remembers answers by policy input, the order id left out.

    The replay asks the same question many times (once a quota is spent, every
    later order of one size is denied against the same usage); the regimes
    never read the order id, so the answer is the same. Answers are copied out.
    """

    def __init__(self, engine: Any) -> None:
        self._engine = engine
        self._memo: dict[str, Any] = {}
        self.calls = self.misses = 0

    def evaluate(self, regime: Any, rule: str, doc: dict[str, Any]) -> Any:
        self.calls += 1
        anonymous = {**doc, "order": {**doc["order"], "id": "?"}}
        key = f"{regime.id}/{rule}/" + json.dumps(anonymous, sort_keys=True)
        if key not in self._memo:
            self.misses += 1
            self._memo[key] = self._engine.evaluate(regime, rule, doc)
        return copy.deepcopy(self._memo[key])


class ReplayGate(Gate):
    """The real Gate, its engine answers remembered, for serial replays."""

    def __init__(self, memo: MemoEngine, plugins: Plugins) -> None:
        super().__init__(plugins.settings, regime_id=REGIME, ledger_url="sqlite:///:memory:",
                         plugins=plugins)
        self.memo = memo

    @property
    def engine(self) -> Any:
        return self.memo


class Replayer:
    """Serial replays, each on a fresh in-memory ledger; answers kept from one to the next."""

    def __init__(self) -> None:
        self.plugins = Plugins(settings())
        self.memo = MemoEngine(self.plugins.engine())

    def prepare(self, doc: dict[str, Any]) -> Order:
        return ReplayGate(self.memo, self.plugins).prepare(doc)

    def replay(self, orders: list[Order]) -> dict[str, dict[str, Any]]:
        """Decide ``orders`` one after another, as one process would."""
        g = ReplayGate(self.memo, self.plugins)
        try:
            return {o.id: g.check(o).decision.to_dict() for o in orders}
        finally:
            g.ledger.close()
