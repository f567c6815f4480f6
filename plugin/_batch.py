"""Batches at any size: streamed input, evaluation in worker processes, one exact fold.

A batch (``exportgate batch``, `Gate.batch`, the impact report) decides the
orders of many records in input order against one ledger, as if each had
been checked alone, one after the other. It reads its input twice, so its
memory stays flat whatever the input's size:

1. **Validate.** Every record is read, adapted, validated and enriched, its
   regime found, and orders already shipped (committed in the ledger) are
   refused, all before anything is decided. Without ``keep_going`` the first
   bad record stops the batch; with it, bad records are reported and skipped.
   Only counts are kept (and the ids of what is skipped).
2. **Decide.** The orders go through in chunks. The engine evaluations of a
   chunk run in worker processes (each with its own engine), while the chunk
   before it is folded; an input identical to one already evaluated (the
   same order under another id, a re-screen of repeated orders) is evaluated
   once (the licenses an input carries are part of it). Then each chunk goes
   through the decision step every check takes (`_decide`), in the main
   process, in input order, exact: on a ledger with group commits (SQLite) a
   chunk is one transaction, so a batch pays one durable commit per chunk;
   elsewhere (PostgreSQL) each order is its own transaction. Decisions are
   reported only after their commit; if the commit fails, every order of
   the chunk is held.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TextIO

from ._adapter import Adapter, Record
from ._decide import Checked, Evaluated
from .engines.base import Answer, ask
from ._exceptions import EngineError, InputError, LedgerError, OrderClosedError
from ._model import Order
from ._regime import Regime
from ._settings import Settings

if TYPE_CHECKING:
    from ._gate import Gate

#: Orders per chunk: per evaluation round and per ledger transaction.
CHUNK = 256
#: Below this many orders a batch evaluates in process (starting workers costs more).
PARALLEL_FROM = 400
#: Evaluated answers kept for identical inputs.
CACHE = 4096


@dataclass
class Counts:
    """What the validating pass found: the work ahead, and what is skipped."""

    records: int = 0
    orders: int = 0
    lines: int = 0
    skipped_records: set[int] = field(default_factory=set)
    skipped_orders: set[str] = field(default_factory=set)


# -- worker processes --------------------------------------------------------

_WORKER: dict[str, Any] = {}


def _worker_start(settings: Settings, engine: str) -> None:
    """Each worker loads the plugins and its own engine once."""
    from ._plugins import Plugins
    plugins = Plugins(settings)
    _WORKER.update(plugins=plugins, engine=plugins.engine(engine))


def _worker_evaluate(job: tuple[str, dict[str, Any]]) -> tuple[bool, Any]:
    """(True, the engine's Answer) or (False, why the engine could not answer)."""
    regime_id, doc = job
    try:
        regime = _WORKER["plugins"].regime(regime_id)
        return True, ask(_WORKER["engine"], regime, "ladders", doc)
    except EngineError as exc:
        return False, str(exc)
    except Exception as exc:  # anything else is an engine that cannot answer: hold
        return False, f"engine failed: {type(exc).__name__}: {exc}"


Answered = tuple[bool, Any]


class _Workers:
    """The engine worker processes of a batch.

    A worker that dies (killed, out of memory, a crash in an engine's native
    code) breaks the pool: the jobs it was given come back as failures, so
    their orders are held, never guessed, and the next chunk goes to a fresh
    pool. The batch never waits on a dead worker (a `multiprocessing.Pool`
    would: it loses the dead worker's task and waits for it for ever).
    """

    def __init__(self, n: int, settings: Settings, engine: str) -> None:
        self._n, self._settings, self._engine = n, settings, engine
        self._pool = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self._n, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_start,
                                   initargs=(self._settings, self._engine))

    def submit(self, jobs: list[tuple[str, dict[str, Any]]]) -> Callable[[], list[Answered]]:
        """Start evaluating ``jobs``; the returned call waits for their answers, in order."""
        pool = self._pool
        try:
            results = pool.map(_worker_evaluate, jobs, chunksize=max(1, len(jobs) // 8))
        except BrokenProcessPool:
            self._replace(pool)
            pool = self._pool
            results = pool.map(_worker_evaluate, jobs, chunksize=max(1, len(jobs) // 8))

        def wait() -> list[Answered]:
            try:
                return list(results)
            except BrokenProcessPool as exc:  # a worker died: hold these orders
                self._replace(pool)
                why = f"engine worker failed: {exc}"
                return [(False, why)] * len(jobs)
        return wait

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._pool is broken:
            broken.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


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


@dataclass
class _Item:
    order: Order
    adapter: Adapter
    regime: Regime
    doc: dict[str, Any]
    answer: tuple[bool, Any] | None = None


class BatchRun:
    """One batch through one gate (see the module's docstring)."""

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
        self._cache: OrderedDict[str, tuple[bool, Any]] = OrderedDict()

    # pass 1

    def _refuse(self, exc: InputError) -> None:
        if not self.keep_going:
            raise exc
        if self.on_error is not None:
            self.on_error(exc)

    def validate(self, records: Iterable[Record]) -> Counts:
        counts = Counts()
        pending: dict[str, int] = {}

        def closed_check() -> None:
            if not pending or self.gate.what_if:
                pending.clear()
                return
            try:
                closed = self.gate.ledger.closed(pending)
            except LedgerError:  # the deciding pass holds every order, saying why
                self.gate.drop_ledger()
                closed = set()
            for order_id in sorted(closed):
                counts.skipped_orders.add(order_id)
                self._refuse(OrderClosedError(
                    f"order {order_id}: shipped (its quota was committed); release it "
                    "before re-checking"))
            pending.clear()

        for index, record in enumerate(records):
            counts.records += 1
            try:
                orders, _ = self.gate.read(record, self.adapter)
                for order in orders:
                    self.gate.regime_for(order)
            except InputError as exc:
                counts.skipped_records.add(index)
                self._refuse(exc)
                continue
            for order in orders:
                counts.orders += 1
                counts.lines += len(order.lines)
                pending[order.id] = index
            if len(pending) >= 500:
                closed_check()
        closed_check()
        return counts

    # pass 2

    def _items(self, records: Iterable[Record], counts: Counts) -> Iterator[_Item]:
        for index, record in enumerate(records):
            if index in counts.skipped_records:
                continue
            orders, chosen = self.gate.read(record, self.adapter)
            for order in orders:
                if order.id in counts.skipped_orders:
                    continue
                regime = self.gate.regime_for(order)
                yield _Item(order, chosen, regime, self.gate.policy_input(order, regime))

    def _chunks(self, items: Iterator[_Item]) -> Iterator[list[_Item]]:
        chunk: list[_Item] = []
        for item in items:
            chunk.append(item)
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    @staticmethod
    def _key(item: _Item) -> str:
        """Inputs that differ only in the order id get the same answer.

        The whole input counts, the licenses it carries included: an order
        whose input no longer names a license (revoked, expired) is evaluated
        afresh, never answered from an input that did.
        """
        return item.regime.id + "@" + item.regime.revision + json.dumps(
            {**item.doc, "order": {**item.doc["order"], "id": ""}}, sort_keys=True,
            separators=(",", ":"))

    def _evaluate_in_process(self, job: tuple[str, dict[str, Any]],
                             regime: Regime) -> tuple[bool, Any]:
        try:
            return True, ask(self.gate.engine, regime, "ladders", job[1])
        except EngineError as exc:
            return False, str(exc)

    def _submit(self, chunk: list[_Item], pool: "_Workers | None") -> Callable[[], None]:
        """Start evaluating a chunk; the returned call waits and fills in the answers."""
        todo: dict[str, list[_Item]] = {}
        for item in chunk:
            key = self._key(item)
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                item.answer = cached
            else:
                todo.setdefault(key, []).append(item)
        keys = list(todo)
        jobs = [(todo[k][0].regime.id, todo[k][0].doc) for k in keys]
        pending = pool.submit(jobs) if pool is not None and jobs else None

        def wait() -> None:
            if pending is not None:
                answers = pending()
            else:
                answers = [self._evaluate_in_process(job, todo[k][0].regime)
                           for k, job in zip(keys, jobs, strict=True)]
            for key, answer in zip(keys, answers, strict=True):
                for item in todo[key]:
                    item.answer = answer
                if answer[0]:
                    self._cache[key] = answer
                    if len(self._cache) > CACHE:
                        self._cache.popitem(last=False)
        return wait

    @staticmethod
    def _evaluated(item: _Item, seconds: float) -> Evaluated:
        ok, answer = item.answer or (False, "not evaluated")
        if ok and isinstance(answer, Answer):
            return Evaluated(item.order, item.regime, item.doc, answer, None, item.adapter,
                             seconds)
        return Evaluated(item.order, item.regime, item.doc, None, str(answer), item.adapter,
                         seconds)

    def _pool(self, counts: Counts) -> "_Workers | None":
        workers = self.workers
        if workers is None:
            workers = (os.cpu_count() or 1) if counts.orders >= PARALLEL_FROM else 0
        if workers <= 0 or self.gate.engine_given:
            return None
        return _Workers(workers, self.gate.settings, self.gate.engine_name)

    def decide(self, records: Iterable[Record], counts: Counts) -> Iterator[Checked]:
        progress = Progress(counts.lines, self.progress_stream)
        pool = self._pool(counts)
        try:
            chunks = self._chunks(self._items(records, counts))
            current = next(chunks, None)
            wait = self._submit(current, pool) if current is not None else None
            while current is not None and wait is not None:
                started = time.perf_counter()
                wait()
                following = next(chunks, None)
                wait_next = self._submit(following, pool) if following is not None else None
                elapsed = (time.perf_counter() - started) / len(current)
                yield from self.gate.step.run([self._evaluated(i, elapsed) for i in current],
                                              self.on_committed)
                progress.advance(sum(len(i.order.lines) for i in current))
                current, wait = following, wait_next
        finally:
            progress.close()
            if pool is not None:
                pool.close()
