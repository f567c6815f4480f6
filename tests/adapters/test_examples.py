"""Every example record is claimed by its adapter alone and converts to its canonical equivalent."""
from __future__ import annotations

import json

import erp_examples as ex
import pytest
from exportgate import Adapter, Outcome, Record
from exportgate._enrich import apply
from exportgate._plugins import Plugins
from exportgate._validate import order_from_dict


@pytest.mark.parametrize("rel", ex.RECORDS)
def test_example_is_claimed_by_exactly_its_adapter(rel: str,
                                                   registered: dict[str, Adapter]) -> None:
    rec = ex.record(rel)
    assert [a.name for a in registered.values() if a.claims(rec)] == [ex.adapter_of(rel)]


@pytest.mark.parametrize("rel", ex.RECORDS)
def test_canonical_equivalent_is_claimed_only_by_the_canonical_adapter(
        rel: str, registered: dict[str, Adapter]) -> None:
    for order in ex.canonical(rel):
        rec = Record.from_value(order, "canonical")
        assert [a.name for a in registered.values() if a.claims(rec)] == ["canonical"]


@pytest.mark.parametrize("rel", ex.RECORDS)
def test_example_converts_to_its_canonical_equivalent(rel: str, plugins: Plugins) -> None:
    """Adapted and enriched with the party master and item catalog, it is the canonical file."""
    adapted = plugins.adapt(ex.record(rel))
    assert adapted.adapter.name == ex.adapter_of(rel)
    enriched = [apply(order, plugins.enrich(order)).to_dict() for order in adapted.orders]
    assert enriched == [order_from_dict(doc).to_dict() for doc in ex.canonical(rel)]


@pytest.mark.parametrize("rel", ex.RECORDS)
def test_record_through_the_dispatch_names_its_adapter(rel: str, plugins: Plugins) -> None:
    assert plugins.adapt(ex.record(rel), ex.adapter_of(rel)).adapter.name == ex.adapter_of(rel)


@pytest.mark.parametrize("adapter", ex.ERP_ADAPTERS)
def test_every_adapter_has_a_passing_and_a_held_example(adapter: str) -> None:
    """The issue asks for at least two records per ERP: one that passes, one held or denied."""
    records = [rel for rel in ex.RECORDS if ex.adapter_of(rel) == adapter]
    assert len(records) >= 2
    outcomes = {Outcome(per[regime][0]) for rel in records
                for per in ex.EXPECTED["records"][rel].values() for regime in ex.REGIMES}
    assert Outcome.ALLOW in outcomes and outcomes & {Outcome.LICENSE, Outcome.DENY}


def test_examples_cover_every_record_file() -> None:
    """No example record is left out of expected.yaml (and so out of the tests)."""
    on_disk = {str(p.relative_to(ex.EXAMPLES)) for p in ex.EXAMPLES.glob("*/*")
               if p.suffix in (".json", ".xml", ".csv", ".jsonl")
               and not p.name.endswith(".canonical.json") and p.parent.name != "master"}
    assert on_disk == set(ex.RECORDS)


def test_canonical_files_are_valid_canonical_orders() -> None:
    for rel in ex.RECORDS:
        for doc in ex.canonical(rel):
            assert order_from_dict(json.loads(json.dumps(doc))).id == doc["id"]
