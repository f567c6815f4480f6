"""The quota fold: each line takes the first candidate of its ladder that fits.

docs/regimes.md's quota semantics, once, for every regime: lines are taken in
line order; a metered candidate applies when the line's whole amount fits
under the cap together with what other orders hold (``usage``, read under
the ledger's lock) and what earlier lines of this order took; otherwise the
line falls through to its next candidate. An allowance is never split across
a line. A candidate that draws on a granted license applies only if the
license is in force, as the ledger read it under the same locks: a license
revoked (or out of its dates) by the time the line is decided covers nothing,
whatever the policy's input said. The gate runs the fold inside the ledger
transaction that locked the ladders' keys, and `decide` turns the picks into
the decision, filling the messages' figures from the fold's numbers.
"""
from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from ._exceptions import UndefinedResult
from ._model import Consumption, Decision, Line, LineDecision, Order, Reason
from ._policy import Candidate, Ladders, LicenseRef, LineLadder, license_number
from ._regime import Regime


@dataclass(frozen=True, slots=True)
class Pick:
    """The candidate a line took; for a metered one, its amount and the quota used before it.

    ``not_in_force`` names the licenses whose candidates the line passed over
    because the ledger found them revoked or out of their dates.
    """

    line: LineLadder
    candidate: Candidate
    amount: int | None = None
    before: int | None = None
    refused: tuple[Consumption, ...] = ()
    not_in_force: tuple[str, ...] = ()


def fold(ladders: Ladders, usage: Mapping[str, int],
         in_force: Collection[str] = ()) -> list[Pick]:
    """Walk the lines in order; each takes the first candidate that fits.

    ``usage`` is what other orders hold of each quota key; ``in_force`` the
    numbers of the licenses in force on the order's date, both read under the
    keys' locks. A candidate that draws on a license not among them never
    applies (by default none is). A metered
    candidate whose amount is unknown never fits; one without a cap always
    fits and counts the amount. A ladder whose candidates
    all fail to fit breaks the contract (its last row must always apply) and
    raises `UndefinedResult`, which holds the order.
    """
    taken: dict[str, int] = {}
    picks = []
    for line in ladders.lines:
        refused: list[Consumption] = []
        lapsed: list[str] = []
        for candidate in line.candidates:
            key = candidate.quota
            if key is None:
                picks.append(Pick(line, candidate, refused=tuple(refused),
                                  not_in_force=tuple(lapsed)))
                break
            number = license_number(key)
            if number is not None and number not in in_force:
                if number not in lapsed:
                    lapsed.append(number)
                continue
            amount = line.amount(candidate)
            if amount is None:  # an unknown measure is never metered
                continue
            before = usage.get(key, 0) + taken.get(key, 0)
            if candidate.cap is None or before + amount <= candidate.cap:
                taken[key] = taken.get(key, 0) + amount
                picks.append(Pick(line, candidate, amount, before, tuple(refused),
                                  tuple(lapsed)))
                break
            refused.append(Consumption(key, amount, candidate.cap))
        else:
            raise UndefinedResult(f"{ladders.regime}: line {line.id}: no candidate of its "
                                  "ladder applies (a ladder must end with a row that always "
                                  "applies)")
    return picks


_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")

#: A message template, compiled: (literal text, slot name or None) pairs.
Template = tuple[tuple[str, str | None], ...]


def compile_template(template: str) -> Template:
    """Split a template into literal text and ``{name}`` slots, once per row."""
    parts: list[tuple[str, str | None]] = []
    at = 0
    for m in _VAR.finditer(template):
        parts.append((template[at:m.start()], m.group(1)))
        at = m.end()
    parts.append((template[at:], None))
    return tuple(parts)


def render(template: Template, *layers: Mapping[str, str]) -> str:
    """Fill a compiled template in one pass: each slot from the first layer that has it.

    One pass, so a value that itself holds ``{dest}`` (an item or party id
    from the ERP) is not filled again; an unknown slot stays as it is.
    """
    out = []
    for text, name in template:
        out.append(text)
        if name is not None:
            for layer in layers:
                value = layer.get(name)
                if value is not None:
                    out.append(value)
                    break
            else:
                out.append("{" + name + "}")
    return "".join(out)


def fill(template: str, values: Mapping[str, str]) -> str:
    """`render` for a template given as text."""
    return render(compile_template(template), values)


