"""A malformed record is an AdapterError naming the record, the line and the field.

Never a crash and never a decision: the cases the issue names (a missing
key, a wrong type, an unknown partner function, a quantity written ``1,5``,
an IDoc with a broken segment) and a few more, for every adapter.
"""
from __future__ import annotations

from typing import Any, Callable

import erp_examples as ex
import pytest
from exportgate import Adapter

V2 = "sap-odata-v2/4711-de-research.json"
V4 = "sap-odata-v4/4812-my-end-user.json"
IDOC = "sap-idoc/orders05-4500017001-de.xml"
ODOO = "odoo/S00042-jp-research.json"
D365 = "d365-fo/usmf-000812-us-domestic.json"
NETSUITE = "netsuite/SO1042-ae-nveu.json"
CSV = "tabular/line-report.csv"


def _set(path: str, value: Any) -> Callable[[Any], Any]:
    """A mutation that sets (or, with ``value=...``, deletes) a dotted path of a JSON example."""
    def mutate(doc: Any) -> Any:
        *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
        node = doc
        for key in parents:
            node = node[key]
        if value is ...:
            del node[last]
        else:
            node[last] = value
        return doc
    return mutate


def _replace(old: str, new: str) -> Callable[[str], str]:
    def mutate(text: str) -> str:
        assert old in text
        return text.replace(old, new, 1)
    return mutate


