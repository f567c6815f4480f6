"""The license race the ledger tests run: many checks at once for the last units
of one granted license (worker processes import this module: keep it free of pytest).

Orders of H200s to one consignee in China, reviewed case by case under the
enforced regime (row B1, ``license``) unless the license covers them (row
LICENSED, ``allow``) while its entry has room.
"""
from __future__ import annotations

from typing import Any

from exportgate import Settings
from exportgate._gate import Gate
from exportgate.ledger import licenses as _licenses
from exportgate.ledger.base import SqlLedger

from tests.ledger import race_gate

REGIME = "us-advanced-computing-2023"
NUMBER = "D7654321"
KEY = f"license:{NUMBER}:0"
UNITS = 50
ITEM = "NVIDIA-H200-SXM-141GB"


def record(ledger: SqlLedger, units: int = UNITS) -> None:
    _licenses.add(ledger, _licenses.parse({"licenses": [{
        "number": NUMBER, "issued": "2026-02-01", "expires": "2028-01-31",
        "destinations": ["CN"], "consignees": ["C1"],
        "items": [{"item": ITEM, "quantity": units}]}]}, "race"))


def order_doc(order_id: str, quantity: int) -> dict[str, Any]:
    return {"id": order_id, "date": "2026-03-02", "ship_from": "US", "transaction": "export",
            "parties": {"ship_to": {"id": "C1", "country": "CN"}},
            "lines": [{"id": "10", "item": ITEM, "quantity": quantity, "unit": "EA"}]}


def gate(ledger_url: str) -> Gate:
    return race_gate.gate(Settings(ledger_timeout=30.0), REGIME, ledger_url)


def check_orders(task: tuple[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Pool task: check ``orders`` in turn; return their decisions as JSON dicts."""
    ledger_url, orders = task
    return race_gate.check_all(gate(ledger_url), orders)


def warm_up(_: int) -> int:
    """Pool task: load and compile the regime before the clock starts."""
    return race_gate.warm(gate("sqlite:///:memory:"), order_doc("W", 1))
