"""The ERP examples (examples/erp) and small helpers the adapter tests share."""
from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from exportgate import Adapter, AdapterError, Order, Record, Settings
from exportgate._plugins import Plugins

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "erp"
EXPECTED: dict[str, Any] = yaml.safe_load((EXAMPLES / "expected.yaml").read_text("utf-8"))
REGIMES: dict[str, str] = EXPECTED["regimes"]

#: Example folder -> the adapter that must claim its records.
FOLDER_ADAPTER = {"sap-odata-v2": "sap-odata-v2", "sap-odata-v4": "sap-odata-v4",
                  "sap-idoc": "sap-idoc-orders05", "odoo": "odoo", "d365-fo": "d365-fo",
                  "netsuite": "netsuite", "tabular": "tabular"}
ERP_ADAPTERS = sorted(FOLDER_ADAPTER.values())

#: Example records (paths relative to EXAMPLES), in expected.yaml order.
RECORDS: list[str] = list(EXPECTED["records"])


def adapter_of(rel: str) -> str:
    return FOLDER_ADAPTER[rel.split("/", 1)[0]]


def text(rel: str) -> str:
    return (EXAMPLES / rel).read_text("utf-8")


def record(rel: str) -> Record:
    return Record.from_text(text(rel), str(EXAMPLES / rel))


def data(rel: str) -> Any:
    """A fresh copy of a JSON example, to modify in a test."""
    return copy.deepcopy(json.loads(text(rel)))


def value(rel: str) -> Any:
    """An example as an adapter reads it: the text of XML, CSV and JSON lines, else the JSON."""
    return text(rel) if rel.endswith((".xml", ".csv", ".jsonl")) else data(rel)


def canonical(rel: str) -> list[dict[str, Any]]:
    """The canonical equivalent of an example record: one order, or a list of orders."""
    doc = json.loads((EXAMPLES / rel).with_suffix(".canonical.json").read_text("utf-8"))
    return doc if isinstance(doc, list) else [doc]


def example_settings(**adapters: dict[str, Any]) -> Settings:
    """The examples' configuration, with adapter options replaced where given."""
    raw = yaml.safe_load((EXAMPLES / "exportgate.yaml").read_text("utf-8"))
    for name, opts in adapters.items():
        raw["adapters"][name.replace("_", "-")] = opts
    return Settings.from_dict(raw, base=EXAMPLES, source=EXAMPLES / "exportgate.yaml")


def adapters(**options: dict[str, Any]) -> dict[str, Adapter]:
    """The registered adapters under the examples' configuration (options as example_settings)."""
    return Plugins(example_settings(**options), entry_points=False).adapters


def adapt(adapter: Adapter, value: Any, source: str = "test-record") -> list[Order]:
    """Adapt a JSON value (dict, list) or a text (str) record."""
    rec = (Record.from_text(value, source) if isinstance(value, str)
           else Record.from_value(value, source))
    return adapter.adapt(rec)


def adapter_error(adapter: Adapter, value: Any) -> AdapterError:
    """The AdapterError adapting ``value`` raises (fails the test if it raises none)."""
    try:
        orders = adapt(adapter, value)
    except AdapterError as exc:
        return exc
    raise AssertionError(f"{adapter.name} accepted the record: {[o.id for o in orders]}")
