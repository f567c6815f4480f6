"""Evaluation by context: what orders share is evaluated once, in slices of lines.

The policy's answer (contract 2, docs/policy-contract.md) holds no ledger
state, and each line's part of it depends on the order's facts and on that
line alone: its class, extra rows and ladder on what kind of line it is, its
measures on its quantity (``units``, and ``tpp``: quantity x TPP per unit).
So orders whose policy inputs differ only in their id and their lines (a
*context*: the same parties and their restrictions, date, route, and the
same licenses offered, with their terms) share the answer's facts and
ladders, and their lines of the same kind (every field but the id and the
quantity) share one answer line. `Evaluator` asks the engine once per
context, with one line of each kind (at most `LINES_PER_CALL` lines a call,
the order's facts identical in each, so an order of any size fits the
engine, and rego-cpp never meets the superlinear cost of a huge input), and
gives every order the answer it would have had alone, its own lines in
order with their own ids and measures.

Nothing is assumed that the answer does not show: a kind of line is reused
at another quantity only if its answer line carried exactly the measures
the contract defines for its own quantity; slices of one context must agree
on the facts; an answer that does not have the expected shape (undefined, a
line missing, a policy that breaks the contract) sends each order of its
context to the engine whole, alone, as before, so `parse_ladders` judges
that order's own answer and says what is wrong with it. An engine that
cannot answer holds every order of the context with its reason.

The answers are kept (`CACHE_LINES` answer lines, least recently used out)
across calls, keyed by the regime's revision and the context's whole input:
a license revoked, expired or changed gives another context, evaluated
afresh. Not for a sidecar (``keep_answers``): the policy it serves can change
under the process, so each call asks it again.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .engines.base import Answer, Engine, ask
from ._exceptions import EngineError
from ._regime import Regime

#: The most lines one evaluation carries (rego-cpp grows faster than the lines past ~200).
LINES_PER_CALL = 256
#: Answer lines kept for later orders (the contexts that hold them, least recently used out).
CACHE_LINES = 50_000

#: (regime, policy input) of one order.
Job = tuple[Regime, dict[str, Any]]
#: (True, the engine's `Answer`) or (False, why the engine could not answer).
Result = tuple[bool, Any]

_DUMP = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode


def context_key(regime: Regime, doc: dict[str, Any]) -> str:
    """What the answer's facts and ladders depend on: everything but the order's id and lines."""
    order = doc["order"]
    head = {k: v for k, v in order.items() if k not in ("id", "lines")}
    return regime.id + "@" + regime.revision + _DUMP({**doc, "order": head})


def line_key(line: dict[str, Any]) -> str:
    """What a line's class, extra rows and ladder depend on: every field but id and quantity."""
    return _DUMP({k: v for k, v in line.items() if k not in ("id", "quantity")})


@dataclass
class _Kind:
    """One kind of line in a context: its answer line, and whether its measures scale."""

    line: dict[str, Any]
    quantity: Any
    scales: bool


@dataclass
class _Context:
    """What the engine answered for a context: head, ladders, and a line per kind."""

    head: dict[str, Any]
    ladders: dict[str, Any]
    kinds: dict[str, _Kind] = field(default_factory=dict)
    decision_id: str | None = None


class _Malformed(Exception):
    """The answer for a synthetic input is not what the contract promises."""


def _unit_tpp(line: dict[str, Any]) -> Any:
    classification = line.get("classification")
    return classification.get("tpp") if isinstance(classification, dict) else None


def _measures_scale(doc_line: dict[str, Any], answered: dict[str, Any]) -> bool:
    """The answer line carries the contract's measures for the line's own quantity."""
    quantity, unit = doc_line.get("quantity"), _unit_tpp(doc_line)
    if answered.get("units") != quantity or type(quantity) is not int:
        return False
    tpp = answered.get("tpp")
    if unit is None:
        return tpp is None
    return type(unit) is int and type(tpp) is int and tpp == quantity * unit


