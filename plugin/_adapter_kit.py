"""The adapter toolkit's machinery: what every ERP adapter shares (public as `exportgate.toolkit`).

An adapter reads its ERP's fields through a `Fields` reader, so every problem
becomes an `AdapterError` that names the record, the line and the ERP field
(never a ``KeyError`` or a ``TypeError``). It describes the order as header
parties (`PartyRef`) and lines (`LineIn`, with the parties a line overrides;
or `NotAssessed` for a line that ships no goods), and `build_orders` turns
that into validated canonical orders: quantities are converted to each item's
base unit through the item catalog (exactly, or an error naming the line and
the unit), zero quantities are not assessed, countries the record lacks come
from the party master (and the order notes it), the end user defaults through
the master's ``end_user`` mapping, and lines whose parties or ship-from
country differ become separate orders (``<id>#<first line>``), because a
canonical order has one destination.
"""
from __future__ import annotations

import datetime
import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Callable, Iterable, Mapping, Sequence, TypeVar

from . import _json
from ._adapter import Record
from ._catalog import ItemCatalog, UnitError
from ._exceptions import AdapterError, ValidationError
from ._model import Decision, NotAssessed, Order, Outcome
from ._parties import PartyMaster
from ._schemas import MAX_UNITS
from ._settings import Settings
from ._validate import is_country, order_from_dict, validate_data

T = TypeVar("T")

#: Separates an ERP document's id from the first line of a part it was split into.
PART = "#"

