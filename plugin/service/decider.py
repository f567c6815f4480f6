"""The service's one caller of the gate: every decision, ledger and registry call, in order.

A process holds one `Gate` (one ledger connection, one engine) and does all
its blocking work on one thread of its own, in the order requests arrive:
the ledger connection and the engines are used by one thread only, and two
requests of one process never race each other (processes, and replicas, do;
the ledger's locks make them behave as one, docs/deployment.md). A request
waits for that thread without blocking the event loop.

Group decisions: the checks (``/v1/check``, the OPA routes) that are waiting
when the thread takes up the next piece of work are decided as one group,
as a batch decides a chunk. Each is read on its own (a bad record is that
request's 400, and the others of the group go on), then evaluated in the
engine (outside the ledger transaction), and the evaluated orders go through
the decision step together (`DecisionStep.run`): on SQLite one transaction
and one durable commit for the group, on PostgreSQL one per order. Each
request gets its own decision, exactly as if the group's orders had been
checked one after the other in arrival order (a re-sent order id replaces
its reservations; an identical re-send moves nothing). If the group's
commit fails, every order of the group is held, each audited on its own,
as in a batch: nothing is reserved that was not committed.

Groups in a pipeline: under load, the checks that arrive while a group is
being evaluated are taken as the next group before this one's decision
step, read on the decision thread, and evaluated on an evaluation thread of
their own while the decision thread runs the step of the group before. The
engine answers without Python's lock (OPA is Go), so one group's evaluation
and the step of the group before it, with the event loop's work, share the
two cores instead of taking turns. Only the engine's evaluation leaves the
decision thread (reading, the policy input and the step, which use the
ledger, stay on it), the steps run in arrival order, and a group is taken
ahead only when no other work (`run`) was queued before its checks arrived,
so nothing is decided before work that came first. A group with none before
it (one request at a time) is evaluated in place: no extra hand-over.

Per-request deadline: every engine call goes through `DeadlineEngine`. An
order whose evaluation starts or ends after the request's deadline is an
order the engine could not answer in time: held (``license`` with an
``error``), and the decision step reserves nothing for it. The ledger's own
timeouts bound what comes after the evaluation.

Dry runs (``dry_run=true``) go through a second gate that tells nobody
(``what_if``: no audit record, no host callback) and whose decision step
works in a ledger transaction that is always rolled back (`RollingBack`):
the order is decided exactly as it would be, under the same locks, and
nothing is reserved.
"""
from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from .._adapter import Adapter, Record
from .._decide import Checked, DecisionStep, Evaluated
from .._exceptions import EngineError
from .._gate import Gate
from .._model import Order
from .._plugins import Plugins
from .._regime import Regime
from .._settings import Settings
from ..engines.base import Answer, Engine, ask
from ..ledger.base import SqlLedger

T = TypeVar("T")

#: The text every order held by its deadline carries (metrics count them apart).
DEADLINE_PASSED = "the request's deadline passed"


class DeadlineEngine:
    """The configured engine, refusing to answer for a request whose deadline has passed.

    ``engine`` builds the engine on first use; ``deadline`` gives the current
    request's deadline (`time.monotonic`); ``seconds`` accumulates the time
    spent in the engine (the metrics' engine time).
    """

    def __init__(self, name: str, engine: Callable[[], Engine],
                 deadline: Callable[[], float]) -> None:
        self.name = name
        self._engine = engine
        self._deadline = deadline
        self.seconds = 0.0

    def answer(self, regime: Regime, rule: str, input: dict[str, Any]) -> Answer:
        if time.monotonic() > self._deadline():
            raise EngineError(f"{DEADLINE_PASSED} before the engine was asked")
        started = time.perf_counter()
        try:
            answer = ask(self._engine(), regime, rule, input)
        finally:
            self.seconds += time.perf_counter() - started
        if time.monotonic() > self._deadline():
            raise EngineError(f"{DEADLINE_PASSED} while the engine evaluated")
        return answer

    def evaluate(self, regime: Regime, rule: str, input: dict[str, Any]) -> Any:
        return self.answer(regime, rule, input).value

    def run_tests(self, regime: Regime) -> list[tuple[str, bool, str]]:
        return self._engine().run_tests(regime)

    def close(self) -> None:
        """The engine is the plugins' (closed with them)."""


class _Rollback(Exception):
    """Ends a dry run's transaction: nothing it wrote is kept."""