# (case, example, mutation, field the error names, line it names, words in the message)
CASES: list[tuple[str, str, Callable[[Any], Any], str, str | None, str]] = [
    ("v2-missing-key", V2, _set("d.SalesOrder", ...), "SalesOrder", None, "missing"),
    ("v2-wrong-type", V2, _set("d.to_Item", "10"), "to_Item", None, "must be a list"),
    ("v2-mnemonic-partner-function", V2, _set("d.to_Partner.results.1.PartnerFunction", "SH"),
     "to_Partner.results[1].PartnerFunction", None, "English UI key of WE, ship-to"),
    ("v2-unknown-item-partner-function", "sap-odata-v2/4713-item-partners.json",
     _set("d.to_Item.results.1.to_Partner.results.1.PartnerFunction", "Z9"),
     "to_Item.results[1].to_Partner.results[1].PartnerFunction", "20", "unknown partner function"),
    ("v2-decimal-comma", V2, _set("d.to_Item.results.0.RequestedQuantity", "1,5"),
     "to_Item.results[0].RequestedQuantity", "10", "decimal"),
    ("v2-bad-date", V2, _set("d.SalesOrderDate", "/Date(yesterday)/"), "SalesOrderDate", None,
     "not a date"),
    ("v2-no-country-anywhere", V2, _set("d.to_Partner.results.1", {
        "PartnerFunction": "WE", "Customer": "7777777"}),
     "to_Partner.results[1].Customer", "10", "no country"),
    ("v2-bad-address-country", V2,
     _set("d.to_Partner.results.1.to_Address.results.0.Country", "Germany"),
     "to_Partner.results[1].to_Address.results[0].Country", None, "ISO 3166-1"),
    ("v2-wrong-type-name", V2,
     _set("d.to_Partner.results.1.to_Address.results.0.OrganizationName1", ["Halle 3"]),
     "to_Partner.results[1].to_Address.results[0].OrganizationName1", None, "must be a string"),
    ("v2-wrong-type-street", V2,
     _set("d.to_Partner.results.1.to_Address.results.0.StreetName", {"de": "Nobelstrasse"}),
     "to_Partner.results[1].to_Address.results[0].StreetName", None, "must be a string"),
    ("v2-duplicate-item", V2, _set("d.to_Item.results.1.SalesOrderItem", "10"), "to_Item", "10",
     "appears twice"),
    ("v4-missing-product", V4, _set("_Item.0.Product", ...), "_Item[0].Product", "10",
     "missing"),
    ("v4-wrong-type-quantity", V4, _set("_Item.1.RequestedQuantity", True),
     "_Item[1].RequestedQuantity", "20", "whole number"),
    ("v4-unknown-partner-function", V4, _set("_Partner.2.PartnerFunction", "Z1"),
     "_Partner[2].PartnerFunction", None, "unknown partner function"),
    ("v4-decimal-comma", V4, _set("_Item.0.RequestedQuantity", "1,5"),
     "_Item[0].RequestedQuantity", "10", "decimal"),
    ("v4-fraction", V4, _set("_Item.0.RequestedQuantity", 2.5), "_Item[0].RequestedQuantity",
     "10", "whole number"),
    ("v4-negative", V4, _set("_Item.0.RequestedQuantity", "-1.000"), "_Item[0].RequestedQuantity",
     "10", "whole number"),
    ("idoc-missing-belnr", IDOC, _replace("<BELNR>4500017001</BELNR>", ""), "E1EDK01.BELNR",
     None, "missing"),
    ("idoc-broken-material-segment", IDOC,
     _replace("<QUALF>002</QUALF>\n          <IDTNR>MAT-H100-SXM</IDTNR>", "<QUALF>002</QUALF>"),
     "E1EDP01[0].E1EDP19[1].IDTNR", "000010", "missing"),
    ("idoc-no-seller-material", IDOC, _replace("<QUALF>002</QUALF>", "<QUALF>003</QUALF>"),
     "E1EDP01[0].E1EDP19", "000010", "QUALF 002"),
    ("idoc-mnemonic-partner-function", IDOC, _replace("<PARVW>WE</PARVW>", "<PARVW>SH</PARVW>"),
     "E1EDKA1[1].PARVW", None, "English UI key of WE"),
    ("idoc-decimal-comma", IDOC, _replace("<MENGE>32.000</MENGE>", "<MENGE>1,5</MENGE>"),
     "E1EDP01[0].MENGE", "000010", "decimal"),
    ("idoc-truncated", IDOC, lambda text: text[: len(text) // 2], "record", None,
     "not well-formed"),
    ("idoc-two-headers", IDOC, _replace("<E1EDK14", "<E1EDK01 SEGMENT=\"1\"/><E1EDK14"),
     "IDOC", None, "exactly one E1EDK01"),
    ("idoc-bad-country", IDOC, _replace("<LAND1>DE</LAND1>", "<LAND1>DEU</LAND1>"),
     "E1EDKA1[0].LAND1", None, "ISO 3166-1"),
    ("idoc-entity-declaration", IDOC,
     _replace("<ORDERS05>", "<!DOCTYPE ORDERS05 [<!ENTITY x \"y\">]><ORDERS05>"), "record", None,
     "document type declarations"),
    ("odoo-missing-name", ODOO, _set("name", ...), "name", None, "missing"),
    ("odoo-wrong-type-many2one", ODOO, _set("partner_id", "41"), "partner_id", None,
     "many2one"),
    ("odoo-web-read-without-display-name", ODOO, _set("partner_id", {"id": 41}), "partner_id",
     None, "display_name"),
    ("odoo-web-read-wrong-type-street", ODOO,
     _set("partner_shipping_id", {"id": 42, "display_name": "Suita Campus", "street": 12.5}),
     "partner_shipping_id.street", None, "must be a string"),
    ("odoo-web-read-bad-country-code", ODOO,
     _set("partner_shipping_id", {"id": 42, "display_name": "Suita Campus",
                                  "country_code": "JPN"}),
     "partner_shipping_id.country_code", None, "ISO 3166-1"),
    ("odoo-web-read-bad-state", ODOO,
     _set("partner_shipping_id", {"id": 42, "display_name": "Suita Campus", "state_id": [13]}),
     "partner_shipping_id.state_id", None, "many2one"),
    ("odoo-no-internal-reference", ODOO, _set("order_line.1.product_id", [55, "H100 GPU"]),
     "order_line[1].product_id", "102", "internal reference"),
    ("odoo-decimal-comma", ODOO, _set("order_line.1.product_uom_qty", "1,5"),
     "order_line[1].product_uom_qty", "102", "decimal"),
    ("odoo-fraction", ODOO, _set("order_line.2.product_uom_qty", 2.5),
     "order_line[2].product_uom_qty", "103", "whole number"),
    ("d365-missing-key", D365, _set("dataAreaId", ...), "dataAreaId", None, "missing"),
    ("d365-wrong-type", D365, _set("SalesOrderLines", {"LineNumber": 1}), "SalesOrderLines",
     None, "must be a list"),
    ("d365-foreign-line", D365, _set("SalesOrderLines.1.SalesOrderNumber", "000999"),
     "SalesOrderLines[1].SalesOrderNumber", "2", "belongs to sales order 000999"),
    ("d365-decimal-comma", D365, _set("SalesOrderLines.0.OrderedSalesQuantity", "1,5"),
     "SalesOrderLines[0].OrderedSalesQuantity", "1", "decimal"),
    ("d365-three-letter-country", D365, _set("DeliveryAddressCountryRegionISOCode", "USA"),
     "DeliveryAddressCountryRegionISOCode", None, "ISO 3166-1"),
    ("d365-wrong-type-sold-to-name", D365, _set("SalesOrderName", 5.5), "SalesOrderName", None,
     "must be a string"),
    ("d365-wrong-type-street", D365, _set("DeliveryAddressStreet", {"line1": "Congress Ave"}),
     "DeliveryAddressStreet", None, "must be a string"),
    ("d365-wrong-type-line-city", D365,
     _set("SalesOrderLines.1", {"LineNumber": 2, "ItemNumber": "MAT-CAB-QSFP",
                                "OrderedSalesQuantity": 1, "SalesUnitSymbol": "ea",
                                "DeliveryAddressCountryRegionISOCode": "MX",
                                "DeliveryAddressCity": ["Monterrey"]}),
     "SalesOrderLines[1].DeliveryAddressCity", "2", "must be a string"),
    ("netsuite-missing-key", NETSUITE, _set("tranId", ...), "tranId", None, "missing"),
    ("netsuite-wrong-type", NETSUITE, _set("entity", "1187"), "entity", None, "object"),
    ("netsuite-country-name", NETSUITE, _set("shippingAddress.country", {"refName": "UAE"}),
     "shippingAddress.country.id", None, "ISO 3166-1"),
    ("netsuite-wrong-type-addr1", NETSUITE, _set("shippingAddress.addr1", ["Al Maryah Island"]),
     "shippingAddress.addr1", None, "must be a string"),
    ("netsuite-wrong-type-state", NETSUITE, _set("shippingAddress.state", {"refName": 3.5}),
     "shippingAddress.state.refName", None, "must be a string"),
    ("netsuite-decimal-comma", NETSUITE, _set("item.items.0.quantity", "1,5"),
     "item.items[0].quantity", "1", "decimal"),
    ("tabular-decimal-comma", CSV, _replace(",MAT-H100-SXM,128,", ",MAT-H100-SXM,\"1,5\","), "Qty",
     "10", "decimal"),
    ("tabular-missing-column", CSV, _replace("Order,Order Date", "Order,Date"), "header", None,
     "'Order Date'"),
    ("tabular-bad-date", CSV, _replace("03.06.2025", "2025-06-03"), "Order Date", None,
     "%d.%m.%Y"),
    ("tabular-rows-disagree", CSV, _replace("PO-9001,02.06.2025,20", "PO-9001,03.06.2025,20"),
     "Order Date", None, "disagree"),
    ("tabular-missing-ship-to", CSV, _replace("T-300,T-300,IN", "T-300,,IN"), "Ship-To", "10",
     "missing"),
]


@pytest.mark.parametrize("case,rel,mutate,field,line,words", CASES, ids=[c[0] for c in CASES])
def test_malformed_record_names_record_line_and_field(
        case: str, rel: str, mutate: Callable[[Any], Any], field: str, line: str | None,
        words: str, registered: dict[str, Adapter]) -> None:
    adapter = registered[ex.adapter_of(rel)]
    exc = ex.adapter_error(adapter, mutate(ex.value(rel)))
    assert (exc.field, exc.line, exc.adapter) == (field, line, adapter.name)
    assert exc.record and "test-record" in exc.record
    assert words in str(exc) and field in str(exc)


@pytest.mark.parametrize("name", ex.ERP_ADAPTERS)
@pytest.mark.parametrize("value", [None, 42, "text", [], {}, [1, 2], {"d": None}])
def test_a_record_of_the_wrong_shape_is_an_adapter_error(name: str, value: Any,
                                                         registered: dict[str, Adapter]) -> None:
    exc = ex.adapter_error(registered[name], value)
    assert exc.field is not None


def test_the_error_names_the_order_once_it_is_known(registered: dict[str, Adapter]) -> None:
    doc = _set("d.to_Item.results.0.RequestedQuantity", "1,5")(ex.data(V2))
    exc = ex.adapter_error(registered["sap-odata-v2"], doc)
    assert str(exc).startswith("order 4711 (test-record) line 10: "
                               "to_Item.results[0].RequestedQuantity: quantity must be")
