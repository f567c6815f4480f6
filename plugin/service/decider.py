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
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from .._adapter import Record
from .._decide import Checked, DecisionStep, Evaluated
from .._exceptions import EngineError
from .._gate import Gate
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
        self._deadline = math.inf
        self.engine = DeadlineEngine(settings.engine_name,
                                     lambda: self.plugins.engine(settings.engine_name),
                                     lambda: self._deadline)
        self.gate = Gate(settings, plugins=self.plugins, engine=self.engine)
        self.dry = Gate(settings, plugins=self.plugins, engine=self.engine, what_if=True)
        self.dry.step = DecisionStep(
            lambda: cast(SqlLedger, RollingBack(self.gate.ledger)), [], None)
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="exportgate-decide")
        self._closed = threading.Event()
        self._waiting: list[_Ask] = []
        self._lock = threading.Lock()

    async def run(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the decision thread, after the work submitted before it."""
        return await asyncio.wrap_future(self._pool.submit(work))

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

    def _close(self) -> None:
        self.dry.drop_ledger()
        self.gate.close()

    # -- on the decision thread ---------------------------------------------

    @contextmanager
    def _request(self, dry_run: bool, regime: str | None, deadline: float) -> Iterator[Gate]:
        gate = self.dry if dry_run else self.gate
        gate.fixed_regime = self.plugins.regime(regime) if regime else None
        self._deadline = deadline
        try:
            yield gate
        finally:
            self._deadline = math.inf
            gate.fixed_regime = None

    def check(self, record: Record, adapter: str | None, regime: str | None,
              dry_run: bool, deadline: float) -> list[Checked]:
        """Decide the one order of ``record`` alone (`InputError` if it holds several or is
        bad): dry runs, whose transaction is rolled back and cannot be shared."""
        with self._request(dry_run, regime, deadline) as gate:
            return gate.check_record(record, adapter, single=True)

    def _decide_waiting(self) -> None:
        """Decide the checks waiting now as one group (see the module's docstring)."""
        with self._lock:
            group, self._waiting = self._waiting, []
        if self._on_group is not None:
            self._on_group(len(group))
        evaluated: list[Evaluated] = []
        owners: list[_Ask] = []
        answered = 0
        try:
            for ask in group:
                try:
                    with self._request(False, ask.regime, ask.deadline) as gate:
                        [order], chosen = gate.read_record(ask.record, ask.adapter, single=True)
                        evaluated.append(gate.evaluate(order, chosen))
                except Exception as exc:  # this request's own error; the group goes on
                    ask.answer(None, exc)
                else:
                    owners.append(ask)
            for checked in self.gate.step.run(evaluated):
                owners[answered].answer(checked)
                answered += 1
        except Exception as exc:  # never leave a request waiting
            for ask in owners[answered:]:
                ask.answer(None, exc)

    def batch(self, records: list[Record], adapter: str | None, regime: str | None,
              dry_run: bool, deadline: float) -> list[Checked]:
        """Decide every order of ``records`` in order; one bad record decides nothing."""
        with self._request(dry_run, regime, deadline) as gate:
            return list(gate.batch(records, adapter))

    @property
    def ledger(self) -> SqlLedger:
        return self.gate.ledger
