"""The decision log: every decision, one JSON line, in a hash chain.

Each record has the shape of an OPA decision-log event (``decision_id``,
``timestamp``, ``path``, ``input``, ``result``, ``bundles`` with the regime's
revision, ``metrics`` with the evaluation time, ``labels``) plus exportgate's
own fields: ``order_id``, ``regime``, the regime ``parameters`` in force,
``seq`` (1, 2, ...), ``prev_hash`` (the ``hash`` of the record before, 64
zeros for the first) and ``hash``: the SHA-256 of the record's canonical JSON
(sorted keys, no spaces) without ``hash`` itself. Each line is that canonical
JSON.

Beside the log, ``FILE.head`` holds the count, the hash and the chain scheme
of the last record. It anchors the end of the chain: without it, dropping the
last records leaves a chain that still verifies. Copy it (or what
``exportgate audit verify --json`` prints) somewhere the log's writers cannot
change, and a rewrite of the whole file is caught too (docs/security.md,
"Anchoring the head elsewhere").

Every record, the head and an anchor say how the chain is made: ``"chain":
"sha256"`` (plain; a record without ``chain`` was written by an older
version and is plain too) or ``"hmac-sha256"`` (keyed). With
``audit_key_file`` configured, each record's ``hash`` is an HMAC-SHA256 under
that key, so whoever can write the log but not read the key cannot forge a
record. Such a person can still rewrite the log as a plain chain (the
downgrade); what says the log was keyed catches it:

- ``audit verify`` without the key refuses a log whose records, head,
  pending head or anchor say it is keyed: a keyed log never verifies as
  plain;
- with the key, a head or an anchor that says keyed must name a keyed
  record, and every record after the first keyed one must be keyed;
- an append refuses to chain onto a log whose head says keyed but whose
  last record is not (a writer with the key would otherwise bless the
  rewrite), and without the key onto any keyed log.

A rewrite of everything, head included, as a plain chain leaves nothing
beside the log that says it was keyed: an anchor copied elsewhere (it says
``"chain": "hmac-sha256"``) or the key in the verifier's hands catches it.
Records written before the key was turned on stay plain: the first keyed
record covers them through its ``prev_hash``.

The commit point: one durable write per decision. The decision step
(`_decide`) takes the log's lock inside its ledger transaction, chains the
records of the transaction's decisions (each says ``"commit": "ledger"``)
and stores them in the transaction (``eg_audit``: hash, seq, line, and the
log's id, the hash of its first record). The ledger's commit is the records'
durable write; then they are written to the log, unsynced, and the lock is
released. The log is synced once `AuditLog.SYNC_RECORDS` records or
`AuditLog.SYNC_BYTES` bytes wait; the ledger then lets go of their lines.
So a transaction that rolls back never reaches the log; a writer stopped
between its commit and its write (or a power loss that took the log's
unsynced end) leaves records that the ledger holds and the log lacks: the
next append writes them first, and ``audit verify --ledger URL`` notes them
meanwhile. ``audit verify --ledger`` reports a record that says it commits
with the ledger but is not there as not committed (a forgery: it is never
taken for a decision), and a committed record the log lost after its sync
as removed. A record without ``commit`` (a decision held because the ledger
could not answer, which reserves nothing; other events) is appended with
`AuditLog.append_many`: one write and one sync, its own commit.

Appends are safe across processes: the log is opened with ``O_APPEND`` and
held under an exclusive ``fcntl`` lock while the last record is read, the
head's intent written (``"next"``: the count and hash the head will name),
the records written in one write, and the head written to name the last of
them. The head is rewritten in place (one fixed-size write, no rename, not
synced) and names the log's id (``"log"``; a new log's goes into the head
before its first commit). A process killed between the records' write and
the head's leaves an intent naming records that follow the head, which the
next append and ``audit verify`` accept instead of reporting tampering. An
intent naming no such record is an append stopped before its records
(nothing lost). A power loss may lose the head's last write: the records
after the head are then committed decisions that ``audit verify --ledger``
finds in the ledger, and that a verify without the ledger reports as
inserted after the head.

The log holds the full policy input (party names, restrictions): the log and
its head files are created owner-only (0600). A log that cannot be written
raises `AuditError`.
"""
from __future__ import annotations

import datetime
import fcntl
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .._exceptions import AuditError, ConfigError
from .._json import DuplicateKeyError, loads
from .._model import Decision, Order
from .._regime import Regime

if TYPE_CHECKING:
    from ..ledger.base import SqlLedger

GENESIS = "0" * 64
#: The ``chain`` of a plain record (SHA-256), and of a keyed one (HMAC-SHA256).
PLAIN = "sha256"
KEYED = "hmac-sha256"
CHAINS = (PLAIN, KEYED)
#: The mode of the files this module creates.
FILE_MODE = 0o600
MIN_KEY_BYTES = 16
#: The size of the head file: written in place, whole, padded with spaces.
HEAD_SIZE = 1024
#: The ``commit`` of a record whose decision commits with the ledger transaction.
LEDGER = "ledger"


def canonical(record: Mapping[str, Any]) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_of(doc: Mapping[str, Any]) -> str:
    """The chain scheme a record, a head or an anchor states (plain if it states none).

    ValueError for a scheme that is neither: it is never taken for plain.
    """
    chain = doc.get("chain")
    if chain is None:
        return PLAIN
    if chain not in CHAINS:
        raise ValueError(f"unknown chain scheme {str(chain)[:40]!r} (known: "
                         f"{', '.join(CHAINS)})")
    return str(chain)


