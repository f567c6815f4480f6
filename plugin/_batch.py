"""Batches at any size: each record read once where it is evaluated, one exact fold.

A batch (``exportgate batch``, `Gate.batch`, the impact report) decides the
orders of many records in input order against one ledger, as if each had
been checked alone, one after the other. Its memory stays flat whatever the
input's size:

1. **Read.** Every record is read, adapted, validated and enriched, its
   regime found, orders already shipped (committed in the ledger) refused,
   and the rest evaluated, once, in a worker process (each with its own gate
   and engine; in process for small batches). The engine is asked per
   context (`_contexts`): orders that share their facts (parties, date,
   route, licenses offered) share one evaluation, with one line of each
   kind, so a re-screen of repeat consignees costs what differs between
   orders, and an order of any size is evaluated in slices the engine can
   hold. The main process keeps the records in input order, counts them and
   spools what the workers read to a temporary file. Without ``keep_going``
   the first bad record stops the batch before anything is decided; with
   it, bad records are reported and skipped. Nothing of a bad order is
   evaluated or reserved.
2. **Decide.** The spooled orders go through the decision step every check
   takes (`_decide`), in the main process, in input order, in chunks of
   `CHUNK` orders: on a ledger with group commits (SQLite) a chunk is one
   transaction, so a batch pays one durable commit per chunk; elsewhere
   (PostgreSQL) each order is its own transaction. Decisions are reported
   only after their commit; if the commit fails, every order of the chunk
   is held. A license read as in force when its order was read but revoked
   by the time the order is decided covers nothing: the deciding
   transaction reads its terms again.
"""
from __future__ import annotations

import heapq
import multiprocessing
import os
import pickle
import sys
import tempfile
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, TYPE_CHECKING, Any, TextIO

from ._adapter import Record
from ._contexts import Result
from ._decide import Checked, Evaluated
from ._exceptions import InputError, LedgerError, OrderClosedError
from ._model import Order
from ._settings import Settings

if TYPE_CHECKING:
    from ._gate import Gate

#: Orders per chunk: per ledger transaction, and per spooled block.
CHUNK = 256
#: Records a worker reads and evaluates at a time.
TASK = 64
#: Below this many records a batch reads and evaluates in process (starting workers costs more).
PARALLEL_FROM = 400
#: A worker grown past this resident memory (MB) is replaced once its tasks are done.
WORKER_MB = 200
#: Spooled orders kept in memory before the spool moves to a temporary file (a batch's
#: memory does not grow with its input past this).
SPOOL_IN_MEMORY = 1024 * 1024


@dataclass
class Counts:
    """What reading found: the work ahead, and what is skipped."""

    records: int = 0
    orders: int = 0
    lines: int = 0
    skipped_records: set[int] = field(default_factory=set)
    skipped_orders: set[str] = field(default_factory=set)


@dataclass
class _Ready:
    """An order read, validated, enriched and evaluated: ready for the decision step."""

    order: Order
    adapter: str | None
    regime: str
    doc: dict[str, Any]
    answer: Result
    seconds: float


@dataclass
class _Read:
    """One record as read: its error, or its orders (those already shipped apart)."""

    index: int
    error: InputError | None = None
    ready: list[_Ready] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)


Task = list[tuple[int, Record]]


def _portable(exc: InputError) -> InputError:
    """The error as it crosses to the main process (its message kept, whatever its class)."""
    try:
        back = pickle.loads(pickle.dumps(exc))
        return back if isinstance(back, InputError) else InputError(str(exc))
    except Exception:
        return InputError(str(exc))


