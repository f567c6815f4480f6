"""The gate: one order in, one decision out, quota reserved, host told.

`Gate` is the Python API a host embeds and the engine behind the command
line. Per order: adapt, validate, enrich, check completeness (input errors
stop here: nothing is evaluated or reserved); build the policy input (with
the licenses that could apply) and evaluate the regime, which gives every
line its ladder (policy contract version 2: through `_contexts`, one line of
each kind, in slices an engine can hold, answers kept for orders with the
same facts); then the decision step
(`_decide`) holds the ladders' quota keys, folds, reserves, audits, commits
and tells the host. If the engine or the ledger cannot answer, every line is
``license`` with an ``error``, and the ledger is left as it was. A check is
a decision step of one order; a batch (`_batch`) feeds the same step many.
"""
from __future__ import annotations

import time
from typing import Any, Callable, Iterable, Iterator, Sequence, TextIO

from . import _enrich

from .ledger import licenses as _licenses
from ._adapter import Adapter, Record
from ._catalog import ItemCatalog, item_catalog
from ._contexts import Evaluator, Result
from ._decide import Checked, DecisionStep, Evaluated, Recorder
from .engines.base import Engine
from ._exceptions import ExportgateError, InputError, UnknownRegimeError
from .ledger.base import SqlLedger
from .ledger.urls import open_ledger
from ._model import Order
from ._plugins import Plugins
from ._policy import policy_input
from ._regime import Regime
from .screening.screener import Screener
from ._settings import Settings
from ._validate import order_from_dict


