"""Generic CSV and JSON lines, one row per order line, read through a YAML column mapping.

For ERPs without an adapter, or reports exported from one: the mapping file
(``adapters.tabular.mapping`` in the configuration, a path relative to it)
names the column of each canonical field (``order_id``, ``date``,
``line_id``, ``item``, ``quantity``, ``ship_to`` and optionally ``unit``,
the parties' ``*_country`` / ``*_name`` / ``*_address`` (the address in one
column, as the file writes it), ``sold_to``, ``end_user`` and
``ship_from``), the CSV ``delimiter`` and a ``date_format`` (``strptime``;
ISO dates by default). Rows are grouped into orders by the order-id column,
in file order; rows of one order that name different parties become
separate orders (``<id>#<first line>``).

The adapter claims a CSV or JSON-lines text, or a JSON array of rows, only
when a mapping is configured and the header (the first row's keys) has every
required column. A single row on its own is refused: an order's rows must
arrive together, or checking them one by one would replace each other's
reservations.

Write-back: one entry per row, keyed by the mapping's own order and line
columns, so the host can join the outcome back onto its table.
"""
from __future__ import annotations

import csv
import datetime
import io
from pathlib import Path
from typing import Any, Callable, Mapping

from exportgate.toolkit import (ERP_OPTIONS, Adapter, Decision, Fields, InputError, LineIn,
                               NotAssessed, Order, PartyRef, Record, Settings, build_orders,
                               document_id, blocks, hookimpl, item_catalog, load_yaml, options,
                               party_master, validate_data)




#: The tabular adapter's column mapping: canonical field -> column name.
TABULAR_COLUMNS = ("order_id", "date", "line_id", "item", "quantity", "unit",
                   "sold_to", "sold_to_country", "sold_to_name", "sold_to_address",
                   "ship_to", "ship_to_country", "ship_to_name", "ship_to_address",
                   "end_user", "end_user_country", "end_user_name", "end_user_address",
                   "ship_from")
TABULAR_REQUIRED = ("order_id", "date", "line_id", "item", "quantity", "ship_to")

TABULAR_MAPPING: dict[str, Any] = {
    "version": {"type": "integer", "required": True, "allowed": [1]},
    "delimiter": {"type": "string", "minlength": 1, "maxlength": 1, "default": ","},
    "date_format": {"type": "string", "nullable": True},
    "columns": {"type": "dict", "required": True, "schema": {
        name: {"type": "string", "empty": False, "required": name in TABULAR_REQUIRED}
        for name in TABULAR_COLUMNS}},
}

#: ``mapping`` is the path of a TABULAR_MAPPING file, relative to the configuration.
TABULAR_OPTIONS: dict[str, Any] = {
    "ship_from": ERP_OPTIONS["ship_from"],
    "mapping": {"type": "string", "nullable": True},
}


_ROLES = ("sold_to", "ship_to", "end_user")


