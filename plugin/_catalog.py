"""The item catalog: item id (or alias) to classification, base unit and unit conversions.

The built-in catalog ships the common accelerators; catalogs named in the
configuration extend it, and a later catalog overrides an earlier one for the
same item. It enriches orders through ``exportgate_enrich_order`` (``trylast``,
so a host's own classification source is asked first).

Quantities are counted in each item's base unit (``unit``, ``EA`` by
default): the TPP of a classification is per base unit. A catalog's top-level
``units`` maps the unit codes ERPs write for pieces and dozens (``EA``,
``PCE``, ``ST``, ``C62``, Odoo's ``Units``, ``DZN``, ``Dozens``) to base units;
an item's own ``units`` adds its packs (``CS: 10`` for a case of ten, ``SET:
8``) and overrides the general table for that item. A unit neither knows is
an input error naming the line and the unit, never a count of pieces; a
result that is not a whole number of base units is one too. Arithmetic is on
decimals, so ``"10.000"`` cases of 10 are exactly 100 pieces.
"""
from __future__ import annotations

import difflib
import functools
import os
import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Sequence

from . import _cache, _schemas, _yaml
from ._enrich import Enrichment
from ._exceptions import ConfigError, ValidationError
from ._model import Classification, Contained, Order
from ._validate import validate_data
from ._markers import hookimpl

BUILTIN = "builtin items.yaml"

#: The base unit of an item whose catalog entry names none.
BASE_UNIT = "EA"


class UnitError(ValueError):
    """A quantity that cannot be counted in the item's base unit; the message says why."""


def unit_key(unit: str) -> str:
    """How unit codes match: trimmed, upper case, inner blanks collapsed."""
    return " ".join(str(unit).split()).upper()


_ECCN = re.compile(r"^([0-9][A-Z][0-9]{3})([A-Z0-9.]*)$")
_PARAGRAPH = re.compile(r"[A-Z]+|[0-9]+")


def eccn_spelling(eccn: str) -> str:
    """An ECCN as the Commerce Control List writes it (``3A090.a``, ``4A003.z.1.a``).

    Records and licenses write one ECCN several ways (``3a090.A``, ``3A090A``,
    with blanks); wherever two ECCNs are compared, both are spelt this way
    first. Text that is not shaped like an ECCN (``EAR99``) is upper-cased,
    without blanks.
    """
    text = "".join(str(eccn).split()).upper()
    m = _ECCN.match(text)
    if m is None:
        return text
    return ".".join([m.group(1), *(p.lower() for p in _PARAGRAPH.findall(m.group(2)))])


