"""The license registry: granted licenses, recorded once, depleted like quotas.

A license (docs/licenses.md) names its number, validity, destinations,
consignees (and end users), and the quantities it authorizes by catalog
item or by ECCN. It lives in the ledger database (table ``eg_licenses``); what
an order takes of entry ``i`` of license ``N`` is an ordinary reservation of
the quota key ``license:N:i``, so a license is reserved at check, committed
at shipment and released at cancellation exactly like a quota.

Python only narrows: `applicable` keeps the licenses that could apply to an
order (valid on its date, not revoked, its destination and one of its party
ids named), and the gate puts them into the policy input. Which license
covers which line, and where it enters the line's ladder, is the Rego's
(``rego/exportgate/lib/licenses.rego``). Whether a line may still draw on a
license when it is decided is the ledger's: the decision step reads the
license's terms under the lock of its entries (`SqlLedger.hold`), and a
revocation takes that lock (`SqlLedger.revoke_license`).
"""
from __future__ import annotations

import datetime as dt
import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .. import _schemas
from .._exceptions import ConfigError, LedgerError
from .base import SqlLedger
from .._model import Order
from .._policy import LICENSE_KEY_PREFIX, license_number
from .._validate import load_yaml, validate_data


#: ``license show`` warns when no more than this share of an entry remains...
LOW_SHARE = 0.10
#: ...and when the license expires within this many days.
EXPIRY_WARNING_DAYS = 30

#: How long a gate trusts its copy of the registry (a prefilter only) before
#: reading it again. Adding or revoking through this process refreshes it at once.
REFRESH_SECONDS = 1.0


@dataclass(frozen=True)
class License:
    """One recorded license."""

    number: str
    issued: str
    expires: str
    destinations: tuple[str, ...]
    consignees: tuple[str, ...]
    items: tuple[dict[str, Any], ...]
    end_users: tuple[str, ...] | None = None
    conditions: str | None = None
    revoked_at: str | None = None
    added_at: str | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "License":
        end_users = json.loads(row["end_users"]) if row.get("end_users") else None
        return cls(number=row["number"], issued=row["issued"], expires=row["expires"],
                   destinations=tuple(json.loads(row["destinations"])),
                   consignees=tuple(json.loads(row["consignees"])),
                   items=tuple(json.loads(row["items"])),
                   end_users=tuple(end_users) if end_users is not None else None,
                   conditions=row.get("conditions"), revoked_at=row.get("revoked_at"),
                   added_at=row.get("added_at"))

    def valid_on(self, date: str) -> bool:
        """In force on ``date`` (ISO): issued, not expired (``expires`` is the last day)."""
        return self.revoked_at is None and self.issued <= date <= self.expires

    def key(self, index: int) -> str:
        return f"{LICENSE_KEY_PREFIX}{self.number}:{index}"

    def to_input(self) -> dict[str, Any]:
        """The license as the policy input carries it (contract 2, ``licenses``)."""
        out: dict[str, Any] = {"number": self.number, "issued": self.issued,
                               "expires": self.expires,
                               "destinations": list(self.destinations),
                               "consignees": list(self.consignees),
                               "items": [dict(e) for e in self.items]}
        if self.end_users is not None:
            out["end_users"] = list(self.end_users)
        if self.conditions:
            out["conditions"] = self.conditions
        return out

    def to_dict(self) -> dict[str, Any]:
        out = self.to_input()
        out["revoked_at"] = self.revoked_at
        out["added_at"] = self.added_at
        return out


# -- reading a file ----------------------------------------------------------


def _dates_as_text(doc: Any) -> Any:
    """YAML reads ``2026-02-01`` as a date: the registry keeps ISO text."""
    if isinstance(doc, dict) and isinstance(doc.get("licenses"), list):
        for lic in doc["licenses"]:
            if isinstance(lic, dict):
                for f in ("issued", "expires"):
                    if isinstance(lic.get(f), dt.date):
                        lic[f] = lic[f].isoformat()
    return doc


