"""Oracle NetSuite ``salesOrder`` as the REST record service returns it.

``GET /services/rest/record/v1/salesOrder/{id}?expandSubResources=true``:
references are ``{"id", "refName"}`` objects, the ``item`` sublist is
``{"items": [...]}`` and ``shippingAddress`` is a subrecord. Without
``expandSubResources=true`` the sublist and the subrecord come back as
links only: that, a paged sublist (``hasMore``), or an order text
``shipAddress`` without its ``shippingAddress`` subrecord, is an input error
naming the expansion, never a decision on the customer's own country. Only
sales orders are claimed (the record's ``self`` link names its type, in any
case: NetSuite writes ``salesorder`` as often as ``salesOrder``); a cancelled
one (``orderStatus`` ``C``) is an input error.

The order id is ``tranId``; the customer (``entity``) is the sold-to party
(named by its ``refName``) and, at the shipping address, the ship-to party,
whose country is ``shippingAddress.country``, name ``addressee`` (else the
customer's) and address ``addr1`` .. ``addr3``, ``city``, ``zip``, ``state``;
only an order with no shipping address at all falls back to the party master
(by the customer's internal id), and the decision notes it. The end user is a
custom body field (``custbody_end_user`` by default). The item is the item
reference's ``refName`` (its item name; of a hierarchical name
``Parent : Child`` the child). The quantity is ``quantity`` in ``units``
(``Each``, a pack the item catalog knows), converted to the item's base unit.
Not assessed (listed in the decision): closed lines, zero quantities, and
lines that are not goods by ``itemType`` (a code or an ``{id, refName}``
reference): services, other charges, discounts, markups, subtotals,
descriptions, payments, gift certificates, shipping items and group markers
(a group's member lines are read).

Write-back: a blocked order goes back to *Pending Approval* (``orderStatus``
``A``); the outcome goes into a custom body field and, per line, a custom
column field. An allowed order's status is left to the host's own approval
workflow.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from exportgate.toolkit import (ERP_OPTIONS, Adapter, Decision, Fields, LineIn, NotAssessed,
                               Order, PartyRef, Record, Settings, build_orders, document_id, blocks,
                               hookimpl, item_catalog, lacks, options, party_master, ship_from,
                               summary)

from ._address import address_line

#: The NetSuite adapter's options.
NETSUITE_OPTIONS: dict[str, Any] = {
    **ERP_OPTIONS,
    "end_user_field": {"type": "string", "nullable": True, "empty": False,
                       "default": "custbody_end_user"},
    "outcome_field": {"type": "string", "empty": False, "default": "custbody_exportgate_outcome"},
    "line_outcome_field": {"type": "string", "empty": False,
                           "default": "custcol_exportgate_outcome"},
    "hold_status": {"type": "string", "empty": False, "default": "A"},
}


_NOT_GOODS = frozenset({"Discount", "Subtotal", "Description", "Markup", "Group", "EndGroup",
                        "Payment", "Service", "OthCharge", "GiftCert", "ShipItem",
                        "TaxItem", "TaxGroup"})
_EXPAND = "request the record with expandSubResources=true"
_RECORD_TYPE = re.compile(r"/record/v1/([A-Za-z]+)/[^/]+/?$")


class NetSuiteAdapter:
    """Reads REST ``salesOrder`` records; writes back the order status and outcome fields."""

    name = "netsuite"
    description = "Oracle NetSuite salesOrder REST record (item sublist, shippingAddress)"

    def __init__(self, settings: Settings) -> None:
        self.options = options(settings, self.name, NETSUITE_OPTIONS)
        self.master = party_master(settings.parties)
        self.catalog = item_catalog(settings.catalogs)

    def claims(self, record: Record) -> bool:
        d = record.data
        return (isinstance(d, dict) and {"tranId", "entity", "item"} <= set(d)
                and _sales_order(_record_type(d)))

    def near_miss(self, record: Record) -> str | None:
        """Another record type than a sales order, or a sales order a key short."""
        d = record.data
        if isinstance(d, dict) and {"tranId", "entity", "item"} <= set(d):
            return f"is a {_record_type(d)} record; only salesOrder is read"
        return lacks(d, "a NetSuite salesOrder", ("tranId", "entity", "item", "tranDate"))

    def adapt(self, record: Record) -> list[Order]:
        f = Fields(self.name, record)
        so = f.obj(record.data, "record")
        kind = _record_type(so)
        if not _sales_order(kind):
            raise f.error(f"is a {kind} record; only salesOrder is read", "links")
        f.order_id = f.need(so, "tranId", "tranId")
        status = so.get("orderStatus")
        if isinstance(status, Mapping) and status.get("id") == "C":
            raise f.error("the order is cancelled: nothing to check", "orderStatus")
        location = _ref(f, so, "location", "location")[0] if so.get("location") else None
        sublist = f.obj(so.get("item"), "item")
        if "items" not in sublist:
            raise f.error(f"the item sublist is not expanded: {_EXPAND}", "item")
        if sublist.get("hasMore") is True:
            raise f.error("the item sublist is paged (hasMore is true): read every line",
                          "item.hasMore")
        lines = [self._line(f, row, at, location)
                 for at, row in f.rows(sublist.get("items"), "item.items")]
        return build_orders(f, self.master, order_id=f.order_id,
                            date=f.date(so.get("tranDate"), "tranDate"),
                            parties=self._parties(f, so), lines=lines, lines_field="item.items",
                            catalog=self.catalog)

    def _parties(self, f: Fields, so: Mapping[str, Any]) -> dict[str, PartyRef]:
        """The customer as sold-to and, at the shipping address, ship-to; the custom end user."""
        customer, name = _ref(f, so, "entity", "entity")
        address = (f.obj(so["shippingAddress"], "shippingAddress")
                   if so.get("shippingAddress") is not None else {})
        if not address and f.text(so, "shipAddress", "shipAddress"):
            raise f.error("the order has a ship-to address (shipAddress) but no shippingAddress "
                          f"subrecord to read its country from: {_EXPAND}", "shippingAddress")
        if address and set(address) <= {"links", "id", "refName"}:
            raise f.error(f"the shippingAddress subrecord is not expanded: {_EXPAND}",
                          "shippingAddress")
        if address and address.get("country") in (None, ""):
            raise f.error("the shipping address has no country", "shippingAddress.country")
        addressee = f.text(address, "addressee", "shippingAddress.addressee")
        parties = {"sold_to": PartyRef(customer, "entity", None, name),
                   "ship_to": PartyRef(customer, "shippingAddress.country",
                                       _country(f, address.get("country"),
                                                "shippingAddress.country"),
                                       addressee or name, _address(f, address))}
        end_user_field = self.options.get("end_user_field")
        if end_user_field and so.get(end_user_field) is not None:
            end_user, end_user_name = _ref(f, so, end_user_field, end_user_field)
            parties["end_user"] = PartyRef(end_user, end_user_field, None, end_user_name)
        return parties

    def _line(self, f: Fields, row: Mapping[str, Any], at: str,
              location: str | None) -> LineIn | NotAssessed:
        """One ``item`` sublist line, or why it is not assessed."""
        line = f.need(row, "line", f"{at}.line")
        kind = (_ref(f, row, "itemType", f"{at}.itemType", line)[0]
                if isinstance(row.get("itemType"), Mapping)
                else f.text(row, "itemType", f"{at}.itemType", line))
        item_ref = row.get("item")
        name = (f.text(item_ref, "refName", f"{at}.item.refName", line)
                if isinstance(item_ref, Mapping) else None)
        if row.get("isClosed") is True:
            return NotAssessed(line, "closed (isClosed)", _child(name))
        if kind in _NOT_GOODS:
            return NotAssessed(line, f"not goods (itemType {kind})", _child(name))
        unit = (_ref(f, row, "units", f"{at}.units", line)[1]
                if isinstance(row.get("units"), dict)
                else f.text(row, "units", f"{at}.units", line))
        if row.get("location"):
            location = _ref(f, row, "location", f"{at}.location", line)[0]
        f.obj(item_ref, f"{at}.item", line)
        if name is None:
            raise f.error("is missing or empty", f"{at}.item.refName", line)
        return LineIn(id=line, item=_child(name) or name,
                      quantity=f.quantity(row.get("quantity"), f"{at}.quantity", line),
                      unit=unit, ship_from=ship_from(self.options, location),
                      quantity_field=f"{at}.quantity", unit_field=f"{at}.units")

    def writeback(self, order: Order, decision: Decision) -> dict[str, Any]:
        """Pending Approval when blocked; the outcome on the order and on every line."""
        block = blocks(decision.outcome)
        body: dict[str, Any] = {self.options["outcome_field"]: decision.outcome.value}
        if block:
            body["orderStatus"] = {"id": self.options["hold_status"]}
        return {"adapter": self.name, "record": "salesOrder", "tranId": document_id(order),
                "order": order.id, "outcome": decision.outcome.value, "block": block,
                "body": body,
                "item": [{"line": int(ld.id) if ld.id.isdigit() else ld.id,
                          self.options["line_outcome_field"]: ld.outcome.value}
                         for ld in decision.lines],
                "message": summary(decision)}


def _record_type(d: Mapping[str, Any]) -> str | None:
    """The record type the record's own ``self`` link names (``salesOrder``), if it has one."""
    links = d.get("links")
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, Mapping) and link.get("rel") == "self":
            m = _RECORD_TYPE.search(str(link.get("href", "")))
            if m:
                return m.group(1)
    return None


