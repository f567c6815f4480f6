"""The canonical order (docs/contract.md, version 1) as JSON: the adapter every host can use."""
from __future__ import annotations

from typing import Any, Callable

from exportgate.toolkit import (Adapter, AdapterError, Decision, Order, Record, hookimpl, lacks,
                               order_from_dict)



class CanonicalAdapter:
    """Reads canonical order JSON; writes back the decision itself."""

    name = "canonical"
    description = "exportgate canonical order, version 1 (JSON)"

    def claims(self, record: Record) -> bool:
        d = record.data
        return (isinstance(d, dict) and "id" in d and "lines" in d
                and isinstance(d.get("parties"), dict))

    def near_miss(self, record: Record) -> str | None:
        """An order one key short (no ``lines``), or whose ``parties`` is no object."""
        d = record.data
        if isinstance(d, dict) and {"id", "lines", "parties"} <= set(d):
            return "looks like a canonical order but `parties` is not an object"
        return lacks(d, "a canonical order", ("id", "date", "parties", "lines"))

    def adapt(self, record: Record) -> list[Order]:
        if not isinstance(record.data, dict):
            raise AdapterError(f"{record.source}: not a JSON object", adapter=self.name)
        return [order_from_dict(record.data)]

    def writeback(self, order: Order, decision: Decision) -> dict[str, Any]:
        return {"order": order.id, "block": decision.outcome.value != "allow",
                "outcome": decision.outcome.value,
                "lines": {ld.id: ld.outcome.value for ld in decision.lines}}


@hookimpl
def exportgate_register_adapters(register: Callable[[Adapter], None]) -> None:
    register(CanonicalAdapter())
