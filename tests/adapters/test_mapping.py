"""Field by field: where each adapter reads each canonical field, and the rules around them.

Item partners override header partners, the end-user partner function and
custom end-user fields are configurable, a country on the record beats the
party master's, lines that will not ship are skipped, and documents whose
lines go to different parties split into one order per destination.
"""
from __future__ import annotations

import json
from typing import Any

import erp_examples as ex
import pytest
from exportgate import Adapter, Order, Record

V2 = "sap-odata-v2/4711-de-research.json"
V2_SPLIT = "sap-odata-v2/4713-item-partners.json"
V4 = "sap-odata-v4/4812-my-end-user.json"
IDOC_DE = "sap-idoc/orders05-4500017001-de.xml"
IDOC_IR = "sap-idoc/orders05-4500017002-ir.xml"
ODOO = "odoo/S00042-jp-research.json"
ODOO_RPC = "odoo/S00057-ae-restricted-end-user.json"
D365 = "d365-fo/usmf-000812-us-domestic.json"
NETSUITE = "netsuite/SO1042-ae-nveu.json"
CSV = "tabular/line-report.csv"


def parties(order: Order) -> dict[str, tuple[str, str]]:
    return {role: (p.id, p.country) for role, p in order.parties().items()}


def lines(order: Order) -> list[tuple[str, str, int, str | None]]:
    return [(x.id, x.item, x.quantity, x.unit) for x in order.lines]


# -- SAP OData V2 ---------------------------------------------------------------------------

def test_v2_reads_header_items_partners_and_the_date(registered: dict[str, Adapter]) -> None:
    [order] = ex.adapt(registered["sap-odata-v2"], ex.data(V2))
    assert (order.id, order.date, order.ship_from) == ("4711", "2025-06-02", "US")
    assert lines(order) == [("10", "MAT-H100-SXM", 64, "EA"), ("20", "MAT-CAB-QSFP", 64, "EA")]
    # AG and WE from to_Partner; RE (bill-to) and VE (sales employee) are skipped; the end
    # user comes from the party master's end_user of the ship-to.
    assert parties(order) == {"sold_to": ("1000045", "DE"), "ship_to": ("1000046", "DE"),
                              "end_user": ("1000045", "DE")}
    assert order.ship_to.name == "Fraunhofer-Rechenzentrum Stuttgart, Halle 3"


def test_v2_country_of_the_partner_address_beats_the_master(
        registered: dict[str, Adapter]) -> None:
    doc = ex.data(V2)
    doc["d"]["to_Partner"]["results"][1]["to_Address"]["results"][0]["Country"] = "AT"
    [order] = ex.adapt(registered["sap-odata-v2"], doc)
    assert order.ship_to.country == "AT"  # the master says DE


def test_v2_item_partners_override_header_partners_and_split_the_order(
        registered: dict[str, Adapter]) -> None:
    first, second = ex.adapt(registered["sap-odata-v2"], ex.data(V2_SPLIT))
    assert (first.id, [x.id for x in first.lines]) == ("4713#10", ["10"])
    assert (second.id, [x.id for x in second.lines]) == ("4713#20", ["20"])
    assert parties(first)["ship_to"] == ("1000046", "DE")
    assert parties(second) == {"sold_to": ("1000045", "DE"), "ship_to": ("1000305", "MY"),
                               "end_user": ("1000399", "MY")}


def test_v2_item_partner_equal_to_the_header_does_not_split(
        registered: dict[str, Adapter]) -> None:
    doc = ex.data(V2)
    header_we = doc["d"]["to_Partner"]["results"][1]
    doc["d"]["to_Item"]["results"][1]["to_Partner"]["results"] = [dict(header_we)]
    [order] = ex.adapt(registered["sap-odata-v2"], doc)
    assert order.id == "4711"


@pytest.mark.parametrize("name", ["sap-odata-v2", "sap-odata-v4"])
def test_the_end_user_partner_function_is_configurable(name: str) -> None:
    doc = ex.data(V2_SPLIT) if name == "sap-odata-v2" else ex.data(V4)
    partners = (doc["d"]["to_Item"]["results"][1]["to_Partner"]["results"]
                if name == "sap-odata-v2" else doc["_Partner"])
    for p in partners:
        if p["PartnerFunction"] == "ZE":
            p["PartnerFunction"] = "Y1"
    default = ex.adapters()[name]
    assert "unknown partner function 'Y1'" in str(ex.adapter_error(default, doc))
    configured = ex.adapters(**{name: {"end_user_partner_function": "Y1"}})[name]
    assert any(o.end_user is not None and o.end_user.id == "1000399"
               for o in ex.adapt(configured, doc))


