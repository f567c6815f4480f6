"""The impact report: what a proposed rule does to an order book, in numbers.

Two *sides* decide the same order book: a regime, optionally with what-if
parameter overrides (``us-ai-diffusion-2025:lpp_cap_tpp=7916000``). Each
side runs through `Gate.batch` in what-if mode on a throwaway ledger, so
quotas deplete in book order as they would, and nothing is audited or told
to the host. This module only counts what the decisions say: every rule and
number stays in the regimes.

The order book comes from files (any adapter format) or from the ledger:
the latest policy input, in the decision log, of every order the ledger
still holds as reserved. Quota the ledger holds as committed (shipped
orders) is copied into each side's throwaway ledger, so an open order sees
what shipments already used of the keys both regimes name alike.

The report (`build_report`) is one JSON-ready document; `render_text`
prints it for a terminal and `exportgate._impact_html` draws it.

An order held on either side (the engine, the sidecar or the ledger could
not answer: every line ``license`` with an ``error``) says nothing about the
rule: it is left out of every count and comparison, listed under ``held``,
and the terminal report says so before anything else; ``exportgate diff``
then exits 3.
"""
from __future__ import annotations

import json
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, TextIO

import yaml

from . import __version__
from ._adapter import Record
from ._exceptions import ConfigError, ExportgateError, InputError
from ._gate import Checked, Gate
from ._json import loads
from .ledger.base import COMMITTED, RESERVED
from .ledger.urls import open_ledger
from ._model import Consumption, Order, Outcome
from ._plugins import Plugins
from ._regime import ROOT, Regime, dates_as_text
from ._settings import Settings

#: The ledger each side decides on when nothing needs to be carried over.
WHAT_IF_LEDGER = "sqlite:///:memory:"
REPORT_VERSION = 1
#: Held orders listed by name in the report (all are counted).
HELD_SHOWN = 20
#: From this share of its cap used (in %), a key that turned a line away is said to run out.
RUNS_OUT_SHARE = 99.5
OUTCOMES = tuple(o.value for o in Outcome)


# -- sides ---------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One side of the comparison: a regime and the parameters overridden for it."""

    spec: str
    regime: str
    overrides: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        if not self.overrides:
            return self.regime
        return f"{self.regime} with " + ", ".join(
            f"{k}={_show_value(v)}" for k, v in self.overrides.items())


