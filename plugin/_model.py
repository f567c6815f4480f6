"""The canonical order and the decision, as typed values.

An `Order` is what every adapter produces and what the policy input is built
from; a `Decision` is what every engine's answer is parsed into. Both map
one-to-one onto the JSON contracts in docs/contract.md (`to_dict`), so hosts that
speak JSON and hosts that import Python see the same thing.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace
from typing import Any, Mapping


class Outcome(enum.Enum):
    """A line's or an order's outcome, ordered ``allow < notify < license < deny``."""

    ALLOW = "allow"
    NOTIFY = "notify"
    LICENSE = "license"
    DENY = "deny"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Outcome):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, Outcome):
            return NotImplemented
        return self.rank <= other.rank

    @classmethod
    def worst(cls, outcomes: "list[Outcome] | tuple[Outcome, ...]") -> "Outcome":
        """The order's outcome: its worst line (an order without lines is allowed)."""
        return max(outcomes, key=lambda o: o.rank, default=cls.ALLOW)


_RANK = {Outcome.ALLOW: 0, Outcome.NOTIFY: 1, Outcome.LICENSE: 2, Outcome.DENY: 3}

_PARTY_OPTIONAL = ("name", "address", "hq_country", "parent_hq_country", "verified")


#: What a screening hit adds to a restriction in the policy input (docs/screening.md).
HIT_FIELDS = ("status", "entry", "entry_name", "matched", "score", "license_requirement",
              "license_policy", "start_date", "federal_register_notice", "version")


@dataclass(frozen=True)
class Restriction:
    """A party is on a restricted list: the host's flag, or a screening hit.

    A host states the list and the review ``policy``. A hit found by
    screening (`exportgate.screening`) names the list by its code (``EL``,
    ``SDN``, ...) and carries the entry it matched in ``hit`` (the
    `HIT_FIELDS`); its policy is left to the regimes' data, which read the
    entry's own ``license_policy``.
    """

    list: str
    policy: str | None = None  # "denial" or "case-by-case"; None for a screening hit
    hit: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Restriction":
        return cls(list=d["list"], policy=d.get("policy"),
                   hit=tuple((k, d[k]) for k in HIT_FIELDS if d.get(k) is not None))

    @property
    def screened(self) -> bool:
        """A hit that screening found (not the host's own flag)."""
        return bool(self.hit)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"list": self.list}
        if self.policy is not None:
            out["policy"] = self.policy
        out.update(self.hit)
        return out


@dataclass(frozen=True)
class Owner:
    """An owner of a party (the Affiliates rule): its share in percent and its screening hits."""

    id: str
    share: float
    name: str | None = None
    restrictions: tuple[Restriction, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Owner":
        return cls(id=str(d["id"]), share=d["share"], name=d.get("name"),
                   restrictions=tuple(Restriction.from_dict(r)
                                      for r in d.get("restrictions") or ()))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "share": self.share}
        if self.name is not None:
            out["name"] = self.name
        out["restrictions"] = [r.to_dict() for r in self.restrictions]
        return out


@dataclass(frozen=True)
class Party:
    """A party of the order: sold-to, ship-to or end user."""

    id: str
    country: str
    name: str | None = None
    #: The party's address as the record or the party master gives it, one
    #: line ("street, city, postal code"): screening's supporting evidence.
    address: str | None = None
    hq_country: str | None = None
    parent_hq_country: str | None = None
    verified: str | None = None
    certifications: tuple[str, ...] = ()
    restrictions: tuple[Restriction, ...] = ()
    owners: tuple[Owner, ...] = ()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Party":
        return cls(
            id=str(d["id"]), country=d["country"], name=d.get("name"),
            address=d.get("address"), hq_country=d.get("hq_country"),
            parent_hq_country=d.get("parent_hq_country"),
            verified=d.get("verified"),
            certifications=tuple(d.get("certifications") or ()),
            restrictions=tuple(Restriction.from_dict(r)
                               for r in d.get("restrictions") or ()),
            owners=tuple(Owner.from_dict(o) for o in d.get("owners") or ()),
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "country": self.country}
        for key in _PARTY_OPTIONAL:
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        out["certifications"] = list(self.certifications)
        out["restrictions"] = [r.to_dict() for r in self.restrictions]
        if self.owners:
            out["owners"] = [o.to_dict() for o in self.owners]
        return out


_UNIT_FIELDS = ("eccn", "tpp", "pd", "datacenter", "dram_bandwidth_gbps",
                "memory_bandwidth_density", "is_informed")


@dataclass(frozen=True)
class Contained:
    """A chip a system contains: its item, how many per system, and its classification."""

    item: str
    count: int
    classification: "Classification"

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Contained":
        return cls(item=str(d["item"]), count=d["count"],
                   classification=Classification.from_dict(d))

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.item, "count": self.count, **self.classification.to_dict()}