_DECIMAL = re.compile(r"^[+]?(\d{1,15})(\.\d{0,9})?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_ODATA_V2_DATE = re.compile(r"^/Date\((-?\d{1,15})([+-]\d{4})?\)/$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_ISO_DATE_PREFIX = re.compile(r"^(\d{4}-\d{2}-\d{2})(?:$|[T ])")


def options(settings: Settings, name: str, schema: dict[str, Any]) -> dict[str, Any]:
    """An adapter's validated options (``adapters.<name>`` in the configuration)."""
    return validate_data(settings.adapter_options(name), schema, f"adapters.{name}")


@dataclass(frozen=True)
class PartyRef:
    """A party as the record names it: its id, where it was read, and what the record says.

    ``address`` is one line ("street, city, postal code, region"), the
    country apart: what screening compares besides the name.
    """

    id: str
    field: str
    country: str | None = None
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class LineIn:
    """One order line as read, with the parties it overrides (by role) and its ship-from country.

    ``quantity`` is exact, in ``unit`` (``None``: the item's base unit);
    ``quantity_field`` and ``unit_field`` are the ERP fields they came from.
    """

    id: str
    item: str
    quantity: Decimal
    unit: str | None = None
    parties: Mapping[str, PartyRef] = field(default_factory=dict)
    ship_from: str | None = None
    quantity_field: str = "quantity"
    unit_field: str = "unit"


class Fields:
    """Reads one record's fields for one adapter; every problem names the record and the field.

    ``order_id`` is set as soon as the adapter knows it, so later errors say
    ``order 4711 (orders/4711.json) line 20: ...`` rather than only the file.
    """

    def __init__(self, adapter: str, record: Record) -> None:
        self.adapter = adapter
        self.source = record.source
        self.order_id: str | None = None

    @property
    def where(self) -> str:
        """The record as errors name it: the order id once known, and where it came from."""
        return f"{self.order_id} ({self.source})" if self.order_id else self.source

    def error(self, message: str, field: str, line: str | None = None) -> AdapterError:
        return AdapterError(f"{field}: {message}", adapter=self.adapter, record=self.where,
                            line=line, field=field)

    def each(self, docs: Iterable[T], read: Callable[[T], list[Order]]) -> list[Order]:
        """The orders of every document a record holds, read one after the other.

        Errors name only the document being read: the order id is forgotten
        after each, before the next document is even looked at.
        """
        orders: list[Order] = []
        for doc in docs:
            orders.extend(read(doc))
            self.order_id = None
        return orders

    def json(self, text: str, field: str, line: str | None = None) -> Any:
        """JSON text inside a record (a row of JSON lines), read strictly (`_json`).

        A repeated key or a number too large is an error naming its path
        (under ``field``, when given); text that is not JSON names ``field``.
        """
        try:
            return _json.loads(text)
        except (_json.DuplicateKeyError, _json.TooLargeError) as exc:
            at = ".".join(p for p in (field, exc.path) if p) or "record"
            raise self.error(str(exc).replace(f" at {exc.path}", ""), at, line) from None
        except (ValueError, RecursionError) as exc:
            raise self.error(f"is not JSON ({str(exc)[:120]})", field or "record",
                             line) from None

    def obj(self, value: Any, field: str, line: str | None = None) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.error(f"must be an object, got {_show(value)}", field, line)
        return value

    def rows(self, value: Any, field: str,
             line: str | None = None) -> list[tuple[str, Mapping[str, Any]]]:
        """A list of objects, each with its path (``to_Item.results[1]``).

        An OData V2 ``{"results": [...]}`` collection is unwrapped.
        """
        if isinstance(value, Mapping) and "results" in value:
            value, field = value["results"], f"{field}.results"
        if not isinstance(value, list):
            raise self.error(f"must be a list, got {_show(value)}", field, line)
        return [(f"{field}[{i}]", self.obj(row, f"{field}[{i}]", line))
                for i, row in enumerate(value)]

    def text(self, m: Mapping[str, Any], key: str, field: str,
             line: str | None = None) -> str | None:
        """An optional string: ``None`` when absent or blank; an integer id becomes its text."""
        value = m.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise self.error(f"must be a string, got {_show(value)}", field, line)
        return str(value).strip()

    def need(self, m: Mapping[str, Any], key: str, field: str, line: str | None = None) -> str:
        """A required string: absent or blank is an error."""
        value = self.text(m, key, field, line)
        if value is None:
            raise self.error("is missing or empty", field, line)
        return value

    def quantity(self, value: Any, field: str, line: str | None = None) -> Decimal:
        """A quantity as the ERP wrote it, exactly: ``"10.000"``, ``5.0``, ``0.5``, ``0``.

        Whether it is a whole number is decided after the unit is converted
        (half a dozen is six pieces); a zero line is not assessed. ``"1,5"``,
        ``-1``, ``"1e3"``, ``"5 EA"`` or more than 15 integer digits are
        errors: a compliance gate must not guess what a decimal comma meant.
        """
        number: Decimal | None = None
        if isinstance(value, bool):
            number = None
        elif isinstance(value, int):
            number = Decimal(value) if 0 <= value < 10 ** 15 else None
        elif isinstance(value, float) and math.isfinite(value) and 0 <= value < 1e15:
            number = Decimal(repr(value))
        elif isinstance(value, str) and _DECIMAL.match(value.strip()):
            number = Decimal(value.strip())
        if number is None:
            hint = (" (write decimals with a point, not a comma)"
                    if isinstance(value, str) and "," in value else "")
            raise self.error(f"quantity must be a whole number of units, got "
                             f"{_show(value)}{hint}", field, line)
        return number

    def date(self, value: Any, field: str) -> str:
        """An ISO date from the forms ERPs write.

        ``2025-06-02``, ``2025-06-02T08:15:00Z``, ``2025-06-02 08:15:00``
        (Odoo), ``20250602`` (IDoc) and ``/Date(1748822400000)/`` (OData V2,
        milliseconds since 1970 UTC).
        """
        if not isinstance(value, str):
            raise self.error(f"must be a date, got {_show(value)}", field)
        text = value.strip()
        day: str | None = None
        if m := _ISO_DATE_PREFIX.match(text):
            day = m.group(1)
        elif m := _COMPACT_DATE.match(text):
            day = "-".join(m.groups())
        elif m := _ODATA_V2_DATE.match(text):
            ms = int(m.group(1))
            if abs(ms) > 253_402_300_799_000:  # after 9999-12-31
                raise self.error(f"is not a date: {value!r}", field)
            day = (datetime.datetime(1970, 1, 1)
                   + datetime.timedelta(milliseconds=ms)).date().isoformat()
        if day is None:
            raise self.error(f"is not a date: {value!r}", field)
        try:
            datetime.date.fromisoformat(day)
        except ValueError:
            raise self.error(f"is not a calendar date: {value!r}", field) from None
        return day

    def country(self, value: Any, field: str, line: str | None = None) -> str:
        """An ISO 3166-1 alpha-2 code in current use (or a user-assigned one ERPs use: XK)."""
        if not isinstance(value, str) or not _COUNTRY.match(value.strip()):
            raise self.error(f"must be an ISO 3166-1 alpha-2 country code, got {_show(value)}",
                             field, line)
        if not is_country(value.strip()):
            raise self.error(f"{value.strip()!r} is not an ISO 3166-1 country code", field, line)
        return value.strip()

    def deferred(self, value: Any, field: str, expand: str, line: str | None = None) -> None:
        """Raise when ``value`` is an OData link that was not expanded (``__deferred``)."""
        if isinstance(value, Mapping) and "__deferred" in value:
            raise self.error(f"is not expanded (a deferred link); request it with {expand}",
                             field, line)


def lacks(doc: Any, what: str, keys: Sequence[str], least: int = 2) -> str | None:
    """What an object that nearly is ``what`` lacks: for an adapter's ``near_miss``.

    ``doc`` nearly is one when it is an object with at least ``least`` of
    ``keys`` but not all: ``looks like <what> but has no `lines```. ``None``
    when it has them all, or too few to look like one.
    """
    if not isinstance(doc, Mapping):
        return None
    missing = [key for key in keys if key not in doc]
    if not missing or len(keys) - len(missing) < least:
        return None
    return f"looks like {what} but has no " + ", no ".join(f"`{key}`" for key in missing)


def ship_from(opts: Mapping[str, Any], plant: str | None) -> str | None:
    """The country goods leave from: the plant's, else the adapter's default, else none."""
    plants: Mapping[str, str] = opts.get("plants") or {}
    if plant is not None and plant in plants:
        return plants[plant]
    value: str | None = opts.get("ship_from")
    return value


def build_orders(f: Fields, master: PartyMaster, *, order_id: str, date: str,
                 parties: Mapping[str, PartyRef], lines: Sequence[LineIn | NotAssessed],
                 lines_field: str, catalog: ItemCatalog) -> list[Order]:
    """Canonical orders for one ERP document, validated.

    ``parties`` are the header's (``sold_to``, ``ship_to``, ``end_user``);
    a line's own parties override them. Quantities are counted in the item's
    base unit (``catalog``); zero-quantity lines join the `NotAssessed` ones,
    which the first order of the document lists. Raises `AdapterError` naming
    the ERP field when a party has no country anywhere, when a unit cannot be
    converted or the result is not whole, when a line id repeats, or when no
    line is goods.
    """
    if not lines:
        raise f.error("the order has no lines", lines_field)
    seen: set[str] = set()
    skipped: list[NotAssessed] = []
    groups: dict[str, tuple[dict[str, Any], list[str], list[dict[str, Any]]]] = {}
    for line in lines:
        if line.id in seen:
            raise f.error(f"line {line.id!r} appears twice", lines_field, line.id)
        seen.add(line.id)
        if isinstance(line, NotAssessed):
            skipped.append(line)
            continue
        if line.quantity == 0:
            skipped.append(NotAssessed(line.id, "zero quantity", line.item))
            continue
        count = _base_quantity(f, catalog, line)
        notes: list[str] = []
        resolved = _resolve_parties(f, master, {**parties, **line.parties}, line.id, notes)
        key = json.dumps([resolved, line.ship_from], sort_keys=True)
        unit = catalog.base_unit(line.item) if line.unit else None
        groups.setdefault(key, (resolved, notes, []))[2].append(
            {"id": line.id, "item": line.item, "quantity": count,
             **({"unit": unit} if unit else {}), "ship_from": line.ship_from})
    if not groups:
        listed = ", ".join(f"{x.id} ({x.reason})" for x in skipped)
        raise f.error(f"the order has no goods lines to assess; not assessed: {listed}",
                      lines_field)
    orders = []
    for n, (resolved, notes, group) in enumerate(groups.values()):
        ship = group[0].pop("ship_from")
        for x in group[1:]:
            x.pop("ship_from")
        doc: dict[str, Any] = {
            "id": order_id if len(groups) == 1 else f"{order_id}{PART}{group[0]['id']}",
            "date": date, "parties": resolved, "lines": group,
        }
        if ship:
            doc["ship_from"] = ship
        if skipped and n == 0:
            doc["not_assessed"] = [x.to_dict() for x in skipped]
        if notes:
            doc["notes"] = notes
        try:
            orders.append(order_from_dict(doc, f.source))
        except ValidationError as exc:  # the detail already names the canonical field
            raise AdapterError(exc.detail, adapter=f.adapter, record=f.where, line=exc.line,
                               field=exc.field or "record") from None
    return orders


def _base_quantity(f: Fields, catalog: ItemCatalog, line: LineIn) -> int:
    """The line's quantity in the item's base unit: exact and whole, or an error."""
    try:
        count = catalog.to_base(line.item, line.quantity, line.unit)
    except UnitError as exc:
        field = line.unit_field if catalog.per_unit(line.item, line.unit) is None \
            else line.quantity_field
        raise f.error(str(exc), field, line.id) from None
    if count > MAX_UNITS:
        raise f.error(f"{line.quantity} {line.unit or ''} is {count:,} units, more than "
                      f"{MAX_UNITS:,}", line.quantity_field, line.id)
    return count


def _resolve_parties(f: Fields, master: PartyMaster, refs: Mapping[str, PartyRef],
                     line: str, notes: list[str]) -> dict[str, Any]:
    refs = dict(refs)
    if "ship_to" not in refs:
        raise f.error("the order names no ship-to party", "ship_to", line)
    if "end_user" not in refs:
        for role in ("ship_to", "sold_to"):
            ref = refs.get(role)
            mapped = master.end_user_of(ref.id) if ref is not None else None
            if ref is not None and mapped is not None:
                refs["end_user"] = PartyRef(mapped, f"party master {ref.id}.end_user")
                break
    out = {}
    for role, ref in refs.items():
        country = ref.country or master.country(ref.id)
        if country is None:
            raise f.error(f"no country for {role.replace('_', '-')} party {ref.id!r}: the record "
                          "carries none and the party master has none", ref.field, line)
        if ref.country is None and role == "ship_to":
            note = (f"ship-to country {country} is the party master's for {ref.id}: the "
                    "record carries no ship-to address")
            if note not in notes:
                notes.append(note)
        party = {"id": ref.id, "country": country}
        if ref.name:
            party["name"] = ref.name
        if ref.address:
            party["address"] = ref.address
        out[role] = party
    return out


def document_id(order: Order) -> str:
    """The ERP document an order came from (the id before a split's ``#<line>``)."""
    return order.id.partition(PART)[0]


def is_part(order: Order) -> bool:
    """True when the order is one part of an ERP document split by destination."""
    return PART in order.id


def blocks(outcome: Outcome) -> bool:
    """Should the ERP block the goods? Anything but ``allow``: a filing, a license or a
    denial comes first. (A *held* decision is another thing: one the gate could not
    make, every line ``license`` with an ``error``; it blocks too.)"""
    return outcome is not Outcome.ALLOW


def summary(decision: Decision) -> str:
    """One sentence a person reads in the ERP: the outcome and each blocked line's reasons."""
    parts = [f"exportgate {decision.regime}: {decision.outcome.value}"]
    for line in decision.lines:
        if blocks(line.outcome):
            codes = ", ".join(r.code for r in line.reasons) or "no reason given"
            parts.append(f"line {line.id} {line.outcome.value} ({codes})")
        licensed = sorted({c.quota.split(":")[1] for c in line.consumes
                           if c.quota.startswith("license:")})
        if licensed:  # a granted license it ships under (docs/licenses.md)
            parts.append(f"line {line.id} under license {', '.join(licensed)}")
    if decision.error:
        parts.append(f"error: {decision.error}")
    return "; ".join(parts)


def _show(value: Any) -> str:
    try:
        text = repr(value)
    except (RecursionError, ValueError):  # nested too deep; an integer of thousands of digits
        return type(value).__name__
    return f"{type(value).__name__} {text[:60]}{'...' if len(text) > 60 else ''}"
