"""What each adapter tells its ERP to write back for a decision.

Held means anything but ``allow``: a filing, a license or a denial comes first.
"""
from __future__ import annotations

from typing import Any

import erp_examples as ex
import pytest
from exportgate import Adapter, Decision, LineDecision, Order, Outcome, PluginError, Reason

ALLOW, NOTIFY, LICENSE, DENY = Outcome.ALLOW, Outcome.NOTIFY, Outcome.LICENSE, Outcome.DENY
#: The check each reason code's row names in the regimes' data (`check:`).
CHECKS = {"EMBARGO": "embargo", "RESTRICTED_PARTY": "sanctioned_list"}


def decide(order: Order, *outcomes: Outcome, codes: tuple[str, ...] = ()) -> Decision:
    """A decision giving the order's lines these outcomes (with these reason codes)."""
    reasons = tuple(Reason(code, "cite", "message", check=CHECKS.get(code))
                    for code in codes or ("ROW",))
    lines = zip(order.lines, outcomes, strict=True)
    return Decision(order=order.id, regime="us-ai-diffusion-2025",
                    lines=tuple(LineDecision(line.id, outcome, reasons) for line, outcome in lines))


def orders_of(adapter: Adapter, rel: str) -> list[Order]:
    return ex.adapt(adapter, ex.value(rel))


def test_sap_v2_blocks_the_header_and_each_items_schedule_lines(
        registered: dict[str, Adapter]) -> None:
    adapter = registered["sap-odata-v2"]
    [order] = orders_of(adapter, "sap-odata-v2/4711-de-research.json")
    wb = adapter.writeback(order, decide(order, LICENSE, ALLOW))
    assert (wb["SalesOrder"], wb["outcome"], wb["block"]) == ("4711", "license", True)
    assert wb["header"] == {"entity": "A_SalesOrder", "DeliveryBlockReason": "ZL"}
    assert [(i["SalesOrderItem"], i["DelivBlockReasonForSchedLine"]) for i in wb["items"]] \
        == [("10", "ZL"), ("20", "")]
    assert wb["block_codes"] == ["ZD", "ZL", "ZN"]
    assert "line 10 license (ROW)" in wb["message"]
    cleared = adapter.writeback(order, decide(order, ALLOW, ALLOW))
    assert cleared["header"]["DeliveryBlockReason"] == "" and cleared["block"] is False


def test_sap_block_codes_are_configurable() -> None:
    adapter = ex.adapters(sap_odata_v2={"delivery_block": {
        "allow": "", "notify": "Z7", "license": "Z8", "deny": "Z9"}})["sap-odata-v2"]
    [order] = orders_of(adapter, "sap-odata-v2/4711-de-research.json")
    wb = adapter.writeback(order, decide(order, NOTIFY, DENY))
    assert wb["header"]["DeliveryBlockReason"] == "Z9"
    assert [i["DelivBlockReasonForSchedLine"] for i in wb["items"]] == ["Z7", "Z9"]


@pytest.mark.parametrize("codes", [{"license": "Z8"},
                                   {"allow": "", "notify": "", "license": "Z8", "deny": "Z9"}])
def test_every_held_outcome_must_name_a_block(codes: dict[str, str]) -> None:
    with pytest.raises(PluginError, match="adapters.sap-odata-v2: delivery_block"):
        ex.adapters(sap_odata_v2={"delivery_block": codes})


def test_a_part_of_a_split_sap_order_never_clears_the_header_block(
        registered: dict[str, Adapter]) -> None:
    adapter = registered["sap-odata-v2"]
    allowed, denied = orders_of(adapter, "sap-odata-v2/4713-item-partners.json")
    assert adapter.writeback(allowed, decide(allowed, ALLOW))["header"] \
        == {"entity": "A_SalesOrder"}
    wb = adapter.writeback(denied, decide(denied, DENY))
    assert (wb["SalesOrder"], wb["order"], wb["header"]["DeliveryBlockReason"]) \
        == ("4713", "4713#20", "ZD")


