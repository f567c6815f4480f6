"""The adapter toolkit: everything an ERP adapter needs, in public names.

The built-in adapters (``exportgate.adapters``) are written with these names
alone, exactly as a third-party ``exportgate-<erp>`` distribution would be
(a test holds them to it). An adapter is a pluggy plugin that implements
``exportgate_register_adapters`` and registers an object with a ``name``,
``claims(record)``, ``adapt(record) -> list[Order]`` and
``writeback(order, decision) -> dict``:

* say what a record that nearly is the adapter's format lacks (an optional
  ``near_miss(record)``; `lacks` for the common case of missing keys);
* read the ERP's fields through `Fields` (every problem an `AdapterError`
  naming the record, the line and the ERP field);
* describe the order as header parties (`PartyRef`) and lines (`LineIn`, or
  `NotAssessed` for a line that ships no goods) and let `build_orders` make
  validated canonical orders (units converted through the item catalog,
  countries only from the record or, when it has no ship-to, the party master);
* validate the adapter's own options (``adapters: {<name>: ...}`` in the
  configuration) with `options` against a cerberus schema built on
  `ERP_OPTIONS`;
* take the item catalog and the party master the configuration names with
  `item_catalog` and `party_master` at registration.
"""
from __future__ import annotations

from ._adapter import Adapted, Adapter, Record
from ._adapter_kit import (PART, Fields, LineIn, PartyRef, build_orders, document_id, blocks,
                           is_part, lacks, options, ship_from, summary)
from ._catalog import ItemCatalog, UnitError, item_catalog
from ._exceptions import AdapterError, InputError, ValidationError
from ._model import (Classification, Decision, Line, LineDecision, NotAssessed, Order, Outcome,
                     Party)
from ._parties import PartyMaster, party_master
from ._schemas import COUNTRY, ERP_OPTIONS, MAX_UNITS
from ._settings import Settings
from ._validate import is_country, load_yaml, order_from_dict, validate_data
from .hookspecs import hookimpl

__all__ = [
    "COUNTRY", "ERP_OPTIONS", "MAX_UNITS", "PART", "Adapted", "Adapter", "AdapterError",
    "Classification", "Decision", "Fields", "InputError", "ItemCatalog", "Line", "LineDecision",
    "LineIn", "NotAssessed", "Order", "Outcome", "Party", "PartyMaster", "PartyRef", "Record",
    "Settings", "UnitError", "ValidationError", "blocks", "build_orders", "document_id",
    "hookimpl", "is_country", "is_part", "item_catalog", "lacks", "load_yaml", "options",
    "order_from_dict", "party_master", "ship_from", "summary", "validate_data",
]
