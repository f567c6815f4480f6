"""Records, adapters, and the dispatch that finds the adapter for a record.

A `Record` is what the host hands over: one file's or one line's text and,
when it is JSON, its parsed value. An `Adapter` claims the records it
understands and turns each into canonical orders; after the decision it says
what its ERP should write back. Adapters are registered through
``exportgate_register_adapters``; the dispatch here is the built-in
implementation of ``exportgate_adapt_order``.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ._attribution import run_as
from ._record import Record as Record  # re-exported: adapters and hosts take it from here
from ._exceptions import AdapterError
from ._model import Decision, Order
from ._markers import hookimpl


@runtime_checkable
class Adapter(Protocol):
    """What an adapter plugin registers.

    Optionally, ``near_miss(record) -> str | None``: asked only when no
    adapter claims a record, it says what the record lacks when it nearly is
    this adapter's format (``looks like a canonical order but has no
    `lines```), else ``None``; it must not raise. The dispatch's error names
    every adapter that answers, so a record one field short of an order is
    not reported as a record of no known format.
    """

    name: str
    description: str

    def claims(self, record: Record) -> bool:
        """True when this adapter understands the record. Must not raise."""
        ...

    def adapt(self, record: Record) -> list[Order]:
        """The canonical orders in the record; raises AdapterError naming the field."""
        ...

    def writeback(self, order: Order, decision: Decision) -> dict[str, Any]:
        """What the ERP should write back for this decision."""
        ...


@dataclass(frozen=True)
class Adapted:
    """The orders read from one record, and the adapter that read them."""

    orders: list[Order]
    adapter: Adapter


class AdapterDispatch:
    """Built-in ``exportgate_adapt_order``: finds the registered adapter for a record."""

    def __init__(self, adapters: dict[str, Adapter],
                 owner: Callable[[str], str] = lambda name: "?") -> None:
        """``owner`` names the plugin of an adapter: its code runs as that plugin's."""
        self.adapters = adapters
        self.owner = owner

    @hookimpl(trylast=True)
    def exportgate_adapt_order(self, record: Record, adapter: str | None) -> Adapted:
        if adapter is not None:
            chosen = self.adapters.get(adapter)
            if chosen is None:
                raise AdapterError(f"{record.source}: no adapter named {adapter!r}; "
                                   f"known: {', '.join(sorted(self.adapters))}")
        else:
            claimed = [a for a in self.adapters.values() if adapter_claims(a, record)]
            if not claimed:
                near = [f"{a.name} ({why})" for a in self.adapters.values()
                        if (why := adapter_near_miss(a, record)) is not None]
                nearest = f"nearest: {'; '.join(near)}; " if near else ""
                raise AdapterError(f"{record.source}: no adapter claims this record; {nearest}"
                                   f"known: {', '.join(sorted(self.adapters))} "
                                   "(choose one with --adapter)")
            if len(claimed) > 1:
                names = ", ".join(sorted(a.name for a in claimed))
                raise AdapterError(f"{record.source}: the record is ambiguous, claimed by "
                                   f"{names} (choose one with --adapter)")
            chosen = claimed[0]
        return Adapted(orders=run_as(self.owner(chosen.name), chosen.adapt, record),
                       adapter=chosen)


def adapter_claims(adapter: Adapter, record: Record) -> bool:
    try:
        return bool(adapter.claims(record))
    except Exception:  # a claims() that raises does not claim
        return False


def adapter_near_miss(adapter: Adapter, record: Record) -> str | None:
    """What the record lacks to be ``adapter``'s, if the adapter can tell (its ``near_miss``)."""
    near_miss = getattr(adapter, "near_miss", None)
    if near_miss is None:
        return None
    try:
        why = near_miss(record)
    except Exception:  # a near_miss() that raises has nothing to say
        return None
    return why[:300] if isinstance(why, str) and why else None