def test_sap_v4_writes_the_three_trade_compliance_statuses(
        registered: dict[str, Adapter]) -> None:
    adapter = registered["sap-odata-v4"]
    [order] = orders_of(adapter, "sap-odata-v4/4812-my-end-user.json")
    decision = Decision(order.id, "r", (
        LineDecision("10", DENY, (Reason("EMBARGO", "c", "m", "C1", "embargo"),)),
        LineDecision("20", ALLOW, (Reason("NOT_CONTROLLED", "c", "m"),))))
    wb = adapter.writeback(order, decision)
    statuses = [(i["TrdCmplncEmbargoSts"], i["TrdCmplncSnctndListChkSts"],
                 i["OvrlTrdCmplncLegalCtrlChkSts"]) for i in wb["items"]]
    assert statuses == [("B", "C", "C"), ("C", "C", "C")]
    assert {k: wb["header"][k] for k in ("OverallTrdCmplncEmbargoSts",
                                         "OvrlTrdCmplncSnctndListChkSts",
                                         "OvrlTrdCmplncLegalCtrlChkSts")} \
        == {"OverallTrdCmplncEmbargoSts": "B", "OvrlTrdCmplncSnctndListChkSts": "C",
            "OvrlTrdCmplncLegalCtrlChkSts": "C"}
    listed = adapter.writeback(order, decide(order, DENY, LICENSE, codes=("RESTRICTED_PARTY",)))
    assert listed["items"][0]["TrdCmplncSnctndListChkSts"] == "B"
    assert listed["items"][0]["OvrlTrdCmplncLegalCtrlChkSts"] == "C"
    licensed = adapter.writeback(order, decide(order, LICENSE, ALLOW, codes=("TIER2_LICENSE",)))
    assert licensed["header"]["OvrlTrdCmplncLegalCtrlChkSts"] == "B"
    assert licensed["header"]["DeliveryBlockReason"] == "ZL"


def test_idoc_sets_lifsk_and_rejects_denied_items(registered: dict[str, Adapter]) -> None:
    adapter = registered["sap-idoc-orders05"]
    [order] = orders_of(adapter, "sap-idoc/orders05-4500017001-de.xml")
    wb = adapter.writeback(order, decide(order, DENY, NOTIFY))
    assert (wb["BELNR"], wb["E1EDK01"]) == ("4500017001", {"LIFSK": "ZD"})
    assert wb["E1EDP01"] == [{"POSEX": "000010", "outcome": "deny", "ABGRU": "ZD"},
                             {"POSEX": "000020", "outcome": "notify"}]


def test_odoo_keeps_a_held_order_in_draft_with_a_message(registered: dict[str, Adapter]) -> None:
    adapter = registered["odoo"]
    [order] = orders_of(adapter, "odoo/S00042-jp-research.json")
    held = adapter.writeback(order, decide(order, NOTIFY, ALLOW))
    assert (held["name"], held["confirm"], held["state"]) == ("S00042", False, "draft")
    assert "line 102 notify" in held["message_post"]["body"]
    assert held["order_line"] == [{"id": 102, "outcome": "notify"}, {"id": 103, "outcome": "allow"}]
    allowed = adapter.writeback(order, decide(order, ALLOW, ALLOW))
    assert (allowed["confirm"], allowed["state"]) == (True, "sale")


def test_d365_stops_the_order_and_its_held_lines(registered: dict[str, Adapter]) -> None:
    adapter = registered["d365-fo"]
    [order] = orders_of(adapter, "d365-fo/usmf-000812-us-domestic.json")
    wb = adapter.writeback(order, decide(order, ALLOW, LICENSE))
    assert (wb["dataAreaId"], wb["SalesOrderNumber"]) == ("usmf", "000812")
    assert wb["header"] == {"IsSalesProcessingStopped": "Yes"}
    assert [(x["LineNumber"], x["IsLineStopped"]) for x in wb["lines"]] == [(1, "No"), (2, "Yes")]
    assert adapter.writeback(order, decide(order, ALLOW, ALLOW))["header"] \
        == {"IsSalesProcessingStopped": "No"}


def test_netsuite_sets_pending_approval_only_when_held(registered: dict[str, Adapter]) -> None:
    adapter = registered["netsuite"]
    [order] = orders_of(adapter, "netsuite/SO1042-ae-nveu.json")
    held = adapter.writeback(order, decide(order, LICENSE))
    assert held["body"] == {"custbody_exportgate_outcome": "license", "orderStatus": {"id": "A"}}
    assert held["item"] == [{"line": 1, "custcol_exportgate_outcome": "license"}]
    allowed = adapter.writeback(order, decide(order, ALLOW))
    assert allowed["body"] == {"custbody_exportgate_outcome": "allow"}


def test_tabular_writes_one_outcome_per_row_under_the_mapped_columns(
        registered: dict[str, Adapter]) -> None:
    adapter = registered["tabular"]
    first = orders_of(adapter, "tabular/line-report.csv")[0]
    wb = adapter.writeback(first, decide(first, NOTIFY, ALLOW))
    assert wb["rows"] == [{"Order": "PO-9001", "Line": "10", "outcome": "notify"},
                          {"Order": "PO-9001", "Line": "20", "outcome": "allow"}]


@pytest.mark.parametrize("rel", ex.RECORDS)
def test_a_fail_closed_decision_is_held_everywhere(rel: str,
                                                   registered: dict[str, Adapter]) -> None:
    adapter = registered[ex.adapter_of(rel)]
    for order in orders_of(adapter, rel):
        wb: dict[str, Any] = adapter.writeback(order, Decision.held(order, "r", "engine down"))
        assert (wb["block"], wb["outcome"], wb["order"]) == (True, "license", order.id)