class Gate:
    """Checks orders under a regime (fixed, or picked by the calendar) against one ledger."""

    _evaluator: Evaluator | None = None

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
        self._license_cache = _licenses.Cache()
        self._catalog: ItemCatalog | None = None
        self._screener: Screener | None = None
        self.recorders: list[Recorder] = []
        if self.settings.audit_log is not None and not what_if:
            from .audit.log import AuditLog
            self.recorders.append(AuditLog.from_settings(self.settings, self.plugins.regimes,
                                                         self.engine_name))
        #: The decision step every order of this gate goes through.
        self.step = DecisionStep(lambda: self.ledger, self.recorders,
                                 None if what_if else self.plugins.decided)
        for entry in self.settings.calendar:
            self.plugins.regime(entry["regime"])

    # -- parts -----------------------------------------------------------

    @property
    def ledger(self) -> SqlLedger:
        if self._ledger is None:
            self._ledger = open_ledger(self.ledger_url, self.settings.ledger_timeout)
        return self._ledger

    @property
    def screener(self) -> Screener | None:
        """The screening step (docs/screening.md), or None when the configuration turns it off."""
        if self._screener is None and self.settings.screening["enabled"]:
            self._screener = Screener(self._screening_store, self.settings.screening)
        return self._screener

    def _screening_store(self) -> Any:
        from .screening.store import ScreeningStore
        return ScreeningStore(self.ledger)

    @property
    def engine(self) -> Engine:
        return self._engine or self.plugins.engine(self.engine_name)

    @property
    def engine_given(self) -> bool:
        """An engine object was given (a test's fake): worker processes cannot build it."""
        return self._engine is not None

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
        if record.unreadable is not None:
            raise InputError(record.unreadable)
        adapted = self.plugins.adapt(record, adapter)
        return [self.prepare(order) for order in adapted.orders], adapted.adapter

    def prepare(self, order: Order | dict[str, Any]) -> Order:
        if not isinstance(order, Order):
            order = order_from_dict(order)
        order = _enrich.apply(order, self.plugins.enrich(order))
        _enrich.require_classification(order, self.catalog.suggest)
        if self.screener is not None:
            order = self.screener.screen(order)
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
        is held, with the `AuditError` on the result. An order already
        shipped (its quota committed) is held too, saying so: release it
        before re-checking. `_decide` says how, for a batch alike.
        """
        order = self.prepare(order)
        return self._check_prepared(order, adapter, on_committed)

    def _check_prepared(self, order: Order, adapter: Adapter | None,
                        on_committed: Callable[[Checked], None] | None) -> Checked:
        [checked] = self.step.run([self.evaluate(order, adapter)], on_committed)
        return checked

    def evaluate(self, order: Order, adapter: Adapter | None = None) -> Evaluated:
        """Evaluate a prepared order (`prepare`, `read_record`) for the decision step.

        Its regime, its policy input and the engine's answer (or why the
        engine could not give one: the step holds it), nothing reserved. A
        caller that decides several orders at once (the service) evaluates
        each here, outside the ledger transaction, and hands them all to
        `step` together: one transaction, one durable commit for the group.
        """
        regime = self.regime_for(order)
        started = time.perf_counter()
        doc = self.policy_input(order, regime)
        [result] = self.answers([(order, regime, doc)])
        return Evaluated.answered(order, regime, doc, result, adapter,
                                  time.perf_counter() - started)

    def answers(self, asked: Sequence[tuple[Order, Regime, dict[str, Any]]]) -> list[Result]:
        """The engine's answer for each order's policy input, asked together (`evaluator`).

        An order whose parties could not be screened is held, never evaluated:
        ``(False, why)``, as for an engine that cannot answer.
        """
        unscreened = {i: order.screening.error for i, (order, _, _) in enumerate(asked)
                      if order.screening is not None and order.screening.error is not None}
        got = iter(self.evaluator.answers([(regime, doc) for i, (_, regime, doc)
                                           in enumerate(asked) if i not in unscreened]))
        return [(False, unscreened[i]) if i in unscreened else next(got)
                for i in range(len(asked))]

    @property
    def evaluator(self) -> Evaluator:
        """The engine asked by context (`_contexts`): a line of each kind per order's facts,
        in slices, so an order of any size is one the engine can hold; answers kept for later
        orders with the same facts."""
        if self._evaluator is None:
            remote = self.engine_name == "opa-http" or bool(self.settings.engine.get("url"))
            self._evaluator = Evaluator(lambda: self.engine, keep_answers=not remote)
        return self._evaluator

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

    def drop_ledger(self) -> None:
        """After a ledger failure, reconnect on the next use rather than reuse the session."""
        if self._ledger is not None:
            self._ledger.close()

    def check_record(self, record: Record, adapter: str | None = None,
                     on_committed: Callable[[Checked], None] | None = None,
                     single: bool = False) -> list[Checked]:
        """Read a record (every order of it valid, or nothing is decided), then decide each.

        ``single`` refuses a record that holds more than one order.
        """
        orders, chosen = self.read_record(record, adapter, single)
        return [self._check_prepared(order, chosen, on_committed) for order in orders]

    def read_record(self, record: Record, adapter: str | None = None,
                    single: bool = False) -> tuple[list[Order], Adapter]:
        """`read`, and each order's regime found: every input error before anything is
        evaluated. ``single`` refuses a record that holds more than one order."""
        orders, chosen = self.read(record, adapter)
        if single and len(orders) != 1:
            raise InputError(f"{record.source}: holds {len(orders)} orders; "
                             "use `exportgate batch`, or --all")
        for order in orders:
            self.regime_for(order)
        return orders, chosen

    def batch(self, records: Iterable[Record], adapter: str | None = None,
              keep_going: bool = False,
              on_committed: Callable[[Checked], None] | None = None,
              on_error: Callable[[InputError], None] | None = None,
              workers: int | None = None, progress: TextIO | None = None
              ) -> Iterator[Checked]:
        """Decide the orders of many records in input order, against one ledger.

        Every record is read once, and all of them before anything is
        decided (orders already shipped are refused there too): without
        ``keep_going`` one bad record stops the batch before anything is
        decided; with it, bad records are reported through ``on_error`` and
        the rest are decided. `_batch` says how reading and evaluating are
        spread over worker processes (``workers``; None chooses) and how the
        decisions commit in groups; ``progress`` is the stream of the
        progress bar (shown only on a terminal).
        """
        from ._batch import BatchRun
        run = BatchRun(self, adapter=adapter, keep_going=keep_going, workers=workers,
                       on_committed=on_committed, on_error=on_error, progress=progress)
        if self.screener is not None:  # one list version for the whole batch
            self.screener.pin()
        try:
            run.read(records)
            yield from run.decide()
        finally:
            run.close()
            if self.screener is not None:
                self.screener.unpin()


__all__ = ["Checked", "ExportgateError", "Gate"]