def test_without_an_end_user_function_the_master_or_the_ship_to_is_the_end_user() -> None:
    adapter = ex.adapters(sap_odata_v4={"end_user_partner_function": None,
                                        "ignore_functions": ["RG", "ZE"]})["sap-odata-v4"]
    [order] = ex.adapt(adapter, ex.data(V4))
    assert order.end_user is None and order.consignee.id == "1000305"


def test_v2_skips_rejected_items(registered: dict[str, Adapter]) -> None:
    doc = ex.data(V2)
    doc["d"]["to_Item"]["results"][1]["SalesDocumentRjcnReason"] = "Z1"
    [order] = ex.adapt(registered["sap-odata-v2"], doc)
    assert [x.id for x in order.lines] == ["10"]


def test_v2_sold_to_party_stands_in_for_a_missing_ag_partner(
        registered: dict[str, Adapter]) -> None:
    doc = ex.data(V2)
    del doc["d"]["to_Partner"]["results"][0]
    [order] = ex.adapt(registered["sap-odata-v2"], doc)
    assert parties(order)["sold_to"] == ("1000045", "DE")  # country from the master


def test_v2_collection_gives_one_order_per_sales_order(registered: dict[str, Adapter]) -> None:
    docs = [ex.data(V2)["d"], ex.data("sap-odata-v2/4712-sa-datacenter.json")["d"]]
    orders = ex.adapt(registered["sap-odata-v2"], {"d": {"results": docs}})
    assert [o.id for o in orders] == ["4711", "4712"]


def test_plants_set_the_ship_from_country() -> None:
    adapter = ex.adapters(sap_odata_v2={"plants": {"1710": "DE"}})["sap-odata-v2"]
    [order] = ex.adapt(adapter, ex.data(V2))
    assert order.ship_from == "DE"


# -- SAP OData V4 ---------------------------------------------------------------------------

def test_v4_reads_product_iso_unit_numbers_and_the_end_user_partner(
        registered: dict[str, Adapter]) -> None:
    [order] = ex.adapt(registered["sap-odata-v4"], ex.data(V4))
    assert (order.id, order.date) == ("4812", "2025-06-06")
    assert lines(order) == [("10", "MAT-H100-SXM", 96, "EA"), ("20", "MAT-H20", 200, "EA")]
    assert parties(order) == {"sold_to": ("1000305", "MY"), "ship_to": ("1000305", "MY"),
                              "end_user": ("1000399", "MY")}


def test_v4_item_partner_overrides_the_header(registered: dict[str, Adapter]) -> None:
    doc = ex.data(V4)
    doc["_Item"][1]["_ItemPartner"] = [{"PartnerFunction": "WE", "Customer": "1000211"}]
    first, second = ex.adapt(registered["sap-odata-v4"], doc)
    assert parties(second)["ship_to"] == ("1000211", "SA")
    assert (first.id, second.id) == ("4812#10", "4812#20")


def test_v4_collection(registered: dict[str, Adapter]) -> None:
    value = [ex.data(V4), ex.data("sap-odata-v4/4811-de-research.json")]
    assert [o.id for o in ex.adapt(registered["sap-odata-v4"], {"value": value})] \
        == ["4812", "4811"]


# -- SAP IDoc ORDERS05 -----------------------------------------------------------------------

def test_idoc_reads_segments(registered: dict[str, Adapter]) -> None:
    [order] = ex.adapt(registered["sap-idoc-orders05"], ex.text(IDOC_DE))
    assert (order.id, order.date) == ("4500017001", "2025-06-03")
    # QUALF 002 (the seller's material), not the customer's 001
    assert lines(order) == [("000010", "MAT-H100-SXM", 32, "EA"),
                            ("000020", "MAT-CAB-QSFP", 32, "EA")]
    # zero-padded partner numbers match the master's customers (end user from 1000046)
    assert parties(order) == {"sold_to": ("0001000045", "DE"), "ship_to": ("0001000046", "DE"),
                              "end_user": ("1000045", "DE")}


def test_idoc_land1_beats_the_master(registered: dict[str, Adapter]) -> None:
    [order] = ex.adapt(registered["sap-idoc-orders05"], ex.text(IDOC_IR))
    assert order.ship_to.country == "IR"  # the master says AE


