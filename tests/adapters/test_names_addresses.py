"""Every adapter reads each party's name and address where the record carries them.

Screening (docs/screening.md) compares a party's name with the lists and
its address as supporting evidence, so what the ERP record says reaches the
canonical party as one line each: SAP ``NAME1`` .. ``NAME4`` and the partner
address, the D365 delivery address, NetSuite's shipping address subrecord,
Odoo partners read with ``web_read``, tabular ``*_address`` columns. A
record without them still reads (the party master may supply them), and
what the record says wins over the master. A value of the wrong type is an
input error naming the field (tests/adapters/test_errors.py has more).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import erp_examples as ex
import pytest
import yaml
from exportgate import Adapter, Order, Settings
from exportgate._enrich import apply
from exportgate._plugins import Plugins

V2 = "sap-odata-v2/4711-de-research.json"
V2_SPLIT = "sap-odata-v2/4713-item-partners.json"
V4 = "sap-odata-v4/4812-my-end-user.json"
IDOC_DE = "sap-idoc/orders05-4500017001-de.xml"
IDOC_IR = "sap-idoc/orders05-4500017002-ir.xml"
ODOO = "odoo/S00042-jp-research.json"
D365 = "d365-fo/usmf-000813-sa.json"
NETSUITE = "netsuite/SO1042-ae-nveu.json"
CSV = "tabular/line-report.csv"
JSONL = "tabular/line-export.jsonl"
PUBLIC = Path(__file__).resolve().parent / "public"


def named(order: Order) -> dict[str, tuple[str | None, str | None]]:
    """Each role's name and address."""
    return {role: (p.name, p.address) for role, p in order.parties().items()}


def one(adapter: Adapter, value: Any) -> Order:
    [order] = ex.adapt(adapter, value)
    return order


def with_master(tmp_path: Path, parties: dict[str, Any]) -> Plugins:
    """The examples' plugins with one more party master file, read last (it wins)."""
    raw = yaml.safe_load((ex.EXAMPLES / "exportgate.yaml").read_text("utf-8"))
    extra = tmp_path / "addresses.yaml"
    extra.write_text(yaml.safe_dump({"version": 1, "parties": parties}), "utf-8")
    raw["parties"] = [*raw["parties"], str(extra)]
    settings = Settings.from_dict(raw, base=ex.EXAMPLES, source=ex.EXAMPLES / "exportgate.yaml")
    return Plugins(settings, entry_points=False)


def enriched(plugins: Plugins, rel: str, value: Any = None) -> list[Order]:
    """A record adapted and enriched (party master, catalog) as the gate does."""
    adapter = plugins.adapters[ex.adapter_of(rel)]
    orders = ex.adapt(adapter, ex.value(rel) if value is None else value)
    return [apply(order, plugins.enrich(order)) for order in orders]


# -- SAP IDoc ORDERS05 -----------------------------------------------------------------------

def test_idoc_partner_segments_give_name_and_address(registered: dict[str, Adapter]) -> None:
    order = one(registered["sap-idoc-orders05"], ex.text(IDOC_IR))
    assert named(order)["ship_to"] == ("Gulf Trading FZE c/o Bandar Logistics",
                                       "Shahid Rajaee Port Complex, Bandar Abbas, 79171")
    assert named(order)["sold_to"][1] == "Jebel Ali Free Zone, LOB 15, Dubai, 17000"


def test_idoc_name_over_four_fields_and_every_address_field(
        registered: dict[str, Adapter]) -> None:
    text = ex.text(IDOC_DE).replace(
        "<NAME1>Fraunhofer-Rechenzentrum Stuttgart, Halle 3</NAME1>",
        "<NAME1>Fraunhofer-Gesellschaft zur Foerderung</NAME1><NAME2>der angewandten "
        "Forschung e.V.</NAME2><NAME3> </NAME3><NAME4>Rechenzentrum Halle 3</NAME4>", 1)
    at = text.index("<PARVW>WE</PARVW>")
    text = text[:at] + text[at:].replace(
        "<ORT01>Stuttgart</ORT01>",
        "<STRS2>Tor 2</STRS2><ORT01>Stuttgart</ORT01><REGIO>08</REGIO>", 1)
    order = one(registered["sap-idoc-orders05"], text)
    assert named(order)["ship_to"] == (
        "Fraunhofer-Gesellschaft zur Foerderung der angewandten Forschung e.V. "
        "Rechenzentrum Halle 3",
        "Nobelstrasse 12, Tor 2, Stuttgart, 70569, 08")


