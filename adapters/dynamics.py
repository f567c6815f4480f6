"""Microsoft Dynamics 365 Finance & Operations: ``SalesOrderHeadersV2`` with ``SalesOrderLines``.

The record is the OData entity as ``/data/SalesOrderHeadersV2`` returns it
with its lines expanded (or read alongside into ``SalesOrderLines``); a
collection ``{"value": [...]}`` is read as several orders. A sales order is
identified by its legal entity and number, so the canonical id is
``<dataAreaId>:<SalesOrderNumber>``. The ordering customer is the sold-to
party (named ``SalesOrderName``) and, with the delivery address, the ship-to
party; the delivery country is already an ISO code on the header and on each
line (``DeliveryAddressCountryRegionISOCode``), and a line's own country wins.
The ship-to's name is ``DeliveryAddressName``, its address
``DeliveryAddressStreet`` (and ``DeliveryAddressStreetNumber``),
``DeliveryAddressCity``, ``DeliveryAddressZipCode`` and
``DeliveryAddressStateId``, a line's own over the header's.
F&O has no end-user field: a custom one (``EndUserAccountNumber`` by
default, ``adapters.d365-fo.end_user_field``) or the party master's
``end_user`` mapping supplies it. A delivery address given only by its
three-letter ``DeliveryAddressCountryRegionId`` is an input error (add the
ISO code to ``$select``); with no delivery country at all the party master's
country of the customer is used, and the decision notes it.

A line is identified by ``LineNumber``, else (entities and exports that
omit it) by ``InventoryLotId``, else ``LineCreationSequenceNumber``. Its
quantity is ``OrderedSalesQuantity`` in ``SalesUnitSymbol``, converted to the
item's base unit. Not assessed: cancelled lines (``SalesOrderLineStatus``
``Canceled``) and zero quantities; a cancelled order is an input error.

Write-back: ``IsSalesProcessingStopped`` on the header and ``IsLineStopped``
on each line (``NoYes`` enum values ``"Yes"`` / ``"No"``), each line
addressed by the entity key ``dataAreaId`` + ``InventoryLotId`` when the
record gave it (and by ``LineNumber``).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from exportgate.toolkit import (ERP_OPTIONS, Adapter, Decision, Fields, LineIn, NotAssessed,
                               Order, PartyRef, Record, Settings, build_orders, document_id, blocks,
                               hookimpl, is_part, item_catalog, options, party_master, ship_from,
                               summary)

from ._address import address_line, words

#: The Dynamics 365 adapter's options.
D365_OPTIONS: dict[str, Any] = {
    **ERP_OPTIONS,
    "end_user_field": {"type": "string", "nullable": True, "empty": False,
                       "default": "EndUserAccountNumber"},
}


COUNTRY = "DeliveryAddressCountryRegionISOCode"
COUNTRY_ID = "DeliveryAddressCountryRegionId"
#: How many orders' line keys the adapter remembers for their write-back.
_KEEP_KEYS = 10_000


class Dynamics365Adapter:
    """Reads F&O sales order headers with lines; writes back the stop flags."""

    name = "d365-fo"
    description = "Microsoft Dynamics 365 F&O SalesOrderHeadersV2 with SalesOrderLines (OData)"

    def __init__(self, settings: Settings) -> None:
        self.options = options(settings, self.name, D365_OPTIONS)
        self.master = party_master(settings.parties)
        self.catalog = item_catalog(settings.catalogs)
        #: Order id -> line id -> the line's key fields as read, for the write-back.
        self._keys: dict[str, dict[str, dict[str, Any]]] = {}

    def claims(self, record: Record) -> bool:
        docs = _documents(record.data)
        return bool(docs) and all(
            isinstance(d, dict) and "SalesOrderNumber" in d
            and ("SalesOrderLines" in d or "OrderingCustomerAccountNumber" in d)
            for d in docs or ())

    def near_miss(self, record: Record) -> str | None:
        """A sales order number with neither its lines nor its customer."""
        for doc in _documents(record.data) or ():
            if (isinstance(doc, dict) and "SalesOrderNumber" in doc
                    and not {"SalesOrderLines", "OrderingCustomerAccountNumber"} & set(doc)):
                return ("looks like a D365 F&O SalesOrderHeadersV2 but has neither "
                        "`SalesOrderLines` nor `OrderingCustomerAccountNumber`")
        return None

    def adapt(self, record: Record) -> list[Order]:
        f = Fields(self.name, record)
        docs = _documents(record.data)
        if not docs:
            raise f.error("is not a SalesOrderHeadersV2 entity or a non-empty {\"value\": [...]} "
                          "collection of them", "record")
        return f.each((f.obj(doc, f"value[{i}]") for i, doc in enumerate(docs)),
                      lambda so: self._order(f, so))

    def _order(self, f: Fields, so: Mapping[str, Any]) -> list[Order]:
        number = f.need(so, "SalesOrderNumber", "SalesOrderNumber")
        f.order_id = f"{f.need(so, 'dataAreaId', 'dataAreaId')}:{number}"
        customer = f.need(so, "OrderingCustomerAccountNumber", "OrderingCustomerAccountNumber")
        if f.text(so, "SalesOrderStatus", "SalesOrderStatus") == "Canceled":
            raise f.error("the order is cancelled: nothing to check", "SalesOrderStatus")
        name = f.text(so, "DeliveryAddressName", "DeliveryAddressName")
        header_country = f.text(so, COUNTRY, COUNTRY)
        if header_country is None and f.text(so, COUNTRY_ID, COUNTRY_ID):
            raise f.error(f"the delivery address has only {COUNTRY_ID} "
                          f"({so[COUNTRY_ID]!r}); add {COUNTRY} to $select", COUNTRY)
        parties = {
            "sold_to": PartyRef(customer, "OrderingCustomerAccountNumber", None,
                                f.text(so, "SalesOrderName", "SalesOrderName")),
            "ship_to": PartyRef(customer, COUNTRY,
                                f.country(header_country, COUNTRY) if header_country else None,
                                name, _delivery_address(f, so))}
        end_user_field = self.options.get("end_user_field")
        if end_user_field:
            end_user = f.text(so, end_user_field, end_user_field)
            if end_user is not None:
                parties["end_user"] = PartyRef(end_user, end_user_field)
        site = f.text(so, "DefaultShippingSiteId", "DefaultShippingSiteId")
        if "SalesOrderLines" not in so:
            raise f.error("is not expanded; request the order with $expand=SalesOrderLines (or "
                          "read the lines alongside into SalesOrderLines)", "SalesOrderLines")
        lines: list[LineIn | NotAssessed] = []
        keys: dict[str, dict[str, Any]] = {}
        for at, row in f.rows(so.get("SalesOrderLines"), "SalesOrderLines"):
            lines.append(self._line(f, row, at, number, parties["ship_to"], site))
            keys[lines[-1].id] = _line_key(f, row, at, lines[-1].id)
        orders = build_orders(f, self.master, order_id=f.order_id,
                              date=f.date(so.get("OrderCreationDateTime"),
                                          "OrderCreationDateTime"),
                              parties=parties, lines=lines, lines_field="SalesOrderLines",
                              catalog=self.catalog)
        for order in orders:
            if len(self._keys) >= _KEEP_KEYS:
                self._keys.pop(next(iter(self._keys)))
            self._keys[order.id] = keys
        return orders

    def _line(self, f: Fields, row: Mapping[str, Any], at: str, number: str, ship_to: PartyRef,
              site: str | None) -> LineIn | NotAssessed:
        line = _line_id(f, row, at)
        own = f.text(row, "SalesOrderNumber", f"{at}.SalesOrderNumber", line)
        if own is not None and own != number:
            raise f.error(f"the line belongs to sales order {own}, not {number}",
                          f"{at}.SalesOrderNumber", line)
        item = f.text(row, "ItemNumber", f"{at}.ItemNumber", line)
        status = f.text(row, "SalesOrderLineStatus", f"{at}.SalesOrderLineStatus", line)
        if status == "Canceled":
            return NotAssessed(line, "cancelled (SalesOrderLineStatus Canceled)", item)
        country = f.text(row, COUNTRY, f"{at}.{COUNTRY}", line)
        if country is None and f.text(row, COUNTRY_ID, f"{at}.{COUNTRY_ID}", line):
            raise f.error(f"the line's delivery address has only {COUNTRY_ID} "
                          f"({row[COUNTRY_ID]!r}); add {COUNTRY} to $select",
                          f"{at}.{COUNTRY}", line)
        overrides = {}
        if country is not None:
            name = f.text(row, "DeliveryAddressName", f"{at}.DeliveryAddressName", line)
            country = f.country(country, f"{at}.{COUNTRY}", line)
            # The header's address is the line's only where both deliver to one country.
            address = _delivery_address(f, row, at, line) or (
                ship_to.address if country == ship_to.country else None)
            overrides["ship_to"] = PartyRef(ship_to.id, f"{at}.{COUNTRY}", country,
                                            name or ship_to.name, address)
        line_site = f.text(row, "ShippingSiteId", f"{at}.ShippingSiteId", line)
        if item is None:
            raise f.error("is missing or empty", f"{at}.ItemNumber", line)
        return LineIn(
            id=line, item=item,
            quantity=f.quantity(row.get("OrderedSalesQuantity"), f"{at}.OrderedSalesQuantity",
                                line),
            unit=f.text(row, "SalesUnitSymbol", f"{at}.SalesUnitSymbol", line),
            parties=overrides, ship_from=ship_from(self.options, line_site or site),
            quantity_field=f"{at}.OrderedSalesQuantity", unit_field=f"{at}.SalesUnitSymbol")

    def writeback(self, order: Order, decision: Decision) -> dict[str, Any]:
        """Stop the order and each blocked line; a part of a split order never un-stops the
        header."""
        area, _, number = document_id(order).partition(":")
        block = blocks(decision.outcome)
        header = ({} if is_part(order) and not block
                  else {"IsSalesProcessingStopped": "Yes" if block else "No"})
        return {"adapter": self.name, "entity": "SalesOrderHeadersV2", "dataAreaId": area,
                "SalesOrderNumber": number, "order": order.id,
                "outcome": decision.outcome.value, "block": block, "header": header,
                "lines": [{"entity": "SalesOrderLines", **self._line_key(order, ld.id),
                           "outcome": ld.outcome.value,
                           "IsLineStopped": "Yes" if blocks(ld.outcome) else "No"}
                          for ld in decision.lines],
                "message": summary(decision)}


    def _line_key(self, order: Order, line_id: str) -> dict[str, Any]:
        """How the line is addressed: the key fields the record gave (``LineNumber`` if none)."""
        key = self._keys.get(order.id, {}).get(line_id)
        return dict(key) if key else {"LineNumber": _number(line_id)}


def _delivery_address(f: Fields, m: Mapping[str, Any], at: str | None = None,
                      line: str | None = None) -> str | None:
    """The delivery address of a header or a line, one line: street, city, ZIP code, state."""
    def read(name: str) -> str | None:
        return f.text(m, name, f"{at}.{name}" if at else name, line)

    return address_line((words((read("DeliveryAddressStreet"),
                                read("DeliveryAddressStreetNumber"))),
                         read("DeliveryAddressCity"), read("DeliveryAddressZipCode"),
                         read("DeliveryAddressStateId")))


def _line_key(f: Fields, row: Mapping[str, Any], at: str, line: str) -> dict[str, Any]:
    """The line's key fields: ``dataAreaId`` + ``InventoryLotId`` (the entity key), numbers."""
    key: dict[str, Any] = {}
    lot = f.text(row, "InventoryLotId", f"{at}.InventoryLotId", line)
    if lot is not None:
        area = f.text(row, "dataAreaId", f"{at}.dataAreaId", line)
        if area is not None:
            key["dataAreaId"] = area
        key["InventoryLotId"] = lot
    for name in ("LineNumber", "LineCreationSequenceNumber"):
        if row.get(name) is not None and (name == "LineNumber" or not key):
            key[name] = _number(_line_number(f, row[name], f"{at}.{name}"))
    return key


