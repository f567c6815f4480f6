"""Builders for the license tests: a license file, orders of H200s to China."""
from __future__ import annotations

from typing import Any

H200 = {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45, "datacenter": True,
        "dram_bandwidth_gbps": 4800}


def license_doc(number: str = "D1234567", quantity: int = 100, **fields: Any) -> dict[str, Any]:
    """The issue's example license: H200s to one consignee in China."""
    doc: dict[str, Any] = {
        "number": number, "issued": "2026-02-01", "expires": "2028-01-31",
        "destinations": ["CN"], "consignees": ["C1"],
        "items": [{"item": "NVIDIA-H200-SXM-141GB", "quantity": quantity}],
        "conditions": "No reexport; quarterly end-use report.",
    }
    doc.update(fields)
    return doc


def h200_order(order_id: str, qty: int, date: str = "2026-03-02", dest: str = "CN",
               consignee: str = "C1", item: str = "NVIDIA-H200-SXM-141GB",
               **parties: Any) -> dict[str, Any]:
    """An order of H200s: case by case (row B1, ``license``) to China from 2026-01-15."""
    return {"id": order_id, "date": date, "ship_from": "US", "transaction": "export",
            "parties": {"ship_to": {"id": consignee, "country": dest}, **parties},
            "lines": [{"id": "10", "item": item, "quantity": qty,
                       "classification": dict(H200)}]}