def test_idoc_partner_without_name_or_address_still_reads(
        registered: dict[str, Adapter]) -> None:
    text = ex.text(IDOC_DE)
    for tag in ("NAME1", "STRAS", "ORT01", "PSTLZ"):
        while f"<{tag}>" in text:
            start = text.index(f"<{tag}>")
            text = text[:start] + text[text.index(f"</{tag}>", start) + len(tag) + 3:]
    order = one(registered["sap-idoc-orders05"], text)
    assert named(order)["ship_to"] == (None, None)
    assert order.ship_to.country == "DE"  # LAND1 is still read


def test_idoc_item_partner_given_by_address_carries_it(registered: dict[str, Adapter]) -> None:
    item_partner = ("<E1EDPA1 SEGMENT=\"1\"><PARVW>WE</PARVW><LIFNR>PEN-DC-7</LIFNR>"
                    "<NAME1>Penang Compute Park</NAME1><STRAS>Jalan Hi-Tech 3</STRAS>"
                    "<ORT01>Bayan Lepas</ORT01><PSTLZ>11900</PSTLZ><REGIO>07</REGIO>"
                    "<LAND1>MY</LAND1></E1EDPA1></E1EDP01>")
    text = ex.text(IDOC_DE)
    at = text.index("</E1EDP01>", text.index("<POSEX>000020</POSEX>"))
    text = text[:at] + item_partner + text[at + len("</E1EDP01>"):]
    _, second = ex.adapt(registered["sap-idoc-orders05"], text)
    assert (second.ship_to.id, second.ship_to.name, second.ship_to.address) == (
        "PEN-DC-7", "Penang Compute Park", "Jalan Hi-Tech 3, Bayan Lepas, 11900, 07")


# -- SAP OData -------------------------------------------------------------------------------

def test_v2_partner_address_gives_name_and_address(registered: dict[str, Adapter]) -> None:
    order = one(registered["sap-odata-v2"], ex.data(V2))
    assert named(order)["ship_to"] == ("Fraunhofer-Rechenzentrum Stuttgart, Halle 3",
                                       "Nobelstrasse 12, Stuttgart, 70569")
    assert named(order)["end_user"] == (None, None)  # the master's end user: no address read


def test_v2_organization_names_house_number_and_region(registered: dict[str, Adapter]) -> None:
    doc = ex.data(V2)
    doc["d"]["to_Partner"]["results"][1]["to_Address"]["results"][0].update(
        OrganizationName1="Fraunhofer-Rechenzentrum", OrganizationName2="Stuttgart",
        OrganizationName3="", OrganizationName4="Halle 3", StreetName="Nobelstrasse",
        HouseNumber="12", Region="BW", DistrictName="Vaihingen")
    order = one(registered["sap-odata-v2"], doc)
    assert named(order)["ship_to"] == ("Fraunhofer-Rechenzentrum Stuttgart Halle 3",
                                       "Nobelstrasse 12, Stuttgart, 70569, BW")


def test_v2_a_person_partner_is_named_by_its_full_name(registered: dict[str, Adapter]) -> None:
    doc = ex.data(V2)
    address = doc["d"]["to_Partner"]["results"][1]["to_Address"]["results"][0]
    address.pop("OrganizationName1")
    address["AddresseeFullName"] = "Dr. Erika Mustermann"
    assert one(registered["sap-odata-v2"], doc).ship_to.name == "Dr. Erika Mustermann"


def test_v2_item_partner_address_goes_to_its_part(registered: dict[str, Adapter]) -> None:
    first, second = ex.adapt(registered["sap-odata-v2"], ex.data(V2_SPLIT))
    assert first.ship_to.address == "Nobelstrasse 12, Stuttgart, 70569"
    assert second.ship_to.address == "Jalan Hi-Tech 3, Bayan Lepas, 11900"


def test_v2_partner_without_address_still_reads(registered: dict[str, Adapter]) -> None:
    doc = ex.data(V2)
    for partner in doc["d"]["to_Partner"]["results"]:
        partner.pop("to_Address", None)
    order = one(registered["sap-odata-v2"], doc)
    assert named(order)["ship_to"] == (None, None)
    assert order.ship_to.country == "DE" and order.notes  # the master's country, noted