def _show_value(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    return str(value)


def _split_top(text: str) -> Iterator[str]:
    """Split on commas outside brackets and braces (a value may be a YAML list or mapping)."""
    depth, start = 0, 0
    for i, ch in enumerate(text):
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            yield text[start:i]
            start = i + 1
    yield text[start:]


def parse_side(spec: str) -> Side:
    """``REGIME`` or ``REGIME:NAME=VALUE,NAME=VALUE``; values are YAML scalars or flow values."""
    regime, sep, rest = spec.partition(":")
    regime = regime.strip()
    if not regime:
        raise ConfigError(f"{spec!r}: name a regime, then optional parameters "
                          "(REGIME:NAME=VALUE,...)")
    overrides: dict[str, Any] = {}
    if sep:
        for item in _split_top(rest):
            name, eq, raw = item.partition("=")
            name = name.strip()
            if not eq or not name or not raw.strip():
                raise ConfigError(f"{spec}: write each parameter as NAME=VALUE, got {item!r}")
            if name in overrides:
                raise ConfigError(f"{spec}: parameter {name} is given twice")
            try:
                overrides[name] = dates_as_text(yaml.safe_load(raw))
            except (yaml.YAMLError, ValueError) as exc:  # ValueError: a date like 2025-13-01
                raise ConfigError(f"{spec}: {name}: not a valid value ({exc})") from None
    return Side(spec=spec, regime=regime, overrides=overrides)


def side_settings(settings: Settings, side: Side, base: Plugins) -> Settings:
    """The configuration with the side's overrides merged into its ``parameters:``.

    The overrides are checked as the configuration's are, against the
    regime's parameter schema (`Regime.with_parameters`): a ConfigError
    names the side, the parameter and what is wrong (exit 2), before
    anything is decided.
    """
    regime = base.regime(side.regime)
    if not side.overrides:
        return settings
    try:
        regime.with_parameters(side.overrides)
    except ConfigError as exc:
        raise ConfigError(f"{side.spec}: {exc}") from None
    merged = {**settings.parameters}
    merged[side.regime] = {**merged.get(side.regime, {}), **side.overrides}
    return replace(settings, parameters=merged)


# -- the order book --------------------------------------------------------------


@dataclass
class OrderBook:
    """The records both sides decide, and where they came from.

    ``records`` is read once per side and twice by each batch (validate, then
    decide): a list, or an object whose ``__iter__`` starts afresh.
    """

    records: Iterable[Record]
    source: dict[str, Any]
    #: Committed reservations to carry into each side's ledger:
    #: order id -> [(line id, consumption)].
    committed: dict[str, list[tuple[str, Consumption]]] = field(default_factory=dict)


class _Files:
    """The records of several files in turn, each streamed afresh on every iteration."""

    def __init__(self, files: list[Any]) -> None:
        self.files = files

    def __iter__(self) -> Iterator[Record]:
        for f in self.files:
            yield from f


def book_from_files(paths: list[str], plugins: Plugins, adapter: str | None) -> OrderBook:
    """Records from files, split as ``exportgate batch`` splits them, streamed."""
    from ._input import open_records

    files = _Files([open_records(path, plugins, adapter) for path in paths])
    return OrderBook(files, {"kind": "files", "files": list(paths)})


def latest_inputs(audit_log: Path, wanted: set[str]) -> tuple[dict[str, dict[str, Any]], int]:
    """The latest policy input recorded for each wanted order id, and the unreadable lines.

    Later records win (the log is appended in decision order). Lines that
    are not JSON records (a torn write, a key given twice) are counted and
    skipped; ``exportgate audit verify`` is the place to judge them.
    """
    found: dict[str, dict[str, Any]] = {}
    unreadable = 0
    try:
        handle = audit_log.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"audit log {audit_log}: cannot read ({exc.strerror or exc})") \
            from None
    with handle:
        for raw in handle:
            if not raw.strip():
                continue
            try:
                rec = loads(raw)  # strict: a line that repeats a key is unreadable
                order_id = rec["order_id"]
                doc = rec["input"]["order"]
            except (ValueError, KeyError, TypeError):
                unreadable += 1
                continue
            if order_id in wanted and isinstance(doc, dict):
                found[str(order_id)] = doc
    return found, unreadable


def book_from_ledger(settings: Settings, ledger_url: str | None,
                     audit_log: str | Path | None) -> OrderBook:
    """Every order the ledger holds as reserved, as its latest policy input says it.

    The orders come in the ledger's commit order. An open order the log does
    not record cannot be screened: it is listed in ``source.missing``.
    """
    url = ledger_url or settings.ledger
    log = Path(audit_log) if audit_log else settings.audit_log
    if log is None:
        raise ConfigError("the open orders are read from the decision log: set audit_log in "
                          "the configuration, or give --audit-log")
    ledger = open_ledger(url, settings.ledger_timeout)
    try:
        orders = ledger.orders()
        open_ids = [o["order"] for o in orders if o["state"] == RESERVED]
        committed_ids = {o["order"] for o in orders if o["state"] == COMMITTED}
        committed: dict[str, list[tuple[str, Consumption]]] = defaultdict(list)
        for row in ledger.reservations():
            if row["state"] == COMMITTED and row["order"] in committed_ids:
                committed[row["order"]].append(
                    (str(row["line"]), Consumption(row["quota"], int(row["tpp"]),
                                                   None if row["cap"] is None
                                                   else int(row["cap"]))))
    finally:
        ledger.close()
    inputs, unreadable = latest_inputs(log, set(open_ids))
    records = [Record.from_value(inputs[oid], f"{log} (order {oid})")
               for oid in open_ids if oid in inputs]
    missing = [oid for oid in open_ids if oid not in inputs]
    return OrderBook(records, {"kind": "ledger", "ledger": url, "audit_log": str(log),
                               "open_orders": len(open_ids), "missing": missing,
                               "unreadable_log_lines": unreadable,
                               "committed_orders": len(committed)},
                     dict(committed))


# -- deciding -------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A line turned away by a quota key that earlier orders had used up."""

    order: int
    order_id: str
    line: str
    quota: str
    tpp: int


@dataclass(frozen=True)
class LineResult:
    """What the report keeps of a line's decision."""

    id: str
    outcome: str
    reason: str | None
    tpp: int | None
    consumes: tuple[Consumption, ...]