class _Reader:
    """Reads, validates, enriches and evaluates records through one gate (see the module)."""

    def __init__(self, gate: Gate, adapter: str | None, closed_check: bool) -> None:
        self.gate = gate
        self.adapter = adapter
        self.closed_check = closed_check

    def read(self, task: Task, failure: str | None = None) -> list[_Read]:
        """The records of ``task``, each read once; ``failure`` instead of evaluating (the
        worker that had them died: they are held, never guessed)."""
        out: list[_Read] = []
        found: list[tuple[_Read, Order, Any, Any]] = []
        for index, record in task:
            read = _Read(index)
            out.append(read)
            try:
                orders, chosen = self.gate.read(record, self.adapter)
                regimes = [self.gate.regime_for(order) for order in orders]
            except InputError as exc:
                read.error = _portable(exc)
                continue
            found.extend((read, order, chosen, regime)
                         for order, regime in zip(orders, regimes, strict=True))
        closed = self._closed([order.id for _, order, _, _ in found])
        todo = []
        for read, order, chosen, regime in found:
            if order.id in closed:
                read.closed.append(order.id)
            else:
                todo.append((read, order, chosen, regime))
        started = time.perf_counter()
        jobs = [(order, regime, self.gate.policy_input(order, regime))
                for _, order, _, regime in todo]
        answers: list[Result] = [(False, failure)] * len(jobs) if failure is not None \
            else self.gate.answers(jobs)
        seconds = (time.perf_counter() - started) / max(1, len(jobs))
        for (read, order, chosen, regime), (_, _, doc), answer in zip(todo, jobs, answers,
                                                                      strict=True):
            read.ready.append(_Ready(order, chosen.name if chosen is not None else None,
                                     regime.id, doc, answer, seconds))
        return out

    def _closed(self, order_ids: list[str]) -> set[str]:
        if not order_ids or not self.closed_check:
            return set()
        try:
            return self.gate.ledger.closed(order_ids)
        except LedgerError:  # the deciding pass holds every order, saying why
            self.gate.drop_ledger()
            return set()


# -- worker processes --------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_start(settings: Settings, engine: str, regime_id: str | None, ledger_url: str,
                  adapter: str | None, closed_check: bool, screening: Any) -> None:
    """Each worker builds its own gate (plugins, engine, ledger connection) once, and
    screens against the batch's list version (``screening``, pinned when it started)."""
    from . import _heap
    from ._gate import Gate
    _heap.tune()
    gate = Gate(settings, regime_id=regime_id, ledger_url=ledger_url, engine=engine,
                what_if=True)
    if gate.screener is not None:
        gate.screener.pin(screening)
    _WORKER["reader"] = _Reader(gate, adapter, closed_check)
    _heap.settle()


def _worker_read(task: Task) -> tuple[list[_Read], int]:
    """The task's records, and the worker's resident memory (MB) once it has read them."""
    reader: _Reader = _WORKER["reader"]
    reads = reader.read(task)
    return reads, _resident_mb()


def _resident_mb() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // (1 << 20)
    except (OSError, ValueError, IndexError):  # not Linux: memory is not watched
        return 0


def route(record: Record) -> int:
    """Which worker reads a record: records of one consignee on one date go to the same
    worker, so their orders' context is evaluated once in the batch rather than once per
    worker (the workers keep their own answers). Only where the work goes: any record may
    be read by any worker, and one the key cannot be read from goes by its source."""
    data = record.data
    try:
        party = data["parties"]["ship_to"]
        key = f"{party.get('id')}|{party.get('country')}|{data.get('date')}"
    except (TypeError, KeyError, AttributeError):
        key = record.source
    return zlib.crc32(key.encode("utf-8", "replace"))