class Evaluator:
    """Answers the policy inputs of many orders with one evaluation per context (see module)."""

    def __init__(self, engine: Callable[[], Engine],
                 lines_per_call: int = LINES_PER_CALL, cache_lines: int = CACHE_LINES,
                 keep_answers: bool = True) -> None:
        """``engine`` starts the engine, on first use: one that cannot start
        (`EngineUnavailable`) holds the orders asked of it, as any engine fault."""
        self._start = engine
        self._started: Engine | None = None
        self.lines_per_call = max(1, lines_per_call)
        self.cache_lines = cache_lines
        #: Keep answers across calls: not when the policy lives outside the process (a
        #: sidecar's bundle can change under it; each call asks it afresh).
        self.keep_answers = keep_answers
        self._cache: OrderedDict[str, _Context] = OrderedDict()
        self._cached = 0
        #: Engine evaluations made, the lines they carried, and the orders answered.
        self.calls = 0
        self.lines = 0
        self.orders = 0

    @property
    def engine(self) -> Engine:
        if self._started is None:
            self._started = self._start()
        return self._started

    def answers(self, jobs: Sequence[Job]) -> list[Result]:
        """The answer for each job, in order: as if each order had been evaluated alone."""
        if not self.keep_answers:
            self._cache.clear()
            self._cached = 0
        out: list[Result | None] = [None] * len(jobs)
        groups: dict[str, list[int]] = {}
        for i, (regime, doc) in enumerate(jobs):
            order = doc.get("order")
            if not isinstance(order, dict) or not isinstance(order.get("lines"), list) \
                    or not order["lines"]:
                out[i] = self._whole(regime, doc)
                continue
            groups.setdefault(context_key(regime, doc), []).append(i)
        for key, members in groups.items():
            kinds = [[line_key(line) for line in jobs[i][1]["order"]["lines"]]
                     for i in members]
            try:
                context = self._context(key, [jobs[i] for i in members], kinds)
            except EngineError as exc:
                for i in members:
                    out[i] = (False, str(exc))
                continue
            except _Malformed:
                context = None
            for i, keys in zip(members, kinds, strict=True):
                regime, doc = jobs[i]
                answer = self._assemble(context, doc, keys) if context is not None else None
                out[i] = (True, answer) if answer is not None else self._whole(regime, doc)
        self.orders += len(jobs)
        return [r if r is not None else (False, "not evaluated") for r in out]

    # -- one context ---------------------------------------------------------

    def _context(self, key: str, jobs: list[Job], kinds: list[list[str]]) -> _Context:
        """The context's answer, with every kind of line its orders hold (evaluating those
        not yet known, in slices); ``kinds``: each order's `line_key` per line."""
        context = self._cache.get(key)
        if context is not None:
            self._cache.move_to_end(key)
        missing: dict[str, dict[str, Any]] = {}
        for (_, doc), keys in zip(jobs, kinds, strict=True):
            for line, k in zip(doc["order"]["lines"], keys, strict=True):
                if (context is None or k not in context.kinds) and k not in missing:
                    missing[k] = line
        regime, doc = jobs[0]
        pending = list(missing.items())
        try:
            for start in range(0, len(pending), self.lines_per_call):
                part = pending[start:start + self.lines_per_call]
                context = self._slice(regime, doc, part, context)
        except (EngineError, _Malformed):
            dropped = self._cache.pop(key, None)  # nothing half-answered is kept
            if dropped is not None:
                self._cached -= len(dropped.kinds) - sum(k in dropped.kinds for k in missing)
            raise
        assert context is not None
        if key not in self._cache:
            self._cache[key] = context
        self._cached += len(missing)
        while self._cached > self.cache_lines and len(self._cache) > 1:
            _, dropped = self._cache.popitem(last=False)
            self._cached -= len(dropped.kinds)
        return context

    def _slice(self, regime: Regime, doc: dict[str, Any], part: list[tuple[str, dict[str, Any]]],
               context: _Context | None) -> _Context:
        """Evaluate one slice of a context's kinds of line (the order's facts unchanged)."""
        lines = [{**line, "id": str(n)} for n, (_, line) in enumerate(part, 1)]
        answer = ask(self.engine, regime, "ladders", {**doc, "order": {**doc["order"],
                                                                     "lines": lines}})
        self.calls += 1
        self.lines += len(lines)
        raw = answer.value
        if not isinstance(raw, dict) or not isinstance(raw.get("ladders"), dict) \
                or not isinstance(raw.get("lines"), list) or len(raw["lines"]) != len(part):
            raise _Malformed()
        head = {k: v for k, v in raw.items() if k not in ("ladders", "lines")}
        if context is None:
            context = _Context(head, dict(raw["ladders"]), decision_id=answer.decision_id)
        elif head != context.head:
            raise _Malformed()
        else:
            context.ladders.update(raw["ladders"])
        for n, ((k, line), answered) in enumerate(zip(part, raw["lines"], strict=True), 1):
            if not isinstance(answered, dict) or answered.get("id") != str(n):
                raise _Malformed()
            context.kinds[k] = _Kind(answered, line.get("quantity"),
                                     _measures_scale(line, answered))
        return context

    @staticmethod
    def _assemble(context: _Context, doc: dict[str, Any], keys: list[str]) -> Answer | None:
        """One order's answer from its context's (``keys``: its lines' kinds); None if a
        line's measures cannot be had."""
        lines = []
        for line, k in zip(doc["order"]["lines"], keys, strict=True):
            kind = context.kinds[k]
            quantity = line["quantity"]
            if quantity == kind.quantity:
                lines.append({**kind.line, "id": line["id"]})
            elif kind.scales:
                unit = _unit_tpp(line)
                lines.append({**kind.line, "id": line["id"], "units": quantity,
                              "tpp": None if unit is None else quantity * unit})
            else:
                return None
        return Answer({**context.head, "ladders": context.ladders, "lines": lines},
                      context.decision_id)

    def _whole(self, regime: Regime, doc: dict[str, Any]) -> Result:
        """The order alone, its whole input in one evaluation (the contract's own way)."""
        self.calls += 1
        lines = doc.get("order", {}).get("lines") if isinstance(doc.get("order"), dict) else None
        self.lines += len(lines) if isinstance(lines, list) else 0
        try:
            return True, ask(self.engine, regime, "ladders", doc)
        except EngineError as exc:
            return False, str(exc)
