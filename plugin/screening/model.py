"""What screening works with: list entries, list versions and hits.

Shared by every part of the room (the list readers build `Entry`, the store
keeps them by `ListVersion`, the index answers `Hit`, the enrichment step
turns hits into a party's restrictions). Frozen, so an entry read from the
ledger's database can be shared by every order screened against its version.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


#: The default thresholds of a match's score (0..100): at or above `HIT_THRESHOLD`
#: a hit, from `REVIEW_THRESHOLD` a possible match a person clears. Chosen and
#: measured in `exportgate.screening.index` (its docstring gives the figures).
HIT_THRESHOLD = 90.0
REVIEW_THRESHOLD = 80.0


def fingerprint(doc: Any) -> str:
    """A short stable hash of a JSON-able value (a clearance binds to these)."""
    text = json.dumps(doc, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def party_fingerprint(name: str, address: str | None, country: str | None) -> str:
    """The party as it was screened: a change of name, address or country re-screens it."""
    return fingerprint([name.strip(), (address or "").strip(), (country or "").upper()])


@dataclass(frozen=True)
class Address:
    """One address of a list entry, as the list writes it (country as ISO alpha-2)."""

    address: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    @property
    def text(self) -> str:
        """The address without its country, as the CSL's CSV writes it (parts joined by ", ")."""
        return ", ".join(p for p in (self.address, self.city, self.state, self.postal_code) if p)


#: The list-valued details of an entry beyond names, addresses and programmes.
_DETAIL_LISTS = ("nationalities", "citizenships", "dates_of_birth", "places_of_birth", "ids")


@dataclass(frozen=True)
class Entry:
    """One entry of a screening list (a row of the Consolidated Screening List).

    ``list`` is the short code of the list the entry is on (``EL``, ``SDN``,
    ``MEU``, ``UVL``, ``DPL``, ...: the code in brackets in the CSL's
    ``source``); the regimes map it to an outcome (data, not code).
    ``id`` is the list's own id of the entry (the CSL's ``_id``), stable
    across versions of the list.
    """

    id: str
    list: str
    source: str
    name: str
    alt_names: tuple[str, ...] = ()
    type: str | None = None
    addresses: tuple[Address, ...] = ()
    programs: tuple[str, ...] = ()
    federal_register_notice: str | None = None
    start_date: str | None = None
    end_date: str | None = None
    license_requirement: str | None = None
    license_policy: str | None = None
    remarks: str | None = None
    source_list_url: str | None = None
    # What the list says of the entry besides names and addresses (CSV columns of
    # the same names; empty when the list gives none): evidence for a person who
    # clears a hit, and part of the fingerprint (a changed passport re-shows it).
    entity_number: str | None = None
    title: str | None = None
    nationalities: tuple[str, ...] = ()
    citizenships: tuple[str, ...] = ()
    dates_of_birth: tuple[str, ...] = ()
    places_of_birth: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()

    @property
    def fingerprint(self) -> str:
        """What the entry says, hashed: a newer list that changes the entry shows it again.

        Addresses count as text and country, as the CSV download writes them,
        so an entry read from the JSON download (its addresses in parts) has
        the fingerprint it has in the CSV: a clearance survives a change of
        download, not a change of the entry.
        """
        doc = self.to_dict()
        doc["addresses"] = [[a.text, a.country] for a in self.addresses]
        return fingerprint(doc)

    @property
    def countries(self) -> frozenset[str]:
        """The countries of the entry's addresses."""
        return frozenset(a.country for a in self.addresses if a.country)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "list": self.list, "source": self.source, "name": self.name,
            "alt_names": list(self.alt_names),
            "addresses": [a.to_dict() for a in self.addresses],
            "programs": list(self.programs),
        }
        for key in ("type", "federal_register_notice", "start_date", "end_date",
                    "license_requirement", "license_policy", "remarks", "source_list_url",
                    "entity_number", "title"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in _DETAIL_LISTS:  # only when given: older fingerprints stay as they were
            if getattr(self, key):
                out[key] = list(getattr(self, key))
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Entry":
        return cls(
            id=d["id"], list=d["list"], source=d["source"], name=d["name"],
            alt_names=tuple(d.get("alt_names") or ()), type=d.get("type"),
            addresses=tuple(Address(**a) for a in d.get("addresses") or ()),
            programs=tuple(d.get("programs") or ()),
            federal_register_notice=d.get("federal_register_notice"),
            start_date=d.get("start_date"), end_date=d.get("end_date"),
            license_requirement=d.get("license_requirement"),
            license_policy=d.get("license_policy"), remarks=d.get("remarks"),
            source_list_url=d.get("source_list_url"), entity_number=d.get("entity_number"),
            title=d.get("title"), nationalities=tuple(d.get("nationalities") or ()),
            citizenships=tuple(d.get("citizenships") or ()),
            dates_of_birth=tuple(d.get("dates_of_birth") or ()),
            places_of_birth=tuple(d.get("places_of_birth") or ()),
            ids=tuple(d.get("ids") or ()))


@dataclass(frozen=True)
class ListVersion:
    """One loaded version of the screening lists: the file's hash names it."""

    id: str                      # sha256 of the loaded file, hex
    published: str | None        # the list's publication date, when it states one
    loaded_at: str
    file: str                    # the file name it was loaded from
    counts: dict[str, int] = field(default_factory=dict)  # entries per list code

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "published": self.published, "loaded_at": self.loaded_at,
                "file": self.file, "counts": dict(self.counts)}


@dataclass(frozen=True)
class Hit:
    """A party's name matched an entry: which name, how well, and whether a person must look.

    ``status`` is ``hit`` (score at or above the hit threshold) or ``possible``
    (between the review and the hit threshold: never `allow`, a person clears it).
    """

    entry: Entry
    matched: str                 # the entry's name or alias that matched
    score: float                 # 0..100
    status: str                  # "hit" or "possible"
    why: tuple[str, ...] = ()    # what supported the match (country, address, ...)

    def to_dict(self) -> dict[str, Any]:
        return {"list": self.entry.list, "entry": self.entry.id, "name": self.entry.name,
                "matched": self.matched, "score": round(self.score, 1),
                "status": self.status, "why": list(self.why)}
