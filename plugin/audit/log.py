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

Appends are safe across processes: the log is opened with ``O_APPEND`` and
held under an exclusive ``fcntl`` lock while the last record is read, the
head's successor written to ``FILE.head.pending`` (and synced), the new
record written and synced, and the pending head renamed over the head. A
process killed between the log's sync and the rename leaves a pending head
naming the last record: the next append, and ``audit verify``, finish that
rename instead of reporting tampering. A pending head whose record never
reached the log is dropped.

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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._exceptions import AuditError, ConfigError
from .._json import DuplicateKeyError, loads
from .._model import Decision, Order
from .._regime import Regime

GENESIS = "0" * 64
#: The ``chain`` of a plain record (SHA-256), and of a keyed one (HMAC-SHA256).
PLAIN = "sha256"
KEYED = "hmac-sha256"
CHAINS = (PLAIN, KEYED)
#: The mode of the files this module creates.
FILE_MODE = 0o600
MIN_KEY_BYTES = 16


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
        try:
            return self._append(event)
        except OSError as exc:
            raise AuditError(f"audit log {self.path}: cannot append the decision "
                             f"({exc.strerror or exc})") from None
        except (ValueError, TypeError) as exc:  # not encodable (e.g. a lone surrogate)
            raise AuditError(f"audit log {self.path}: cannot append the decision: "
                             f"it cannot be written as UTF-8 JSON ({type(exc).__name__})") \
                from None

    def _append(self, event: dict[str, Any]) -> dict[str, Any]:
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            rfd = os.open(self.path, os.O_RDONLY)
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
            finally:
                os.close(rfd)
            head = _read_head(head_path(self.path), quiet=True) or {}
            head_keyed = head.get("chain") == KEYED
            if (keyed or head_keyed) and self.key is None:
                raise AuditError(f"audit log {self.path}: its chain is keyed (HMAC); configure "
                                 "audit_key_file to append to it")
            if head_keyed and not keyed:
                raise AuditError(f"audit log {self.path}: its head says the chain is keyed, "
                                 "but its last record is not: the log was rewritten without "
                                 "the key (run `exportgate audit verify` with the key); "
                                 "nothing is appended to it")
            _recover(self.path, prev, seq)
            record: dict[str, Any] = {**event, "seq": seq + 1, "prev_hash": prev,
                                      "chain": KEYED if self.key is not None else PLAIN}
            record["hash"] = record_hash(record, self.key)
            line = (b"\n" if torn else b"") + (canonical(record) + "\n").encode("utf-8")
            pending = pending_path(self.path)
            _write_file(pending, json.dumps({"records": record["seq"], "hash": record["hash"],
                                             "chain": record["chain"]}) + "\n")
            os.write(fd, line)
            os.fsync(fd)
            os.replace(pending, head_path(self.path))
        finally:
            os.close(fd)  # releases the lock
        return record