def test_idoc_item_partner_segment_overrides_the_header(registered: dict[str, Adapter]) -> None:
    item_partner = ("<E1EDPA1 SEGMENT=\"1\"><PARVW>WE</PARVW><PARTN>0001000305</PARTN>"
                    "<LAND1>MY</LAND1></E1EDPA1></E1EDP01>")
    text = ex.text(IDOC_DE)
    at = text.index("</E1EDP01>", text.index("<POSEX>000020</POSEX>"))
    text = text[:at] + item_partner + text[at + len("</E1EDP01>"):]
    first, second = ex.adapt(registered["sap-idoc-orders05"], text)
    assert (first.id, second.id) == ("4500017001#000010", "4500017001#000020")
    assert parties(second)["ship_to"] == ("0001000305", "MY")


def test_idoc_without_document_date_uses_the_control_record(
        registered: dict[str, Adapter]) -> None:
    text = ex.text(IDOC_DE).replace("<IDDAT>012</IDDAT>", "<IDDAT>001</IDDAT>")
    [order] = ex.adapt(registered["sap-idoc-orders05"], text)
    assert order.date == "2025-06-03"  # EDI_DC40 CREDAT


def test_idoc_file_with_several_idocs(registered: dict[str, Adapter]) -> None:
    de, ir = ex.text(IDOC_DE), ex.text(IDOC_IR)
    idoc = ir[ir.index("<IDOC"):ir.index("</ORDERS05>")]
    text = de.replace("</ORDERS05>", idoc + "</ORDERS05>")
    assert [o.id for o in ex.adapt(registered["sap-idoc-orders05"], text)] \
        == ["4500017001", "4500017002"]


# -- Odoo ----------------------------------------------------------------------------------

def test_odoo_reads_many2one_pairs_internal_references_and_skips_sections(
        registered: dict[str, Adapter]) -> None:
    [order] = ex.adapt(registered["odoo"], ex.data(ODOO))
    assert (order.id, order.date) == ("S00042", "2025-06-02")
    assert lines(order) == [("102", "MAT-H100-SXM", 16, "EA"),
                            ("103", "MAT-CAB-QSFP", 32, "EA")]
    assert [(x.id, x.reason) for x in order.not_assessed] == [
        ("101", "not goods (display_type line_section)")]
    assert parties(order) == {"sold_to": ("41", "JP"), "ship_to": ("42", "JP"),
                              "end_user": ("41", "JP")}


def test_odoo_json_rpc_response_and_custom_end_user_field(registered: dict[str, Adapter]) -> None:
    doc = ex.data(ODOO_RPC)
    doc["result"].append(ex.data(ODOO))
    first, second = ex.adapt(registered["odoo"], doc)
    assert (first.id, second.id) == ("S00057", "S00042")
    assert parties(first)["end_user"] == ("77", "AE")


def test_odoo_end_user_field_is_configurable() -> None:
    doc = ex.data(ODOO_RPC)
    doc["result"][0]["x_studio_final_user"] = doc["result"][0].pop("x_end_user_id")
    assert ex.adapt(ex.adapters()["odoo"], doc)[0].end_user is None
    adapter = ex.adapters(odoo={"end_user_field": "x_studio_final_user"})["odoo"]
    assert ex.adapt(adapter, doc)[0].end_user.id == "77"


def test_odoo_older_unit_field(registered: dict[str, Adapter]) -> None:
    doc = ex.data(ODOO)
    for row in doc["order_line"]:
        row["product_uom"] = row.pop("product_uom_id")
    doc["order_line"][1]["product_uom"] = [2, "Dozens"]
    assert lines(ex.adapt(registered["odoo"], doc)[0])[0][2:] == (16 * 12, "EA")


# -- Dynamics 365 F&O ------------------------------------------------------------------------

def test_d365_reads_header_and_lines(registered: dict[str, Adapter]) -> None:
    [order] = ex.adapt(registered["d365-fo"], ex.data(D365))
    assert (order.id, order.date) == ("usmf:000812", "2025-06-02")
    assert lines(order) == [("1", "MAT-H100-SXM", 256, "EA"), ("2", "MAT-CAB-QSFP", 512, "EA")]
    assert parties(order) == {"sold_to": ("US-027", "US"), "ship_to": ("US-027", "US")}
    assert order.ship_to.name == "Lone Star AI Labs - Austin"