@dataclass(frozen=True)
class OrderResult:
    """What the report keeps of an order and its decision on one side (a book may be large)."""

    order: str
    country: str
    consignee: str
    consignee_name: str | None
    outcome: str
    error: str | None
    lines: tuple[LineResult, ...]


@dataclass
class SideRun:
    """One side's decisions, in book order, and the regime (with overrides) that made them."""

    side: Side
    regime: Regime
    results: list[OrderResult]
    refusals: list[Refusal]
    h100_tpp: int


def _seed(url: str, committed: dict[str, list[tuple[str, Consumption]]]) -> None:
    ledger = open_ledger(url)
    try:
        for order_id, consumes in committed.items():
            with ledger.hold(order_id, [c.quota for _, c in consumes]) as hold:
                hold.reserve(consumes, "committed", "committed", {})
            ledger.commit(order_id)
    finally:
        ledger.close()


def line_tpp(order: Order, index: int) -> int | None:
    """Quantity x TPP per unit, when the (enriched) line states its TPP."""
    line = order.lines[index]
    c = line.classification
    return None if c is None or c.tpp is None else line.quantity * c.tpp


def refusals(index: int, checked: Checked) -> list[Refusal]:
    """The lines of one order that a quota key turned away because earlier orders used it up.

    The decision records, per line, the allowances the line did not fit
    (``LineDecision.refused``: quota, amount, cap); a key counts as lost to
    earlier orders when the line would have fitted it on its own.
    """
    if checked.decision.error is not None:
        return []
    out: list[Refusal] = []
    for ld in checked.decision.lines:
        lost = next((r for r in ld.refused if r.cap is not None and r.tpp <= r.cap), None)
        if lost is not None:
            out.append(Refusal(index, checked.order.id, ld.id, lost.quota, lost.tpp))
    return out


def result_of(checked: Checked) -> OrderResult:
    order, decision = checked.order, checked.decision
    return OrderResult(
        order=decision.order, country=order.ship_to.country, consignee=order.consignee.id,
        consignee_name=order.consignee.name, outcome=decision.outcome.value,
        error=decision.error,
        lines=tuple(LineResult(ld.id, ld.outcome.value,
                               ld.reasons[0].code if ld.reasons else None,
                               line_tpp(order, j), ld.consumes)
                    for j, ld in enumerate(decision.lines)))


def run_side(settings: Settings, side: Side, base: Plugins, book: OrderBook,
             adapter: str | None, workers: int | None = None) -> SideRun:
    """Decide the book under one side, on its own throwaway ledger.

    ``workers`` is the batch's: engine worker processes (None lets the batch
    choose). Each worker loads the side's configuration, overrides included.
    """
    own = side_settings(settings, side, base)
    plugins = Plugins(own)
    results: list[OrderResult] = []
    lost: list[Refusal] = []
    with tempfile.TemporaryDirectory(prefix="exportgate-impact-") as tmp:
        url = WHAT_IF_LEDGER
        if book.committed:
            url = f"sqlite:///{Path(tmp) / 'what-if.db'}"
            _seed(url, book.committed)
        gate = Gate(own, regime_id=side.regime, ledger_url=url, plugins=plugins, what_if=True)
        try:
            regime = plugins.regime(side.regime)
            for i, checked in enumerate(gate.batch(book.records, adapter, workers=workers)):
                results.append(result_of(checked))
                lost.extend(refusals(i, checked))
        finally:
            gate.close()
    units = regime.data[ROOT]["tables"]["lib"]["units"]
    return SideRun(side, regime, results, lost, int(units["h100_tpp"]))


# -- counting -------------------------------------------------------------------


@dataclass(frozen=True)
class LineFact:
    order: int
    order_id: str
    line_id: str
    country: str
    consignee: str
    consignee_name: str | None
    tpp: int | None
    before: str
    after: str
    reason_before: str | None
    reason_after: str | None