@dataclass(frozen=True)
class Classification:
    """An item's export classification, per unit. Any field may be unknown."""

    eccn: str | None = None
    tpp: int | None = None
    pd: float | None = None
    datacenter: bool | None = None
    dram_bandwidth_gbps: float | None = None
    #: GB/s per mm2 of package or stack area (high bandwidth memory, 3A090.c)
    memory_bandwidth_density: float | None = None
    #: named in a BIS is-informed letter
    is_informed: bool | None = None
    #: a system's chips, per unit of the system (empty for a chip)
    contains: tuple[Contained, ...] | None = None

    FIELDS = (*_UNIT_FIELDS, "contains")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Classification":
        fields: dict[str, Any] = {k: d.get(k) for k in _UNIT_FIELDS}
        if d.get("contains"):
            fields["contains"] = tuple(Contained.from_dict(x) for x in d["contains"])
        return cls(**fields)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: getattr(self, k) for k in _UNIT_FIELDS
                               if getattr(self, k) is not None}
        if self.contains:
            out["contains"] = [x.to_dict() for x in self.contains]
        return out

    def fill(self, other: "Classification") -> "Classification":
        """Fields of ``self`` win; unknown ones are taken from ``other``."""
        return Classification(**{k: getattr(self, k) if getattr(self, k) is not None
                                 else getattr(other, k) for k in self.FIELDS})

    @property
    def is_known(self) -> bool:
        """Enough to classify: an ECCN or a TPP."""
        return self.eccn is not None or self.tpp is not None


@dataclass(frozen=True)
class Line:
    """One order line: an item and a positive whole quantity."""

    id: str
    item: str
    quantity: int
    unit: str | None = None
    classification: Classification | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Line":
        c = d.get("classification")
        return cls(id=str(d["id"]), item=str(d["item"]), quantity=d["quantity"],
                   unit=d.get("unit"),
                   classification=Classification.from_dict(c) if c else None)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "item": self.item, "quantity": self.quantity}
        if self.unit is not None:
            out["unit"] = self.unit
        if self.classification is not None:
            out["classification"] = self.classification.to_dict()
        return out


@dataclass(frozen=True)
class NotAssessed:
    """A line of the ERP document that was not assessed, and why.

    Text, service and down-payment lines, zero quantities, and cancelled,
    rejected or deleted lines: they ship no goods, so they get no outcome.
    """

    id: str
    reason: str
    item: str | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "NotAssessed":
        item = d.get("item")
        return cls(id=str(d["id"]), reason=str(d["reason"]),
                   item=str(item) if item is not None else None)

    def to_dict(self) -> dict[str, Any]:
        out = {"id": self.id, "reason": self.reason}
        if self.item is not None:
            out["item"] = self.item
        return out


@dataclass(frozen=True)
class Screened:
    """Which screening list version an order's parties were screened against.

    Set by the screening step (`exportgate.screening`), carried into the
    decision. ``error`` says why the parties could not be screened (the list
    could not be read, none is loaded and screening is required): the order
    is then held, never decided as if clean.
    """

    version: str | None
    published: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version, "published": self.published}
        if self.error is not None:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class Order:
    """The canonical order, version 1 (docs/contract.md).

    ``not_assessed`` lists the document's lines that are not goods to assess;
    ``notes`` say where the record left something to master data (e.g. the
    ship-to country). Both travel into the decision (`Decision.annotate`), as
    does ``screening``, the list version its parties were screened against.
    """

    id: str
    date: str
    ship_to: Party
    lines: tuple[Line, ...]
    ship_from: str = "US"
    transaction: str = "export"
    sold_to: Party | None = None
    end_user: Party | None = None
    not_assessed: tuple[NotAssessed, ...] = ()
    notes: tuple[str, ...] = ()
    screening: Screened | None = None

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Order":
        """Build from a canonical JSON document that has passed validation."""
        parties = d["parties"]
        return cls(
            id=str(d["id"]), date=d["date"],
            ship_from=d.get("ship_from") or "US",
            transaction=d.get("transaction") or "export",
            sold_to=Party.from_dict(parties["sold_to"]) if parties.get("sold_to") else None,
            ship_to=Party.from_dict(parties["ship_to"]),
            end_user=Party.from_dict(parties["end_user"]) if parties.get("end_user") else None,
            lines=tuple(Line.from_dict(x) for x in d["lines"]),
            not_assessed=tuple(NotAssessed.from_dict(x) for x in d.get("not_assessed") or ()),
            notes=tuple(str(x) for x in d.get("notes") or ()),
        )

    @property
    def consignee(self) -> Party:
        """The end user, or the ship-to party when the order names none."""
        return self.end_user or self.ship_to

    def parties(self) -> dict[str, Party]:
        out = {"ship_to": self.ship_to}
        if self.sold_to is not None:
            out["sold_to"] = self.sold_to
        if self.end_user is not None:
            out["end_user"] = self.end_user
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "date": self.date, "ship_from": self.ship_from,
            "transaction": self.transaction,
            "parties": {role: p.to_dict() for role, p in self.parties().items()},
            "lines": [line.to_dict() for line in self.lines],
        }
        if self.not_assessed:
            out["not_assessed"] = [x.to_dict() for x in self.not_assessed]
        if self.notes:
            out["notes"] = list(self.notes)
        return out