def parse(doc: Any, what: str) -> list[License]:
    """Validate a licenses document (``{"licenses": [...]}``); ConfigError names the field.

    Rejected whole: unknown fields, a number twice, an expiry before the
    issue date, an entry naming neither an item nor an ECCN.
    """
    data = validate_data(_dates_as_text(doc), _schemas.LICENSES_FILE, what)
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(data["licenses"]):
        at = f"{what}: licenses.{i}"
        number = raw["number"]
        if number in seen:
            raise ConfigError(f"{at}.number: {number} is also licenses.{seen[number]}'s "
                              "number (each license once)")
        seen[number] = i
        if raw["expires"] < raw["issued"]:
            raise ConfigError(f"{at}.expires: {raw['expires']} is before the issue date "
                              f"{raw['issued']}")
        for j, entry in enumerate(raw["items"]):
            if "item" not in entry and "eccn" not in entry:
                raise ConfigError(f"{at}.items.{j}: name an item or an ECCN")
        items = tuple({**({"item": str(e["item"])} if "item" in e else {"eccn": e["eccn"]}),
                       "quantity": e["quantity"]} for e in raw["items"])
        end_users = raw.get("end_users")
        out.append(License(number=number, issued=raw["issued"], expires=raw["expires"],
                           destinations=tuple(raw["destinations"]),
                           consignees=tuple(str(c) for c in raw["consignees"]),
                           items=items,
                           end_users=tuple(str(e) for e in end_users) if end_users else None,
                           conditions=raw.get("conditions") or None))
    return out


def read_file(path: Path) -> list[License]:
    """A YAML or JSON file of licenses, validated (`parse`)."""
    return parse(load_yaml(path, "licenses file"), f"licenses file {path}")


# -- the registry --------------------------------------------------------------

#: Bumped by every add and revoke in this process, so gates refresh at once.
_generation = 0
_lock = threading.Lock()


def _changed() -> None:
    global _generation
    with _lock:
        _generation += 1


def add(ledger: SqlLedger, licenses: list[License]) -> list[str]:
    """Record licenses in one transaction: all of them, or (on any error) none."""
    rows = [{"number": x.number, "issued": x.issued, "expires": x.expires,
             "destinations": json.dumps(list(x.destinations)),
             "consignees": json.dumps(list(x.consignees)),
             "end_users": json.dumps(list(x.end_users)) if x.end_users is not None else None,
             "items": json.dumps([dict(e) for e in x.items]),
             "conditions": x.conditions} for x in licenses]
    numbers = ledger.add_licenses(rows)
    _changed()
    return numbers


def registry(ledger: SqlLedger) -> list[License]:
    """Every recorded license (revoked ones too), by number."""
    return [License.from_row(r) for r in ledger.license_rows()]


def get(ledger: SqlLedger, number: str) -> License:
    rows = ledger.license_rows(number)
    if not rows:
        raise ConfigError(f"license {number}: not in the registry")
    return License.from_row(rows[0])


def revoke(ledger: SqlLedger, number: str) -> str:
    """Revoke a license from now on (it covers nothing after); returns the time."""
    stamp = ledger.revoke_license(number)
    _changed()
    return stamp


def applicable(licenses: list[License], order: Order) -> list[License]:
    """The coarse prefilter: licenses valid on the order date, not revoked, naming its
    destination (as the order states it) and one of its parties as consignee."""
    ids = _party_ids(order)
    dest = order.ship_to.country
    return [x for x in licenses
            if x.valid_on(order.date) and dest in x.destinations
            and not ids.isdisjoint(x.consignees)]


def _party_ids(order: Order) -> set[str]:
    return {p.id for p in (order.sold_to, order.ship_to, order.end_user) if p is not None}


def licenses_for(ledger: SqlLedger, order: Order) -> list[License]:
    """`applicable`, asked of the ledger now (one query; a gate keeps a `Cache`)."""
    return [License.from_row(r) for r in
            ledger.licenses_for(order.ship_to.country, _party_ids(order), order.date)]


