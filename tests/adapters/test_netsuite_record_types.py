"""NetSuite names record types without regard to case: ``.../record/v1/salesorder/5123``.

NetSuite's own responses write the self link in lower case; such a record
was claimed by no adapter ("no adapter claims this record"), so a field-level
error in it (a null quantity, a date in US format, a null entity) never
reached the adapter that names the field.
"""
from __future__ import annotations

from typing import Any, Callable

import erp_examples as ex
import pytest
from exportgate import AdapterError, Record
from exportgate._plugins import Plugins

NETSUITE = "netsuite/SO1042-ae-nveu.json"
BASE = "https://4711123.suitetalk.api.netsuite.com/services/rest/record/v1"


def _linked(record_type: str) -> dict[str, Any]:
    doc = ex.data(NETSUITE)
    doc["links"] = [{"rel": "self", "href": f"{BASE}/{record_type}/5123"}]
    return doc


@pytest.mark.parametrize("record_type", ["salesorder", "salesOrder", "SALESORDER",
                                         "SalesOrder"])
def test_a_sales_order_is_claimed_whatever_the_case_of_its_self_link(
        record_type: str, plugins: Plugins) -> None:
    adapted = plugins.adapt(Record.from_value(_linked(record_type), "so.json"))
    assert adapted.adapter.name == "netsuite"
    assert [o.id for o in adapted.orders] == ["SO1042"]


@pytest.mark.parametrize("record_type", ["purchaseorder", "PurchaseOrder", "invoice"])
def test_another_record_type_in_any_case_is_not_a_sales_order(
        record_type: str, plugins: Plugins) -> None:
    netsuite = plugins.adapters["netsuite"]
    record = Record.from_value(_linked(record_type), "po.json")
    assert not netsuite.claims(record)
    with pytest.raises(AdapterError) as err:
        netsuite.adapt(record)
    assert err.value.field == "links" and record_type in str(err.value)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = [int(k) if k.isdigit() else k for k in path.split(".")]
        node: Any = doc
        for key in parents:
            node = node[key]
        node[last] = value
    return mutate


@pytest.mark.parametrize("mutate, field, line, words", [
    (_set("item.items.0.quantity", None), "item.items[0].quantity", "1", "whole number"),
    (_set("tranDate", "6/2/2025"), "tranDate", None, "not a date"),
    (_set("tranDate", "06/02/2025"), "tranDate", None, "not a date"),
    (_set("entity", None), "entity", None, "must be an object"),
], ids=["null-quantity", "us-date", "us-date-padded", "null-entity"])
def test_a_field_error_in_a_lower_case_linked_record_names_the_field(
        mutate: Callable[[dict[str, Any]], None], field: str, line: str | None, words: str,
        plugins: Plugins) -> None:
    doc = _linked("salesorder")
    mutate(doc)
    with pytest.raises(AdapterError) as err:
        plugins.adapt(Record.from_value(doc, "so.json"))
    assert (err.value.adapter, err.value.field, err.value.line) == ("netsuite", field, line)
    assert words in str(err.value) and "no adapter claims" not in str(err.value)