def test_v4_partners_carry_no_address_so_the_master_supplies_it(tmp_path: Path) -> None:
    bare = one(ex.adapters()["sap-odata-v4"], ex.data(V4))
    assert named(bare)["ship_to"] == (None, None)
    plugins = with_master(tmp_path, {"1000305": {
        "country": "MY", "name": "Penang Compute Park Sdn Bhd",
        "address": "Jalan Hi-Tech 3, Bayan Lepas, 11900, Penang"}})
    [order] = enriched(plugins, V4)
    assert named(order)["ship_to"] == ("Penang Compute Park Sdn Bhd",
                                       "Jalan Hi-Tech 3, Bayan Lepas, 11900, Penang")


# -- Dynamics 365 F&O ------------------------------------------------------------------------

def _d365_address(doc: dict[str, Any]) -> dict[str, Any]:
    doc.update(SalesOrderName="Najd Hyperscale Co.", DeliveryAddressStreet="King Fahd Road",
               DeliveryAddressStreetNumber="7420", DeliveryAddressZipCode="12361",
               DeliveryAddressStateId="01")
    return doc


def test_d365_sold_to_name_and_delivery_address(registered: dict[str, Adapter]) -> None:
    order = one(registered["d365-fo"], _d365_address(ex.data(D365)))
    assert named(order) == {
        "sold_to": ("Najd Hyperscale Co.", None),
        "ship_to": ("Najd Hyperscale Co. - Riyadh Campus",
                    "King Fahd Road 7420, Riyadh, 12361, 01")}


def test_d365_line_to_the_header_country_keeps_the_header_address(
        registered: dict[str, Adapter]) -> None:
    doc = _d365_address(ex.data(D365))  # the line repeats the header's country, no address
    assert one(registered["d365-fo"], doc).ship_to.address \
        == "King Fahd Road 7420, Riyadh, 12361, 01"


def test_d365_line_delivery_address_of_its_own(registered: dict[str, Adapter]) -> None:
    doc = _d365_address(ex.data(D365))
    line = dict(doc["SalesOrderLines"][0], LineNumber=2, InventoryLotId="USMF-000813-002",
                DeliveryAddressCountryRegionISOCode="AE",
                DeliveryAddressName="Najd Hyperscale - Dubai Edge",
                DeliveryAddressCity="Dubai", DeliveryAddressStreet="Al Khail Road")
    doc["SalesOrderLines"].append(line)
    third = dict(line, LineNumber=3, InventoryLotId="USMF-000813-003",
                 DeliveryAddressCountryRegionISOCode="QA", DeliveryAddressName=None,
                 DeliveryAddressCity=None, DeliveryAddressStreet=None)
    doc["SalesOrderLines"].append(third)
    first, second, last = ex.adapt(registered["d365-fo"], doc)
    assert first.ship_to.address == "King Fahd Road 7420, Riyadh, 12361, 01"
    assert named(second)["ship_to"] == ("Najd Hyperscale - Dubai Edge", "Al Khail Road, Dubai")
    # another country and no address on the line: the header's is not the line's
    assert named(last)["ship_to"] == ("Najd Hyperscale Co. - Riyadh Campus", None)


def test_d365_header_without_address_fields_still_reads(registered: dict[str, Adapter]) -> None:
    doc = ex.data(D365)
    doc.pop("DeliveryAddressCity")
    assert named(one(registered["d365-fo"], doc))["ship_to"] \
        == ("Najd Hyperscale Co. - Riyadh Campus", None)


# -- NetSuite --------------------------------------------------------------------------------

def test_netsuite_shipping_address_lines_and_names(registered: dict[str, Adapter]) -> None:
    doc = ex.data(NETSUITE)
    doc["shippingAddress"].update(addr1="Al Maryah Island", addr2="ADGM Square, Tower 2",
                                  addr3="Floor 31", zip="00000", state="Abu Dhabi Emirate")
    order = one(registered["netsuite"], doc)
    assert named(order) == {
        "sold_to": ("C1187 Gulf AI Cloud LLC", None),
        "ship_to": ("Gulf AI Cloud - Abu Dhabi Campus",
                    "Al Maryah Island, ADGM Square, Tower 2, Floor 31, Abu Dhabi, 00000, "
                    "Abu Dhabi Emirate"),
        "end_user": ("C2210 Falcon Sovereign Cloud", None)}