class _Workers:
    """The worker processes of a batch: one pool of one process per worker, so a task can
    go to the worker that already evaluated its contexts (`route`).

    A worker whose resident memory has grown past `WORKER_MB` (rego-cpp 1.5
    keeps some memory of every query) finishes the tasks it holds and is
    replaced by a fresh one, so a batch of any size runs in bounded memory.
    A worker that dies (killed, out of memory, a crash in an engine's native
    code) breaks its pool: the records it was given are read again in the
    main process and their orders held, never guessed, and the next tasks
    go to a fresh process. The batch never waits on a dead worker (a
    `multiprocessing.Pool` would: it loses the dead worker's task and waits
    for it for ever).
    """

    def __init__(self, n: int, initargs: tuple[Any, ...]) -> None:
        self.n, self._initargs = n, initargs
        self._pools = [self._start() for _ in range(n)]
        #: Workers replaced because they grew past `WORKER_MB`.
        self.retired = 0

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_start, initargs=self._initargs)

    def submit(self, worker: int, task: Task) -> Callable[[], list[_Read] | str]:
        """Start reading ``task`` on ``worker``; the returned call waits: its records, or
        why they are lost."""
        pool = self._pools[worker]
        future: Future[tuple[list[_Read], int]]
        try:
            future = pool.submit(_worker_read, task)
        except BrokenProcessPool:
            self._replace(worker, pool)
            pool = self._pools[worker]
            future = pool.submit(_worker_read, task)

        def wait() -> list[_Read] | str:
            try:
                reads, resident = future.result()
            except BrokenProcessPool as exc:  # a worker died: hold these orders
                self._replace(worker, pool)
                return f"engine worker failed: {exc}"
            if resident > WORKER_MB and self._pools[worker] is pool:
                pool.shutdown(wait=False)  # finishes what it was given, then exits
                self._pools[worker] = self._start()
                self.retired += 1
            return reads
        return wait

    def _replace(self, worker: int, broken: ProcessPoolExecutor) -> None:
        if self._pools[worker] is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self._pools[worker] = self._start()

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)


# -- the spool -----------------------------------------------------------------


class _Spool:
    """The orders read, in input order, in blocks: in memory while small, then on disk."""

    def __init__(self) -> None:
        self._file: IO[bytes] = tempfile.SpooledTemporaryFile(SPOOL_IN_MEMORY)
        self._blocks = 0

    def write(self, block: list[_Ready]) -> None:
        if block:
            pickle.dump(block, self._file, protocol=pickle.HIGHEST_PROTOCOL)
            self._blocks += 1

    def blocks(self) -> Iterator[list[_Ready]]:
        self._file.seek(0)
        for _ in range(self._blocks):
            yield pickle.load(self._file)

    def close(self) -> None:
        self._file.close()


# -- progress ----------------------------------------------------------------


class Progress:
    """Lines decided, rate and time left, on a terminal only (nothing when piped)."""

    def __init__(self, total_lines: int, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = total_lines > 0 and self.stream.isatty()
        self.total = total_lines
        self.done = 0
        self.started = time.monotonic()
        self._shown = 0.0

    def advance(self, lines: int) -> None:
        self.done += lines
        now = time.monotonic()
        if not self.enabled or (now - self._shown < 0.2 and self.done < self.total):
            return
        self._shown = now
        rate = self.done / max(now - self.started, 1e-9)
        left = (self.total - self.done) / rate if rate else 0.0
        width = 30
        filled = int(width * self.done / self.total)
        self.stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] "
                          f"{self.done:,}/{self.total:,} lines  {rate:,.0f} lines/s  "
                          f"ETA {int(left // 60)}:{int(left % 60):02d} ")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


# -- the run -------------------------------------------------------------------


