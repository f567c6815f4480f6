"""The screening step: every party of an order against the list version in force.

Runs in `Gate.prepare`, after the enrichers (the party master supplies names
and addresses a record lacks) and before the policy input is built. Each
party (sold-to, ship-to, end user, and the owners the master names behind
them) is screened by name, with its country and address as evidence; what
the index finds becomes a `Restriction` carrying the hit, next to the host's
own flags, so the regimes decide on it as on any restriction. A hit that a
person cleared for this party as screened, against this entry as listed, is
left out and named in the order's notes.

The order says which version it was screened against (`Screened`). When the
version cannot be read, or none is loaded and screening is required, the
order carries the error and is held: a party is never taken as clean because
the list was out of reach.
"""
from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from typing import Any, Callable

from .._exceptions import LedgerError, ValidationError
from .._model import Order, Owner, Party, Restriction, Screened
from .model import HIT_THRESHOLD, REVIEW_THRESHOLD, Hit, ListVersion, party_fingerprint

#: Why an order is held when screening is required and no list is loaded.
SCREENING_REQUIRED = ("screening is required and no list is loaded "
                      "(exportgate screening load FILE)")

#: How many parties' results one process keeps per list version.
PARTY_CACHE = 20_000


class Screener:
    """Screens orders against the current list version of one store.

    ``store`` opens the store lazily (the ledger's database); ``options`` is
    the configuration's ``screening:`` mapping. One screener per process: it
    keeps the index of the version in force and every party's hits for that
    version.
    """

    def __init__(self, store: Callable[[], Any], options: dict[str, Any]) -> None:
        self._open_store = store
        self._opened: Any = None
        self.hit = float(options.get("hit") or HIT_THRESHOLD)
        self.review = float(options.get("review") or REVIEW_THRESHOLD)
        self.required = bool(options.get("required"))
        self._pinned: ListVersion | None = None
        self._is_pinned = False
        self._index: tuple[str, Any] | None = None
        self._parties: OrderedDict[tuple[str, str], tuple[Hit, ...]] = OrderedDict()

    def _store(self) -> Any:
        if self._opened is None:
            self._opened = self._open_store()
        return self._opened

    # -- the version -----------------------------------------------------

    def pin(self, version: ListVersion | None | str = "current") -> ListVersion | None:
        """Screen every later order against one version: the one in force now (a batch
        pins it when it starts, and its workers pin the batch's), until `unpin`.

        A batch whose list could not be read pins nothing: its orders are held
        one by one, as a check's are.
        """
        try:
            self._pinned = (self._store().current() if isinstance(version, str)
                            else version)
        except LedgerError:
            return None
        self._is_pinned = True
        return self._pinned

    @property
    def pinned(self) -> ListVersion | None | str:
        """What `pin` fixed, for another process to pin alike ("current" when nothing is)."""
        return self._pinned if self._is_pinned else "current"

    def unpin(self) -> None:
        self._pinned, self._is_pinned = None, False

    def version(self) -> ListVersion | None:
        """The version orders are screened against: the pinned one, else the one in force."""
        return self._pinned if self._is_pinned else self._store().current()

    def index(self, version: ListVersion) -> Any:
        """The index of a version, built once per process."""
        if self._index is None or self._index[0] != version.id:
            from .index import Index
            entries = self._store().entries(version.id)
            self._index = (version.id, Index(entries, hit=self.hit, review=self.review))
            self._parties.clear()
        return self._index[1]

    # -- the step --------------------------------------------------------

    def screen(self, order: Order) -> Order:
        """The order with every party's hits added to its restrictions, and the version named."""
        try:
            version = self.version()
            if version is None:
                if self.required:
                    return replace(order, screening=Screened(None, error=SCREENING_REQUIRED))
                return order
            return self._screen(order, version)
        except LedgerError as exc:
            return replace(order, screening=Screened(
                None, error=f"{exc} (the screening list could not be read)"))

    def _screen(self, order: Order, version: ListVersion) -> Order:
        index = self.index(version)
        notes: list[str] = []
        parties: dict[str, Party] = {}
        for role, party in order.parties().items():
            if not party.name:
                raise ValidationError(
                    f"parties.{role}.name: the {role.replace('_', '-')} party {party.id} has "
                    "no name, so it cannot be screened against the restricted-party lists "
                    "(give it in the record or the party master)",
                    record=order.id, field=f"parties.{role}.name")
            added = self._restrictions(index, version, role, party.id, party.name,
                                       party.address, party.country, notes)
            owners = tuple(self._owner(index, version, role, o, party.country, notes)
                           for o in party.owners)
            parties[role] = replace(party, restrictions=party.restrictions + added,
                                    owners=owners)
        return replace(order, ship_to=parties["ship_to"], sold_to=parties.get("sold_to"),
                       end_user=parties.get("end_user"), notes=order.notes + tuple(notes),
                       screening=Screened(version.id, version.published))

    def _owner(self, index: Any, version: ListVersion, role: str, owner: Owner,
               country: str, notes: list[str]) -> Owner:
        if not owner.name:
            return owner
        added = self._restrictions(index, version, f"{role} owner", owner.id, owner.name,
                                   None, None, notes)
        return replace(owner, restrictions=owner.restrictions + added) if added else owner

    def _restrictions(self, index: Any, version: ListVersion, role: str, party_id: str,
                      name: str, address: str | None, country: str | None,
                      notes: list[str]) -> tuple[Restriction, ...]:
        fp = party_fingerprint(name, address, country)
        hits = self._hits(index, version, fp, name, address, country)
        if not hits:
            return ()
        cleared = self._store().cleared(fp, version.id)
        kept = []
        for hit in hits:
            if hit.entry.id in cleared:
                notes.append(f"screening: the {role.replace('_', '-')} {name} ({party_id}) "
                             f"was cleared against {hit.entry.list} entry {hit.entry.id} "
                             f"({hit.entry.name})")
            else:
                kept.append(as_restriction(hit, version.id))
        return tuple(kept)

    def _hits(self, index: Any, version: ListVersion, fp: str, name: str,
              address: str | None, country: str | None) -> tuple[Hit, ...]:
        key = (version.id, fp)
        found = self._parties.get(key)
        if found is None:
            found = tuple(index.search(name, country=country, address=address))
            self._parties[key] = found
            if len(self._parties) > PARTY_CACHE:
                self._parties.popitem(last=False)
        return found


def as_restriction(hit: Hit, version: str) -> Restriction:
    """A hit as the policy input carries it (docs/screening.md, the `HIT_FIELDS`)."""
    e = hit.entry
    fields: dict[str, Any] = {
        "status": hit.status, "entry": e.id, "entry_name": e.name, "matched": hit.matched,
        "score": round(hit.score, 1), "license_requirement": e.license_requirement,
        "license_policy": e.license_policy, "start_date": e.start_date,
        "federal_register_notice": e.federal_register_notice, "version": version,
    }
    return Restriction(list=e.list, hit=tuple((k, v) for k, v in fields.items()
                                              if v is not None))
