"""How the adapters write a party's name and address: one line each, as the record gives them.

Screening (docs/screening.md) compares a party's name against the lists and
uses its address as supporting evidence. ERPs split both over several
fields (SAP's ``NAME1`` .. ``NAME4``, a street, a city, a postal code); the
canonical party carries each as one line, its parts in the record's own
spelling, joined in one order for every adapter: street, city, postal code,
region (the country stays in ``country``). Nothing is looked up or
corrected here: a part the record leaves empty is left out, and a record
with none gives ``None``, so the party master may supply it.
"""
from __future__ import annotations

from typing import Iterable


def words(parts: Iterable[str | None]) -> str | None:
    """Fields that continue each other, space-separated: ``NAME1`` .. ``NAME4``; street, number."""
    kept = [part.strip() for part in parts if part and part.strip()]
    return " ".join(kept) or None


def address_line(parts: Iterable[str | None]) -> str | None:
    """An address's parts (street, city, postal code, region) as one comma-separated line."""
    kept = [part.strip() for part in parts if part and part.strip()]
    return ", ".join(kept) or None