def _sales_order(kind: str | None) -> bool:
    """True for a sales order, or a record whose links name no type.

    NetSuite's record types are case-insensitive in its URLs, and its own
    responses write them in lower case (``.../record/v1/salesorder/5123``).
    """
    return kind is None or kind.casefold() == "salesorder"


def _child(name: str | None) -> str | None:
    """The item's own name of a hierarchical ``Parent : Child`` name."""
    return name.rsplit(" : ", 1)[-1].strip() if name else None


def _ref(f: Fields, m: Mapping[str, Any], key: str, field: str,
         line: str | None = None) -> tuple[str, str | None]:
    """A record reference ``{"id", "refName"}``: its id and, if given, its name."""
    ref = f.obj(m.get(key), field, line)
    return (f.need(ref, "id", f"{field}.id", line),
            f.text(ref, "refName", f"{field}.refName", line))


def _address(f: Fields, address: Mapping[str, Any]) -> str | None:
    """The shipping address subrecord as one line: ``addr1`` .. ``addr3``, city, zip, state.

    ``state`` is the text NetSuite writes (``CA``, ``Dubai``), or a reference
    whose ``refName`` (else ``id``) is read.
    """
    def read(name: str) -> str | None:
        return f.text(address, name, f"shippingAddress.{name}")

    state = address.get("state")
    if isinstance(state, Mapping):
        state_text = (f.text(state, "refName", "shippingAddress.state.refName")
                      or f.text(state, "id", "shippingAddress.state.id"))
    else:
        state_text = read("state")
    return address_line((read("addr1"), read("addr2"), read("addr3"), read("city"),
                         read("zip"), state_text))


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