def _write_file(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (owner-only if new) and sync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def _recover(path: Path, last_hash: str, last_seq: int) -> None:
    """Under the append lock: finish an append a kill interrupted, or drop its intent.

    A pending head naming the log's last record was written by an append
    that synced its record but died before renaming the head: rename it now.
    Any other pending head (its record never reached the log) and temporary
    head files of older versions are removed.
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
class Report:
    path: Path
    records: int
    head: str | None
    anchored: bool
    problems: tuple[Problem, ...]
    keyed: bool = False
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def chain(self) -> str:
        """The chain's scheme, as an anchor copied elsewhere should record it."""
        return KEYED if self.keyed else PLAIN


def verify(path: str | Path, head: dict[str, Any] | None = None,
           key: bytes | None = None) -> Report:
    """Check the chain of an audit log; every problem names its kind and its line.

    ``head`` is the anchor (``{"records": N, "hash": H, "chain": ...}``); by
    default the ``FILE.head`` written beside the log (or, after an append
    killed before its head was renamed, the pending head naming the next
    record), if there is one. Without an anchor the chain ends at the record
    with the highest ``seq``. ``key`` is the chain key: a log whose records,
    head, pending head or anchor say it is keyed cannot be verified without it
    (ConfigError); with it, every record after the first keyed one must be
    keyed, and a head or anchor that says keyed must name a keyed record.
    """
    path = Path(path)
    try:
        raw_lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if raw_lines and raw_lines[-1] == b"":
        raw_lines.pop()
    notes: list[str] = []
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        mode = 0
    if mode & 0o077:
        notes.append(f"the log is readable or writable by others (mode {mode:o}): it holds "
                     f"whole policy inputs; chmod 600 {path}")
    pending: dict[str, Any] | None = None
    anchor = head
    beside = _read_head(head_path(path), quiet=anchor is not None)
    if head is None:
        head = beside
        pending = _read_head(pending_path(path), quiet=True)
    # Whatever says how the chain is made, besides the records themselves.
    claims = [(who, doc) for who, doc in (("the head beside the log", beside),
                                          ("the pending head", pending),
                                          ("the anchor", anchor)) if doc is not None]
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
    records: dict[int, dict[str, Any]] = {}   # line number -> record
    lines_of: dict[str, list[int]] = {}       # stored hash -> line numbers
    edited: set[int] = set()
    for n, raw in enumerate(raw_lines, 1):
        try:
            rec = loads(raw)
            if not isinstance(rec, dict) or not isinstance(rec.get("hash"), str) \
                    or not isinstance(rec.get("prev_hash"), str):
                raise ValueError("not a record")
        except DuplicateKeyError as exc:
            problems.append(Problem("edited", n, f"the line gives a key twice ({exc})"))
            edited.add(n)
            continue
        except (ValueError, RecursionError):
            problems.append(Problem("edited", n, "the line is not a chained JSON record "
                                    "(edited by hand, or a torn write)"))
            edited.add(n)
            continue
        records[n] = rec
        lines_of.setdefault(rec["hash"], []).append(n)
        try:
            chain_of(rec)
        except ValueError as exc:
            edited.add(n)
            problems.append(Problem("edited", n, f"{_describe(rec)} states an {exc}"))
            continue
        if rec.get("chain") == KEYED and key is None:
            raise ConfigError(f"{path}: the chain is keyed (HMAC): give its key with "
                              "--key-file, or the configuration that sets audit_key_file")
        if record_hash(rec, key) != rec["hash"]:
            edited.add(n)
            problems.append(Problem("edited", n, f"{_describe(rec)} does not match its "
                                    + ("keyed hash" if rec.get("chain") == KEYED else "hash")))

    def seq(n: int) -> int:
        value = records[n].get("seq")
        return value if isinstance(value, int) else 0

    def find(h: str, before: int) -> int | None:
        """The line holding hash ``h``: the nearest one before ``before``, else the first after."""
        found = lines_of.get(h, [])
        earlier = [m for m in found if m < before]
        return earlier[-1] if earlier else (found[0] if found else None)

    # An append killed after its record was synced but before its head was
    # renamed: the pending head names the record right after the head's.
    if pending is not None:
        named = lines_of.get(str(pending.get("hash")), [])
        rec = records[named[-1]] if named else None
        follows = rec is not None and (
            rec.get("prev_hash") == head.get("hash") if head is not None
            else rec.get("prev_hash") == GENESIS or rec.get("seq") == pending.get("records"))
        if rec is not None and follows and rec.get("seq") == pending.get("records"):
            head = pending
            notes.append(f"record {rec.get('seq')} was appended by a process stopped before "
                         "it renamed the head: the pending head anchors it (the next append "
                         "completes the rename)")
        else:
            notes.append("a pending head names no record that follows the head: an append "
                         "stopped before writing its record (nothing was lost)")

    # Where the chain ends: the anchor's record, else the newest record.
    start: int | None = None
    if head is not None:
        found = lines_of.get(str(head.get("hash")), [])
        start = found[-1] if found else None
        if start is None:
            last = seq(max(records, key=lambda m: (seq(m), m))) if records else 0
            counted = head.get("records")
            gone = counted - last if isinstance(counted, int) else 0
            problems.append(Problem(
                "removed", None, f"the head anchor's last record (record {head.get('records')}, "
                f"hash {str(head.get('hash'))[:12]}...) is not in the file: "
                + (f"{gone} record(s) " if gone > 0 else "records ") + "removed at the end"))
    if start is None and records:
        start = max(records, key=lambda m: (seq(m), m))

    # Follow prev_hash back from the end. A missing predecessor is a removal,
    # unless the line before was edited (and so no longer carries the hash).
    chain: list[int] = []
    visited: set[int] = set()
    cursor: int | None = start
    while cursor is not None:
        n = cursor
        visited.add(n)
        chain.append(n)
        prev = records[n]["prev_hash"]
        if prev == GENESIS:
            break
        nxt = find(prev, n)
        if nxt is not None and nxt in visited:
            nxt = None
        if nxt is None:
            earlier = [m for m in range(n - 1, 0, -1) if m not in visited]
            below = earlier[0] if earlier else None
            if n in edited or (below is not None and below in edited):
                pass  # the edit is already reported
            elif below is not None and below in records and seq(below) + 1 == seq(n):
                edited.add(below)
                problems.append(Problem("edited", below, f"{_describe(records[below])} was "
                                        "changed and given a fresh hash: the next record no "
                                        "longer links to it"))
            else:
                gap = seq(n) - (seq(below) if below is not None else 0) - 1
                problems.append(Problem(
                    "removed", n, (f"{gap} record(s)" if gap > 0 else "records")
                    + f" missing before {_describe(records[n])}"))
            nxt = next((m for m in range(n - 1, 0, -1)
                        if m in records and m not in visited), None)
        cursor = nxt
    chain.reverse()

    for m in sorted(records):
        if m not in visited and m not in edited:
            where = "comes after the head anchor's last record" \
                if head is not None and start is not None and m > start \
                else "is not part of the chain"
            problems.append(Problem("inserted", m, f"{_describe(records[m])} {where}"))
    keep = set(_increasing(chain))
    for k, m in enumerate(chain):
        if m not in keep:
            where = f"after line {chain[k - 1]}" if k else "at the start"
            problems.append(Problem("reordered", m, f"{_describe(records[m])} is out of "
                                    f"order: it belongs {where}"))
    if head is not None and start is not None and not problems \
            and head.get("records") != seq(start):
        problems.append(Problem("head", None, f"the head anchor counts {head.get('records')} "
                                f"records, the chain {seq(start)}"))
    keyed = any(r.get("chain") == KEYED for r in records.values())
    if key is not None and records:
        seen_keyed = False
        for m in chain:
            if records[m].get("chain") == KEYED:
                seen_keyed = True
            elif seen_keyed and m not in edited:
                problems.append(Problem("unkeyed", m, f"{_describe(records[m])} follows a "
                                        "keyed record but is not keyed: written without the "
                                        "key"))
        if not keyed:
            problems.append(Problem("unkeyed", None, "no record is keyed: the whole chain can "
                                    "be rewritten without the key"))
        plain = next((k for k, m in enumerate(chain) if records[m].get("chain") == KEYED), 0)
        if keyed and plain:
            notes.append(f"the first {plain} record(s) are plain, written before the key was "
                         "turned on: the first keyed record's link covers them, the key does "
                         "not (an anchor taken before then does)")
        for who, doc in claims:
            named = lines_of.get(str(doc.get("hash")), [])
            if not named or named[-1] in edited or doc.get("chain") not in CHAINS:
                continue  # a missing or edited record is reported already
            if doc["chain"] != records[named[-1]].get("chain", PLAIN):
                says = "keyed" if doc["chain"] == KEYED else "plain"
                problems.append(Problem(
                    "unkeyed" if says == "keyed" else "head", named[-1],
                    f"{who} says the chain is {says}, but {_describe(records[named[-1]])} it "
                    "names is not: the log was rewritten without the key"
                    if says == "keyed" else
                    f"{who} says the chain is plain, but {_describe(records[named[-1]])} it "
                    "names is keyed"))
    problems.sort(key=lambda p: (p.line or 0, p.kind))
    last_hash = records[start]["hash"] if start is not None else None
    return Report(path, len(raw_lines), last_hash, head is not None, tuple(problems),
                  keyed, tuple(notes))


def _read_head(path: Path, quiet: bool = False) -> dict[str, Any] | None:
    """A head anchor file, or None if absent (or, ``quiet``, unreadable)."""
    try:
        doc = loads(path.read_text(encoding="utf-8"))
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