@dataclass(frozen=True)
class Reason:
    """Why a line got its outcome: a stable code, the rule's citation, a sentence."""

    code: str
    cite: str
    message: str
    row: str | None = None
    #: The trade-compliance check the row belongs to (``embargo``,
    #: ``sanctioned_list``, ``legal_control``), from the regime's data.
    check: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out = {"code": self.code, "cite": self.cite, "message": self.message}
        if self.row is not None:
            out["row"] = self.row
        if self.check is not None:
            out["check"] = self.check
        return out


@dataclass(frozen=True)
class Consumption:
    """Quota a line takes: the quota key, the TPP it consumes, the cap it was checked against."""

    quota: str
    tpp: int
    cap: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"quota": self.quota, "tpp": self.tpp}
        if self.cap is not None:
            out["cap"] = self.cap
        return out


@dataclass(frozen=True)
class LineDecision:
    """The decision on one line."""

    id: str
    outcome: Outcome
    reasons: tuple[Reason, ...] = ()
    obligations: tuple[dict[str, Any], ...] = ()
    consumes: tuple[Consumption, ...] = ()
    item_class: str | None = None
    #: The allowances the line did not fit (quota, what it would take, cap), in
    #: ladder order, before the candidate it took.
    refused: tuple[Consumption, ...] = ()
    #: The number of the granted license the line ships under, if it does.
    license: str | None = None
    #: Licenses that would have covered the line but that the ledger found
    #: revoked or out of their dates when the line was decided.
    licenses_not_in_force: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "outcome": self.outcome.value,
            "reasons": [r.to_dict() for r in self.reasons],
            "obligations": [dict(o) for o in self.obligations],
            "consumes": [c.to_dict() for c in self.consumes],
        }
        if self.item_class is not None:
            out["class"] = self.item_class
        if self.refused:
            out["refused"] = [c.to_dict() for c in self.refused]
        if self.license is not None:
            out["license"] = self.license
        if self.licenses_not_in_force:
            out["licenses_not_in_force"] = list(self.licenses_not_in_force)
        return out


@dataclass(frozen=True)
class Decision:
    """One order's decision: one LineDecision per line, the worst as the order's outcome."""

    order: str
    regime: str
    lines: tuple[LineDecision, ...]
    error: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    revision: str | None = None
    not_assessed: tuple[NotAssessed, ...] = ()
    notes: tuple[str, ...] = ()
    #: The engine's own id of the evaluation (an OPA sidecar's ``decision_id``).
    engine_decision_id: str | None = None
    #: The screening list version the order's parties were screened against.
    screening: Screened | None = None

    def annotate(self, order: Order) -> "Decision":
        """The decision with the order's not-assessed lines, notes and screening (for the host)."""
        return replace(self, not_assessed=order.not_assessed, notes=order.notes,
                       screening=order.screening)

    @property
    def outcome(self) -> Outcome:
        if self.error is not None and not self.lines:
            return Outcome.LICENSE
        return Outcome.worst([line.outcome for line in self.lines])

    @property
    def consumes(self) -> list[tuple[str, Consumption]]:
        """Every (line id, consumption) in line order."""
        return [(line.id, c) for line in self.lines for c in line.consumes]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "order": self.order, "regime": self.regime, "outcome": self.outcome.value,
            "lines": [line.to_dict() for line in self.lines], "error": self.error,
        }
        if self.parameters:
            out["parameters"] = self.parameters
        if self.revision is not None:
            out["revision"] = self.revision
        if self.not_assessed:
            out["not_assessed"] = [x.to_dict() for x in self.not_assessed]
        if self.notes:
            out["notes"] = list(self.notes)
        if self.screening is not None:
            out["screening"] = self.screening.to_dict()
        return out

    @classmethod
    def held(cls, order: Order, regime: str, error: str,
             parameters: dict[str, Any] | None = None) -> "Decision":
        """Fail closed: every line ``license`` with the error that stopped the evaluation."""
        reason = Reason("EVALUATION_ERROR", "exportgate fail-closed policy",
                        f"held for review: {error}")
        lines = tuple(LineDecision(line.id, Outcome.LICENSE, (reason,)) for line in order.lines)
        return cls(order=order.id, regime=regime, lines=lines, error=error,
                   parameters=dict(parameters or {}), not_assessed=order.not_assessed,
                   notes=order.notes, screening=order.screening)