def _line_id(f: Fields, row: Mapping[str, Any], at: str) -> str:
    """``LineNumber``, else ``InventoryLotId``, else ``LineCreationSequenceNumber``."""
    if row.get("LineNumber") is not None:
        return _line_number(f, row["LineNumber"], f"{at}.LineNumber")
    lot = f.text(row, "InventoryLotId", f"{at}.InventoryLotId")
    if lot is not None:
        return lot
    if row.get("LineCreationSequenceNumber") is not None:
        return _line_number(f, row["LineCreationSequenceNumber"],
                            f"{at}.LineCreationSequenceNumber")
    raise f.error("the line has no LineNumber, InventoryLotId or LineCreationSequenceNumber",
                  f"{at}.LineNumber")


def _documents(data: Any) -> list[Any] | None:
    if isinstance(data, dict) and "value" in data and "SalesOrderNumber" not in data:
        value = data["value"]
        return value if isinstance(value, list) else None
    return [data] if isinstance(data, dict) else None


def _line_number(f: Fields, value: Any, field: str) -> str:
    """``LineNumber`` is a real in F&O (``1``, ``2.0``); the canonical line id is its text."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)) or value == "":
        raise f.error(f"must be a line number, got {value!r:.60}", field)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise f.error(f"must be a line number, got {value!r}", field)
        return str(int(value)) if value.is_integer() else repr(value)
    return str(value).strip()


def _number(line_id: str) -> int | float | str:
    """The line id as the number F&O keys the line by."""
    try:
        number = float(line_id)
    except ValueError:
        return line_id
    return int(number) if number.is_integer() else number


@hookimpl
def exportgate_register_adapters(register: Callable[[Adapter], None], settings: Settings) -> None:
    register(Dynamics365Adapter(settings))