def _facts(before: SideRun, after: SideRun) -> list[LineFact]:
    """The lines of the orders decided on both sides (held orders are no rule's effect)."""
    out = []
    for i, (a, b) in enumerate(zip(before.results, after.results, strict=True)):
        if a.order != b.order:
            raise ExportgateError(f"the sides decided different orders ({a.order}, {b.order})")
        if a.error is not None or b.error is not None:
            continue
        for la, lb in zip(a.lines, b.lines, strict=True):
            out.append(LineFact(
                order=i, order_id=a.order, line_id=la.id, country=a.country,
                consignee=a.consignee, consignee_name=a.consignee_name, tpp=la.tpp,
                before=la.outcome, after=lb.outcome, reason_before=la.reason,
                reason_after=lb.reason))
    return out


def _h100(tpp: int, h100_tpp: int) -> float:
    return round(tpp / h100_tpp, 1)


def _outcome_counts(facts: list[LineFact], side: str, h100_tpp: int,
                    order_outcomes: list[str]) -> dict[str, dict[str, Any]]:
    lines: Counter[str] = Counter()
    tpp: Counter[str] = Counter()
    for f in facts:
        o = getattr(f, side)
        lines[o] += 1
        tpp[o] += f.tpp or 0
    orders = Counter(order_outcomes)
    return {o: {"lines": lines[o], "orders": orders[o], "tpp": tpp[o],
                "h100eq": _h100(tpp[o], h100_tpp)} for o in OUTCOMES}


def _transitions(facts: list[LineFact], h100_tpp: int,
                 changed_only: bool = False) -> list[dict[str, Any]]:
    lines: Counter[tuple[str, str]] = Counter()
    tpp: Counter[tuple[str, str]] = Counter()
    orders: dict[tuple[str, str], set[int]] = defaultdict(set)
    for f in facts:
        key = (f.before, f.after)
        if changed_only and f.before == f.after:
            continue
        lines[key] += 1
        tpp[key] += f.tpp or 0
        orders[key].add(f.order)
    rank = {o: n for n, o in enumerate(OUTCOMES)}
    keys = sorted(lines, key=lambda k: (k[0] == k[1], -lines[k], rank[k[0]], rank[k[1]]))
    return [{"from": a, "to": b, "changed": a != b, "lines": lines[(a, b)],
             "orders": len(orders[(a, b)]), "tpp": tpp[(a, b)],
             "h100eq": _h100(tpp[(a, b)], h100_tpp)} for a, b in keys]


def _group(facts: list[LineFact], key: str, h100_tpp: int,
           names: dict[str, str | None] | None = None) -> list[dict[str, Any]]:
    groups: dict[str, list[LineFact]] = defaultdict(list)
    for f in facts:
        groups[getattr(f, key)].append(f)
    out = []
    for name, members in groups.items():
        changed = [f for f in members if f.before != f.after]
        entry: dict[str, Any] = {key: name}
        if names is not None:
            entry["name"] = names.get(name)
        entry.update({
            "lines": len(members), "orders": len({f.order for f in members}),
            "tpp": sum(f.tpp or 0 for f in members),
            "changed_lines": len(changed), "changed_orders": len({f.order for f in changed}),
            "changed_tpp": sum(f.tpp or 0 for f in changed),
            "before": dict(Counter(f.before for f in members)),
            "after": dict(Counter(f.after for f in members)),
            "transitions": [{k: t[k] for k in ("from", "to", "lines", "orders", "tpp")}
                            for t in _transitions(changed, h100_tpp)],
        })
        out.append(entry)
    out.sort(key=lambda e: (-e["changed_lines"], -e["changed_tpp"], -e["lines"], e[key]))
    return out


def quota_use(run: SideRun, book: OrderBook) -> list[dict[str, Any]]:
    """Per quota key: cap, use (shipped and screened), and where it ran out (`refusals`)."""
    used: Counter[str] = Counter()
    committed: Counter[str] = Counter()
    cap: dict[str, int | None] = {}
    orders: dict[str, set[int]] = defaultdict(set)
    for consumes in book.committed.values():
        for _, c in consumes:
            committed[c.quota] += c.tpp
            used[c.quota] += c.tpp
            if c.cap is not None:
                cap[c.quota] = c.cap
    for i, result in enumerate(run.results):
        for line in result.lines:
            for c in line.consumes:
                used[c.quota] += c.tpp
                orders[c.quota].add(i)
                if c.cap is not None:
                    cap[c.quota] = c.cap
    refused: dict[str, list[Refusal]] = defaultdict(list)
    for r in run.refusals:
        refused[r.quota].append(r)
    out = []
    for k in sorted(set(used) | set(refused)):
        c_k = cap.get(k)
        hits = refused.get(k, [])
        entry: dict[str, Any] = {
            "quota": k, "cap": c_k, "used": used[k], "committed": committed[k],
            "screened": used[k] - committed[k], "orders": len(orders[k]),
            "remaining": None if c_k is None else c_k - used[k],
            "share": None if not c_k else round(used[k] / c_k, 4),
            "ran_out": None,
        }
        if hits:
            entry["ran_out"] = {"order": hits[0].order_id, "line": hits[0].line,
                                "refused_lines": len(hits),
                                "refused_orders": len({h.order for h in hits}),
                                "refused_tpp": sum(h.tpp for h in hits)}
        out.append(entry)
    return out


