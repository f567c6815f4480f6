"""The policy contract in code (version 2): the input document, and the ladders it answers.

docs/policy-contract.md describes both documents. The input is the order
alone, with no ledger state, so one evaluation per order is enough on every
engine, the OPA sidecar included, and identical orders get identical
answers. The answer gives every line its *ladder*: the ordered candidates of
the regime's table, each an outcome (a row, with its code) that applies
unconditionally, or a metered one that applies only while a quota has room
for the line. `parse_ladders` checks the answer against the contract and the
order before anything is reserved: a policy that answers something malformed
is held, not trusted. It is on every decision's path, so it is written out by
hand rather than through cerberus, and converts each shared ladder once.
"""
from __future__ import annotations

import reprlib
from dataclasses import dataclass
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeGuard

from ._catalog import ItemCatalog, eccn_spelling
from ._exceptions import UndefinedResult
from ._model import Order, Outcome
from ._regime import Regime
from ._schemas import MAX_UNITS

_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 3, 60, 60, 40

CONTRACT = 2

#: The line measures a metered candidate may draw on.
MEASURES = ("tpp", "units")

#: The quota keys of granted licenses: ``license:<number>:<entry index>``
#: (docs/licenses.md). A candidate metered on one draws on that license.
LICENSE_KEY_PREFIX = "license:"


def license_number(key: str) -> str | None:
    """The license number of a ``license:<number>:<entry>`` quota key, else None."""
    if not key.startswith(LICENSE_KEY_PREFIX):
        return None
    return key[len(LICENSE_KEY_PREFIX):].rsplit(":", 1)[0]

_OUTCOMES = {o.value: o for o in Outcome}


@dataclass(frozen=True, slots=True)
class Candidate:
    """One rung of a ladder: a row of the regime's table and its outcome.

    A metered candidate (``quota`` set) applies only if the line's amount
    (its ``measure``) fits under ``cap`` with what is already taken of
    ``quota``; otherwise the next candidate is tried. Without a cap it always
    applies and only counts the amount against ``quota``.
    """

    row: str
    outcome: Outcome
    code: str
    quota: str | None = None
    cap: int | None = None
    measure: str | None = None
    #: For a granted license's entry (docs/licenses.md): its number, last
    #: valid day and conditions, which the decision quotes. Set exactly when
    #: ``quota`` is a license key of the same number (`parse_ladders` checks).
    license: "LicenseRef | None" = None


@dataclass(frozen=True, slots=True)
class LicenseRef:
    """The license a metered candidate draws on, as the policy names it."""

    number: str
    expires: str
    conditions: str


@dataclass(frozen=True, slots=True)
class LineLadder:
    """One line of the answer: its class, its measures and its candidates."""

    id: str
    item_class: str | None
    tpp: int | None
    units: int
    extra: tuple[str, ...]
    candidates: tuple[Candidate, ...]

    def amount(self, candidate: Candidate) -> int | None:
        """What the line takes of the candidate's quota (None if the measure is unknown)."""
        return self.tpp if candidate.measure == "tpp" else self.units


@dataclass(frozen=True)
class Ladders:
    """The whole answer for one order."""

    regime: str
    facts: dict[str, Any]
    lines: tuple[LineLadder, ...]

    def keys(self) -> list[str]:
        """Every quota key the order may touch, sorted (the ledger locks them in this order)."""
        return sorted({c.quota for line in self.lines for c in line.candidates
                       if c.quota is not None})


