"""Enrichment: what master data adds to an order the record did not carry.

Enrichers (the item catalog, the party master, a host's own plugins) return an
`Enrichment` from ``exportgate_enrich_order``. `apply` merges them field by
field: the order's own values always win, then the first enricher that
offers a field. A quantity given in another unit than the item's base unit
is replaced by the first enricher's conversion (the item catalog's).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable

from ._exceptions import ValidationError
from ._model import Classification, Order, Owner, Party, Restriction


@dataclass(frozen=True)
class Enrichment:
    """Per line id a classification; per party role (``ship_to``, ``end_user``, ...) attributes.

    Party attributes use the canonical names (``country``, ``address``, ``hq_country``,
    ``parent_hq_country``, ``verified``, ``certifications``, ``restrictions``,
    ``owners``, ``name``).
    """

    lines: dict[str, Classification] = field(default_factory=dict)
    parties: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Per line id the quantity counted in the item's base unit, and that unit
    #: (the item catalog's conversion of a line given in cases, dozens, ...).
    quantities: dict[str, tuple[int, str]] = field(default_factory=dict)


def _fill_party(party: Party, attrs: dict[str, Any]) -> Party:
    changes: dict[str, Any] = {}
    for key in ("name", "address", "hq_country", "parent_hq_country", "verified"):
        if getattr(party, key) is None and attrs.get(key) is not None:
            changes[key] = attrs[key]
    if not party.certifications and attrs.get("certifications"):
        changes["certifications"] = tuple(attrs["certifications"])
    if not party.restrictions and attrs.get("restrictions"):
        changes["restrictions"] = tuple(
            r if isinstance(r, Restriction) else Restriction.from_dict(r)
            for r in attrs["restrictions"])
    if not party.owners and attrs.get("owners"):
        changes["owners"] = tuple(o if isinstance(o, Owner) else Owner.from_dict(o)
                                  for o in attrs["owners"])
    return replace(party, **changes) if changes else party


def apply(order: Order, enrichments: Iterable[Enrichment | None]) -> Order:
    """Merge enrichments into the order; the order's own fields always win."""
    found = [e for e in enrichments if e is not None]
    lines = []
    for line in order.lines:
        cls = line.classification or Classification()
        converted = next((e.quantities[line.id] for e in found if line.id in e.quantities),
                         None)
        for e in found:
            if line.id in e.lines:
                cls = cls.fill(e.lines[line.id])
        line = replace(line, classification=cls)
        if converted is not None:
            line = replace(line, quantity=converted[0], unit=converted[1])
        lines.append(line)
    parties = {}
    for role, party in order.parties().items():
        for e in found:
            if role in e.parties:
                party = _fill_party(party, e.parties[role])
        parties[role] = party
    return replace(order, lines=tuple(lines), ship_to=parties["ship_to"],
                   sold_to=parties.get("sold_to"), end_user=parties.get("end_user"))


def require_classification(order: Order,
                           suggest: Callable[[str], list[str]] | None = None) -> None:
    """Every line needs an ECCN or a TPP, from the record or from master data.

    ``suggest`` gives the catalog's ids and aliases closest to an unknown
    item: the error then asks "did you mean", since a typo is the likely cause.
    """
    for line in order.lines:
        if line.classification is None or not line.classification.is_known:
            close = suggest(line.item) if suggest is not None and line.item else []
            hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
            raise ValidationError(
                f"item {line.item!r} has no classification on the line and none in the "
                "item catalog (give classification.eccn or classification.tpp, or add the "
                f"item to a catalog){hint}", record=order.id, line=line.id,
                field="classification")
