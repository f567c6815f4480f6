"""SAP's standard partner functions are known to both SAP adapters, without configuration.

A forwarding agent (``SP``), a vendor (``LF``), the employee responsible
(``ZM``), a sales employee (``VE``, English ``ES``) on an order are not
export parties: they are read as known and skipped, whatever the operator
lists in ``ignore_functions`` for the functions of their own (``Z*``,
``Y*``). A function SAP does not define is still refused until it is listed
there. The export parties are read: sold-to ``AG``, ship-to ``WE`` and the
configured end-user function.
"""
from __future__ import annotations

import copy
from typing import Any

import erp_examples as ex
import pytest
from exportgate import Adapter, Order

V2 = "sap-odata-v2/4711-de-research.json"
V4 = "sap-odata-v4/4812-my-end-user.json"
IDOC = "sap-idoc/orders05-4500017001-de.xml"

#: Standard functions that are not export parties, each with a partner on the entity list
#: (if one of them were read as a party, the order would change).
NOT_PARTIES = ["SP", "LF", "ZM", "VE", "ES", "AP", "RE", "RG", "CP", "ER", "CR", "VN"]
LISTED = "77"


def _odata_partner(code: str) -> dict[str, Any]:
    return {"SalesOrder": "x", "PartnerFunction": code, "Customer": LISTED, "Supplier": LISTED,
            "Personnel": "", "ContactPerson": ""}


def _with(rel: str, codes: list[str]) -> Any:
    """The example with partners of these functions added to its header (those it lacks)."""
    if rel == IDOC:
        text = ex.text(rel)
        segments = "".join(f'<E1EDKA1 SEGMENT="1"><PARVW>{code}</PARVW><PARTN>{LISTED}</PARTN>'
                           "<LAND1>AE</LAND1></E1EDKA1>" for code in codes
                           if f"<PARVW>{code}</PARVW>" not in text)
        return text.replace('<E1EDK02 SEGMENT="1">', segments + '<E1EDK02 SEGMENT="1">', 1)
    doc = ex.data(rel)
    partners = doc["d"]["to_Partner"]["results"] if rel == V2 else doc["_Partner"]
    present = {p["PartnerFunction"] for p in partners}
    partners.extend(_odata_partner(code) for code in codes if code not in present)
    return doc


def _parties(orders: list[Order]) -> list[dict[str, tuple[str, str]]]:
    return [{role: (p.id, p.country) for role, p in o.parties().items()} for o in orders]


def _adapter(rel: str, **options: Any) -> Adapter:
    name = ex.adapter_of(rel)
    return ex.adapters(**{name.replace("-", "_"): options})[name]


@pytest.mark.parametrize("options", [{}, {"ignore_functions": ["Z7"]}],
                         ids=["no-configuration", "own-functions-listed"])
@pytest.mark.parametrize("rel", [V2, V4, IDOC])
def test_standard_functions_that_are_no_export_parties_are_skipped(
        rel: str, options: dict[str, Any]) -> None:
    adapter = _adapter(rel, **options)
    plain = ex.adapt(adapter, ex.value(rel))
    with_partners = ex.adapt(adapter, _with(rel, NOT_PARTIES))
    assert _parties(with_partners) == _parties(plain)
    assert all(LISTED not in {p.id for p in o.parties().values()} for o in with_partners)


@pytest.mark.parametrize("rel", [V2, V4, IDOC])
def test_a_function_sap_does_not_define_is_refused_until_configured(rel: str) -> None:
    exc = ex.adapter_error(_adapter(rel), _with(rel, ["SP", "Z9"]))
    assert "unknown partner function 'Z9'" in str(exc)
    assert exc.field is not None and exc.field.endswith("PARVW" if rel == IDOC
                                                        else "PartnerFunction")
    assert "ignore_functions" in str(exc)
    orders = ex.adapt(_adapter(rel, ignore_functions=["Z9"]), _with(rel, ["SP", "Z9"]))
    assert _parties(orders) == _parties(ex.adapt(_adapter(rel), ex.value(rel)))


@pytest.mark.parametrize("rel", [V2, V4, IDOC])
def test_the_english_key_of_an_export_party_is_still_an_error(rel: str) -> None:
    """``SH`` is the ship-to of an interface sending English keys: skipped, the order
    would be decided on another destination."""
    exc = ex.adapter_error(_adapter(rel), _with(rel, ["SH"]))
    assert "English UI key of WE, ship-to" in str(exc)


def test_the_end_user_function_is_read_as_the_end_user() -> None:
    adapter = _adapter(V2, end_user_partner_function="ZE")
    doc = _with(V2, ["SP"])
    doc["d"]["to_Partner"]["results"].append(
        {**copy.deepcopy(_odata_partner("ZE")), "Customer": "1000399"})
    [order] = ex.adapt(adapter, doc)
    assert order.parties()["end_user"].id == "1000399"