def policy_input(order: Order, licenses: Sequence[Mapping[str, Any]] = (),
                 catalog: ItemCatalog | None = None) -> dict[str, Any]:
    """The input document for one order (contract version 2).

    ``licenses`` are the recorded licenses that could apply (docs/licenses.md),
    as `License.to_input` gives them; with none the input has no ``licenses``.
    The policy compares the items and ECCNs of lines and license entries as
    text, so both sides are written one way here: an item as the ``catalog``'s
    id for it (whatever alias or case the record or the license wrote; as
    written when the catalog does not know it, or no catalog is given), an
    ECCN as the Commerce Control List spells it (`eccn_spelling`).
    """
    item = catalog.identity if catalog is not None else str
    doc = order.to_dict()
    for line in doc["lines"]:
        line["item"] = item(line["item"])
        if "classification" in line:
            _spell(line["classification"], item)
    out: dict[str, Any] = {"contract": CONTRACT, "order": doc}
    if licenses:
        out["licenses"] = [{**x, "items": [_entry(e, item) for e in x["items"]]}
                           for x in licenses]
    return out


def _spell(classification: dict[str, Any], item: Callable[[str], str]) -> None:
    """A classification's ECCN, and its chips' items and ECCNs, written one way (in place)."""
    if classification.get("eccn") is not None:
        classification["eccn"] = eccn_spelling(classification["eccn"])
    for chip in classification.get("contains", ()):
        chip["item"] = item(chip["item"])
        _spell(chip, item)


def _entry(entry: Mapping[str, Any], item: Callable[[str], str]) -> dict[str, Any]:
    if "item" in entry:
        return {**entry, "item": item(entry["item"])}
    return {**entry, "eccn": eccn_spelling(entry["eccn"])}


#: The largest measure or cap an answer may state: a quantity times a TPP per
#: unit, each at most MAX_UNITS (the order schema's bound).
MAX_AMOUNT = MAX_UNITS * MAX_UNITS