def record_hash(record: Mapping[str, Any], key: bytes | None = None) -> str:
    """The hash of a record: of its canonical JSON without ``hash``.

    SHA-256, or HMAC-SHA256 under ``key`` for a keyed record
    (``"chain": "hmac-sha256"``; ValueError if no key is given for one, or
    the record states a scheme that is neither).
    """
    body = {k: v for k, v in record.items() if k != "hash"}
    data = canonical(body).encode("utf-8")
    if chain_of(record) == KEYED:
        if key is None:
            raise ValueError("a keyed record needs the key")
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()


def read_key(path: str | Path) -> bytes:
    """The chain key held in ``path`` (surrounding whitespace dropped); never quoted."""
    try:
        key = Path(path).read_bytes().strip()
    except OSError as exc:
        raise ConfigError(f"audit key file {path}: cannot read ({exc.strerror or exc})") \
            from None
    if len(key) < MIN_KEY_BYTES:
        raise ConfigError(f"audit key file {path}: the key must be at least {MIN_KEY_BYTES} "
                          "bytes (e.g. `openssl rand -hex 32 > FILE`)")
    return key


def head_path(path: Path) -> Path:
    return path.with_name(path.name + ".head")


def pending_path(path: Path) -> Path:
    """Where an append writes the head's successor before it appends the record."""
    return path.with_name(path.name + ".head.pending")


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds") \
        .replace("+00:00", "Z")


def _last_line(fd: int) -> bytes:
    """The last complete line of the file open at ``fd`` (b"" if none)."""
    end = os.lseek(fd, 0, os.SEEK_END)
    if end == 0:
        return b""
    chunk, pos, buf = 4096, end, b""
    while pos > 0:
        step = min(chunk, pos)
        pos -= step
        buf = os.pread(fd, step, pos) + buf
        stripped = buf.rstrip(b"\n")
        if b"\n" in stripped or pos == 0:
            break
    lines = buf.rstrip(b"\n").split(b"\n")
    return lines[-1] if lines else b""