class ItemCatalog:
    """Classification by item id, case-insensitive, aliases included; units per item."""

    def __init__(self) -> None:
        self._items: dict[str, Classification] = {}
        self._names: dict[str, str] = {}
        #: Every id and alias as the catalog spells it (for suggestions), by upper case.
        self._spelled: dict[str, str] = {}
        self._base: dict[str, str] = {}
        self._packs: dict[str, dict[str, int]] = {}
        self._units: dict[str, int] = {}
        #: Systems as their entries state them: their own classification and
        #: the items they contain (item id -> count per system).
        self._systems: dict[str, tuple[Classification, dict[str, int]]] = {}

    def load(self, doc: Any, what: str) -> None:
        """Add the items of a catalog document (checked against the catalog schema)."""
        self._add(validate_data(doc, _schemas.CATALOG, f"item catalog {what}"), what)

    def _add(self, clean: dict[str, Any], what: str) -> None:
        for code, count in (clean.get("units") or {}).items():
            self._units[unit_key(code)] = count
        for item_id, entry in clean["items"].items():
            contains = entry.get("contains") or {}
            cls = Classification.from_dict({k: v for k, v in entry.items() if k != "contains"})
            if not cls.is_known and not contains:
                raise ConfigError(f"item catalog {what}: items.{item_id}: give eccn, tpp or "
                                  "contains")
            if contains:
                self._systems[item_id] = (cls, dict(contains))
            else:
                self._systems.pop(item_id, None)
            self._base[item_id] = entry.get("unit") or BASE_UNIT
            self._packs[item_id] = {unit_key(k): v for k, v in (entry.get("units") or {}).items()}
            for key in [item_id, *entry.get("aliases", [])]:
                self._items[key.upper()] = cls
                self._names[key.upper()] = item_id
                self._spelled[key.upper()] = key
        self._resolve_systems(what)

    def _resolve_systems(self, what: str) -> None:
        """Give every system its chips' classifications and, unless stated, their summed TPP.

        The chips' thresholds are the policy's to test, chip by chip; here the
        system only gathers what it contains. A chip must be a catalog item
        that is not itself a system.
        """
        for item_id, (own, contains) in self._systems.items():
            chips = []
            for chip_id, count in contains.items():
                chip = self.get(chip_id)
                if chip is None:
                    raise ConfigError(f"item catalog {what}: items.{item_id}.contains: "
                                      f"{chip_id!r} is not a catalog item")
                if chip.contains:
                    raise ConfigError(f"item catalog {what}: items.{item_id}.contains: "
                                      f"{chip_id!r} is a system itself; list its chips")
                chips.append(Contained(self.canonical_id(chip_id) or chip_id, count, chip))
            tpp = own.tpp
            if tpp is None and all(c.classification.tpp is not None for c in chips):
                tpp = sum((c.classification.tpp or 0) * c.count for c in chips)
            if tpp is not None and tpp > _schemas.MAX_UNITS:
                raise ConfigError(f"item catalog {what}: items.{item_id}: {tpp:,} TPP per "
                                  f"system is more than {_schemas.MAX_UNITS:,}")
            system = replace(own, tpp=tpp, contains=tuple(chips))
            for key, name in self._names.items():
                if name == item_id:
                    self._items[key] = system

    def load_file(self, path: Path) -> None:
        """Add the items of a YAML or JSON catalog file."""
        text = _yaml.read(path, "item catalog")
        self._add(_checked(text, str(path), lambda: _yaml.parse(text, path, "item catalog")),
                  str(path))

    @classmethod
    def builtin(cls, extra: Sequence[Path] | None = None) -> "ItemCatalog":
        catalog = cls()
        text = resources.files("exportgate").joinpath("data/items.yaml").read_text("utf-8")
        catalog._add(_checked(text, BUILTIN, lambda: _yaml.loads(text, BUILTIN)), BUILTIN)
        for path in extra or []:
            catalog.load_file(path)
        return catalog

    def get(self, item: str) -> Classification | None:
        return self._items.get(str(item).upper())

    def suggest(self, item: str, n: int = 3) -> list[str]:
        """The ids and aliases closest to an item the catalog does not know, best first.

        For the "did you mean" of an unclassified line: a typo (``H10``,
        ``nvidia-h100-sxm``) is far likelier than a new product.
        """
        close = difflib.get_close_matches(str(item).upper(), list(self._spelled), n=n,
                                          cutoff=0.6)
        return [self._spelled[key] for key in close]

    def canonical_id(self, item: str) -> str | None:
        return self._names.get(str(item).upper())

    def identity(self, item: str) -> str:
        """The item a line or a license names, as one text whatever alias or case is
        written: the catalog's id for it, else the name as written."""
        return self._names.get(str(item).upper(), item)

    def base_unit(self, item: str) -> str:
        """The unit an item's quantities and TPP are counted in."""
        name = self.canonical_id(item)
        return self._base.get(name, BASE_UNIT) if name else BASE_UNIT

    def per_unit(self, item: str, unit: str | None) -> int | None:
        """Base units in one ``unit`` of the item (``None`` when unknown); no unit is the base."""
        if unit is None or not str(unit).strip():
            return 1
        key = unit_key(unit)
        name = self.canonical_id(item)
        if name is not None:
            if key in self._packs[name]:
                return self._packs[name][key]
            if key == unit_key(self._base[name]):
                return 1
            if self._units.get(unit_key(self._base[name])) != 1:
                return None  # the general table counts pieces; this item is not counted so
        return self._units.get(key)

    def to_base(self, item: str, quantity: Decimal | int, unit: str | None) -> int:
        """The quantity in the item's base unit, exactly; `UnitError` when it cannot be.

        ``quantity`` must be positive; the result must be a whole number.
        """
        factor = self.per_unit(item, unit)
        if factor is None:
            raise UnitError(f"unit {unit!r} of item {item!r} cannot be converted to its base "
                            f"unit {self.base_unit(item)}: neither the item's catalog entry "
                            "(units) nor the catalog's unit table knows it")
        try:
            total = Decimal(quantity) * factor
        except InvalidOperation:
            raise UnitError(f"quantity {quantity!r} is not a number") from None
        if total != total.to_integral_value():
            shown = f"{quantity} {unit}" if unit else str(quantity)
            raise UnitError(f"{shown} is {total.normalize():f} {self.base_unit(item)}, not a "
                            "whole number of units")
        return int(total)

    def __len__(self) -> int:
        return len(set(self._names.values()))

    @hookimpl(trylast=True)
    def exportgate_enrich_order(self, order: Order) -> Enrichment:
        """Classifications by line, and quantities counted in a unit other than the base."""
        found = {line.id: c for line in order.lines if (c := self.get(line.item)) is not None}
        quantities: dict[str, tuple[int, str]] = {}
        for line in order.lines:
            if line.unit is None or self.per_unit(line.item, line.unit) == 1:
                continue
            try:
                count = self.to_base(line.item, line.quantity, line.unit)
            except UnitError as exc:
                raise ValidationError(str(exc), record=order.id, line=line.id,
                                      field="unit") from None
            if count > _schemas.MAX_UNITS:
                raise ValidationError(f"{line.quantity} {line.unit} is {count:,} units, more "
                                      f"than {_schemas.MAX_UNITS:,}", record=order.id,
                                      line=line.id, field="quantity")
            quantities[line.id] = (count, self.base_unit(line.item))
        return Enrichment(lines=found, quantities=quantities)


def _checked(text: str, what: str, parse: Callable[[], Any]) -> dict[str, Any]:
    """A catalog's text parsed and checked against the catalog schema.

    Cached across processes by the text (`_cache`): a cold start reads the
    checked document instead of parsing and validating the YAML again.
    """
    return _cache.memo_json(
        _cache.key("catalog", what, text, _cache.readers()),
        lambda: validate_data(parse(), _schemas.CATALOG, f"item catalog {what}"))


@functools.lru_cache(maxsize=8)
def _cached(stamps: tuple[tuple[str, int, int], ...]) -> ItemCatalog:
    return ItemCatalog.builtin([Path(p) for p, _, _ in stamps])


def item_catalog(paths: Sequence[Path]) -> ItemCatalog:
    """The built-in catalog extended by these files, read once per process (again on change)."""
    stamps = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise ConfigError(f"item catalog {path}: cannot read "
                              f"({exc.strerror or exc})") from None
        stamps.append((str(path), st.st_mtime_ns, st.st_size))
    return _cached(tuple(stamps))
