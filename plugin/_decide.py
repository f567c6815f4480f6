"""The decision step: an evaluated order in, a committed, audited and reported decision out.

Every way of deciding orders (`Gate.check`, a batch, a host's service) first
evaluates them, then hands them here, in order. Per order:

1. **lock**: in a ledger transaction, lock the quota keys of the order's
   ladders and its order id, and read what other orders hold of the keys and
   the terms of the granted licenses among them (docs/licenses.md); an order
   already shipped (its quota committed) is held, with the reason;
2. **fold** the lines (`_fold`): each takes the first candidate that fits; a
   license the ledger found revoked or out of its dates covers nothing;
3. **reserve** what the lines take, replacing what the order held before;
4. **audit**: under the audit log's lock, chain the records of the
   transaction's decisions and store them in the transaction (``eg_audit``):
   the ledger's commit is the records' commit, the one durable write of the
   decision. If the log cannot take them, the transaction rolls back and its
   orders are held with the `AuditError` (nothing of them is reserved);
5. **commit**, then write the records to the log file (synced every few
   hundred records; the ledger holds their lines until then, and the next
   append writes what a stopped writer did not). A record of a transaction
   that rolled back never reaches the log. A ledger that cannot answer
   (cannot be opened, a lock timeout, a failed commit) rolls back and holds
   the transaction's orders, audited together (with one sync of the log:
   they reserve nothing);
6. **tell the host**: the write-back, ``on_committed`` (a command line
   prints there), the ``exportgate_decision`` hook. Nothing is reported that
   is not both reserved and audited.

An order the engine could not answer, or answered against the contract, is
held (``license`` with an ``error``) and reserves nothing. On a ledger with
group commits (SQLite) the orders of one `DecisionStep.run` share one
transaction and are reported after it; elsewhere (PostgreSQL) each order is
its own transaction and is reported right after its commit. A check is a
run of one order.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from contextlib import AbstractContextManager, ExitStack
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from ._adapter import Adapter
from .engines.base import Answer
from ._exceptions import AuditError, EngineError, LedgerError, OrderClosedError, PluginError
from ._fold import Renderer, fold
from ._model import Decision, Order
from ._policy import Ladders, parse_ladders
from ._regime import Regime
from .ledger.base import QuotaLock, SqlLedger

if TYPE_CHECKING:  # the audit log is imported where it is configured (`Gate`)
    from .audit.log import LedgerSide, Staged

#: Called after each decision is recorded: (order, decision, policy input,
#: seconds spent deciding it). The audit log is one such recorder.
Recorder = Callable[[Order, Decision, dict[str, Any], float], None]



@runtime_checkable
class GroupRecorder(Protocol):
    """A recorder that takes the records of a transaction's decisions at once (the
    audit log, `AuditLog`): ``event`` builds one decision's record; ``staged``
    chains them for the open ledger transaction to commit (one durable write:
    the ledger's) and writes them once it committed; ``append_many`` writes
    records that stand on their own, with one sync."""

    def event(self, order: Order, decision: Decision, policy_input: dict[str, Any],
              seconds: float) -> dict[str, Any]: ...

    def staged(self, events: list[dict[str, Any]], ledger: LedgerSide
               ) -> AbstractContextManager[Staged]: ...

    def append_many(self, events: list[dict[str, Any]], commit: str | None = None
                    ) -> list[dict[str, Any]]: ...


#: The host's callbacks (``Plugins.decided``): the failures, never raised.
Tell = Callable[[Order, Decision, dict[str, Any] | None], list[PluginError]]


@dataclass
class Checked:
    """One decided order, with what the host needs to act on it."""

    order: Order
    decision: Decision
    writeback: dict[str, Any] | None = None
    plugin_errors: list[PluginError] = field(default_factory=list)
    #: The audit log could not take the decision's record: the decision is
    #: held and nothing of it was reserved. Or, with a decision that is not
    #: held, the log file could not be written after the commit: the record is
    #: committed in the ledger, and the next append writes it to the log.
    audit_error: AuditError | None = None


@dataclass(frozen=True)
class Evaluated:
    """An order ready for the step: its regime, its policy input and the engine's answer.

    ``answer`` is None when the engine could not answer; ``failure`` then
    says why. ``seconds`` is the time its evaluation took (its share of a
    batch's), which the audit record counts with the step's own.
    """

    order: Order
    regime: Regime
    doc: dict[str, Any]
    answer: Answer | None
    failure: str | None = None
    adapter: Adapter | None = None
    seconds: float = 0.0

    @classmethod
    def answered(cls, order: Order, regime: Regime, doc: dict[str, Any],
                 result: tuple[bool, Any], adapter: Adapter | None,
                 seconds: float) -> "Evaluated":
        """From an evaluator's result: ``(True, Answer)``, or ``(False, why it failed)``."""
        ok, got = result
        if ok and isinstance(got, Answer):
            return cls(order, regime, doc, got, None, adapter, seconds)
        return cls(order, regime, doc, None, str(got), adapter, seconds)


class DecisionStep:
    """Holds, folds, reserves, audits, commits and reports evaluated orders, in order.

    ``ledger`` gives the ledger (opening it on first use; `LedgerError` if it
    cannot be); ``recorders`` take every decision before its commit (none: a
    what-if run); ``tell`` is the host's callbacks (None: nobody is told).
    """

    def __init__(self, ledger: Callable[[], SqlLedger], recorders: list[Recorder],
                 tell: Tell | None = None) -> None:
        self._ledger = ledger
        self.recorders = recorders
        self._tell = tell
        self._renderers: dict[str, Renderer] = {}

    def run(self, evaluated: Sequence[Evaluated],
            on_committed: Callable[[Checked], None] | None = None) -> Iterator[Checked]:
        """Decide ``evaluated`` in order; each is yielded once committed, and reported."""
        for ev, decision, audit_error in self._commit(evaluated):
            yield self._report(ev, decision, audit_error, on_committed)

    # -- the ledger transaction ----------------------------------------------

    def _commit(self, evaluated: Sequence[Evaluated]
                ) -> Iterator[tuple[Evaluated, Decision, AuditError | None]]:
        answered = [(ev, self._ladders(ev)) for ev in evaluated]
        try:
            ledger = self._ledger()
        except LedgerError as exc:
            yield from self._held_alone(answered, exc)
            return
        if ledger.group_commits:
            yield from self._transaction(ledger, answered)
        else:
            for one in answered:
                yield from self._transaction(ledger, [one])

    def _transaction(self, ledger: SqlLedger, answered: list[tuple[Evaluated, Ladders | Decision]]
                     ) -> list[tuple[Evaluated, Decision, AuditError | None]]:
        """One transaction for ``answered``: every decision and its record, or none."""
        out: list[tuple[Evaluated, Decision, AuditError | None]] = []
        records: list[tuple[Evaluated, Decision, float]] = []
        stages: list[Staged] = []
        try:
            with ExitStack() as after_commit:  # the records are written once committed
                with ledger.group() as group:
                    for ev, ladders in answered:
                        started = time.perf_counter()
                        if isinstance(ladders, Decision):
                            decision = ladders
                        else:
                            try:
                                lock = group.lock_keys(ev.order.id, ladders.keys())
                            except OrderClosedError as exc:  # shipped since it was read
                                decision = _held(ev, exc)
                            else:
                                decision = self._settle(ev, ladders, lock)
                        seconds = time.perf_counter() - started
                        failed = self._record(ev, decision, seconds)
                        if failed is not None:
                            raise failed  # roll the transaction back
                        records.append((ev, decision, seconds))
                        out.append((ev, decision, None))
                    for recorder in self._group_recorders():  # AuditError: roll back
                        stage = after_commit.enter_context(
                            recorder.staged(self._events(recorder, records), group))
                        group.audited(stage.rows)
                        stages.append(stage)
        except AuditError as exc:
            return [(ev, _held(ev, exc), exc) for ev, _ in answered]
        except LedgerError as exc:
            ledger.close()  # the next transaction reconnects
            return list(self._held_alone(answered, exc))
        late = next((stage.error for stage in stages if stage.error is not None), None)
        return [(ev, decision, late) for ev, decision, _ in out]

    def _held_alone(self, answered: list[tuple[Evaluated, Ladders | Decision]],
                    exc: LedgerError) -> Iterator[tuple[Evaluated, Decision, AuditError | None]]:
        """The ledger could not answer: each order held (an engine's reason kept), audited
        together, nothing reserved."""
        held = [(ev, ladders if isinstance(ladders, Decision) else _held(ev, exc))
                for ev, ladders in answered]
        failed: AuditError | None = None
        for ev, decision in held:
            failed = failed or self._record(ev, decision, 0.0)
        try:
            self._log([(ev, decision, 0.0) for ev, decision in held])
        except AuditError as error:
            failed = failed or error
        for ev, decision in held:
            yield ev, decision, failed

    # -- deciding one order --------------------------------------------------

    def _ladders(self, ev: Evaluated) -> Ladders | Decision:
        """The engine's answer checked against the contract, or the order's held decision."""
        try:
            if ev.answer is None:
                raise EngineError(ev.failure or "the engine gave no answer")
            return parse_ladders(ev.answer.value, ev.order, ev.regime)
        except EngineError as exc:
            return _held(ev, exc)

    def _settle(self, ev: Evaluated, ladders: Ladders, lock: QuotaLock) -> Decision:
        """Fold against what the lock read under its locks, and reserve what the lines take.

        A license candidate applies only if the ledger read its license as in
        force on the order date in this very transaction. A fold that breaks
        the contract (a ladder that may end without an outcome) holds the
        order and reserves nothing.
        """
        order, regime = ev.order, ev.regime
        in_force = {n for n, terms in lock.licenses.items() if terms.in_force(order.date)}
        try:
            decision = self.renderer(regime).decide(order, ladders,
                                                    fold(ladders, lock.usage, in_force))
        except EngineError as exc:
            return _held(ev, exc)
        if ev.answer is not None and ev.answer.decision_id is not None:
            decision = replace(decision, engine_decision_id=ev.answer.decision_id)
        lock.reserve(decision.consumes, regime.id, decision.outcome.value, regime.parameters)
        return decision

    def renderer(self, regime: Regime) -> Renderer:
        """The decision builder of a regime (its rows and parameters), made once."""
        key = regime.id + "@" + regime.revision
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = self._renderers[key] = Renderer(regime)
        return renderer

    def _record(self, ev: Evaluated, decision: Decision, seconds: float) -> AuditError | None:
        """Hand the decision to the recorders that take one at a time; the error instead
        of raising it."""
        try:
            for recorder in self.recorders:
                if not isinstance(recorder, GroupRecorder):
                    recorder(ev.order, decision.annotate(ev.order), ev.doc,
                             ev.seconds + seconds)
        except AuditError as exc:
            return exc
        return None

    def _group_recorders(self) -> list[GroupRecorder]:
        found: list[GroupRecorder] = []
        for recorder in self.recorders:
            if isinstance(recorder, GroupRecorder):
                found.append(recorder)
        return found

    @staticmethod
    def _events(recorder: GroupRecorder, decided: list[tuple[Evaluated, Decision, float]]
                ) -> list[dict[str, Any]]:
        return [recorder.event(ev.order, decision.annotate(ev.order), ev.doc,
                               ev.seconds + seconds) for ev, decision, seconds in decided]

    def _log(self, decided: list[tuple[Evaluated, Decision, float]]) -> None:
        """Append decisions made without the ledger to each audit log, one sync per log
        (`AuditError` if one cannot take them)."""
        for recorder in self._group_recorders():
            if decided:
                recorder.append_many(self._events(recorder, decided))

    # -- after the commit ----------------------------------------------------

    def _report(self, ev: Evaluated, decision: Decision, audit_error: AuditError | None,
                on_committed: Callable[[Checked], None] | None) -> Checked:
        """The write-back, ``on_committed``, the host's callbacks.

        The decision carries the order's lines that were not assessed and its
        notes (a country taken from master data) from here on.
        """
        decision = decision.annotate(ev.order)
        writeback, failed = _writeback(ev.adapter, ev.order, decision)
        checked = Checked(ev.order, decision, writeback, audit_error=audit_error)
        checked.plugin_errors.extend(failed)
        if on_committed is not None:
            on_committed(checked)
        if self._tell is not None:
            checked.plugin_errors.extend(self._tell(ev.order, decision, writeback))
        return checked


def _writeback(adapter: Adapter | None, order: Order, decision: Decision
               ) -> tuple[dict[str, Any] | None, list[PluginError]]:
    """The adapter's write-back document, or the failure naming the adapter.

    It runs after the commit: a write-back that raises cannot undo the
    decision, so the decision stands (recorded and reported) and the failure
    is reported as a plugin's, as a host callback's is (exit 4).
    """
    if adapter is None:
        return None, []
    try:
        return adapter.writeback(order, decision), []
    except Exception as exc:
        return None, [PluginError(f"adapter {adapter.name}",
                                  f"writeback failed: {type(exc).__name__}: {str(exc)[:300]}")]


def _held(ev: Evaluated, why: object) -> Decision:
    """Fail closed: every line ``license``, with why the order could not be decided."""
    return Decision.held(ev.order, ev.regime.id, str(why), ev.regime.parameters)