class AuditLog:
    """A gate recorder that appends each decision to a hash-chained JSON-lines file."""

    def __init__(self, path: str | Path, regimes: Mapping[str, Regime] | None = None,
                 engine_name: str | None = None, key: bytes | None = None) -> None:
        self.path = Path(path)
        self.regimes = regimes if regimes is not None else {}
        self.engine_name = engine_name
        self.key = key
        self._log_id: str | None = None
        self._cleaned = False
        self._head = head_path(self.path)
        #: After this object's last append: the log's size, last hash, seq and scheme.
        self._tail: tuple[int, str, int, bool] | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"audit_log: cannot create {self.path.parent} "
                              f"({exc.strerror or exc})") from None

    @classmethod
    def from_settings(cls, settings: Any, regimes: Mapping[str, Regime],
                      engine_name: str | None) -> AuditLog:
        """The log the configuration names (``audit_log``, ``audit_key_file``)."""
        key_file = getattr(settings, "audit_key_file", None)
        key = read_key(key_file) if key_file else None
        return cls(settings.audit_log, regimes, engine_name, key)

    def event(self, order: Order, decision: Decision, policy_input: dict[str, Any],
              seconds: float) -> dict[str, Any]:
        """The record of one decision, before ``seq`` and the chain are added."""
        regime = self.regimes.get(decision.regime)
        leaf = regime.path("ladders") if regime is not None else None  # the rule asked
        revision = decision.revision or (regime.revision if regime is not None else None)
        labels: dict[str, Any] = {"app": "exportgate", "engine": self.engine_name}
        if decision.engine_decision_id:
            labels["sidecar_decision_id"] = decision.engine_decision_id
        return {
            "decision_id": str(uuid.uuid4()),
            "timestamp": _now(),
            "path": leaf,
            "input": policy_input,
            "result": decision.to_dict(),
            "bundles": {decision.regime: {"revision": revision}},
            "metrics": {"timer_exportgate_decide_ns": int(seconds * 1e9)},
            "labels": labels,
            "order_id": order.id,
            "regime": decision.regime,
            "parameters": dict(decision.parameters or
                               (regime.parameters if regime is not None else {})),
        }

    def __call__(self, order: Order, decision: Decision, policy_input: dict[str, Any],
                 seconds: float) -> None:
        self.append(self.event(order, decision, policy_input, seconds))

    def append(self, event: dict[str, Any]) -> dict[str, Any]:
        """Chain ``event`` to the last record and append it, atomically across processes.

        A log that cannot be written raises `AuditError`: the decision is
        not handed on unrecorded.
        """
        return self.append_many([event])[0]

    def append_many(self, events: list[dict[str, Any]], commit: str | None = None
                    ) -> list[dict[str, Any]]:
        """Chain ``events`` in order and append them with one write and one sync.

        For records that stand on their own (a decision held because the
        ledger could not answer, other events); a decision step that commits
        a ledger transaction uses `staged`. Returns the records as written. A
        log that cannot be written raises `AuditError`, and nothing of the
        call counts.
        """
        if not events:
            return []
        with self._errors():
            with self._locked() as at:
                records, data = self._chain(at, events, commit)
                self._write(at, records, data)
                self._sync(at)
        return records

    @contextmanager
    def staged(self, events: list[dict[str, Any]], ledger: LedgerSide
               ) -> Iterator[Staged]:
        """The records of ``events``, chained for a ledger transaction to commit.

        Entered inside the transaction, before its commit: under the log's
        lock (held until the block ends), it writes first what ``ledger``
        committed and the log lacks (a writer stopped between its commit and
        its write, or a power loss took the log's unsynced end), chains the
        records (``"commit": "ledger"``) and yields them: the transaction
        stores each record's line (`Staged.rows`). When the block ends
        normally (the transaction committed) the records are written to the
        log, unsynced: the ledger's commit was their durable write. The log
        is synced once `SYNC_RECORDS` records or `SYNC_BYTES` bytes wait,
        and the ledger then lets go of the synced lines. If the block raises
        (the transaction rolled back), nothing is written. An error before
        the commit raises `AuditError`; a write that fails after it is kept
        in `Staged.error` (the records are committed in the ledger, and the
        next append writes them).
        """
        with self._errors():
            locked = self._locked()
            at = locked.__enter__()
        try:
            with self._errors():
                first = at.first or self._log_id
                pruned = at.pruned
                if first is not None:
                    self._recover(at, first, ledger)
                    if at.synced > at.pruned:  # the ledger may let go of the synced lines
                        ledger.audit_synced(first, at.pruned, at.synced)
                        pruned = at.synced
                if at.size == 0:  # nothing recovered: a new log, named by its first record
                    first = at.first = self._log_id = None
                records, data = self._chain(at, events, LEDGER)
                log_id = first or records[0]["hash"]
                if first is None:  # a new log: its id goes into the head before the commit
                    _write_head(at.hfd, {"log": log_id, "next": _head_of(records[-1], log_id)})
            staged = Staged(records, [(r["hash"], log_id, r["seq"], str(r.get("order_id")),
                                       line) for r, line in zip(records, at.lines, strict=True)])
            yield staged
            try:
                at.pruned = pruned  # committed
                self._write(at, records, data)
                if at.seq - at.synced >= self.SYNC_RECORDS \
                        or at.size - at.synced_at >= self.SYNC_BYTES:
                    self._sync(at)
            except OSError as exc:
                staged.error = AuditError(
                    f"audit log {self.path}: cannot write the decision ({exc.strerror or exc}); "
                    "its record is committed in the ledger, and the next append writes it")
        finally:
            locked.__exit__(None, None, None)

    #: The log is synced once this many records, or bytes, wait unsynced (their
    #: lines are held by the ledger until then). The head counts them (``synced``,
    #: ``synced_at``), so the writers of one log share the count.
    SYNC_RECORDS = 256
    SYNC_BYTES = 4 << 20

    @property
    def log_id(self) -> str | None:
        """The hash of the log's first record: which log a ledger row belongs to.

        Known after the first append through this object (None before).
        """
        return self._log_id

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """OSError and an unencodable record as `AuditError`."""
        try:
            yield
        except OSError as exc:
            raise AuditError(f"audit log {self.path}: cannot append the decision "
                             f"({exc.strerror or exc})") from None
        except (ValueError, TypeError) as exc:  # not encodable (e.g. a lone surrogate)
            raise AuditError(f"audit log {self.path}: cannot append the decision: "
                             f"it cannot be written as UTF-8 JSON ({type(exc).__name__})") \
                from None

    @contextmanager
    def _locked(self) -> Iterator[_At]:
        """The log and its head open, under the append lock, with the log's tail read."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        hfd = -1
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if self._tail is not None and self._tail[0] == size:  # nobody appended since
                torn, prev, seq, keyed, first = False, *self._tail[1:], self._log_id
            else:
                torn, prev, seq, keyed, first = _tail(self.path, self._log_id is None)
            if not self._cleaned:  # before the head is opened: this may replace it
                _clean_older_versions(self.path, prev, seq)
                self._cleaned = True
            hfd = os.open(self._head, os.O_RDWR | os.O_CREAT, FILE_MODE)
            head = _read_head_fd(hfd)
            head_keyed = head.get("chain") == KEYED
            if (keyed or head_keyed) and self.key is None:
                raise AuditError(f"audit log {self.path}: its chain is keyed (HMAC); "
                                 "configure audit_key_file to append to it")
            if head_keyed and not keyed:
                raise AuditError(f"audit log {self.path}: its head says the chain is "
                                 "keyed, but its last record is not: the log was "
                                 "rewritten without the key (run `exportgate audit "
                                 "verify` with the key); nothing is appended to it")
            named = _log_named(head)
            yield _At(fd, hfd, size, torn, prev, seq, first or self._log_id or named, head,
                      _int(head.get("synced")), _int(head.get("synced_at")),
                      _int(head.get("pruned")))
        finally:
            if hfd >= 0:
                os.close(hfd)
            os.close(fd)  # releases the lock

    def _chain(self, at: _At, events: list[dict[str, Any]], commit: str | None
               ) -> tuple[list[dict[str, Any]], bytes]:
        """The records of ``events`` after the log's last, and the bytes to append."""
        chain = KEYED if self.key is not None else PLAIN
        records: list[dict[str, Any]] = []
        at.lines = []
        prev, seq = at.prev, at.seq
        for event in events:
            seq += 1
            record: dict[str, Any] = {**event, "seq": seq, "prev_hash": prev, "chain": chain}
            if commit is not None:
                record["commit"] = commit
            line, record["hash"] = _line_and_hash(record, self.key)
            prev = record["hash"]
            records.append(record)
            at.lines.append(line)
        data = (b"\n" if at.torn else b"") + "".join(at.lines).encode("utf-8")
        return records, data

    def _write(self, at: _At, records: list[dict[str, Any]], data: bytes) -> None:
        """Append ``data`` (the records), with the head's intent before and the head after."""
        last = records[-1]
        log_id = self._log_id or at.first or records[0]["hash"]
        now = _head_of(last, log_id)
        _write_head(at.hfd, {**at.head, "next": now})  # the intent
        self._tail = None  # unknown until the write is whole
        _write_all(at.fd, data)
        at.size += len(data)
        at.torn, at.prev, at.seq = False, last["hash"], last["seq"]
        at.head = {**now, "synced": at.synced, "synced_at": at.synced_at, "pruned": at.pruned}
        _write_head(at.hfd, at.head)
        self._tail = (at.size, at.prev, at.seq, last["chain"] == KEYED)
        if self._log_id is None:
            self._log_id = at.first or records[0]["hash"]
            at.first = self._log_id

    @staticmethod
    def _sync(at: _At) -> None:
        """Sync the log, and say in the head how far (the ledger may let go of the lines)."""
        os.fsync(at.fd)
        at.synced, at.synced_at = at.seq, at.size
        at.head = {**at.head, "synced": at.synced, "synced_at": at.synced_at}
        _write_head(at.hfd, at.head)

    def _recover(self, at: _At, first: str, ledger: LedgerSide) -> None:
        """Write the records ``ledger`` committed after the log's last, if they follow it."""
        missing = ledger.audit_lines(first, at.seq)
        if not missing:
            return
        records = [loads(line) for _, line in missing]
        prev, seq = at.prev, at.seq
        for record in records:
            if not isinstance(record, dict) or record.get("prev_hash") != prev \
                    or record.get("seq") != seq + 1:
                return  # they do not follow: `audit verify --ledger` reports them
            prev, seq = record["hash"], seq + 1
        data = (b"\n" if at.torn else b"") + "".join(
            line.rstrip("\n") + "\n" for _, line in missing).encode("utf-8")
        self._write(at, records, data)
        self._sync(at)