@pytest.mark.parametrize("state,expected", [
    ({"id": "CA", "refName": "California"}, "California"), ({"id": "CA"}, "CA"), ("CA", "CA")])
def test_netsuite_state_as_text_or_reference(state: Any, expected: str,
                                             registered: dict[str, Adapter]) -> None:
    doc = ex.data(NETSUITE)
    doc["shippingAddress"].update(addr1="2200 Mission College Blvd", city="Santa Clara",
                                  zip="95054", state=state, country={"id": "US"})
    assert one(registered["netsuite"], doc).ship_to.address \
        == f"2200 Mission College Blvd, Santa Clara, 95054, {expected}"


def test_netsuite_without_addressee_is_named_after_the_customer(
        registered: dict[str, Adapter]) -> None:
    doc = ex.data(NETSUITE)
    del doc["shippingAddress"]["addressee"], doc["shippingAddress"]["city"]
    assert named(one(registered["netsuite"], doc))["ship_to"] == ("C1187 Gulf AI Cloud LLC", None)


# -- Odoo ------------------------------------------------------------------------------------

def test_odoo_web_read_partners_carry_their_addresses(registered: dict[str, Adapter]) -> None:
    doc = json.loads((PUBLIC / "odoo-web-read-addresses.json").read_text("utf-8"))
    order = one(registered["odoo"], doc)
    assert (order.id, [x.id for x in order.lines], order.ship_from) == ("S00061", ["171"], "US")
    assert [(x.id, x.item) for x in order.not_assessed] == [("172", None), ("173", "DOWNPAY")]
    assert named(order) == {
        "sold_to": ("Osaka Supercomputing Center",
                    "1-32 Machikaneyama-cho, Toyonaka, 560-0043, Osaka (JP)"),
        "ship_to": ("Osaka Supercomputing Center, Suita Campus",
                    "1-1 Yamadaoka, Building C3, Suita, 565-0871, Osaka (JP)"),
        "end_user": (None, None)}  # the master's end user of 42: a party of its own
    assert not order.notes  # the countries came from the record


def test_odoo_web_read_country_code_wins_over_the_master(registered: dict[str, Adapter]) -> None:
    doc = json.loads((PUBLIC / "odoo-web-read-addresses.json").read_text("utf-8"))
    doc["result"][0]["partner_shipping_id"].update(country_code="SG", state_id=False,
                                                   street="1 Fusionopolis Way", street2=False,
                                                   city="Singapore", zip="138632")
    order = one(registered["odoo"], doc)
    assert (order.ship_to.country, order.ship_to.address) \
        == ("SG", "1 Fusionopolis Way, Singapore, 138632")  # the master says JP


def test_odoo_web_read_partner_without_address_fields(registered: dict[str, Adapter]) -> None:
    doc = ex.data(ODOO)
    doc["partner_shipping_id"] = {"id": 42,
                                  "display_name": "Osaka Supercomputing Center, Suita Campus"}
    order = one(registered["odoo"], doc)
    assert named(order)["ship_to"] == ("Osaka Supercomputing Center, Suita Campus", None)
    assert order.ship_to.country == "JP"  # the master's, as for read()


def test_odoo_read_pairs_name_the_parties_without_address(registered: dict[str, Adapter]) -> None:
    assert named(one(registered["odoo"], ex.data(ODOO)))["ship_to"] \
        == ("Osaka Supercomputing Center, Suita Campus", None)


# -- Tabular ---------------------------------------------------------------------------------

def _tabular(tmp_path: Path) -> Adapter:
    mapping = yaml.safe_load((ex.EXAMPLES / "tabular" / "mapping.yaml").read_text("utf-8"))
    mapping["columns"].update(ship_to_address="Ship-To Address", sold_to_name="Customer Name",
                              sold_to_address="Customer Address")
    path = tmp_path / "mapping.yaml"
    path.write_text(yaml.safe_dump(mapping), "utf-8")
    return ex.adapters(tabular={"mapping": str(path)})["tabular"]