class BatchRun:
    """One batch through one gate (see the module's docstring): `read`, then `decide`."""

    def __init__(self, gate: Gate, *, adapter: str | None = None, keep_going: bool = False,
                 workers: int | None = None,
                 on_committed: Callable[[Checked], None] | None = None,
                 on_error: Callable[[InputError], None] | None = None,
                 progress: TextIO | None = None) -> None:
        self.gate = gate
        self.adapter = adapter
        self.keep_going = keep_going
        self.workers = workers
        self.on_committed = on_committed
        self.on_error = on_error
        self.progress_stream = progress
        self.counts = Counts()
        self._spool = _Spool()
        self._reader = _Reader(gate, adapter, closed_check=not gate.what_if)

    # reading

    def _refuse(self, exc: InputError) -> None:
        if not self.keep_going:
            raise exc
        if self.on_error is not None:
            self.on_error(exc)

    def read(self, records: Iterable[Record]) -> Counts:
        """Read every record once (see the module); the orders wait in the spool."""
        counts = self.counts
        block: list[_Ready] = []
        for read in self._reads(records):
            counts.records += 1
            if read.error is not None:
                counts.skipped_records.add(read.index)
                self._refuse(read.error)
                continue
            for order_id in read.closed:
                counts.skipped_orders.add(order_id)
                self._refuse(OrderClosedError(
                    f"order {order_id}: shipped (its quota was committed); release it "
                    "before re-checking"))
            for ready in read.ready:
                counts.orders += 1
                counts.lines += len(ready.order.lines)
                block.append(ready)
            if len(block) >= CHUNK:
                self._spool.write(block)
                block = []
        self._spool.write(block)
        return counts

    def _reads(self, records: Iterable[Record]) -> Iterator[_Read]:
        """Every record read, in input order: in process, or by the workers."""
        numbered = enumerate(records)
        first = list(islice(numbered, PARALLEL_FROM))
        pool = self._pool(len(first) >= PARALLEL_FROM)
        if pool is None:
            for task in _tasks(iter(first)):
                yield from self._reader.read(task)
            for task in _tasks(numbered):
                yield from self._reader.read(task)
            return
        windows: deque[list[tuple[Task, Callable[[], list[_Read] | str]]]] = deque()
        try:
            for window in _tasks(_chain(first, numbered), TASK * pool.n):
                tasks = _shares(window, pool.n)
                windows.append([(task, pool.submit(w, task)) for w, task in enumerate(tasks)
                                if task])
                if len(windows) > 2:
                    yield from self._merged(windows.popleft())
            while windows:
                yield from self._merged(windows.popleft())
        finally:
            pool.close()

    def _merged(self, window: list[tuple[Task, Callable[[], list[_Read] | str]]]
                ) -> Iterator[_Read]:
        """A window's records back in input order, whichever worker read them."""
        return heapq.merge(*(self._collect(task, wait) for task, wait in window),
                           key=lambda read: read.index)

    def _collect(self, task: Task, wait: Callable[[], list[_Read] | str]) -> list[_Read]:
        got = wait()
        if isinstance(got, str):  # the worker died: read here, hold its orders
            return self._reader.read(task, failure=got)
        return got

    def _pool(self, large: bool) -> _Workers | None:
        workers = self.workers
        if workers is None:
            workers = (os.cpu_count() or 1) if large else 0
        if workers <= 0 or self.gate.engine_given:
            return None
        gate = self.gate
        if gate.engine_name == "opa":  # the workers' Go runtime starts with its settings
            from .engines.opa import go_environment
            go_environment()
        fixed = gate.fixed_regime.id if gate.fixed_regime is not None else None
        pinned = gate.screener.pinned if gate.screener is not None else None
        return _Workers(workers, (gate.settings, gate.engine_name, fixed, gate.ledger_url,
                                  self.adapter, not gate.what_if, pinned))

    # deciding

    def _evaluated(self, ready: _Ready) -> Evaluated:
        plugins = self.gate.plugins
        adapter = plugins.adapters.get(ready.adapter) if ready.adapter is not None else None
        return Evaluated.answered(ready.order, plugins.regime(ready.regime), ready.doc,
                                  ready.answer, adapter, ready.seconds)

    def decide(self) -> Iterator[Checked]:
        """Decide the orders read, in input order, a chunk a transaction."""
        progress = Progress(self.counts.lines, self.progress_stream)
        try:
            for block in self._spool.blocks():
                yield from self.gate.step.run([self._evaluated(r) for r in block],
                                              self.on_committed)
                progress.advance(sum(len(r.order.lines) for r in block))
        finally:
            progress.close()

    def close(self) -> None:
        self._spool.close()


def _shares(window: Task, n: int) -> list[Task]:
    """A window's records split over ``n`` workers by `route`; evenly, in input order, when
    one worker would get most of them (a book of one consignee still uses every core)."""
    tasks: list[Task] = [[] for _ in range(n)]
    for index, record in window:
        tasks[route(record) % n].append((index, record))
    if n > 1 and max(len(t) for t in tasks) > 0.75 * len(window):
        size = -(-len(window) // n)
        tasks = [window[i:i + size] for i in range(0, len(window), size)]
    return tasks


def _chain(first: list[tuple[int, Record]], rest: Iterator[tuple[int, Record]]
           ) -> Iterator[tuple[int, Record]]:
    yield from first
    yield from rest


def _tasks(numbered: Iterator[tuple[int, Record]], size: int = TASK) -> Iterator[Task]:
    while True:
        task = list(islice(numbered, size))
        if not task:
            return
        yield task