@dataclass
class _At:
    """The log under the append lock: its files, size, tail and head."""

    fd: int
    hfd: int
    size: int
    torn: bool
    prev: str
    seq: int
    first: str | None
    head: dict[str, Any]
    #: The seq and size the log was last synced at, and the seq up to which the
    #: ledger let go of the lines (all as the head says).
    synced: int = 0
    synced_at: int = 0
    pruned: int = 0
    lines: list[str] = field(default_factory=list)


@dataclass
class Staged:
    """The records `AuditLog.staged` chained, and what the ledger transaction stores.

    ``rows`` are (hash, log id, seq, order id, line) for ``eg_audit``.
    ``error`` is set when the records could not be written after the commit.
    """

    records: list[dict[str, Any]]
    rows: list[tuple[str, str, int, str, str]]
    error: AuditError | None = None


class LedgerSide(Protocol):
    """What `AuditLog.staged` asks of the open ledger transaction (`SqlLedger.group`)."""

    def audit_lines(self, log_id: str, after_seq: int) -> list[tuple[int, str]]:
        """The lines of this log committed after ``after_seq`` and still held, by seq."""

    def audit_synced(self, log_id: str, after_seq: int, seq: int) -> None:
        """The log is synced up to ``seq``: the lines after ``after_seq`` up to it need
        not be held."""


def _log_named(head: Mapping[str, Any] | None) -> str | None:
    """The log id a head (or its intent) names, if any."""
    for doc in (head or {}, (head or {}).get("next")):
        if isinstance(doc, Mapping) and isinstance(doc.get("log"), str):
            return str(doc["log"])
    return None