class TabularAdapter:
    """Reads mapped CSV / JSON-lines rows; writes back one outcome per row."""

    name = "tabular"
    description = "CSV or JSON lines, one row per order line, with a YAML column mapping"

    def __init__(self, settings: Settings) -> None:
        self.options = options(settings, self.name, TABULAR_OPTIONS)
        self.master = party_master(settings.parties)
        self.catalog = item_catalog(settings.catalogs)
        self.mapping: dict[str, Any] | None = None
        if self.options.get("mapping"):
            base = settings.source.resolve().parent if settings.source else Path.cwd()
            path = base / self.options["mapping"]
            self.mapping = validate_data(load_yaml(path, "column mapping"), TABULAR_MAPPING,
                                         f"column mapping {path}")

    @property
    def columns(self) -> dict[str, str]:
        return dict(self.mapping["columns"]) if self.mapping else {}

    def claims(self, record: Record) -> bool:
        if self.mapping is None:
            return False
        header = self._header(record)
        return header is not None and {self.columns[c] for c in TABULAR_REQUIRED} <= header

    def near_miss(self, record: Record) -> str | None:
        """A table without a configured mapping, or whose header lacks a mapped column."""
        header = self._header(record)
        if header is None or len(header) < 2:
            return None
        if self.mapping is None:
            return ("looks like a table but no column mapping is configured "
                    "(adapters.tabular.mapping)")
        missing = [self.columns[c] for c in TABULAR_REQUIRED if self.columns[c] not in header]
        if not missing or len(missing) == len(TABULAR_REQUIRED):
            return None
        return ("looks like a table of the column mapping but lacks the mapped column(s) "
                + ", ".join(repr(c) for c in missing))

    def _header(self, record: Record) -> set[str] | None:
        """The column names of a record's first row, if it is tabular at all."""
        if isinstance(record.data, list):
            first = record.data[0] if record.data else None
            return set(first) if isinstance(first, dict) else None
        if record.data is not None:
            return None
        head = record.text.lstrip().split("\n", 1)[0]
        if head.startswith("{"):
            try:
                row = Record.from_text(head, record.source).data
            except InputError:
                return None
            return set(row) if isinstance(row, dict) else None
        try:
            return set(next(csv.reader([head], delimiter=self._delimiter)))
        except (csv.Error, StopIteration):
            return None

    @property
    def _delimiter(self) -> str:
        return str(self.mapping["delimiter"]) if self.mapping else ","

    def adapt(self, record: Record) -> list[Order]:
        f = Fields(self.name, record)
        if self.mapping is None:
            raise f.error("no column mapping is configured (adapters.tabular.mapping)", "record")
        groups: dict[str, list[tuple[int, Mapping[str, Any]]]] = {}
        order_column = self.columns["order_id"]
        for number, row in self._rows(f, record):
            f.source = f"{record.source} row {number}"
            order_id = f.need(row, order_column, order_column)
            groups.setdefault(order_id, []).append((number, row))
        if not groups:
            raise f.error("holds no rows", "record")
        orders = []
        for order_id, rows in groups.items():
            f.order_id = order_id
            orders.extend(self._order(f, record, order_id, rows))
        return orders

    def _rows(self, f: Fields, record: Record) -> list[tuple[int, Mapping[str, Any]]]:
        """``(row number, row)`` for every row; the header of a CSV is row 1."""
        if isinstance(record.data, dict):
            raise f.error("is a single row; give the whole CSV or JSON-lines file as one record, "
                          "so the rows of an order are checked together", "record")
        if isinstance(record.data, list):
            return [(n, f.obj(row, f"[{n - 1}]")) for n, row in enumerate(record.data, start=1)]
        if record.data is not None:
            raise f.error("is neither CSV, JSON lines nor a JSON array of rows", "record")
        text = record.text
        if text.lstrip().startswith("{"):
            rows = []
            for n, raw in enumerate(text.splitlines(), start=1):
                if not raw.strip():
                    continue
                f.source = f"{record.source} row {n}"
                rows.append((n, f.obj(f.json(raw, ""), "record")))
            f.source = record.source
            return rows
        try:
            reader = csv.DictReader(io.StringIO(text), delimiter=self._delimiter)
            header = set(reader.fieldnames or ())
            missing = [c for c in TABULAR_REQUIRED if self.columns[c] not in header]
            if missing:
                raise f.error("the header lacks the mapped column(s) "
                              + ", ".join(repr(self.columns[c]) for c in missing), "header")
            return [(reader.line_num, row) for row in reader]
        except csv.Error as exc:
            raise f.error(f"is not readable CSV ({exc})", "record") from None

    def _order(self, f: Fields, record: Record, order_id: str,
               rows: list[tuple[int, Mapping[str, Any]]]) -> list[Order]:
        c = self.columns
        date: str | None = None
        lines: list[LineIn | NotAssessed] = []
        for number, row in rows:
            f.source = f"{record.source} row {number}"
            row_date = self._date(f, row.get(c["date"]), c["date"])
            if date is not None and row_date != date:
                raise f.error(f"the order's rows disagree on the date ({date}, {row_date})",
                              c["date"])
            date = row_date
            line = f.need(row, c["line_id"], c["line_id"])
            parties = {role: ref for role in _ROLES
                       if (ref := self._party(f, row, role, line)) is not None}
            country = (f.text(row, c["ship_from"], c["ship_from"], line)
                       if "ship_from" in c else None)
            lines.append(LineIn(
                id=line, item=f.need(row, c["item"], c["item"], line),
                quantity=f.quantity(row.get(c["quantity"]), c["quantity"], line),
                unit=f.text(row, c["unit"], c["unit"], line) if "unit" in c
                else None, parties=parties,
                ship_from=(f.country(country, c["ship_from"], line) if country
                           else self.options.get("ship_from")),
                quantity_field=c["quantity"], unit_field=c.get("unit", "unit")))
        f.source = record.source
        assert date is not None
        return build_orders(f, self.master, order_id=order_id, date=date, parties={},
                            lines=lines, lines_field=c["line_id"], catalog=self.catalog)

    def _party(self, f: Fields, row: Mapping[str, Any], role: str,
               line: str) -> PartyRef | None:
        c = self.columns
        if role not in c:
            return None
        party_id = (f.need(row, c[role], c[role], line) if role == "ship_to"
                    else f.text(row, c[role], c[role], line))
        if party_id is None:
            return None
        country_column, name_column = c.get(f"{role}_country"), c.get(f"{role}_name")
        address_column = c.get(f"{role}_address")
        country = (f.text(row, country_column, country_column, line)
                   if country_column else None)
        return PartyRef(
            party_id, country_column or c[role],
            f.country(country, country_column or c[role], line) if country else None,
            f.text(row, name_column, name_column, line) if name_column else None,
            f.text(row, address_column, address_column, line) if address_column else None)

    def _date(self, f: Fields, value: Any, column: str) -> str:
        fmt = self.mapping.get("date_format") if self.mapping else None
        if not fmt:
            return f.date(value, column)
        if not isinstance(value, str):
            raise f.error(f"must be a date written {fmt}, got {value!r:.60}", column)
        try:
            return datetime.datetime.strptime(value.strip(), fmt).date().isoformat()
        except ValueError:
            raise f.error(f"must be a date written {fmt}, got {value!r:.60}", column) from None

    def writeback(self, order: Order, decision: Decision) -> dict[str, Any]:
        """The outcome of every row, keyed by the mapping's order and line columns."""
        c = self.columns
        return {"adapter": self.name, "order": order.id, "outcome": decision.outcome.value,
                "block": blocks(decision.outcome),
                "rows": [{c.get("order_id", "order_id"): document_id(order),
                          c.get("line_id", "line_id"): ld.id, "outcome": ld.outcome.value}
                         for ld in decision.lines]}


@hookimpl
def exportgate_register_adapters(register: Callable[[Adapter], None], settings: Settings) -> None:
    register(TabularAdapter(settings))
