"""SAP S/4HANA sales orders over OData: ``API_SALES_ORDER_SRV`` (V2) and ``api_salesorder`` (V4).

Both APIs describe the same document with different names: V2 wraps it in
``{"d": ...}``, expands ``to_Item`` / ``to_Partner`` as ``{"results": [...]}``,
writes dates as ``/Date(ms)/`` and names the product ``Material``; V4 returns
the entity itself (or ``{"value": [...]}``), expands ``_Item`` / ``_Partner``
/ ``_ItemPartner`` as lists, writes ISO dates and names it ``Product``. One
adapter class reads both through a `Dialect`.

Request V2 with ``$expand=to_Item,to_Partner,to_Partner/to_Address,
to_Item/to_Partner,to_Item/to_Partner/to_Address`` and V4 with
``$expand=_Item($expand=_ItemPartner),_Partner``: a navigation that came back
as a deferred link (``{"__deferred": ...}``) or is missing altogether is an
input error naming the ``$expand`` to add, never a guess.

Parties come from the header partners (``AG``, ``WE``, the configured
end-user function; SAP's other standard functions are skipped, see `_sap`);
a partner on an item overrides the header partner for that item. A country,
the name and the address come from the partner's expanded address (V2
``to_Address``: ``Country``, ``OrganizationName1`` .. ``4``, ``StreetName``,
``HouseNumber``, ``CityName``, ``PostalCode``, ``Region``), else from the party
master (and for the country the decision notes it); V4's partners carry no
address, so there the master supplies all three.
The quantity is ``RequestedQuantity`` in ``RequestedQuantityUnit`` (V2) or
``RequestedQuantityISOUnit`` (V4; ``RequestedQuantitySAPUnit`` for a unit
without an ISO code), converted to the item's base unit by the item catalog.
Not assessed (listed in the decision): rejected items
(``SalesDocumentRjcnReason`` set), items of a category that ships no goods
(``SalesOrderItemCategory`` in ``not_goods_item_categories``: text and
service items by default) and zero quantities. Free-of-charge items
(``TANN``) are goods and are assessed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping


from exportgate.toolkit import (Adapter, Decision, Fields, LineIn, NotAssessed, Order, PartyRef,
                               Record, Settings, build_orders, document_id, blocks, hookimpl,
                               item_catalog, options, party_master, ship_from, summary)

from ._address import address_line, words
from ._sap import SAP_OPTIONS, BlockCodes, PartnerFunctions

#: The fields an organisation's name is written over in an SAP address.
_ORGANIZATION_NAME = tuple(f"OrganizationName{n}" for n in range(1, 5))


@dataclass(frozen=True)
class Dialect:
    """Where one OData version keeps each field."""

    name: str
    description: str
    header_entity: str
    schedule_line_entity: str
    items: str
    partners: str
    item_partners: str
    product: str
    unit: str
    plant: str
    address: str | None
    statuses: bool
    envelope: str | None
    collection: str
    sap_unit: str | None = None

    def documents(self, data: Any) -> list[Any] | None:
        """The sales-order objects of a payload, or ``None`` when it is not this dialect's."""
        if self.envelope is not None:
            if not isinstance(data, dict) or set(data) != {self.envelope}:
                return None
            data = data[self.envelope]
        if not isinstance(data, dict):
            return None
        rows = data.get(self.collection)
        return rows if isinstance(rows, list) else [data]


V2 = Dialect(
    name="sap-odata-v2",
    description="SAP S/4HANA API_SALES_ORDER_SRV (OData V2) A_SalesOrder with to_Item, to_Partner",
    header_entity="A_SalesOrder", schedule_line_entity="A_SalesOrderScheduleLine",
    items="to_Item", partners="to_Partner", item_partners="to_Partner", product="Material",
    unit="RequestedQuantityUnit", plant="ProductionPlant", address="to_Address", statuses=False,
    envelope="d", collection="results")

V4 = Dialect(
    name="sap-odata-v4",
    description="SAP S/4HANA api_salesorder (OData V4) SalesOrder with _Item, _Partner",
    header_entity="SalesOrder", schedule_line_entity="SalesOrderScheduleLine",
    items="_Item", partners="_Partner", item_partners="_ItemPartner", product="Product",
    unit="RequestedQuantityISOUnit", plant="Plant", address=None, statuses=True,
    envelope=None, collection="value", sap_unit="RequestedQuantitySAPUnit")