def _head_of(record: Mapping[str, Any], log_id: str) -> dict[str, Any]:
    """The head naming ``record`` as the last of the log ``log_id``."""
    return {"records": record["seq"], "hash": record["hash"], "chain": record["chain"],
            "log": log_id}


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` (a write to a full disk may take part of it, then fail)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _line_and_hash(record: dict[str, Any], key: bytes | None) -> tuple[str, str]:
    """The record's line (its canonical JSON, ``hash`` included) and its hash, with
    the record serialised once: the keys before ``hash`` and those after it are
    serialised apart, and joined with and without it."""
    low = canonical({k: v for k, v in record.items() if k < "hash"})
    high = canonical({k: v for k, v in record.items() if k > "hash"})
    inner = ",".join(x for x in (low[1:-1], high[1:-1]) if x)
    data = ("{" + inner + "}").encode("utf-8")
    if chain_of(record) == KEYED:
        if key is None:
            raise ValueError("a keyed record needs the key")
        digest = hmac.new(key, data, hashlib.sha256).hexdigest()
    else:
        digest = hashlib.sha256(data).hexdigest()
    line = "{" + ",".join(x for x in (low[1:-1], f'"hash":"{digest}"', high[1:-1]) if x) + "}"
    return line + "\n", digest


def _tail(path: Path, want_first: bool = True) -> tuple[bool, str, int, bool, str | None]:
    """Under the append lock: whether the last line is torn, the last record's hash,
    seq and scheme, and (``want_first``) the first record's hash (None for an empty
    log)."""
    rfd = os.open(path, os.O_RDONLY)
    try:
        size = os.lseek(rfd, 0, os.SEEK_END)
        torn = size > 0 and os.pread(rfd, 1, size - 1) != b"\n"
        prev, seq, keyed = GENESIS, 0, False
        last = _last_line(rfd) if not torn else b""
        if torn:  # a crashed writer left half a line: chain past it
            content = os.pread(rfd, size, 0)
            complete = content[:content.rfind(b"\n") + 1]
            last = complete.rstrip(b"\n").rsplit(b"\n", 1)[-1] if complete else b""
        if last:
            try:
                before = loads(last)
                prev, seq = str(before["hash"]), int(before["seq"])
                keyed = chain_of(before) == KEYED
            except (ValueError, KeyError, TypeError, RecursionError):
                prev, seq = hashlib.sha256(last).hexdigest(), 0
        return torn, prev, seq, keyed, _first_hash(rfd) if last and want_first else None
    finally:
        os.close(rfd)


def _first_hash(fd: int) -> str | None:
    """The ``hash`` of the first line of the file open at ``fd`` (None if unreadable)."""
    buf, pos = b"", 0
    while b"\n" not in buf:
        chunk = os.pread(fd, 65536, pos)
        if not chunk:
            break
        buf += chunk
        pos += len(chunk)
    try:
        first = loads(buf.split(b"\n", 1)[0])
        return str(first["hash"]) if isinstance(first, dict) else None
    except (ValueError, KeyError, TypeError, RecursionError):
        return None


def _read_head_fd(fd: int) -> dict[str, Any]:
    """The head open at ``fd`` ({} when empty or unreadable)."""
    raw = os.pread(fd, 4 * HEAD_SIZE, 0)
    try:
        doc = loads(raw) if raw.strip() else {}
    except (ValueError, RecursionError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _write_head(fd: int, doc: dict[str, Any]) -> None:
    """Rewrite the head in place: one write of ``HEAD_SIZE`` bytes at the start, not synced.

    A write this small lands whole in one page and one disk sector: a kill
    leaves the head before or after it, never half of it.
    """
    text = json.dumps(doc).encode("utf-8")
    if len(text) >= HEAD_SIZE:
        raise ValueError("the head does not fit its file")
    os.pwrite(fd, text.ljust(HEAD_SIZE - 1) + b"\n", 0)
    if os.fstat(fd).st_size > HEAD_SIZE:  # written longer by an older version
        os.ftruncate(fd, HEAD_SIZE)


def _clean_older_versions(path: Path, last_hash: str, last_seq: int) -> None:
    """Under the append lock, once per process: settle what older versions left.

    An older version wrote the head's successor to ``FILE.head.pending``
    (synced) before its record, and renamed it over the head after: a
    pending head naming the log's last record is taken as the head; any
    other (its record never reached the log), and temporary head files, are
    removed.
    """
    pending = pending_path(path)
    try:
        doc = loads(pending.read_text(encoding="utf-8"))
    except FileNotFoundError:
        doc = None
    except (OSError, ValueError, RecursionError):
        doc = {}
    if doc is not None:
        if isinstance(doc, dict) and doc.get("hash") == last_hash \
                and doc.get("records") == last_seq:
            os.replace(pending, head_path(path))
        else:
            pending.unlink(missing_ok=True)
    for stale in path.parent.glob(f"{path.name}.head.*.tmp"):
        stale.unlink(missing_ok=True)


# -- verification ----------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """One break in the chain: what kind (edited, removed, inserted, reordered) and where."""

    kind: str
    line: int | None
    message: str

    def __str__(self) -> str:
        return (f"line {self.line}: " if self.line else "") + f"{self.kind}: {self.message}"


@dataclass(frozen=True)
class Uncommitted:
    """A record whose ledger transaction did not commit: where it is, and its order."""

    line: int
    seq: int
    order_id: str

    def __str__(self) -> str:
        return (f"line {self.line}: record {self.seq} (order {self.order_id}) was not "
                "committed (its ledger transaction rolled back): not a decision")


@dataclass(frozen=True)
class Report:
    path: Path
    records: int
    head: str | None
    anchored: bool
    problems: tuple[Problem, ...]
    keyed: bool = False
    notes: tuple[str, ...] = ()
    #: Records written before a ledger transaction that did not commit (rolled
    #: back, or killed before its commit): in the chain, but not decisions.
    #: Known only when the ledger was given (`ledger_checked`).
    uncommitted: tuple[Uncommitted, ...] = ()
    ledger_checked: bool = False
    #: Records that say their decision commits with the ledger transaction.
    ledger_records: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def decisions(self) -> int:
        """The records that are decisions (all of them, unless the ledger said otherwise)."""
        return self.records - len(self.uncommitted)

    @property
    def chain(self) -> str:
        """The chain's scheme, as an anchor copied elsewhere should record it."""
        return KEYED if self.keyed else PLAIN


def verify(path: str | Path, head: dict[str, Any] | None = None,
           key: bytes | None = None, ledger: SqlLedger | None = None) -> Report:
    """Check the chain of an audit log; every problem names its kind and its line.

    ``head`` is the anchor (``{"records": N, "hash": H, "chain": ...}``); by
    default the ``FILE.head`` written beside the log (or, after an append
    killed before it wrote the head, the head's intent naming the records it
    synced), if there is one. Without an anchor the chain ends at the record
    with the highest ``seq``. ``key`` is the chain key: a log whose records,
    head, pending head or anchor say it is keyed cannot be verified without it
    (ConfigError); with it, every record after the first keyed one must be
    keyed, and a head or anchor that says keyed must name a keyed record.

    ``ledger`` is the ledger the log's decisions were committed to: each
    record that says ``"commit": "ledger"`` is a decision only if the ledger
    holds its hash (else it is `Report.uncommitted`), and a record the ledger
    holds for this log but the log does not is a removal. Records after the
    head that the ledger holds were written before a power loss took the
    head's last write: they are anchored by the ledger (a note).
    """
    path = Path(path)
    raw_lines = _read_lines(path)
    notes = _mode_notes(path)
    pending: dict[str, Any] | None = None
    anchor = head
    beside = _read_head(head_path(path), quiet=anchor is not None)
    if head is None:
        head = beside
        pending = _read_head(pending_path(path), quiet=True)  # an older version's
        if head is not None and isinstance(head.get("next"), dict):
            pending = head["next"]
            head = {k: v for k, v in head.items() if k != "next"}
        if not head or "hash" not in head:
            head = None
    # Whatever says how the chain is made, besides the records themselves.
    claims = [(who, doc) for who, doc in (("the head beside the log", beside),
                                          ("the pending head", pending),
                                          ("the anchor", anchor)) if doc is not None]
    problems = _check_claims(path, claims, anchor, key)
    log = _read_records(path, raw_lines, key, problems)
    if pending is not None:
        head = _settle_pending(log, head, pending, notes)
    committed = _committed(log, beside, ledger) if ledger is not None else None
    if committed is not None and head is not None and anchor is None:
        head = _ledger_anchors(log, head, committed, notes)
    start = _chain_end(log, head, problems)
    chain, visited = _follow_chain(log, start, problems)
    _check_placement(log, chain, visited, head, start, problems)
    if key is not None and log.records:
        _check_keyed(log, chain, claims, problems, notes)
    uncommitted: list[Uncommitted] = []
    if committed is not None:
        uncommitted = _check_ledger(log, committed, problems, notes)
    problems.sort(key=lambda p: (p.line or 0, p.kind))
    last_hash = log.records[start]["hash"] if start is not None else None
    return Report(path, len(raw_lines), last_hash, head is not None, tuple(problems),
                  log.keyed, tuple(notes), tuple(uncommitted), committed is not None,
                  sum(1 for r in log.records.values() if r.get("commit") == LEDGER))


def _committed(log: _Records, head: dict[str, Any] | None, ledger: SqlLedger
               ) -> dict[str, tuple[int, str, bool]]:
    """What the ledger holds of this log: record hash -> (seq, order id, line held).

    The log is named by its first record's hash, or (a log whose first
    records were committed but not yet written) by the head's ``log``.
    """
    first = log.records.get(1)
    log_id = first["hash"] if first is not None else _log_named(head)
    return ledger.audit_records(log_id) if isinstance(log_id, str) else {}


def _ledger_anchors(log: _Records, head: dict[str, Any],
                    committed: Mapping[str, tuple[int, str, bool]], notes: list[str]
                    ) -> dict[str, Any]:
    """The head, or the newest record when the ledger holds every record after the head.

    A power loss can take the head's last write (it is not synced) but not
    the records' or the ledger's: records that follow the head and whose
    transactions committed are anchored by the ledger.
    """
    if not log.records:
        return head
    newest = log.newest()
    after = [m for m in log.records if log.seq(m) > _int(head.get("records"))]
    if not after or any(log.records[m].get("commit") != LEDGER
                        or log.records[m]["hash"] not in committed for m in after):
        return head
    if not _follows(log, newest, head):
        return head
    notes.append(f"records {_int(head.get('records')) + 1}-{log.seq(newest)} follow the head, "
                 "and the ledger holds them: the head's last write was lost (a power "
                 "loss); the ledger anchors them")
    return {"records": log.seq(newest), "hash": log.records[newest]["hash"],
            "chain": log.records[newest].get("chain", PLAIN)}


def _check_ledger(log: _Records, committed: Mapping[str, tuple[int, str, bool]],
                  problems: list[Problem], notes: list[str]) -> list[Uncommitted]:
    """Records the ledger did not commit (not decisions); committed ones the log lacks.

    A committed record after the log's last whose line the ledger still holds
    was not written yet (its writer stopped between the commit and the write,
    or a power loss took the log's unsynced end): the next append writes it.
    Any other committed record the log lacks was removed.
    """
    uncommitted = [Uncommitted(n, log.seq(n), str(rec.get("order_id", "?")))
                   for n, rec in sorted(log.records.items())
                   if rec.get("commit") == LEDGER and rec["hash"] not in committed
                   and n not in log.edited]
    last = log.seq(log.newest()) if log.records else 0
    pending: list[int] = []
    for h, (seq, order_id, held) in sorted(committed.items(), key=lambda kv: kv[1][0]):
        if h in log.lines_of:
            continue
        if held and seq > last:
            pending.append(seq)
        else:
            problems.append(Problem("removed", None, f"record {seq} (order {order_id}) "
                                    "is committed in the ledger but not in the log"))
    if pending:
        notes.append(f"{len(pending)} committed record(s) ({pending[0]}-{pending[-1]}) are "
                     "in the ledger, not yet in the log (a writer stopped between its "
                     "commit and its write, or a power loss took the log's unsynced end): "
                     "the next append writes them")
    return uncommitted


def _int(value: Any) -> int:
    return value if isinstance(value, int) else 0


@dataclass
class _Records:
    """The log's lines read as records, for the checks of `verify`.

    ``records`` maps a line number to its record, ``lines_of`` a stored hash
    to the lines that carry it, and ``edited`` holds the lines already
    reported as edited (so that no later check reports them again).
    """

    records: dict[int, dict[str, Any]]
    lines_of: dict[str, list[int]]
    edited: set[int]

    def seq(self, n: int) -> int:
        value = self.records[n].get("seq")
        return value if isinstance(value, int) else 0

    def newest(self) -> int:
        """The line of the record with the highest ``seq`` (the last such line)."""
        return max(self.records, key=lambda m: (self.seq(m), m))

    def find(self, h: str, before: int) -> int | None:
        """The line holding hash ``h``: the nearest one before ``before``, else the first after."""
        found = self.lines_of.get(h, [])
        earlier = [m for m in found if m < before]
        return earlier[-1] if earlier else (found[0] if found else None)

    def named(self, doc: Mapping[str, Any]) -> int | None:
        """The last line holding the hash a head (or an anchor) names, if any."""
        found = self.lines_of.get(str(doc.get("hash")), [])
        return found[-1] if found else None

    @property
    def keyed(self) -> bool:
        return any(r.get("chain") == KEYED for r in self.records.values())


def _read_lines(path: Path) -> list[bytes]:
    """The log's lines, without the empty one after the last newline."""
    try:
        raw_lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    return raw_lines


def _mode_notes(path: Path) -> list[str]:
    """A note when others may read or write the log: it holds whole policy inputs."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = 0
    if mode & 0o077:
        return [(f"the log is readable or writable by others (mode {mode:o}): it holds "
                 f"whole policy inputs; chmod 600 {path}")]
    return []


def _check_claims(path: Path, claims: list[tuple[str, dict[str, Any]]],
                  anchor: dict[str, Any] | None, key: bytes | None) -> list[Problem]:
    """The problems of the chain schemes the head, pending head and anchor state.

    Refuses (ConfigError) an anchor stating an unknown scheme, and any claim
    of a keyed chain when no key is given: a keyed log never verifies as plain.
    """
    problems: list[Problem] = []
    for who, doc in claims:
        try:
            chain_of(doc)
        except ValueError as exc:
            if doc is anchor:
                raise ConfigError(f"the anchor for {path}: {exc}") from None
            problems.append(Problem("head", None, f"{who} states an {exc}"))
            continue
        if doc.get("chain") == KEYED and key is None:
            raise ConfigError(f"{path}: {who} says the chain is keyed (HMAC): give its key "
                              "with --key-file, or the configuration that sets "
                              "audit_key_file (a keyed log never verifies as plain)")
    return problems


def _read_records(path: Path, raw_lines: list[bytes], key: bytes | None,
                  problems: list[Problem]) -> _Records:
    """Each line read as a record and its hash checked; a line that fails is edited.

    Refuses (ConfigError) a keyed record when no key is given.
    """
    log = _Records({}, {}, set())
    for n, raw in enumerate(raw_lines, 1):
        try:
            rec = loads(raw)
            if not isinstance(rec, dict) or not isinstance(rec.get("hash"), str) \
                    or not isinstance(rec.get("prev_hash"), str):
                raise ValueError("not a record")
        except DuplicateKeyError as exc:
            problems.append(Problem("edited", n, f"the line gives a key twice ({exc})"))
            log.edited.add(n)
            continue
        except (ValueError, RecursionError):
            problems.append(Problem("edited", n, "the line is not a chained JSON record "
                                    "(edited by hand, or a torn write)"))
            log.edited.add(n)
            continue
        log.records[n] = rec
        log.lines_of.setdefault(rec["hash"], []).append(n)
        try:
            chain_of(rec)
        except ValueError as exc:
            log.edited.add(n)
            problems.append(Problem("edited", n, f"{_describe(rec)} states an {exc}"))
            continue
        if rec.get("chain") == KEYED and key is None:
            raise ConfigError(f"{path}: the chain is keyed (HMAC): give its key with "
                              "--key-file, or the configuration that sets audit_key_file")
        if record_hash(rec, key) != rec["hash"]:
            log.edited.add(n)
            problems.append(Problem("edited", n, f"{_describe(rec)} does not match its "
                                    + ("keyed hash" if rec.get("chain") == KEYED else "hash")))
    return log


def _settle_pending(log: _Records, head: dict[str, Any] | None, pending: dict[str, Any],
                    notes: list[str]) -> dict[str, Any] | None:
    """The head that anchors the chain, given the intent of an append (or an older
    version's pending head).

    An append killed after its records were synced but before it wrote the
    head leaves an intent naming its last record, which follows the head's
    record link by link: that intent anchors the chain. Any other intent is
    dropped.
    """
    line = log.named(pending)
    rec = log.records[line] if line is not None else None
    if rec is not None and line is not None and rec.get("seq") == pending.get("records") \
            and (head is None or _follows(log, line, head)):
        first = _int(head.get("records")) + 1 if head is not None else rec.get("seq")
        which = f"record {rec.get('seq')}" if first == rec.get("seq") \
            else f"records {first}-{rec.get('seq')}"
        notes.append(f"{which} were appended by a process stopped before it wrote the "
                     "head: the head's intent anchors them (the next append writes the "
                     "head)")
        return pending
    notes.append("the head's intent names no record that follows the head: an append "
                 "stopped before writing its records (nothing was lost)")
    return head


def _follows(log: _Records, line: int, head: dict[str, Any]) -> bool:
    """Whether the record at ``line`` links back, one seq at a time, to the head's record."""
    base_seq, base_hash = _int(head.get("records")), head.get("hash")
    n = line
    for _ in range(max(0, log.seq(line) - base_seq)):
        rec = log.records[n]
        if rec.get("prev_hash") == base_hash:
            return log.seq(n) == base_seq + 1
        m = log.find(str(rec.get("prev_hash")), n)
        if m is None or log.seq(m) != log.seq(n) - 1:
            return False
        n = m
    return False


def _chain_end(log: _Records, head: dict[str, Any] | None,
               problems: list[Problem]) -> int | None:
    """The line where the chain ends: the anchor's record, else the newest record.

    An anchor whose record is not in the file is a removal at the end.
    """
    start: int | None = None
    if head is not None:
        start = log.named(head)
        if start is None:
            last = log.seq(log.newest()) if log.records else 0
            counted = head.get("records")
            gone = counted - last if isinstance(counted, int) else 0
            problems.append(Problem(
                "removed", None, f"the head anchor's last record (record {head.get('records')}, "
                f"hash {str(head.get('hash'))[:12]}...) is not in the file: "
                + (f"{gone} record(s) " if gone > 0 else "records ") + "removed at the end"))
    if start is None and log.records:
        start = log.newest()
    return start


def _follow_chain(log: _Records, start: int | None,
                  problems: list[Problem]) -> tuple[list[int], set[int]]:
    """The chain's lines, first to last, following ``prev_hash`` back from ``start``.

    A missing predecessor is a removal, unless the line before was edited (and
    so no longer carries the hash). Returns the chain and the lines it visited.
    """
    chain: list[int] = []
    visited: set[int] = set()
    cursor: int | None = start
    while cursor is not None:
        n = cursor
        visited.add(n)
        chain.append(n)
        prev = log.records[n]["prev_hash"]
        if prev == GENESIS:
            break
        nxt = log.find(prev, n)
        if nxt is not None and nxt in visited:
            nxt = None
        if nxt is None:
            _report_broken_link(log, n, visited, problems)
            nxt = next((m for m in range(n - 1, 0, -1)
                        if m in log.records and m not in visited), None)
        cursor = nxt
    chain.reverse()
    return chain, visited


def _report_broken_link(log: _Records, n: int, visited: set[int],
                        problems: list[Problem]) -> None:
    """Why the record at line ``n`` links to no earlier record: edited or removed."""
    earlier = [m for m in range(n - 1, 0, -1) if m not in visited]
    below = earlier[0] if earlier else None
    if n in log.edited or (below is not None and below in log.edited):
        return  # the edit is already reported
    if below is not None and below in log.records and log.seq(below) + 1 == log.seq(n):
        log.edited.add(below)
        problems.append(Problem("edited", below, f"{_describe(log.records[below])} was "
                                "changed and given a fresh hash: the next record no "
                                "longer links to it"))
        return
    gap = log.seq(n) - (log.seq(below) if below is not None else 0) - 1
    problems.append(Problem(
        "removed", n, (f"{gap} record(s)" if gap > 0 else "records")
        + f" missing before {_describe(log.records[n])}"))


def _check_placement(log: _Records, chain: list[int], visited: set[int],
                     head: dict[str, Any] | None, start: int | None,
                     problems: list[Problem]) -> None:
    """Records outside the chain (inserted), out of order (reordered), and the head's count."""
    for m in sorted(log.records):
        if m not in visited and m not in log.edited:
            where = "comes after the head anchor's last record" \
                if head is not None and start is not None and m > start \
                else "is not part of the chain"
            problems.append(Problem("inserted", m, f"{_describe(log.records[m])} {where}"))
    keep = set(_increasing(chain))
    for k, m in enumerate(chain):
        if m not in keep:
            where = f"after line {chain[k - 1]}" if k else "at the start"
            problems.append(Problem("reordered", m, f"{_describe(log.records[m])} is out of "
                                    f"order: it belongs {where}"))
    if head is not None and start is not None and not problems \
            and head.get("records") != log.seq(start):
        problems.append(Problem("head", None, f"the head anchor counts {head.get('records')} "
                                f"records, the chain {log.seq(start)}"))


def _check_keyed(log: _Records, chain: list[int], claims: list[tuple[str, dict[str, Any]]],
                 problems: list[Problem], notes: list[str]) -> None:
    """With the key: no plain record after a keyed one, and heads state their record's scheme."""
    records = log.records
    seen_keyed = False
    for m in chain:
        if records[m].get("chain") == KEYED:
            seen_keyed = True
        elif seen_keyed and m not in log.edited:
            problems.append(Problem("unkeyed", m, f"{_describe(records[m])} follows a "
                                    "keyed record but is not keyed: written without the "
                                    "key"))
    if not log.keyed:
        problems.append(Problem("unkeyed", None, "no record is keyed: the whole chain can "
                                "be rewritten without the key"))
    plain = next((k for k, m in enumerate(chain) if records[m].get("chain") == KEYED), 0)
    if log.keyed and plain:
        notes.append(f"the first {plain} record(s) are plain, written before the key was "
                     "turned on: the first keyed record's link covers them, the key does "
                     "not (an anchor taken before then does)")
    for who, doc in claims:
        line = log.named(doc)
        if line is None or line in log.edited or doc.get("chain") not in CHAINS:
            continue  # a missing or edited record is reported already
        if doc["chain"] != records[line].get("chain", PLAIN):
            says = "keyed" if doc["chain"] == KEYED else "plain"
            problems.append(Problem(
                "unkeyed" if says == "keyed" else "head", line,
                f"{who} says the chain is {says}, but {_describe(records[line])} it "
                "names is not: the log was rewritten without the key"
                if says == "keyed" else
                f"{who} says the chain is plain, but {_describe(records[line])} it "
                "names is keyed"))


def _read_head(path: Path, quiet: bool = False) -> dict[str, Any] | None:
    """A head anchor file, or None if absent (or, ``quiet``, unreadable)."""
    try:
        text = path.read_text(encoding="utf-8")
        if not text.strip():  # created by an append stopped before it wrote the head
            return None
        doc = loads(text)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, RecursionError) as exc:
        if quiet:
            return None
        raise ConfigError(f"{path}: the head anchor is unreadable ({exc})") from None
    if not isinstance(doc, dict):
        if quiet:
            return None
        raise ConfigError(f"{path}: the head anchor is not a JSON object")
    return doc


def _describe(rec: Mapping[str, Any]) -> str:
    return f"record {rec.get('seq', '?')} (order {rec.get('order_id', '?')})"


def _increasing(xs: list[int]) -> list[int]:
    """A longest increasing subsequence of ``xs`` (patience sorting)."""
    import bisect
    tails: list[int] = []
    tail_at: list[int] = []
    parent = [-1] * len(xs)
    for i, x in enumerate(xs):
        k = bisect.bisect_left(tails, x)
        if k == len(tails):
            tails.append(x)
            tail_at.append(i)
        else:
            tails[k] = x
            tail_at[k] = i
        parent[i] = tail_at[k - 1] if k else -1
    out, i = [], tail_at[-1] if tail_at else -1
    while i >= 0:
        out.append(xs[i])
        i = parent[i]
    return out[::-1]


# -- the command line ---------------------------------------------------------