def test_d365_line_delivery_country_beats_the_header_and_splits(
        registered: dict[str, Adapter]) -> None:
    doc = ex.data(D365)
    doc["SalesOrderLines"][1]["DeliveryAddressCountryRegionISOCode"] = "MX"
    first, second = ex.adapt(registered["d365-fo"], doc)
    assert (first.id, first.ship_to.country) == ("usmf:000812#1", "US")
    assert (second.id, second.ship_to.country) == ("usmf:000812#2", "MX")


def test_d365_header_without_country_falls_back_to_the_master(
        registered: dict[str, Adapter]) -> None:
    doc = ex.data("d365-fo/usmf-000813-sa.json")
    del doc["DeliveryAddressCountryRegionISOCode"]
    del doc["SalesOrderLines"][0]["DeliveryAddressCountryRegionISOCode"]
    exc = ex.adapter_error(registered["d365-fo"], doc)  # only the three-letter id: not a guess
    assert exc.field == "DeliveryAddressCountryRegionISOCode" and "$select" in str(exc)
    del doc["DeliveryAddressCountryRegionId"]
    [order] = ex.adapt(registered["d365-fo"], doc)
    assert order.ship_to.country == "SA"
    assert order.notes == ("ship-to country SA is the party master's for SA-002: the record "
                           "carries no ship-to address",)


def test_d365_end_user_field(registered: dict[str, Adapter]) -> None:
    doc = ex.data(D365)
    doc["EndUserAccountNumber"] = "MY-031-EU"
    assert parties(ex.adapt(registered["d365-fo"], doc)[0])["end_user"] == ("MY-031-EU", "MY")


def test_d365_collection_and_real_line_numbers(registered: dict[str, Adapter]) -> None:
    doc = ex.data(D365)
    doc["SalesOrderLines"][1]["LineNumber"] = 2.0
    other = ex.data("d365-fo/usmf-000813-sa.json")
    orders = ex.adapt(registered["d365-fo"], {"value": [doc, other]})
    assert [o.id for o in orders] == ["usmf:000812", "usmf:000813"]
    assert [x.id for x in orders[0].lines] == ["1", "2"]


# -- NetSuite -------------------------------------------------------------------------------

def test_netsuite_reads_record_sublist_and_shipping_address(
        registered: dict[str, Adapter]) -> None:
    [order] = ex.adapt(registered["netsuite"], ex.data(NETSUITE))
    assert (order.id, order.date) == ("SO1042", "2025-06-02")
    assert lines(order) == [("1", "MAT-H100-SXM", 500, "EA")]
    assert parties(order) == {"sold_to": ("1187", "AE"), "ship_to": ("1187", "AE"),
                              "end_user": ("2210", "AE")}
    assert order.ship_to.name == "Gulf AI Cloud - Abu Dhabi Campus"


def test_netsuite_skips_closed_and_non_goods_lines(registered: dict[str, Adapter]) -> None:
    doc = ex.data("netsuite/SO1043-hk.json")
    items = doc["item"]["items"]
    items[1]["isClosed"] = True
    items.append({**items[0], "line": 3, "itemType": "Discount",
                  "item": {"id": "9", "refName": "Volume discount"}, "quantity": 1.0})
    [order] = ex.adapt(registered["netsuite"], doc)
    assert [x.id for x in order.lines] == ["1"]


def test_netsuite_country_as_plain_code_and_missing_address(
        registered: dict[str, Adapter]) -> None:
    doc = ex.data(NETSUITE)
    doc["shippingAddress"]["country"] = "SA"
    assert ex.adapt(registered["netsuite"], doc)[0].ship_to.country == "SA"
    del doc["shippingAddress"]
    assert ex.adapt(registered["netsuite"], doc)[0].ship_to.country == "AE"  # the master's


# -- tabular --------------------------------------------------------------------------------

def test_tabular_groups_rows_into_orders_in_file_order(registered: dict[str, Adapter]) -> None:
    orders = ex.adapt(registered["tabular"], ex.text(CSV))
    assert [(o.id, o.date, [x.id for x in o.lines]) for o in orders] == [
        ("PO-9001", "2025-06-02", ["10", "20"]), ("PO-9002", "2025-06-03", ["10"]),
        ("PO-9003", "2025-06-04", ["10"])]
    assert parties(orders[2])["ship_to"] == ("T-200", "CN")  # no country column value: master