def _side_doc(run: SideRun) -> dict[str, Any]:
    return {"spec": run.side.spec, "regime": run.side.regime, "label": run.side.label,
            "title": run.regime.title, "status": run.regime.status,
            "effective_from": run.regime.effective_from,
            "effective_to": run.regime.effective_to,
            "overrides": dict(run.side.overrides),
            "parameters": dict(run.regime.parameters), "revision": run.regime.revision}


def build_report(before: SideRun, after: SideRun, book: OrderBook,
                 top: int = 10, made: datetime | None = None) -> dict[str, Any]:
    """The whole impact report as one JSON-ready document (docs/impact.md).

    ``made`` (default: now) and the exportgate version are the report's
    provenance, with each side's regime ``revision`` (its policies and data,
    overrides applied): what a memo the report is attached to must cite.
    """
    made = made or datetime.now(timezone.utc)
    h = before.h100_tpp
    facts = _facts(before, after)
    decided = [(a, b) for a, b in zip(before.results, after.results, strict=True)
               if a.error is None and b.error is None]
    order_before = [a.outcome for a, _ in decided]
    order_after = [b.outcome for _, b in decided]
    changed = [f for f in facts if f.before != f.after]
    names = {f.consignee: f.consignee_name for f in facts}
    consignees = _group(facts, "consignee", h, names)
    order_moves: Counter[tuple[str, str]] = Counter(zip(order_before, order_after, strict=True))
    by_order: dict[int, list[LineFact]] = defaultdict(list)
    for f in facts:
        by_order[f.order].append(f)
    orders = []
    for i, (a, b) in enumerate(zip(before.results, after.results, strict=True)):
        changes = [{"line": f.line_id, "before": f.before, "after": f.after,
                    "reason_before": f.reason_before, "reason_after": f.reason_after,
                    "tpp": f.tpp}
                   for f in by_order[i]
                   if f.before != f.after or f.reason_before != f.reason_after]
        orders.append({"order": a.order, "country": a.country, "consignee": a.consignee,
                       "before": a.outcome, "after": b.outcome, "changes": changes,
                       "held": a.error is not None or b.error is not None,
                       "errors": [e for e in (a.error, b.error) if e]})
    held = [(a, b) for a, b in zip(before.results, after.results, strict=True)
            if a.error is not None or b.error is not None]
    quota = {"before": quota_use(before, book), "after": quota_use(after, book)}
    ran_out = [{"side": side, "quota": q["quota"], "cap": q["cap"], "share": q["share"],
                **q["ran_out"]}
               for side in ("before", "after") for q in quota[side] if q["ran_out"]]
    every_line = [line for r in before.results for line in r.lines]
    total_tpp = sum(line.tpp or 0 for line in every_line)
    return {
        "report": "exportgate-impact", "version": REPORT_VERSION,
        "made": made.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "exportgate": __version__,
        "held": {"orders": len(held), "lines": sum(len(a.lines) for a, _ in held),
                 "before": sum(1 for a, _ in held if a.error is not None),
                 "after": sum(1 for _, b in held if b.error is not None),
                 "first": [{"order": a.order,
                            "before": a.error, "after": b.error}
                           for a, b in held[:HELD_SHOWN]]},
        "sides": {"before": _side_doc(before), "after": _side_doc(after)},
        "book": {**book.source, "orders": len(before.results), "lines": len(every_line),
                 "tpp": total_tpp, "h100eq": _h100(total_tpp, h),
                 "lines_without_tpp": sum(1 for line in every_line if line.tpp is None)},
        "units": {"h100_tpp": h},
        "outcomes": {"before": _outcome_counts(facts, "before", h, order_before),
                     "after": _outcome_counts(facts, "after", h, order_after)},
        "changed": {"lines": len(changed), "orders": len({f.order for f in changed}),
                    "tpp": sum(f.tpp or 0 for f in changed),
                    "h100eq": _h100(sum(f.tpp or 0 for f in changed), h)},
        "transitions": _transitions(facts, h),
        "order_transitions": [{"from": a, "to": b, "changed": a != b, "orders": n}
                              for (a, b), n in sorted(order_moves.items(),
                                                      key=lambda kv: (kv[0][0] == kv[0][1],
                                                                      -kv[1], kv[0]))],
        "countries": _group(facts, "country", h),
        "consignees": consignees[:top],
        "consignees_total": len(consignees),
        "consignees_changed": sum(1 for c in consignees if c["changed_lines"]),
        "quota": quota,
        "ran_out": ran_out,
        "orders": orders,
    }