class RollingBack:
    """A ledger whose decision transactions always roll back (dry runs).

    Only `group` differs: the decision step holds, folds and reserves in it
    as in any transaction, and the transaction is then rolled back, so a
    dry run sees what a check would and leaves the ledger as it was.
    """

    def __init__(self, ledger: SqlLedger) -> None:
        self._ledger = ledger

    @contextmanager
    def group(self) -> Iterator[Any]:
        try:
            with self._ledger.group() as group:
                yield group
                raise _Rollback
        except _Rollback:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


@dataclass
class _Ask:
    """One check waiting for its group: what to read, and where its answer goes."""

    record: Record
    adapter: str | None
    regime: str | None
    deadline: float
    loop: asyncio.AbstractEventLoop
    future: "asyncio.Future[Checked]"

    def answer(self, checked: Checked | None, error: BaseException | None = None) -> None:
        """Hand the decision (or the error) to the waiting request, from the decision thread."""
        self.loop.call_soon_threadsafe(_settle, self.future, checked, error)


@dataclass
class _Read:
    """A check of a group, read on the decision thread: what the evaluation thread needs."""

    ask: _Ask
    order: Order
    adapter: Adapter
    regime: Regime
    doc: dict[str, Any]
    seconds: float


@dataclass
class _Group:
    """A group of checks read, their evaluations (each an `Evaluated` or the error) to come."""

    reads: list[_Read]
    evaluations: "Future[list[Evaluated | BaseException]]"


def _settle(future: "asyncio.Future[Checked]", checked: Checked | None,
            error: BaseException | None) -> None:
    if future.done():  # the request went away (its client disconnected)
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(cast(Checked, checked))