def _int(value: Any) -> TypeGuard[int]:
    """A whole number within 0..MAX_AMOUNT (never a boolean)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_AMOUNT


def _show(value: Any) -> str:
    """A value as a message quotes it: short, whatever its size or depth."""
    return _SHORT.repr(value)


def _candidate(raw: Any, where: str) -> Candidate:
    if not isinstance(raw, dict):
        raise UndefinedResult(f"{where}: a candidate must be an object, got {_show(raw)}")
    row, code, outcome = raw.get("row"), raw.get("code"), raw.get("outcome")
    if not isinstance(row, str) or not isinstance(code, str):
        raise UndefinedResult(f"{where}: a candidate needs a row and a code, got {_show(raw)}")
    if outcome not in _OUTCOMES:
        raise UndefinedResult(f"{where}: row {row} has outcome {_show(outcome)}, not one of "
                              f"{', '.join(_OUTCOMES)}")
    quota = raw.get("quota")
    if quota is None:
        return Candidate(row, _OUTCOMES[outcome], code)
    if not isinstance(quota, dict):
        raise UndefinedResult(f"{where}: row {row}: quota must be an object")
    key, cap, measure = quota.get("key"), quota.get("cap"), quota.get("measure")
    if not isinstance(key, str) or not key:
        raise UndefinedResult(f"{where}: row {row}: quota.key must be a non-empty string")
    if cap is not None and not _int(cap):
        raise UndefinedResult(f"{where}: row {row}: quota.cap must be a whole number "
                              f"from 0 to {MAX_AMOUNT:,} or null, got {_show(cap)}")
    if measure not in MEASURES:
        raise UndefinedResult(f"{where}: row {row}: quota.measure must be one of "
                              f"{', '.join(MEASURES)}, got {_show(measure)}")
    return Candidate(row, _OUTCOMES[outcome], code, key, cap, measure,
                     _license(raw.get("license"), key, row, where))


def _license(raw: Any, key: str, row: str, where: str) -> LicenseRef | None:
    """The license a candidate draws on: named exactly when its quota key is a license's.

    The ledger decides by the key whether the license is in force when the
    line draws on it, and the decision quotes the reference: the two must
    name the same license.
    """
    number = license_number(key)
    if raw is None:
        if number is not None:
            raise UndefinedResult(f"{where}: row {row}: quota {key} is a license's, but the "
                                  "candidate names no license")
        return None
    if not isinstance(raw, dict) or not all(
            isinstance(raw.get(k), str) for k in ("number", "expires", "conditions")):
        raise UndefinedResult(f"{where}: row {row}: license must be an object with a number, "
                              "an expiry and conditions (strings)")
    if raw["number"] != number:
        raise UndefinedResult(f"{where}: row {row}: license {_show(raw['number'])} draws on "
                              f"quota {key}, not on one of its own entries")
    return LicenseRef(raw["number"], raw["expires"], raw["conditions"])


def _ladder(raw: Any, where: str) -> tuple[Candidate, ...]:
    if not isinstance(raw, list) or not raw:
        raise UndefinedResult(f"{where}: a ladder must be a non-empty list of candidates")
    ladder = tuple(_candidate(c, where) for c in raw)
    if ladder[-1].quota is not None and ladder[-1].cap is not None:
        raise UndefinedResult(f"{where}: the last candidate (row {ladder[-1].row}) is "
                              "capped: a ladder must end with a row that always applies")
    return ladder


def parse_ladders(raw: Any, order: Order, regime: Regime) -> Ladders:
    """Check the policy's answer against the contract and the order; build `Ladders`.

    Raises `UndefinedResult` (an engine error: the order is held) naming what
    is wrong.
    """
    what = f"{regime.id}: answer for order {order.id}"
    if raw is None:
        raise UndefinedResult(f"{regime.id}: the ladders are undefined for order {order.id}")
    if not isinstance(raw, dict):
        raise UndefinedResult(f"{what}: not an object")
    if raw.get("contract") != CONTRACT:
        raise UndefinedResult(f"{what}: contract {_show(raw.get('contract'))}, "
                              f"expected {CONTRACT}")
    if raw.get("regime") != regime.id:
        raise UndefinedResult(f"policy answered for regime {_show(raw.get('regime'))}, "
                              f"not {regime.id!r}")
    facts, named, lines = raw.get("facts"), raw.get("ladders"), raw.get("lines")
    if not isinstance(facts, dict) or not isinstance(named, dict) or not isinstance(lines, list):
        raise UndefinedResult(f"{what}: facts and ladders must be objects, lines a list")
    if len(lines) != len(order.lines):
        raise UndefinedResult(f"{what}: {len(lines)} lines answered for "
                              f"{len(order.lines)} ordered")
    ladders: dict[str, tuple[Candidate, ...]] = {}
    out = []
    for line, raw_line in zip(order.lines, lines, strict=True):
        if not isinstance(raw_line, dict) or raw_line.get("id") != line.id:
            got = raw_line.get("id") if isinstance(raw_line, dict) else raw_line
            raise UndefinedResult(f"{what}: line {line.id} answered as {_show(got)}")
        where = f"{what}, line {line.id}"
        name = raw_line.get("ladder")
        if not isinstance(name, str) or name not in named:
            raise UndefinedResult(f"{where}: ladder {_show(name)} is not in the answer's "
                                  "ladders")
        if name not in ladders:
            ladders[name] = _ladder(named[name], f"{what}, ladder {name!r}")
        tpp, units = raw_line.get("tpp"), raw_line.get("units")
        if tpp is not None and not _int(tpp):
            raise UndefinedResult(f"{where}: tpp must be a whole number from 0 to "
                                  f"{MAX_AMOUNT:,} or null, got {_show(tpp)}")
        if not _int(units):
            raise UndefinedResult(f"{where}: units must be a whole number from 0 to "
                                  f"{MAX_AMOUNT:,}, got {_show(units)}")
        extra = raw_line.get("extra", [])
        if not isinstance(extra, list) or not all(isinstance(r, str) for r in extra):
            raise UndefinedResult(f"{where}: extra must be a list of row names")
        item_class = raw_line.get("class")
        if item_class is not None and not isinstance(item_class, str):
            raise UndefinedResult(f"{where}: class must be a string")
        out.append(LineLadder(line.id, item_class, tpp, units, tuple(extra), ladders[name]))
    return Ladders(regime.id, facts, tuple(out))
