"""The gate: one order in, one decision out, quota reserved, host told.

`Gate` is the Python API a host embeds and the engine behind the command
line. Per order: adapt, validate, enrich, check completeness (input errors
stop here: nothing is evaluated or reserved); evaluate the regime once, which
gives every line its ladder (policy contract version 2); in one ledger
transaction lock the ladders' quota keys, read what other orders hold, fold
the lines (`_fold`) and reserve what they take; append the audit record; call
the ``exportgate_decision`` hook. If the engine or the ledger cannot answer,
every line is ``license`` with an ``error``, and the ledger is left as it was.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Iterator, TextIO

from . import _enrich

from .ledger import licenses as _licenses
from ._adapter import Adapter, Record
from ._catalog import ItemCatalog, item_catalog
from .engines.base import Engine, ask
from ._exceptions import (AuditError, EngineError, ExportgateError, InputError, LedgerError,
                          PluginError, UnknownRegimeError)
from .ledger.base import Hold, SqlLedger
from .ledger.urls import open_ledger
from ._model import Decision, Order
from ._plugins import Plugins
from ._fold import Renderer, fold
from ._policy import Ladders, parse_ladders, policy_input
from ._regime import Regime
from ._settings import Settings
from ._validate import order_from_dict

#: Called after each decision is recorded: (order, decision, policy input,
#: evaluation seconds). The audit log is one such recorder.
Recorder = Callable[[Order, Decision, dict[str, Any], float], None]


@dataclass
class Checked:
    """One decided order, with what the host needs to act on it."""

    order: Order
    decision: Decision
    writeback: dict[str, Any] | None = None
    plugin_errors: list[PluginError] = field(default_factory=list)
    #: The audit log could not take the decision's record: the decision is
    #: held and nothing of it was reserved.
    audit_error: AuditError | None = None


class Gate:
    """Checks orders under a regime (fixed, or picked by the calendar) against one ledger."""

    def __init__(self, settings: Settings | None = None, *, regime_id: str | None = None,
                 ledger_url: str | None = None, engine: str | Engine | None = None,
                 plugins: Plugins | None = None, what_if: bool = False) -> None:
        """``engine`` is a registered engine's name, or an engine object (e.g. a
        `FakeEngine` in tests); ``what_if`` decides without telling anyone: no
        audit record, no host callback."""
        self.settings = settings or Settings.load()
        self.what_if = what_if
        self.plugins = plugins or Plugins(self.settings)
        self.fixed_regime = self.plugins.regime(regime_id) if regime_id else None
        self.ledger_url = ledger_url or self.settings.ledger
        self._engine: Engine | None = None if engine is None or isinstance(engine, str) \
            else engine
        self.engine_name = engine if isinstance(engine, str) else \
            (self._engine.name if self._engine else self.settings.engine_name)
        self._ledger: SqlLedger | None = None
        self._renderers: dict[str, Renderer] = {}
        self._license_cache = _licenses.Cache()
        self._catalog: ItemCatalog | None = None
        self.recorders: list[Recorder] = []
        if self.settings.audit_log is not None and not what_if:
            from .audit.log import AuditLog
            self.recorders.append(AuditLog.from_settings(self.settings, self.plugins.regimes,
                                                         self.engine_name))
        for entry in self.settings.calendar:
            self.plugins.regime(entry["regime"])

    # -- parts -----------------------------------------------------------

    @property
    def ledger(self) -> SqlLedger:
        if self._ledger is None:
            self._ledger = open_ledger(self.ledger_url, self.settings.ledger_timeout)
        return self._ledger

    @property
    def engine(self) -> Engine:
        return self._engine or self.plugins.engine(self.engine_name)

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
        self.plugins.close()

    def __enter__(self) -> "Gate":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def regime_for(self, order: Order) -> Regime:
        """The named regime, else the calendar's regime in force on the order date."""
        if self.fixed_regime is not None:
            return self.fixed_regime
        if not self.settings.calendar:
            raise UnknownRegimeError("no regime: name one with --regime, or configure a "
                                     "calendar (see README, Configuration)")
        in_force = [e for e in self.settings.calendar
                    if e["effective_from"] <= order.date
                    and (not e.get("effective_to") or order.date < e["effective_to"])]
        if not in_force:
            raise UnknownRegimeError(f"order {order.id}: no regime in the calendar is in force "
                                     f"on {order.date}")
        latest = max(in_force, key=lambda e: e["effective_from"])
        return self.plugins.regime(latest["regime"])

    # -- reading ---------------------------------------------------------

    def read(self, record: Record, adapter: str | None = None) -> tuple[list[Order], Adapter]:
        """Adapt, validate, enrich and complete every order of a record (InputError if not)."""
        adapted = self.plugins.adapt(record, adapter)
        return [self.prepare(order) for order in adapted.orders], adapted.adapter

    def prepare(self, order: Order | dict[str, Any]) -> Order:
        if not isinstance(order, Order):
            order = order_from_dict(order)
        order = _enrich.apply(order, self.plugins.enrich(order))
        _enrich.require_classification(order)
        return order

    # -- deciding --------------------------------------------------------

    def check(self, order: Order | dict[str, Any], adapter: Adapter | None = None,
              on_committed: Callable[[Checked], None] | None = None) -> Checked:
        """Decide one order (canonical dict or Order), reserve its quota, tell the host.

        The order is validated, enriched and checked complete first (an
        `Order` object too). The audit record is appended inside the ledger
        transaction, before the reservation commits; then ``on_committed``
        runs (a command line prints there), then the host callbacks. So
        nothing is reported that is not both reserved and audited, and an
        audit log that cannot be written leaves nothing reserved: the order
        is held, with the `AuditError` on the result.
        """
        order = self.prepare(order)
        return self._check_prepared(order, adapter, on_committed)

    def _check_prepared(self, order: Order, adapter: Adapter | None,
                        on_committed: Callable[[Checked], None] | None) -> Checked:
        regime = self.regime_for(order)
        started = time.perf_counter()
        doc = self.policy_input(order, regime)
        audit_error: AuditError | None = None
        try:
            answer = ask(self.engine, regime, "ladders", doc)
            ladders = self.ladders(order, regime, answer.value)
        except EngineError as exc:
            decision = Decision.held(order, regime.id, str(exc), regime.parameters)
            audit_error = self.record(order, decision, doc, time.perf_counter() - started)
        else:
            try:
                with self.ledger.hold(order.id, ladders.keys()) as hold:
                    decision = self.settle(order, regime, ladders, hold, answer.decision_id)
                    audit_error = self.record(order, decision, doc,
                                              time.perf_counter() - started)
                    if audit_error is not None:
                        raise audit_error  # roll the reservation back
            except AuditError as exc:
                decision = Decision.held(order, regime.id, str(exc), regime.parameters)
            except LedgerError as exc:
                self._drop_ledger()
                decision = Decision.held(order, regime.id, str(exc), regime.parameters)
                audit_error = self.record(order, decision, doc, time.perf_counter() - started)
        checked = self.report(order, decision, adapter, on_committed)
        checked.audit_error = audit_error
        return checked

    def record(self, order: Order, decision: Decision, doc: dict[str, Any],
               elapsed: float) -> AuditError | None:
        """Append the decision to the audit log(s); the error instead of raising it."""
        if self.what_if:
            return None
        try:
            for recorder in self.recorders:
                recorder(order, decision.annotate(order), doc, elapsed)
        except AuditError as exc:
            return exc
        return None

    def renderer(self, regime: Regime) -> Renderer:
        """The decision builder of a regime (its rows and parameters), made once."""
        key = regime.id + "@" + regime.revision
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = self._renderers[key] = Renderer(regime)
        return renderer

    # The steps of a check, which `batch` runs in its own rhythm.

    def policy_input(self, order: Order, regime: Regime) -> dict[str, Any]:
        """The engine's input for one order under one regime (policy contract 2).

        It carries the recorded licenses that could apply to the order
        (``licenses``, docs/licenses.md); none when none could. Items are the
        item catalog's, on the lines and on the licenses alike.
        """
        found = self._license_cache.applicable(order, lambda: self.ledger)
        return policy_input(order, [x.to_input() for x in found], self.catalog)

    @property
    def catalog(self) -> ItemCatalog:
        """The item catalog the configuration names, through which items are compared."""
        if self._catalog is None:
            self._catalog = item_catalog(self.settings.catalogs)
        return self._catalog

    def ladders(self, order: Order, regime: Regime, raw: Any) -> Ladders:
        """The engine's answer, checked against the contract (UndefinedResult if not)."""
        return parse_ladders(raw, order, regime)

    def settle(self, order: Order, regime: Regime, ladders: Ladders, hold: Hold,
               engine_decision_id: str | None = None) -> Decision:
        """Fold the ladders against the locked usage and reserve; inside the ledger transaction.

        A fold that breaks the contract (a ladder that may end without an
        outcome) gives a held decision and reserves nothing.
        """
        in_force = {n for n, terms in hold.licenses.items() if terms.in_force(order.date)}
        try:
            decision = self.renderer(regime).decide(order, ladders,
                                                    fold(ladders, hold.usage, in_force))
        except EngineError as exc:
            return Decision.held(order, regime.id, str(exc), regime.parameters)
        if engine_decision_id is not None:
            decision = replace(decision, engine_decision_id=engine_decision_id)
        hold.reserve(decision.consumes, regime.id, decision.outcome.value, regime.parameters)
        return decision

    def report(self, order: Order, decision: Decision, adapter: Adapter | None,
               on_committed: Callable[[Checked], None] | None) -> Checked:
        """After the commit: write-back, ``on_committed``, host callbacks.

        The decision carries the order's lines that were not assessed and its
        notes (a country taken from master data) from here on.
        """
        decision = decision.annotate(order)
        writeback = adapter.writeback(order, decision) if adapter is not None else None
        checked = Checked(order, decision, writeback)
        if on_committed is not None:
            on_committed(checked)
        if not self.what_if:
            checked.plugin_errors.extend(self.plugins.decided(order, decision, writeback))
        return checked

    def _drop_ledger(self) -> None:
        """After a ledger failure, reconnect on the next order rather than reuse the session."""
        if self._ledger is not None:
            self._ledger.close()

    def check_record(self, record: Record, adapter: str | None = None,
                     on_committed: Callable[[Checked], None] | None = None,
                     single: bool = False) -> list[Checked]:
        """Read a record (every order of it valid, or nothing is decided), then decide each.

        ``single`` refuses a record that holds more than one order.
        """
        orders, chosen = self.read(record, adapter)
        if single and len(orders) != 1:
            raise InputError(f"{record.source}: holds {len(orders)} orders; "
                             "use `exportgate batch`, or --all")
        for order in orders:
            self.regime_for(order)
        return [self._check_prepared(order, chosen, on_committed) for order in orders]

    def batch(self, records: Iterable[Record], adapter: str | None = None,
              keep_going: bool = False,
              on_committed: Callable[[Checked], None] | None = None,
              on_error: Callable[[InputError], None] | None = None,
              workers: int | None = None, progress: TextIO | None = None
              ) -> Iterator[Checked]:
        """Decide the orders of many records in input order, against one ledger.

        Every record is read and validated first (orders already shipped are
        refused there too): without ``keep_going`` one bad record stops the
        batch before anything is decided; with it, bad records are reported
        through ``on_error`` and the rest are decided. ``records`` is read
        twice: pass a list, or an object whose ``__iter__`` starts afresh (a
        one-shot iterator is kept in memory). `_batch` says how the deciding
        pass is spread over worker processes (``workers``; None chooses) and
        commits in groups; ``progress`` is the stream of the progress bar
        (shown only on a terminal).
        """
        from ._batch import BatchRun
        if iter(records) is records:  # a one-shot iterator: keep it for the second pass
            records = list(records)
        run = BatchRun(self, adapter=adapter, keep_going=keep_going, workers=workers,
                       on_committed=on_committed, on_error=on_error, progress=progress)
        counts = run.validate(records)
        yield from run.decide(records, counts)


__all__ = ["Checked", "ExportgateError", "Gate"]