def impact(settings: Settings, book: OrderBook, before: Side, after: Side,
           adapter: str | None = None, top: int = 10,
           base: Plugins | None = None, workers: int | None = None) -> dict[str, Any]:
    """Decide the book under both sides and build the report."""
    base = base or Plugins(settings)
    runs = [run_side(settings, side, base, book, adapter, workers) for side in (before, after)]
    return build_report(runs[0], runs[1], book, top)


# -- the terminal ----------------------------------------------------------------


def _n(x: int | float) -> str:
    return f"{x:,.1f}" if isinstance(x, float) else f"{x:,}"


def _count(n: int, what: str) -> str:
    return f"{n:,} {what}" + ("" if n == 1 else "s")


def _move(t: dict[str, Any], h100: bool = True) -> str:
    text = (f"{t['from']} -> {t['to']}: {_count(t['lines'], 'line')}, "
            f"{_count(t['orders'], 'order')}")
    if h100 and t.get("tpp"):
        text += f", {_n(t['tpp'])} TPP ({_n(t['h100eq'])} H100-eq)"
    return text


def turned_away(share: float | None, order: str, line: str | None = None) -> str:
    """What a quota key that turned lines away did, said no stronger than it was.

    "runs out at order X" only when the key ends used up (`RUNS_OUT_SHARE`);
    a key with room left, too little for the line, "turns order X away" and
    says how much of its cap was used.
    """
    at = f"order {order}" + (f" line {line}" if line else "")
    used = 100 * (share or 0)
    if used >= RUNS_OUT_SHARE:
        return f"runs out at {at}"
    return f"turns {at} away, {used:.0f}% of its cap used"


def title(report: dict[str, Any]) -> str:
    """The report's title, naming the sides as the command line does.

    ``--regime A --against B`` reads "A against B": the rule in force first.
    """
    sides = report["sides"]
    return f"Impact report: {sides['before']['label']} against {sides['after']['label']}"


