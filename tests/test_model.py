"""The model and validation: outcome order, canonical round trip, messages that name the field."""
from __future__ import annotations

from typing import Any

import pytest

from exportgate import Order, Outcome, ValidationError
from exportgate._validate import order_from_dict

from tests.helpers import h100_order


def test_outcomes_are_ordered_allow_notify_license_deny() -> None:
    assert Outcome.ALLOW < Outcome.NOTIFY < Outcome.LICENSE < Outcome.DENY
    assert Outcome.worst([Outcome.NOTIFY, Outcome.DENY, Outcome.ALLOW]) is Outcome.DENY
    assert Outcome.worst([]) is Outcome.ALLOW


def test_canonical_order_round_trips_with_defaults() -> None:
    order = order_from_dict(h100_order("R", "DE", 3))
    assert order.ship_from == "US" and order.transaction == "export"
    assert order.consignee is order.ship_to
    again = Order.from_dict(order.to_dict())
    assert again == order


@pytest.mark.parametrize("patch, where, text", [
    ({"id": ""}, "order", "id must not be empty"),
    ({"lines": []}, "order R", "lines must not be empty"),
    ({"transaction": "smuggle"}, "order R", "transaction must be one of export, reexport, "
                                            "transfer, got 'smuggle'"),
    ({"parties": {}}, "order R", "parties.ship_to is required"),
    ({"lines": [{"id": "7", "item": "H100", "quantity": 2.5}]}, "order R line 7",
     "quantity must be a positive integer, got 2.5"),
    ({"lines": [{"id": "7", "item": "H100", "quantity": True}]}, "order R line 7",
     "quantity must be a positive integer, got True"),
    ({"lines": [{"id": "7", "item": "H100", "quantity": 1,
                 "classification": {"tpp": "lots"}}]}, "order R line 7",
     "classification.tpp must be of type integer"),
    ({"parties": {"ship_to": {"id": "s", "country": "DE",
                              "restrictions": [{"list": "x", "policy": "maybe"}]}}},
     "order R", "parties.ship_to.restrictions.0.policy must be one of denial, case-by-case"),
])
def test_validation_errors_name_record_line_and_field(patch: dict[str, Any], where: str,
                                                      text: str) -> None:
    doc = {**h100_order("R", "DE", 3), **patch}
    with pytest.raises(ValidationError) as info:
        order_from_dict(doc)
    message = str(info.value)
    assert message.startswith(where), message
    assert text in message, message


def test_the_example_message_of_the_contract() -> None:
    doc = {"id": "SO-1", "date": "2025-06-02",
           "parties": {"ship_to": {"id": "a", "country": "DE"}},
           "lines": [{"id": "10", "item": "H100", "quantity": 1},
                     {"id": "20", "item": "H100", "quantity": -3}]}
    with pytest.raises(ValidationError) as info:
        order_from_dict(doc)
    assert str(info.value) == "order SO-1 line 20: quantity must be a positive integer, got -3"
    assert (info.value.record, info.value.line, info.value.field) == ("SO-1", "20", "quantity")


def test_absurd_quantities_are_rejected_before_any_engine_sees_them() -> None:
    doc = {**h100_order("Q", "DE", 1)}
    doc["lines"] = [{"id": "1", "item": "H100", "quantity": 10**12}]
    with pytest.raises(ValidationError, match="line 1: quantity must be at most 1,000,000,000"):
        order_from_dict(doc)