class Decider:
    """One process's gate, engine and ledger, used from one thread, in arrival order."""

    def __init__(self, settings: Settings,
                 on_group: Callable[[int], None] | None = None) -> None:
        """``on_group`` is told the size of every group of checks decided together."""
        self.settings = settings
        self._on_group = on_group
        self.plugins = Plugins(settings)
        self._local = threading.local()  # the deadline of the order each thread evaluates
        self.engine = DeadlineEngine(settings.engine_name,
                                     lambda: self.plugins.engine(settings.engine_name),
                                     lambda: cast(float, getattr(self._local, "deadline",
                                                                 math.inf)))
        self.gate = Gate(settings, plugins=self.plugins, engine=self.engine)
        self.dry = Gate(settings, plugins=self.plugins, engine=self.engine, what_if=True)
        self.dry.step = DecisionStep(
            lambda: cast(SqlLedger, RollingBack(self.gate.ledger)), [], None)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="exportgate-decide")
        self._evaluating = ThreadPoolExecutor(1, thread_name_prefix="exportgate-evaluate")
        self._closed = threading.Event()
        self._waiting: list[_Ask] = []
        self._queued = 0  # work of `run` submitted and not yet started
        self._woken = threading.Event()  # a check arrived, or a group's evaluation ended
        self._lock = threading.Lock()

    async def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the decision thread, after the work submitted before it."""
        with self._lock:
            self._queued += 1

        def started() -> T:
            with self._lock:
                self._queued -= 1
            return work()
        return await asyncio.wrap_future(self._pool.submit(started))

    def submit(self, record: Record, adapter: str | None, regime: str | None,
               deadline: float) -> "asyncio.Future[Checked]":
        """Queue a check of the one order of ``record`` for the next group; its decision.

        `InputError` (the record is bad, or holds several orders) comes out
        of the future, for this request alone.
        """
        loop = asyncio.get_running_loop()
        ask = _Ask(record, adapter, regime, deadline, loop, loop.create_future())
        with self._lock:
            self._waiting.append(ask)
            first = len(self._waiting) == 1
        if first:  # the thread takes every check waiting by then as one group
            self._pool.submit(self._decide_waiting)
        self._woken.set()
        return ask.future

    @property
    def waiting(self) -> int:
        """Checks queued for the next group."""
        with self._lock:
            return len(self._waiting)

    def close(self) -> None:
        if not self._closed.is_set():
            self._closed.set()
            self._pool.submit(self._close).result()
            self._pool.shutdown()
            self._evaluating.shutdown()

    def _close(self) -> None:
        self.dry.drop_ledger()
        self.gate.close()

    # -- on the decision thread ---------------------------------------------

    @contextmanager
    def _request(self, dry_run: bool, regime: str | None, deadline: float) -> Iterator[Gate]:
        gate = self.dry if dry_run else self.gate
        gate.fixed_regime = self.plugins.regime(regime) if regime else None
        self._local.deadline = deadline
        try:
            yield gate
        finally:
            self._local.deadline = math.inf
            gate.fixed_regime = None

    def check(self, record: Record, adapter: str | None, regime: str | None,
              dry_run: bool, deadline: float) -> list[Checked]:
        """Decide the one order of ``record`` alone (`InputError` if it holds several or is
        bad): dry runs, whose transaction is rolled back and cannot be shared."""
        with self._request(dry_run, regime, deadline) as gate:
            return gate.check_record(record, adapter, single=True)

    def _decide_waiting(self) -> None:
        """Decide the checks waiting now as one group, and the groups that follow it in a
        pipeline while they keep coming (see the module's docstring)."""
        current = self._take(ahead=False)
        while current is not None:
            following = None
            while following is None:  # take the next group while this one is evaluated
                self._woken.clear()
                if current.evaluations.done():
                    break
                following = self._take(ahead=True)
                if following is None:
                    self._woken.wait()
            if following is None:
                following = self._take(ahead=True)
            self._step(current)
            current = following

    def _take(self, ahead: bool) -> _Group | None:
        """The checks waiting now, read, their evaluation started; None if none may be taken.

        ``ahead``: a group is still to be stepped before this one, so this one is
        evaluated on the evaluation thread meanwhile (and not taken at all if
        other work was queued before it); else it is evaluated here, in place.
        """
        with self._lock:
            if ahead and self._queued:
                return None
            group, self._waiting = self._waiting, []
        if not group:
            return None
        if self._on_group is not None:
            self._on_group(len(group))
        reads: list[_Read] = []
        for waiting in group:
            try:
                reads.append(self._read(waiting))
            except Exception as exc:  # this request's own error; the group goes on
                waiting.answer(None, exc)
        evaluations: Future[list[Evaluated | BaseException]]
        if ahead:
            evaluations = self._evaluating.submit(self._evaluate, reads)
            evaluations.add_done_callback(lambda _: self._woken.set())
        else:
            evaluations = Future()
            evaluations.set_result(self._evaluate(reads))
        return _Group(reads, evaluations)

    def _read(self, ask: _Ask) -> _Read:
        """Read one check, and build its policy input (`Gate.evaluate`'s first half: it
        reads the ledger's licenses, so it stays on this thread)."""
        with self._request(False, ask.regime, ask.deadline) as gate:
            [order], chosen = gate.read_record(ask.record, ask.adapter, single=True)
            started = time.perf_counter()
            regime = gate.regime_for(order)
            doc = gate.policy_input(order, regime)
            return _Read(ask, order, chosen, regime, doc, time.perf_counter() - started)

    def _evaluate(self, reads: list[_Read]) -> list[Evaluated | BaseException]:
        """The engine's answer for each check read (`Gate.evaluate`'s second half), each
        within its own deadline; on whichever thread the group is evaluated."""
        out: list[Evaluated | BaseException] = []
        for read in reads:
            self._local.deadline = read.ask.deadline
            try:
                started = time.perf_counter()
                [result] = self.gate.answers([(read.order, read.regime, read.doc)])
                out.append(Evaluated.answered(read.order, read.regime, read.doc, result,
                                              read.adapter,
                                              read.seconds + time.perf_counter() - started))
            except Exception as exc:  # this request's own error; the group goes on
                out.append(exc)
            finally:
                self._local.deadline = math.inf
        return out

    def _step(self, group: _Group) -> None:
        """The decision step of a group evaluated; every request of it answered."""
        owners: list[_Ask] = [read.ask for read in group.reads]
        answered = 0
        try:
            evaluated: list[Evaluated] = []
            kept: list[_Ask] = []
            for owner, result in zip(owners, group.evaluations.result(), strict=True):
                if isinstance(result, BaseException):
                    owner.answer(None, result)
                else:
                    evaluated.append(result)
                    kept.append(owner)
            owners = kept
            for checked in self.gate.step.run(evaluated):
                owners[answered].answer(checked)
                answered += 1
        except Exception as exc:  # never leave a request waiting
            for owner in owners[answered:]:
                owner.answer(None, exc)

    def batch(self, records: list[Record], adapter: str | None, regime: str | None,
              dry_run: bool, deadline: float) -> list[Checked]:
        """Decide every order of ``records`` in order; one bad record decides nothing."""
        with self._request(dry_run, regime, deadline) as gate:
            return list(gate.batch(records, adapter))

    @property
    def ledger(self) -> SqlLedger:
        return self.gate.ledger