class Cache:
    """A gate's copy of the registry, read again after `REFRESH_SECONDS` or a change.

    Only the prefilter of the policy input: a license revoked since the copy
    was read may still be offered to the policy, never drawn on (the ledger
    reads its terms again in the deciding transaction). An empty registry
    costs nothing per order: the policy input then has no ``licenses`` at
    all, exactly as before licenses existed.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._licenses: list[License] | None = None
        self._read_at = 0.0
        self._generation = -1

    def licenses(self, ledger: Callable[[], SqlLedger]) -> list[License]:
        now = self._clock()
        if self._licenses is None or self._generation != _generation \
                or now - self._read_at >= REFRESH_SECONDS:
            generation = _generation
            self._licenses = [x for x in registry(ledger()) if x.revoked_at is None]
            self._read_at, self._generation = now, generation
        return self._licenses

    def applicable(self, order: Order, ledger: Callable[[], SqlLedger]) -> list[License]:
        """The licenses that could apply to ``order``, for its policy input.

        If the registry cannot be read, none: the order is decided without
        licenses, and a line a license would have covered gets its regime's
        own outcome (``license`` or worse), never ``allow``.
        """
        try:
            return applicable(self.licenses(ledger), order)
        except LedgerError:
            self._licenses = None
            return []


# -- show ----------------------------------------------------------------------


def show(ledger: SqlLedger, number: str, today: str | None = None) -> dict[str, Any]:
    """A license with what each order reserved and shipped against it, what remains,
    and warnings (little left, expiry near, expired, revoked)."""
    lic = get(ledger, number)
    today = today or dt.date.today().isoformat()
    held = ledger.license_reservations(number)
    used: dict[str, dict[str, int]] = {"reserved": {}, "committed": {}}
    for r in held:
        by_key = used[r["state"]]
        by_key[r["quota"]] = by_key.get(r["quota"], 0) + int(r["units"])
    entries = _entries(lic, used["reserved"], used["committed"])
    warnings = []
    for e in entries:
        what = e.get("item") or f"ECCN {e.get('eccn')}"
        if e["remaining"] <= 0:
            warnings.append(f"entry {e['index']} ({what}): used up")
        elif e["remaining"] <= int(e["quantity"]) * LOW_SHARE:
            warnings.append(f"entry {e['index']} ({what}): only {e['remaining']:,} of "
                            f"{int(e['quantity']):,} units remain")
    if lic.revoked_at is not None:
        warnings.append(f"revoked at {lic.revoked_at}: covers nothing")
    elif lic.expires < today:
        warnings.append(f"expired on {lic.expires}: covers nothing")
    else:
        left = (dt.date.fromisoformat(lic.expires) - dt.date.fromisoformat(today)).days
        if left <= EXPIRY_WARNING_DAYS:
            warnings.append(f"expires on {lic.expires}, in {left} days")
    orders = [{"order": r["order"], "line": r["line"],
               "entry": int(str(r["quota"]).rsplit(":", 1)[1]), "units": int(r["units"]),
               "state": r["state"]} for r in held]
    return {"license": lic.to_dict(), "entries": entries, "orders": orders,
            "warnings": warnings}


def _entries(lic: License, reserved: dict[str, int], committed: dict[str, int]
             ) -> list[dict[str, Any]]:
    """Each entry of a license, with the units orders hold of it (by quota key) and what
    remains. Entries name different items or ECCNs: their units are never added up."""
    out = []
    for i, entry in enumerate(lic.items):
        key = lic.key(i)
        held, shipped = reserved.get(key, 0), committed.get(key, 0)
        out.append({"index": i, "key": key, **entry, "reserved": held, "committed": shipped,
                    "remaining": int(entry["quantity"]) - held - shipped})
    return out


def state(lic: License, today: str) -> str:
    """``valid``, ``not yet valid``, ``expired`` or ``revoked``, on ``today`` (ISO)."""
    return ("revoked" if lic.revoked_at is not None else
            "expired" if lic.expires < today else
            "not yet valid" if today < lic.issued else "valid")


def listing(ledger: SqlLedger, today: str | None = None) -> list[dict[str, Any]]:
    """Every license, its state today, and each of its entries with the units that remain
    (``license list``)."""
    today = today or dt.date.today().isoformat()
    quotas = [q for q in ledger.show() if license_number(q.quota) is not None]
    reserved = {q.quota: q.reserved for q in quotas}
    committed = {q.quota: q.committed for q in quotas}
    out = []
    for lic in registry(ledger):
        doc = lic.to_dict()
        del doc["items"]  # the entries below, with their use
        out.append({**doc, "state": state(lic, today),
                    "entries": _entries(lic, reserved, committed)})
    return out
