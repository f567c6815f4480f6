"""The order book an impact report decides: records from files, or the ledger's open orders.

From the ledger, the book is the latest policy input, in the decision log,
of every order the ledger still holds as reserved; the quota it holds as
committed (shipped orders) is carried into each side's throwaway ledger.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from ._adapter import Record
from ._exceptions import ConfigError, InputError
from ._json import loads
from .ledger.base import COMMITTED, RESERVED
from .ledger.urls import open_ledger
from ._model import Consumption
from ._plugins import Plugins
from ._settings import Settings


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
