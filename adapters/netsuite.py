"""Oracle NetSuite ``salesOrder`` as the REST record service returns it.

``GET /services/rest/record/v1/salesOrder/{id}?expandSubResources=true``:
references are ``{"id", "refName"}`` objects, the ``item`` sublist is
``{"items": [...]}`` and ``shippingAddress`` is a subrecord. The order id is
``tranId``; the customer (``entity``) is the sold-to party and, at the
shipping address, the ship-to party, whose country is
``shippingAddress.country`` (else the party master's, by the customer's
internal id). The end user is a custom body field (``custbody_end_user`` by
default). The item is the item reference's ``refName`` (its item name /
number). Closed lines and lines that are not goods (discounts, subtotals,
descriptions, markups, groups) are skipped.

Write-back: a held order goes back to *Pending Approval* (``orderStatus``
``A``); the outcome goes into a custom body field and, per line, a custom
column field. An allowed order's status is left to the host's own approval
workflow.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

from exportgate._adapter import Adapter, Record
from exportgate._model import Decision, Order
from exportgate._parties import party_master
from exportgate._schemas import NETSUITE_OPTIONS
from exportgate._settings import Settings
from exportgate.hookspecs import hookimpl

from ._common import (
    Fields,
    LineIn,
    PartyRef,
    build_orders,
    document_id,
    held,
    options,
    ship_from,
    summary,
)

_NOT_GOODS = frozenset({"Discount", "Subtotal", "Description", "Markup", "Group", "EndGroup",
                        "Payment"})


class NetSuiteAdapter:
    """Reads REST ``salesOrder`` records; writes back the order status and outcome fields."""

    name = "netsuite"
    description = "Oracle NetSuite salesOrder REST record (item sublist, shippingAddress)"

    def __init__(self, settings: Settings) -> None:
        self.options = options(settings, self.name, NETSUITE_OPTIONS)
        self.master = party_master(settings.parties)

    def claims(self, record: Record) -> bool:
        d = record.data
        return isinstance(d, dict) and {"tranId", "entity", "item"} <= set(d)

    def adapt(self, record: Record) -> list[Order]:
        f = Fields(self.name, record)
        so = f.obj(record.data, "record")
        f.order_id = f.need(so, "tranId", "tranId")
        location = _ref(f, so, "location", "location")[0] if so.get("location") else None
        sublist = f.obj(so.get("item"), "item")
        lines = [line for at, row in f.rows(sublist.get("items"), "item.items")
                 if (line := self._line(f, row, at, location)) is not None]
        return build_orders(f, self.master, order_id=f.order_id,
                            date=f.date(so.get("tranDate"), "tranDate"),
                            parties=self._parties(f, so), lines=lines, lines_field="item.items")

    def _parties(self, f: Fields, so: Mapping[str, Any]) -> dict[str, PartyRef]:
        """The customer as sold-to and, at the shipping address, ship-to; the custom end user."""
        customer, name = _ref(f, so, "entity", "entity")
        address = (f.obj(so["shippingAddress"], "shippingAddress")
                   if so.get("shippingAddress") is not None else {})
        addressee = f.text(address, "addressee", "shippingAddress.addressee")
        parties = {"sold_to": PartyRef(customer, "entity", None, name),
                   "ship_to": PartyRef(customer, "shippingAddress.country",
                                       _country(f, address.get("country"),
                                                "shippingAddress.country"),
                                       addressee or name)}
        end_user_field = self.options.get("end_user_field")
        if end_user_field and so.get(end_user_field) is not None:
            end_user, end_user_name = _ref(f, so, end_user_field, end_user_field)
            parties["end_user"] = PartyRef(end_user, end_user_field, None, end_user_name)
        return parties

    def _line(self, f: Fields, row: Mapping[str, Any], at: str,
              location: str | None) -> LineIn | None:
        """One ``item`` sublist line, or ``None`` for a closed line or one that is not goods."""
        line = f.need(row, "line", f"{at}.line")
        kind = f.text(row, "itemType", f"{at}.itemType", line)
        if row.get("isClosed") is True or kind in _NOT_GOODS:
            return None
        unit = (_ref(f, row, "units", f"{at}.units", line)[1]
                if isinstance(row.get("units"), dict)
                else f.text(row, "units", f"{at}.units", line))
        if row.get("location"):
            location = _ref(f, row, "location", f"{at}.location", line)[0]
        item = f.obj(row.get("item"), f"{at}.item", line)
        return LineIn(id=line, item=f.need(item, "refName", f"{at}.item.refName", line),
                      quantity=f.quantity(row.get("quantity"), f"{at}.quantity", line),
                      unit=unit, ship_from=ship_from(self.options, location))

    def writeback(self, order: Order, decision: Decision) -> dict[str, Any]:
        """Pending Approval when held; the outcome on the order and on every line."""
        hold = held(decision.outcome)
        body: dict[str, Any] = {self.options["outcome_field"]: decision.outcome.value}
        if hold:
            body["orderStatus"] = {"id": self.options["hold_status"]}
        return {"adapter": self.name, "record": "salesOrder", "tranId": document_id(order),
                "order": order.id, "outcome": decision.outcome.value, "hold": hold,
                "body": body,
                "item": [{"line": int(ld.id) if ld.id.isdigit() else ld.id,
                          self.options["line_outcome_field"]: ld.outcome.value}
                         for ld in decision.lines],
                "message": summary(decision)}


def _ref(f: Fields, m: Mapping[str, Any], key: str, field: str,
         line: str | None = None) -> tuple[str, str | None]:
    """A record reference ``{"id", "refName"}``: its id and, if given, its name."""
    ref = f.obj(m.get(key), field, line)
    return (f.need(ref, "id", f"{field}.id", line),
            f.text(ref, "refName", f"{field}.refName", line))


def _country(f: Fields, value: Any, field: str) -> str | None:
    """The address country: ``{"id": "DE", "refName": "Germany"}`` or ``"DE"``; absent is none."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return f.country(value.get("id"), f"{field}.id")
    return f.country(value, field)


@hookimpl
def exportgate_register_adapters(register: Callable[[Adapter], None], settings: Settings) -> None:
    register(NetSuiteAdapter(settings))
