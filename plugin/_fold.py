"""The quota fold: each line takes the first candidate of its ladder that fits.

REGIMES.md's quota semantics, once, for every regime: lines are taken in
line order; a metered candidate applies when the line's whole amount fits
under the cap together with what other orders hold (``usage``, read under
the ledger's lock) and what earlier lines of this order took; otherwise the
line falls through to its next candidate. An allowance is never split across
a line. The gate runs the fold inside the ledger transaction that locked the
ladders' keys, and `decide` turns the picks into the decision, filling the
messages' figures from the fold's numbers.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._exceptions import UndefinedResult
from ._model import Consumption, Decision, Line, LineDecision, Order, Reason
from ._policy import Candidate, Ladders, LineLadder
from ._regime import Regime


@dataclass(frozen=True, slots=True)
class Pick:
    """The candidate a line took; for a metered one, its amount and the quota used before it."""

    line: LineLadder
    candidate: Candidate
    amount: int | None = None
    before: int | None = None
    refused: tuple[Consumption, ...] = ()


def fold(ladders: Ladders, usage: Mapping[str, int]) -> list[Pick]:
    """Walk the lines in order; each takes the first candidate that fits.

    ``usage`` is what other orders hold of each quota key. A metered
    candidate whose amount is unknown never fits. A ladder whose candidates
    all fail to fit breaks the contract (its last row must always apply) and
    raises `UndefinedResult`, which holds the order.
    """
    taken: dict[str, int] = {}
    picks = []
    for line in ladders.lines:
        refused: list[Consumption] = []
        for candidate in line.candidates:
            key = candidate.quota
            if key is None:
                picks.append(Pick(line, candidate, refused=tuple(refused)))
                break
            amount = line.amount(candidate)
            if amount is None or candidate.cap is None:
                continue
            before = usage.get(key, 0) + taken.get(key, 0)
            if before + amount <= candidate.cap:
                taken[key] = taken.get(key, 0) + amount
                picks.append(Pick(line, candidate, amount, before, tuple(refused)))
                break
            refused.append(Consumption(key, amount, candidate.cap))
        else:
            raise UndefinedResult(f"{ladders.regime}: line {line.id}: no candidate of its "
                                  "ladder applies (a ladder must end with a row that always "
                                  "applies)")
    return picks


_VAR = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def fill(template: str, values: Mapping[str, str]) -> str:
    """Put ``values`` into ``{name}`` slots in one pass; unknown names stay as they are.

    One pass, so a value that itself holds ``{dest}`` (an item or party id
    from the ERP) is not filled again.
    """
    return _VAR.sub(lambda m: values.get(m.group(1), m.group(0)), template)


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


class Renderer:
    """Turns picks into a `Decision` for one regime: reasons, obligations, quota taken.

    Reason texts and obligations are the regime's data (its rows, over the
    library's); the slots of a message come from the order's facts as the
    policy reported them, the line, the regime's parameters and the fold.
    """

    def __init__(self, regime: Regime) -> None:
        self.regime = regime
        self.rows = regime.rows
        self.obligations = regime.obligations
        self.params: dict[str, str] = {}
        _params("params", regime.parameter_values, self.params)

    def _row(self, row: str) -> dict[str, Any]:
        info = self.rows.get(row)
        if info is None:
            raise UndefinedResult(f"{self.regime.id}: the policy names row {row!r}, which the "
                                  "regime's data does not describe")
        return info

    def _reason(self, row: str, values: Mapping[str, str]) -> Reason:
        info = self._row(row)
        return Reason(info["code"], fill(info["cite"], values), fill(info["message"], values),
                      row)

    def _line_values(self, order_values: dict[str, str], line: Line,
                     ladder: LineLadder) -> dict[str, str]:
        c = line.classification
        return {**order_values,
                "item": str(line.item),
                "class": ladder.item_class or "unknown",
                "eccn": c.eccn if c and c.eccn else "not stated",
                "tpp": _number(ladder.tpp) if ladder.tpp is not None else "unknown",
                "tpp_unit": _number(c.tpp) if c and c.tpp is not None else "unknown",
                "units": _number(ladder.units),
                "pd": "stated"}

    def decide(self, order: Order, ladders: Ladders, picks: list[Pick]) -> Decision:
        facts = ladders.facts
        order_values = {**self.params,
                        **{k: _number(v) if k != "year" else str(v) for k, v in facts.items()}}
        lines = []
        for line, pick in zip(order.lines, picks, strict=True):
            values = self._line_values(order_values, line, pick.line)
            candidate = pick.candidate
            consumes: tuple[Consumption, ...] = ()
            if candidate.quota is not None and pick.amount is not None \
                    and pick.before is not None:
                after = pick.before + pick.amount
                values.update({"quota": candidate.quota, "cap": _number(candidate.cap),
                               "used": _number(pick.before), "after": _number(after),
                               "amount": _number(pick.amount),
                               "remaining": _number((candidate.cap or 0) - after)})
                consumes = (Consumption(candidate.quota, pick.amount, candidate.cap),)
            info = self._row(candidate.row)
            if info.get("outcome") not in (None, candidate.outcome.value):
                raise UndefinedResult(f"{self.regime.id}: row {candidate.row} is "
                                      f"{info.get('outcome')} in the data but "
                                      f"{candidate.outcome.value} in the policy's answer")
            reasons = (self._reason(candidate.row, values),
                       *(self._reason(row, values) for row in pick.line.extra))
            obligations = tuple({"code": o, **self.obligations.get(o, {})}
                                for o in info.get("obligations", ()))
            lines.append(LineDecision(id=line.id, outcome=candidate.outcome, reasons=reasons,
                                      obligations=obligations, consumes=consumes,
                                      item_class=pick.line.item_class,
                                      refused=pick.refused))
        return Decision(order=order.id, regime=self.regime.id, lines=tuple(lines),
                        parameters=dict(self.regime.parameters),
                        revision=self.regime.revision)
