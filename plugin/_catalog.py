"""The item catalog: item id (or alias) to classification.

The built-in catalog ships the common accelerators; catalogs named in the
configuration extend it, and a later catalog overrides an earlier one for the
same item. It enriches orders through ``exportgate_enrich_order`` (``trylast``,
so a host's own classification source is asked first).
"""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from . import _schemas
from ._enrich import Enrichment
from ._exceptions import ConfigError
from ._model import Classification, Order
from ._validate import load_yaml, validate_data
from .hookspecs import hookimpl

BUILTIN = "builtin items.yaml"


class ItemCatalog:
    """Classification by item id, case-insensitive, aliases included."""

    def __init__(self) -> None:
        self._items: dict[str, Classification] = {}
        self._names: dict[str, str] = {}

    def load(self, doc: Any, what: str) -> None:
        clean = validate_data(doc, _schemas.CATALOG, f"item catalog {what}")
        for item_id, entry in clean["items"].items():
            cls = Classification.from_dict(entry)
            if not cls.is_known:
                raise ConfigError(f"item catalog {what}: items.{item_id}: give eccn or tpp")
            for key in [item_id, *entry.get("aliases", [])]:
                self._items[key.upper()] = cls
                self._names[key.upper()] = item_id

    def load_file(self, path: Path) -> None:
        self.load(load_yaml(path, "item catalog"), str(path))

    @classmethod
    def builtin(cls, extra: list[Path] | None = None) -> "ItemCatalog":
        catalog = cls()
        text = resources.files("exportgate").joinpath("data/items.yaml").read_text("utf-8")
        import yaml
        catalog.load(yaml.safe_load(text), BUILTIN)
        for path in extra or []:
            catalog.load_file(path)
        return catalog

    def get(self, item: str) -> Classification | None:
        return self._items.get(str(item).upper())

    def canonical_id(self, item: str) -> str | None:
        return self._names.get(str(item).upper())

    def __len__(self) -> int:
        return len(set(self._names.values()))

    @hookimpl(trylast=True)
    def exportgate_enrich_order(self, order: Order) -> Enrichment:
        found = {line.id: c for line in order.lines if (c := self.get(line.item)) is not None}
        return Enrichment(lines=found)