class SapODataAdapter:
    """Reads SAP sales orders in one OData dialect; writes back delivery blocks (and statuses)."""

    def __init__(self, dialect: Dialect, settings: Settings) -> None:
        self.dialect = dialect
        self.name = dialect.name
        self.description = dialect.description
        self.options = options(settings, self.name, SAP_OPTIONS)
        self.partners = PartnerFunctions(self.options)
        self.codes = BlockCodes(self.options)
        self.master = party_master(settings.parties)
        self.catalog = item_catalog(settings.catalogs)
        self.not_goods = set(self.options["not_goods_item_categories"])

    @property
    def expand(self) -> str:
        """The ``$expand`` that returns everything the adapter reads."""
        if self.dialect is V2:
            return ("$expand=to_Item,to_Partner,to_Partner/to_Address,to_Item/to_Partner,"
                    "to_Item/to_Partner/to_Address")
        return "$expand=_Item($expand=_ItemPartner),_Partner"

    def claims(self, record: Record) -> bool:
        """A sales order of this dialect, also one read without ``$expand`` (refused in adapt)."""
        docs = self.dialect.documents(record.data)
        other = (V4 if self.dialect is V2 else V2).items
        return bool(docs) and all(isinstance(d, dict) and "SalesOrder" in d
                                  and (self.dialect.items in d or "SalesOrderType" in d)
                                  and other not in d for d in docs or ())

    def near_miss(self, record: Record) -> str | None:
        """A sales order of this dialect without its items (and no ``SalesOrderType``)."""
        docs = self.dialect.documents(record.data)
        if not docs or not all(isinstance(d, dict) and "SalesOrder" in d for d in docs):
            return None
        other = (V4 if self.dialect is V2 else V2).items
        for doc in docs:
            if other in doc:
                return (f"looks like an SAP {self.dialect.header_entity} but has `{other}`, the "
                        "other OData version's navigation")
            if self.dialect.items not in doc and "SalesOrderType" not in doc:
                return (f"looks like an SAP {self.dialect.header_entity} but has no "
                        f"`{self.dialect.items}`: request it with {self.expand}")
        return None

    def adapt(self, record: Record) -> list[Order]:
        f = Fields(self.name, record)
        docs = self.dialect.documents(record.data)
        if not docs:
            raise f.error(f"holds no sales order: expected {self.description}", "record")
        return f.each((f.obj(doc, f"value[{i}]" if len(docs) > 1 else "record")
                       for i, doc in enumerate(docs)), lambda so: self._order(f, so))

    def _order(self, f: Fields, so: Mapping[str, Any]) -> list[Order]:
        d = self.dialect
        f.order_id = f.need(so, "SalesOrder", "SalesOrder")
        date_key = "SalesOrderDate" if so.get("SalesOrderDate") else "CreationDate"
        date = f.date(so.get(date_key), date_key)
        if so.get(d.items) is None:
            raise f.error(f"is not expanded; request it with {self.expand}", d.items)
        if so.get(d.partners) is None:
            raise f.error(f"is not expanded; request it with {self.expand}", d.partners)
        f.deferred(so.get(d.partners), d.partners, self.expand)
        f.deferred(so.get(d.items), d.items, self.expand)
        parties = self._partners(f, so.get(d.partners), d.partners, None)
        sold_to = f.text(so, "SoldToParty", "SoldToParty")
        if "sold_to" not in parties and sold_to is not None:
            parties["sold_to"] = PartyRef(sold_to, "SoldToParty")
        lines = [self._line(f, item, at) for at, item in f.rows(so.get(d.items), d.items)]
        return build_orders(f, self.master, order_id=f.order_id, date=date, parties=parties,
                            lines=lines, lines_field=d.items, catalog=self.catalog)

    def _line(self, f: Fields, item: Mapping[str, Any], at: str) -> LineIn | NotAssessed:
        """One item, or why it is not assessed."""
        d = self.dialect
        line = f.need(item, "SalesOrderItem", f"{at}.SalesOrderItem")
        product = f.text(item, d.product, f"{at}.{d.product}", line)
        rejected = f.text(item, "SalesDocumentRjcnReason", f"{at}.SalesDocumentRjcnReason", line)
        if rejected:
            return NotAssessed(line, f"rejected (SalesDocumentRjcnReason {rejected})", product)
        category = f.text(item, "SalesOrderItemCategory", f"{at}.SalesOrderItemCategory", line)
        if category in self.not_goods:
            return NotAssessed(line, f"not goods (SalesOrderItemCategory {category})", product)
        f.deferred(item.get(d.item_partners), f"{at}.{d.item_partners}", self.expand, line)
        overrides = (self._partners(f, item[d.item_partners], f"{at}.{d.item_partners}", line)
                     if item.get(d.item_partners) is not None else {})
        plant = f.text(item, d.plant, f"{at}.{d.plant}", line)
        if product is None:
            raise f.error("is missing or empty", f"{at}.{d.product}", line)
        unit_key = d.unit
        unit = f.text(item, d.unit, f"{at}.{d.unit}", line)
        if unit is None and d.sap_unit is not None:  # a unit without an ISO code
            unit_key = d.sap_unit
            unit = f.text(item, d.sap_unit, f"{at}.{d.sap_unit}", line)
        return LineIn(
            id=line, item=product,
            quantity=f.quantity(item.get("RequestedQuantity"), f"{at}.RequestedQuantity", line),
            unit=unit, parties=overrides, ship_from=ship_from(self.options, plant),
            quantity_field=f"{at}.RequestedQuantity", unit_field=f"{at}.{unit_key}")

    def _partners(self, f: Fields, value: Any, at: str,
                  line: str | None) -> dict[str, PartyRef]:
        """Partners by role; a missing navigation means none were expanded."""
        if value is None:
            return {}
        found: dict[str, PartyRef] = {}
        seen: set[str] = set()
        for field, p in f.rows(value, at, line):
            code = f.need(p, "PartnerFunction", f"{field}.PartnerFunction", line)
            if code in seen:
                raise f.error(f"partner function {code} appears twice", f"{field}.PartnerFunction",
                              line)
            seen.add(code)
            role = self.partners.role(f, code, f"{field}.PartnerFunction", line)
            if role is None:
                continue
            customer = f.need(p, "Customer", f"{field}.Customer", line)
            found[role] = self._address(f, p, PartyRef(customer, f"{field}.Customer"), field,
                                        line)
        return found

    def _address(self, f: Fields, partner: Mapping[str, Any], ref: PartyRef, field: str,
                 line: str | None) -> PartyRef:
        """The party with the country, name and address of its expanded address, if any.

        V2's ``to_Address`` (``A_SalesOrderPartnerAddress``): ``Country``; the
        name over ``OrganizationName1`` .. ``4`` (a person's:
        ``AddresseeFullName``); the address ``StreetName`` ``HouseNumber``,
        ``CityName``, ``PostalCode``, ``Region``.
        """
        key = self.dialect.address
        if key is None or partner.get(key) is None:
            return ref
        f.deferred(partner[key], f"{field}.{key}", self.expand, line)
        rows = f.rows(partner[key], f"{field}.{key}", line)
        if not rows:
            return ref
        at, address = rows[0]

        def read(name: str) -> str | None:
            return f.text(address, name, f"{at}.{name}", line)

        country = read("Country")
        return PartyRef(
            ref.id, ref.field, f.country(country, f"{at}.Country", line) if country else None,
            words(read(n) for n in _ORGANIZATION_NAME) or read("AddresseeFullName"),
            address_line((words((read("StreetName"), read("HouseNumber"))), read("CityName"),
                          read("PostalCode"), read("Region"))))

    def writeback(self, order: Order, decision: Decision) -> dict[str, Any]:
        """The delivery block on the header and on each item's schedule lines.

        V4 adds SAP's three trade-compliance statuses (embargo, sanctioned
        list, legal control) per item and, as the worst of the items, on the
        header.
        """
        d, codes = self.dialect, self.codes
        header = {"DeliveryBlockReason": codes.block(decision.outcome)}
        items = []
        for ld in decision.lines:
            item: dict[str, Any] = {"SalesOrderItem": ld.id, "outcome": ld.outcome.value,
                                    "DelivBlockReasonForSchedLine": codes.block(ld.outcome)}
            if d.statuses:
                s = codes.statuses(ld)
                item.update(TrdCmplncEmbargoSts=s["embargo"],
                            TrdCmplncSnctndListChkSts=s["sanctioned_list"],
                            OvrlTrdCmplncLegalCtrlChkSts=s["legal_control"])
            items.append(item)
        if d.statuses:
            header.update(
                OverallTrdCmplncEmbargoSts=codes.worst([i["TrdCmplncEmbargoSts"] for i in items]),
                OvrlTrdCmplncSnctndListChkSts=codes.worst(
                    [i["TrdCmplncSnctndListChkSts"] for i in items]),
                OvrlTrdCmplncLegalCtrlChkSts=codes.worst(
                    [i["OvrlTrdCmplncLegalCtrlChkSts"] for i in items]))
        return {"adapter": self.name, "SalesOrder": document_id(order), "order": order.id,
                "outcome": decision.outcome.value, "block": blocks(decision.outcome),
                "header": {"entity": d.header_entity, **codes.header(order, header)},
                "items": [{"entity": d.schedule_line_entity, **i} for i in items],
                "block_codes": codes.own, "message": summary(decision)}


@hookimpl
def exportgate_register_adapters(register: Callable[[Adapter], None], settings: Settings) -> None:
    register(SapODataAdapter(V2, settings))
    register(SapODataAdapter(V4, settings))
