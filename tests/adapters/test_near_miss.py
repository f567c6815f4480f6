"""When no adapter claims a record, the error says which adapter came closest and what it lacks.

"no adapter claims this record" hid the cause of a canonical order without
``lines`` (``--adapter canonical`` showed it). Every adapter that can tell a
record nearly in its format says what is missing (``near_miss``); the
dispatch puts that into the error.
"""
from __future__ import annotations

from typing import Any, Callable

import erp_examples as ex
import pytest
from exportgate import AdapterError, Record
from exportgate._plugins import Plugins

from tests.helpers import h100_order


def _drop(*keys: str, under: str | None = None) -> Callable[[Any], Any]:
    def mutate(doc: Any) -> Any:
        node = doc[under] if under else doc
        for key in keys:
            del node[key]
        return doc
    return mutate


def _canonical_without_lines() -> dict[str, Any]:
    order = h100_order("SO-9", "IN", 1)
    del order["lines"]
    return order


# (case, the record's value or text, the adapter that came closest, words of what it lacks)
CASES: list[tuple[str, Callable[[], Any], str, str]] = [
    ("canonical-no-lines", _canonical_without_lines, "canonical",
     "looks like a canonical order but has no `lines`"),
    ("canonical-parties-list",
     lambda: {**h100_order("SO-9", "IN", 1), "parties": [{"id": "x", "country": "IN"}]},
     "canonical", "`parties` is not an object"),
    ("v2-no-items", lambda: _drop("to_Item", "SalesOrderType", under="d")(
        ex.data("sap-odata-v2/4711-de-research.json")),
     "sap-odata-v2", "has no `to_Item`"),
    ("v4-no-items", lambda: _drop("_Item", "SalesOrderType")(
        ex.data("sap-odata-v4/4812-my-end-user.json")),
     "sap-odata-v4", "has no `_Item`"),
    ("idoc-other-basic-type", lambda: ex.text("sap-idoc/orders05-4500017001-de.xml").replace(
        "ORDERS05", "DELVRY07"), "sap-idoc-orders05", "basic type is DELVRY07, not ORDERS05"),
    ("odoo-no-order-line", lambda: _drop("order_line")(ex.data("odoo/S00042-jp-research.json")),
     "odoo", "looks like an Odoo sale.order but has no `order_line`"),
    ("odoo-order-line-not-a-list",
     lambda: {**ex.data("odoo/S00042-jp-research.json"), "order_line": {"id": 1}},
     "odoo", "`order_line` is not a list"),
    ("d365-no-lines-no-customer", lambda: _drop(
        "SalesOrderLines", "OrderingCustomerAccountNumber")(
        ex.data("d365-fo/usmf-000812-us-domestic.json")),
     "d365-fo", "has neither `SalesOrderLines` nor `OrderingCustomerAccountNumber`"),
    ("netsuite-no-item", lambda: _drop("item")(ex.data("netsuite/SO1042-ae-nveu.json")),
     "netsuite", "looks like a NetSuite salesOrder but has no `item`"),
    ("netsuite-purchase-order", lambda: {
        **ex.data("netsuite/SO1042-ae-nveu.json"),
        "links": [{"rel": "self", "href": "https://x/services/rest/record/v1/purchaseorder/8"}]},
     "netsuite", "is a purchaseorder record; only salesOrder is read"),
    ("tabular-missing-column", lambda: ex.text("tabular/line-report.csv").replace(
        "Order,Order Date", "Order,Date", 1), "tabular", "lacks the mapped column(s) 'Order Date'"),
]


def _record(value: Any) -> Record:
    return (Record.from_text(value, "rec") if isinstance(value, str)
            else Record.from_value(value, "rec"))


@pytest.mark.parametrize("case, make, closest, words", CASES, ids=[c[0] for c in CASES])
def test_the_error_names_the_closest_adapter_and_what_the_record_lacks(
        case: str, make: Callable[[], Any], closest: str, words: str,
        plugins: Plugins) -> None:
    record = _record(make())
    assert plugins.claimants(record) == []
    with pytest.raises(AdapterError) as err:
        plugins.adapt(record)
    message = str(err.value)
    assert message.startswith("rec: no adapter claims this record; nearest: ")
    assert f"nearest: {closest} (" in message and words in message, message
    assert "choose one with --adapter" in message


def test_a_record_like_no_format_names_no_adapter(plugins: Plugins) -> None:
    with pytest.raises(AdapterError) as err:
        plugins.adapt(Record.from_value({"hello": "world"}, "rec"))
    assert "nearest" not in str(err.value)
    assert "no adapter claims this record; known: canonical" in str(err.value)


def test_without_a_column_mapping_a_table_says_so() -> None:
    plugins = Plugins(ex.example_settings(tabular={}), entry_points=False)
    with pytest.raises(AdapterError) as err:
        plugins.adapt(Record.from_text(ex.text("tabular/line-report.csv"), "rec"))
    assert "nearest: tabular (looks like a table but no column mapping is configured" \
        in str(err.value)


def test_an_adapter_whose_near_miss_raises_is_passed_over(plugins: Plugins) -> None:
    class Broken:
        name = "broken"

        def near_miss(self, record: Record) -> str | None:
            raise RuntimeError("boom")

    from exportgate._adapter import adapter_near_miss
    assert adapter_near_miss(Broken(), Record.from_value({}, "x")) is None  # type: ignore[arg-type]