def _number(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _params(prefix: str, value: Any, out: dict[str, str]) -> None:
    """Flatten a regime's parameters into ``params.a.b`` slots (numbers with separators)."""
    if isinstance(value, dict):
        for k, v in value.items():
            _params(f"{prefix}.{k}", v, out)
    elif isinstance(value, list):
        out[prefix] = ", ".join(_number(v) for v in value)
    else:
        out[prefix] = _number(value)


@dataclass(frozen=True)
class _Row:
    """A row of the regime's data, ready to render."""

    code: str
    outcome: str | None
    cite: Template
    message: Template
    obligations: tuple[dict[str, Any], ...]
    check: str


class Renderer:
    """Turns picks into a `Decision` for one regime: reasons, obligations, quota taken.

    Reason texts and obligations are the regime's data (its rows, over the
    library's); the slots of a message come from the order's facts as the
    policy reported them, the line, the regime's parameters and the fold.
    """

    def __init__(self, regime: Regime) -> None:
        self.regime = regime
        self.params: dict[str, str] = {}
        _params("params", regime.parameter_values, self.params)
        obligations = regime.obligations
        self.rows = {
            name: _Row(info["code"], info.get("outcome"), compile_template(info["cite"]),
                       compile_template(info["message"]),
                       tuple({"code": o, **obligations.get(o, {})}
                             for o in info.get("obligations", ())),
                 info.get("check", "legal_control"))
            for name, info in regime.rows.items()}

    def _row(self, row: str) -> _Row:
        info = self.rows.get(row)
        if info is None:
            raise UndefinedResult(f"{self.regime.id}: the policy names row {row!r}, which the "
                                  "regime's data does not describe")
        return info

    def _reason(self, row: str, *layers: Mapping[str, str]) -> Reason:
        info = self._row(row)
        return Reason(info.code, render(info.cite, *layers), render(info.message, *layers), row,
                      info.check)

    @staticmethod
    def _line_values(line: Line, ladder: LineLadder) -> dict[str, str]:
        c = line.classification
        contains = c.contains if c is not None else None
        return {"item": str(line.item),
                "contains": ", ".join(f"{x.count} x {x.item}" for x in contains or ()),
                "class": ladder.item_class or "unknown",
                "eccn": c.eccn if c and c.eccn else "not stated",
                "tpp": _number(ladder.tpp) if ladder.tpp is not None else "unknown",
                "tpp_unit": _number(c.tpp) if c and c.tpp is not None else "unknown",
                "units": _number(ladder.units),
                "pd": "stated"}

    @staticmethod
    def _licensed(lic: LicenseRef, fold_values: dict[str, str]
                  ) -> tuple[dict[str, str], tuple[dict[str, Any], ...]]:
        """A line under a granted license: the ``{license}`` and ``{license_expires}``
        slots, and the license's own conditions as an obligation."""
        values = {**fold_values, "license": lic.number, "license_expires": lic.expires}
        if not lic.conditions:
            return values, ()
        return values, ({"code": "license_conditions", "license": lic.number,
                         "message": f"License {lic.number}: {lic.conditions}", "days": None,
                         "cite": f"license {lic.number}"},)

    def decide(self, order: Order, ladders: Ladders, picks: list[Pick]) -> Decision:
        order_values = {k: _number(v) if k != "year" else str(v)
                        for k, v in ladders.facts.items()}
        no_fold: dict[str, str] = {}
        lines = []
        for line, pick in zip(order.lines, picks, strict=True):
            values = self._line_values(line, pick.line)
            candidate = pick.candidate
            fold_values = no_fold
            consumes: tuple[Consumption, ...] = ()
            if candidate.quota is not None and pick.amount is not None \
                    and pick.before is not None:
                after = pick.before + pick.amount
                fold_values = {"quota": candidate.quota, "cap": _number(candidate.cap),
                               "used": _number(pick.before), "after": _number(after),
                               "amount": _number(pick.amount),
                               "remaining": _number(candidate.cap - after)
                               if candidate.cap is not None else "no cap"}
                consumes = (Consumption(candidate.quota, pick.amount, candidate.cap),)
            obligations = None
            if candidate.license is not None:
                fold_values, obligations = self._licensed(candidate.license, fold_values)
            info = self._row(candidate.row)
            if info.outcome not in (None, candidate.outcome.value):
                raise UndefinedResult(f"{self.regime.id}: row {candidate.row} is "
                                      f"{info.outcome} in the data but "
                                      f"{candidate.outcome.value} in the policy's answer")
            layers = (values, fold_values, order_values, self.params)
            reasons = (self._reason(candidate.row, *layers),
                       *(self._reason(row, *layers) for row in pick.line.extra))
            lines.append(LineDecision(id=line.id, outcome=candidate.outcome, reasons=reasons,
                                      obligations=(info.obligations if obligations is None
                                                   else info.obligations + obligations),
                                      consumes=consumes,
                                      item_class=pick.line.item_class,
                                      refused=pick.refused,
                                      license=(candidate.license.number
                                               if candidate.license is not None else None),
                                      licenses_not_in_force=pick.not_in_force))
        return Decision(order=order.id, regime=self.regime.id, lines=tuple(lines),
                        parameters=dict(self.regime.parameters),
                        revision=self.regime.revision)