def render_text(report: dict[str, Any], out: TextIO, detail: bool = False,
                detail_limit: int = 20, top: int = 10) -> None:
    """Summary first, then the orders that change (the first ``detail_limit`` unless ``detail``)."""
    sides, book = report["sides"], report["book"]
    w = out.write
    held = report["held"]
    if held["orders"]:
        w(f"HELD: {_count(held['orders'], 'order')} of {_n(book['orders'])} could not be "
          "decided (the engine, the sidecar or the ledger did not answer): they are no "
          "effect of the rule, and every count below leaves them out\n")
        for h in held["first"]:
            for side in ("before", "after"):
                if h[side] is not None:
                    w(f"  order {h['order']} ({side}): {h[side]}\n")
        if held["orders"] > len(held["first"]):
            w(f"  ... and {_n(held['orders'] - len(held['first']))} more "
              "(--json lists every order)\n")
        w("\n")
    w(f"{title(report)}\n"
      f"  before (--regime):  {sides['before']['label']}, revision "
      f"{sides['before']['revision']}\n"
      f"  after  (--against): {sides['after']['label']}, revision "
      f"{sides['after']['revision']}\n"
      f"Made {report['made']} by exportgate {report['exportgate']}\n")
    where = ", ".join(book.get("files", [])) if book["kind"] == "files" else \
        f"open orders in {book['ledger']} (inputs from {book['audit_log']})"
    w(f"Order book: {_n(book['orders'])} orders, {_n(book['lines'])} lines, "
      f"{_n(book['tpp'])} TPP ({_n(book['h100eq'])} H100-eq); {where}\n")
    if book["kind"] == "ledger":
        if book["missing"]:
            w(f"  not in the decision log, not screened: {', '.join(book['missing'])}\n")
        if book["committed_orders"]:
            w(f"  quota committed by {book['committed_orders']} shipped orders counts on "
              "both sides\n")
    w("\nOutcomes            before                    after\n"
      "            lines  orders  H100-eq     lines  orders  H100-eq\n")
    ob, oa = report["outcomes"]["before"], report["outcomes"]["after"]
    for o in OUTCOMES:
        w(f"  {o:8} {ob[o]['lines']:>7,} {ob[o]['orders']:>7,} {ob[o]['h100eq']:>8,.0f}   "
          f"{oa[o]['lines']:>7,} {oa[o]['orders']:>7,} {oa[o]['h100eq']:>8,.0f}\n")
    ch = report["changed"]
    w(f"\nChanges: {_count(ch['lines'], 'line')} in {_count(ch['orders'], 'order')} "
      "change outcome "
      f"({_n(ch['tpp'])} TPP, {_n(ch['h100eq'])} H100-eq)\n")
    for t in report["transitions"]:
        if t["changed"]:
            w(f"  {_move(t)}\n")
    moved_orders = [t for t in report["order_transitions"] if t["changed"]]
    if moved_orders:
        w("  orders by their outcome: " + "; ".join(
            f"{t['from']} -> {t['to']} {_n(t['orders'])}" for t in moved_orders) + "\n")
    countries = [c for c in report["countries"] if c["changed_lines"]]
    if countries:
        w("\nBy destination country\n")
        for c in countries:
            w(f"  {c['country']:3} {_n(c['changed_lines'])} of {_count(c['lines'], 'line')}, "
              f"{_count(c['changed_orders'], 'order')}: "
              + "; ".join(_move(t, h100=False).split(":")[0] + f" {t['lines']}"
                          for t in c["transitions"]) + "\n")
    consignees = [c for c in report["consignees"] if c["changed_lines"]]
    if consignees:
        changing, total = report["consignees_changed"], report["consignees_total"]
        more = "" if len(consignees) == changing else f"; the {len(consignees)} that change most"
        w(f"\nBy consignee ({changing:,} of {total:,} change{more})\n")
        for c in consignees:
            name = f" ({c['name']})" if c.get("name") else ""
            w(f"  {c['consignee']}{name}: {_n(c['changed_lines'])} of "
              f"{_count(c['lines'], 'line')}, {_count(c['changed_orders'], 'order')}: "
              + "; ".join(_move(t, h100=False).split(":")[0] + f" {t['lines']}"
                          for t in c["transitions"]) + "\n")
    if report["ran_out"]:
        w("\nQuota that turns lines away (most lines turned away first)\n")
        for side in ("before", "after"):
            hits = sorted((r for r in report["ran_out"] if r["side"] == side),
                          key=lambda r: (-r["refused_lines"], r["quota"]))
            for r in hits if detail else hits[:top]:
                w(f"  {side:6} {r['quota']} (cap {_n(r['cap'])} TPP): "
                  f"{turned_away(r['share'], r['order'], r['line'])}; "
                  f"{_count(r['refused_lines'], 'line')} in "
                  f"{_count(r['refused_orders'], 'order')} turned away\n")
            if not detail and len(hits) > top:
                w(f"  {side:6} ... and {len(hits) - top} more keys (--detail for all)\n")
    changed = [o for o in report["orders"] if o["changes"]]
    shown = changed if detail else changed[:detail_limit]
    w(f"\nOrder by order: {len(changed)} of {len(report['orders'])} orders change in outcome "
      "or deciding reason"
      + ("" if len(shown) == len(changed) else f" (the first {len(shown)}; --detail for all)")
      + "\n")
    for entry in shown:
        w(f"order {entry['order']} ({entry['country']}, {entry['consignee']}): "
          f"{entry['before']} -> {entry['after']}\n")
        for c in entry["changes"]:
            w(f"  line {c['line']}: {c['before']} ({c['reason_before']}) -> "
              f"{c['after']} ({c['reason_after']})\n")