def test_tabular_json_array_of_rows(registered: dict[str, Adapter]) -> None:
    rows = [json.loads(line) for line in ex.text("tabular/line-export.jsonl").splitlines()]
    assert [o.id for o in ex.adapt(registered["tabular"], rows)] == ["PO-9101", "PO-9102"]


def test_tabular_rows_of_one_order_with_different_parties_split(
        registered: dict[str, Adapter]) -> None:
    text = ex.text(CSV).replace("16,EA,T-100,T-100,DE", "16,EA,T-100,T-100,NL")
    orders = ex.adapt(registered["tabular"], text)
    assert [o.id for o in orders][:2] == ["PO-9001#10", "PO-9001#20"]


def test_tabular_refuses_a_single_row(registered: dict[str, Adapter]) -> None:
    row = json.loads(ex.text("tabular/line-export.jsonl").splitlines()[0])
    exc = ex.adapter_error(registered["tabular"], row)
    assert "single row" in str(exc)


def test_tabular_claims_only_with_a_mapping_and_a_matching_header() -> None:
    rec = ex.record(CSV)
    assert ex.adapters()["tabular"].claims(rec)
    unmapped = ex.adapters(tabular={})["tabular"]
    assert not unmapped.claims(rec)
    assert "no column mapping" in str(ex.adapter_error(unmapped, ex.text(CSV)))
    other = ex.text(CSV).replace("Order,Order Date", "Auftrag,Datum", 1)
    assert not ex.adapters()["tabular"].claims(Record.from_text(other, "x"))


def test_tabular_json_lines_with_a_repeated_column_name_the_row_and_the_column(
        registered: dict[str, Adapter]) -> None:
    """``"Qty": 40, "Qty": 99999`` in one row: which quantity was meant is unknown."""
    rows = ex.text("tabular/line-export.jsonl").splitlines()
    rows[1] = rows[1].replace('"Qty": 40,', '"Qty": 40, "Qty": 99999,', 1)
    record = Record.from_text("\n".join(rows), "export.jsonl")
    assert registered["tabular"].claims(record)
    exc = ex.adapter_error(registered["tabular"], "\n".join(rows))
    assert exc.field == "Qty" and exc.record == "test-record row 2"
    assert 'duplicate key "Qty"' in str(exc)


def test_tabular_default_ship_from() -> None:
    adapter = ex.adapters(tabular={"mapping": "tabular/mapping.yaml", "ship_from": "NL"})["tabular"]
    assert {o.ship_from for o in ex.adapt(adapter, ex.text(CSV))} == {"NL"}


# -- shared rules ---------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    ("5", 5), ("5.000", 5), (" 64 ", 64), (5.0, 5), (7, 7), ("+3", 3)])
def test_integral_erp_decimals_are_quantities(value: Any, expected: int,
                                              registered: dict[str, Adapter]) -> None:
    doc = ex.data(V2)
    doc["d"]["to_Item"]["results"][0]["RequestedQuantity"] = value
    assert ex.adapt(registered["sap-odata-v2"], doc)[0].lines[0].quantity == expected


@pytest.mark.parametrize("value", ["1,5", "2.5", 2.5, "0.3", -1, "1e3", "5 EA", True, 10 ** 16,
                                   float("nan"), float("inf"), None, "", [5]])
def test_other_quantities_are_errors(value: Any, registered: dict[str, Adapter]) -> None:
    doc = ex.data(V2)
    doc["d"]["to_Item"]["results"][0]["RequestedQuantity"] = value
    exc = ex.adapter_error(registered["sap-odata-v2"], doc)
    assert (exc.field, exc.line) == ("to_Item.results[0].RequestedQuantity", "10")


@pytest.mark.parametrize("value,expected", [
    ("/Date(1748822400000)/", "2025-06-02"), ("/Date(1748822400000+0000)/", "2025-06-02"),
    ("2025-06-02", "2025-06-02"), ("2025-06-02T23:59:59Z", "2025-06-02"),
    ("2025-06-02 09:30:00", "2025-06-02"), ("20250602", "2025-06-02")])
def test_dates_in_erp_forms(value: str, expected: str, registered: dict[str, Adapter]) -> None:
    doc = ex.data(V2)
    doc["d"]["SalesOrderDate"] = value
    assert ex.adapt(registered["sap-odata-v2"], doc)[0].date == expected