def test_tabular_address_columns(tmp_path: Path) -> None:
    text = ex.text(CSV).splitlines()
    text[0] += ",Ship-To Address,Customer Name,Customer Address"
    for n in range(1, len(text)):
        text[n] += (",\"Wilhelm-Johnen-Strasse, Juelich, 52428\",Helmholtz Compute Alliance,"
                    if text[n].startswith("PO-9001") else ",,,")
    first, *_ = ex.adapt(_tabular(tmp_path), "\n".join(text) + "\n")
    assert named(first) == {
        "sold_to": ("Helmholtz Compute Alliance", None),
        "ship_to": ("Helmholtz Compute Alliance (Juelich)",
                    "Wilhelm-Johnen-Strasse, Juelich, 52428")}


def test_tabular_without_the_address_columns_still_reads(tmp_path: Path) -> None:
    orders = ex.adapt(_tabular(tmp_path), ex.text(CSV))  # mapped columns the file lacks
    assert [o.ship_to.address for o in orders] == [None, None, None]


def test_tabular_address_of_the_wrong_type_names_the_column(tmp_path: Path) -> None:
    rows = [json.loads(line) for line in ex.text(JSONL).splitlines()]
    rows[0]["Ship-To Address"] = {"street": "Hinjewadi Phase 3"}
    text = "".join(json.dumps(row) + "\n" for row in rows)
    exc = ex.adapter_error(_tabular(tmp_path), text)
    assert (exc.field, exc.line) == ("Ship-To Address", "10")
    assert "must be a string" in str(exc)


# -- The party master and the record ---------------------------------------------------------

def test_the_record_wins_over_the_master_and_the_master_fills_the_rest(tmp_path: Path) -> None:
    plugins = with_master(tmp_path, {
        "1000046": {"country": "DE", "name": "Master name", "address": "Master street 1, Berlin",
                    "end_user": "1000045"},
        "1000045": {"country": "DE", "name": "Fraunhofer-Rechenzentrum Stuttgart",
                    "address": "Nobelstrasse 12, Stuttgart, 70569"}})
    [order] = enriched(plugins, V2)
    assert named(order)["ship_to"] == ("Fraunhofer-Rechenzentrum Stuttgart, Halle 3",
                                       "Nobelstrasse 12, Stuttgart, 70569")
    # the end user is named by the master only: it fills both
    assert named(order)["end_user"] == ("Fraunhofer-Rechenzentrum Stuttgart",
                                        "Nobelstrasse 12, Stuttgart, 70569")
    doc = ex.data(V2)
    del doc["d"]["to_Partner"]["results"][1]["to_Address"]
    [order] = enriched(plugins, V2, doc)
    assert named(order)["ship_to"] == ("Master name", "Master street 1, Berlin")


def test_the_address_reaches_the_policy_input(registered: dict[str, Adapter]) -> None:
    order = one(registered["sap-idoc-orders05"], ex.text(IDOC_IR))
    party = order.to_dict()["parties"]["ship_to"]
    assert party["address"] == "Shahid Rajaee Port Complex, Bandar Abbas, 79171"
    assert party["name"] == "Gulf Trading FZE c/o Bandar Logistics"


def test_an_address_longer_than_the_contract_allows_is_refused_not_cut(
        registered: dict[str, Adapter]) -> None:
    doc = ex.data(NETSUITE)
    doc["shippingAddress"]["addr1"] = "Al Maryah Island " * 70  # over 1,000 characters
    exc = ex.adapter_error(registered["netsuite"], doc)
    assert exc.field == "parties.ship_to.address" and "maxlength" in str(exc)


@pytest.mark.parametrize("name,adapter,expected", [
    ("d365-lot-keys.json", "d365-fo", {
        "sold_to": ("Najd Hyperscale Co.", None),
        "ship_to": ("Najd Hyperscale Co. - Riyadh Campus", "King Fahd Road 7420, Riyadh, 12361")}),
    ("netsuite-hierarchical-items.json", "netsuite", {
        "sold_to": ("C1187 Gulf AI Cloud LLC", None),
        "ship_to": ("Gulf AI Cloud - Abu Dhabi Campus",
                    "Al Maryah Island, ADGM Square, Abu Dhabi"),
        "end_user": ("C2210 Falcon Sovereign Cloud", None)}),
])
def test_records_shaped_after_the_vendors_documentation(name: str, adapter: str,
                                                        expected: dict[str, Any],
                                                        registered: dict[str, Adapter]) -> None:
    """Empty fields, as F&O and NetSuite send them, are left out of the line."""
    doc = json.loads((PUBLIC / name).read_text("utf-8"))
    assert named(one(registered[adapter], doc)) == expected
