"""The screening lists as published: the Consolidated Screening List, read whole or refused.

`read` is what ``exportgate screening load FILE`` calls. It asks the
plugins first (``exportgate_screening_read``: an OpenSanctions export, a
company's own denied-party list), then reads the two published forms of the
US Consolidated Screening List (CSL) of the International Trade
Administration, told apart by their content, not their name:

- the CSV download: a header of exactly the 29 `CSV_COLUMNS` (in any order),
  one entry per row. A list-valued column joins its values with ``"; "``
  (``programs``, ``alt_names``, ``nationalities``, ``ids``...); an address
  joins its parts (street, city, state, postal code, country) with ``", "``,
  leaving out the parts it lacks, so only a last part of two capitals is known
  to be the country (ISO 3166-1 alpha-2); the rest is kept as one text.
  Entity List rows write "; and" before a last alias or address: the "and"
  is dropped;
- the JSON download: ``{"results": [...], "total": N, "sources_used":
  [{"source", "source_last_updated", ...}]}``, the same fields with lists as
  lists and addresses as objects (``address``, ``city``, ``state``,
  ``postal_code``, ``country``). Its id is ``id`` (``_id`` is read too).

A file that is not one of these (a column missing or unknown, a row cut
short, a quote left open, an entry without a name or with an id already
used, a date that is not ``YYYY-MM-DD``, a source with no list code) is
refused whole with a `ScreeningListError` naming the file, the row (CSV
line, or ``results[i]``) and the field: a list with a hole would screen
parties against part of itself. (A CSV cut exactly between two rows cannot
be told from a shorter list: it states no count. The JSON's ``total`` can.)
Nothing is stored here; the store keeps
what is read (`store.ScreeningStore.load`), so a refused file leaves the
version in force as it was.

The list code of an entry is the code in brackets in its ``source``
(``Entity List (EL) - Bureau of Industry and Security`` is ``EL``; ``(NS-MBS
List)`` is ``NS-MBS``), one code per list however the source spells it
(`CODE_ALIASES`). What a code means for an order is the regimes' (Rego and
data), not this module's.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from .._exceptions import InputError
from .._json import loads
from .model import Address, Entry, ListVersion


class ListReaders(Protocol):
    """Who may read a list file before the CSL readers do: the plugins
    (`Plugins.screening_read`, the ``exportgate_screening_read`` hook)."""

    def screening_read(self, path: Path) -> "LoadedList | None": ...

#: The columns of the CSV download, as published.
CSV_COLUMNS: tuple[str, ...] = (
    "_id", "source", "entity_number", "type", "programs", "name", "title", "addresses",
    "federal_register_notice", "start_date", "end_date", "standard_order",
    "license_requirement", "license_policy", "call_sign", "vessel_type", "gross_tonnage",
    "gross_registered_tonnage", "vessel_flag", "vessel_owner", "remarks", "source_list_url",
    "alt_names", "citizenships", "dates_of_birth", "nationalities", "places_of_birth",
    "source_information_url", "ids",
)

#: Lists whose code is written more than one way, to the one code the
#: regimes' data keys (``rego/exportgate/lib/data.yaml``, ``lists``): the CSL
#: writes ``Non-SDN Menu-Based Sanctions List (NS-MBS List)`` (trade.gov's
#: search parameter says MBS), ``Capta List (CAP)`` (formerly ``(CAPTA)``).
CODE_ALIASES: dict[str, str] = {
    "MBS": "NS-MBS", "CAPTA": "CAP", "NS-CMIC": "CMIC", "NS-PLC": "PLC",
}

# The code in brackets in a source: capitals, digits and hyphens, perhaps
# followed by " List" ("(NS-MBS List)").
_CODE = re.compile(r"\(([A-Z][A-Z0-9]*(?:-[A-Z0-9]+)*)(?: List)?\)")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
# Entity List entries write their last alias or address "...; and X".
_AND = re.compile(r"^and\s+")

_SCALARS = ("entity_number", "type", "title", "federal_register_notice", "start_date",
            "end_date", "license_requirement", "license_policy", "remarks",
            "source_list_url")
_LISTS = ("programs", "alt_names", "nationalities", "citizenships", "dates_of_birth",
          "places_of_birth")


class ScreeningListError(InputError):
    """A screening list file is not in its format; nothing of it was loaded.

    Names the file, the row (``line 12`` of a CSV, ``results[3]`` of a JSON
    document) and the field, as `file`, `row` and `field`.
    """

    def __init__(self, message: str, *, file: str, row: str | None = None,
                 field: str | None = None) -> None:
        self.file = file
        self.row = row
        self.field = field
        self.detail = message
        where = ", ".join(x for x in (row, field) if x)
        super().__init__(f"{file}: {where}: {message}" if where else f"{file}: {message}")


@dataclass(frozen=True)
class LoadedList:
    """What a reader read: the entries, and the version they make (not yet stored)."""

    entries: tuple[Entry, ...]
    version: ListVersion

    @classmethod
    def of(cls, path: Path | str, data: bytes, entries: Sequence[Entry],
           published: str | None = None) -> "LoadedList":
        """The entries of a file with their version: the file's sha256 names it.

        For plugins that read other lists: give the bytes read, so the same
        file loaded twice is the same version.
        """
        counts = Counter(e.list for e in entries)
        version = ListVersion(id=hashlib.sha256(data).hexdigest(), published=published,
                              loaded_at=_now(), file=Path(path).name,
                              counts=dict(sorted(counts.items())))
        return cls(tuple(entries), version)


def read(path: Path | str, plugins: ListReaders | None = None, *,
         published: str | None = None) -> LoadedList:
    """Read a screening list file whole, or refuse it (`ScreeningListError`).

    The plugins are asked first (the first that claims the file reads it;
    what it returns is checked as the CSL is); then the CSL's JSON download
    (a JSON object with ``results``) or its CSV download (its header).
    ``published`` dates a CSV, which states no date of its own; a JSON
    document is dated by its newest ``sources_used[].source_last_updated``
    unless ``published`` is given.
    """
    path = Path(path)
    if plugins is not None:
        found = plugins.screening_read(path)
        if found is not None:
            return _checked(found, path.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScreeningListError(f"cannot be read ({exc.strerror or exc})",
                                 file=str(path)) from None
    return read_bytes(data, path.name, published=published)


def read_bytes(data: bytes, name: str, *, published: str | None = None) -> LoadedList:
    """Read the CSL from a file's bytes (``name`` names it in messages and the version)."""
    text = _decode(data, name)
    head = text.lstrip()[:1]
    if head in ("{", "["):
        entries, stated = _read_json(text, name)
        return LoadedList.of(name, data, entries, published or stated)
    first = next(csv.reader(io.StringIO(text.split("\n", 1)[0])), [])
    if any(c.strip() in CSV_COLUMNS for c in first):
        return LoadedList.of(name, data, _read_csv(text, name), published)
    raise ScreeningListError(
        "not a Consolidated Screening List: neither its JSON download (an object with "
        "'results') nor its CSV download (a header starting _id,source,...)", file=name)


def list_code(source: str) -> str | None:
    """The list code in brackets in a CSL ``source`` (``EL``, ``SDN``, ``NS-MBS``...), or None."""
    m = _CODE.search(source)
    if m is None:
        return None
    code = m.group(1)
    return CODE_ALIASES.get(code, code)


# -- CSV -----------------------------------------------------------------------


def _read_csv(text: str, name: str) -> list[Entry]:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (csv.Error, StopIteration) as exc:
        raise ScreeningListError(f"the header does not parse ({exc})", file=name,
                                 row="line 1") from None
    header = [h.strip() for h in header]
    _check_header(header, name)
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    while True:
        line = f"line {reader.line_num + 1}"
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ScreeningListError(f"the row does not parse ({exc}): is the file cut "
                                     "short?", file=name, row=line) from None
        if not row or row == [""]:
            continue
        if len(row) != len(header):
            raise ScreeningListError(f"the row has {len(row)} fields, the header "
                                     f"{len(header)}: is the file cut short?",
                                     file=name, row=line)
        doc = dict(zip(header, row, strict=True))
        entry = _csv_entry(doc, _Where(name, line))
        _unique(entry, seen, _Where(name, line))
        entries.append(entry)
    if not entries:
        raise ScreeningListError("the list has no entries", file=name)
    return entries


def _check_header(header: list[str], name: str) -> None:
    missing = [c for c in CSV_COLUMNS if c not in header]
    unknown = [c for c in header if c not in CSV_COLUMNS]
    repeated = sorted({c for c in header if header.count(c) > 1})
    problems = []
    if missing:
        problems.append(f"missing {', '.join(missing)}")
    if unknown:
        problems.append(f"unknown {', '.join(repr(c) for c in unknown)}")
    if repeated:
        problems.append(f"repeated {', '.join(repeated)}")
    if problems:
        raise ScreeningListError(f"not the CSL's {len(CSV_COLUMNS)} columns: "
                                 + "; ".join(problems), file=name, row="line 1",
                                 field="header")


def _csv_entry(doc: dict[str, str], where: "_Where") -> Entry:
    def text(key: str) -> str | None:
        return doc[key].strip() or None

    def items(key: str) -> tuple[str, ...]:
        return _split(doc[key])

    id_, source, name = _required(text("_id"), text("source"), text("name"), where)
    return Entry(
        id=id_, list=_code(source, where), source=source, name=name,
        alt_names=items("alt_names"), type=text("type"),
        addresses=tuple(_csv_address(a) for a in _split(doc["addresses"])),
        programs=items("programs"),
        federal_register_notice=text("federal_register_notice"),
        start_date=_date(text("start_date"), where, "start_date"),
        end_date=_date(text("end_date"), where, "end_date"),
        license_requirement=text("license_requirement"),
        license_policy=text("license_policy"), remarks=text("remarks"),
        source_list_url=text("source_list_url"), entity_number=text("entity_number"),
        title=text("title"), nationalities=items("nationalities"),
        citizenships=items("citizenships"), dates_of_birth=items("dates_of_birth"),
        places_of_birth=items("places_of_birth"), ids=items("ids"))


def _split(value: str) -> tuple[str, ...]:
    """A list-valued CSV field: its values, each trimmed, an Entity List's "and " dropped."""
    out = []
    for i, part in enumerate(value.split(";")):
        part = part.strip()
        if i:
            part = _AND.sub("", part)
        if part:
            out.append(part)
    return tuple(out)


def _csv_address(text: str) -> Address:
    """One CSV address: a last part of two capitals is its country, the rest its text."""
    parts = [p.strip() for p in text.split(",")]
    country = parts[-1] if _COUNTRY.match(parts[-1]) else None
    rest = ", ".join(p for p in (parts[:-1] if country else parts) if p)
    return Address(address=rest or None, country=country)


# -- JSON ----------------------------------------------------------------------


def _read_json(text: str, name: str) -> tuple[list[Entry], str | None]:
    try:
        doc = loads(text)
    except json.JSONDecodeError as exc:
        raise ScreeningListError(f"not JSON ({exc.msg} at column {exc.colno}): is the file "
                                 "cut short?", file=name, row=f"line {exc.lineno}") from None
    except (ValueError, RecursionError) as exc:
        raise ScreeningListError(f"not JSON ({exc})", file=name) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("results"), list):
        raise ScreeningListError("not the CSL's JSON download: no 'results' list",
                                 file=name, field="results")
    results: list[Any] = doc["results"]
    total = doc.get("total")
    if total is not None and (not isinstance(total, int) or total != len(results)):
        raise ScreeningListError(f"'total' says {total!r}, 'results' holds {len(results)}: "
                                 "is the file cut short?", file=name, field="total")
    entries: list[Entry] = []
    seen: dict[str, str] = {}
    for i, result in enumerate(results):
        where = _Where(name, f"results[{i}]")
        if not isinstance(result, dict):
            raise ScreeningListError(f"an entry is an object, not {_kind(result)}",
                                     file=name, row=where.row)
        entry = _json_entry(result, where)
        _unique(entry, seen, where)
        entries.append(entry)
    if not entries:
        raise ScreeningListError("the list has no entries", file=name, field="results")
    return entries, _published(doc.get("sources_used"), name)


def _json_entry(doc: dict[str, Any], where: "_Where") -> Entry:
    def text(key: str) -> str | None:
        value = doc.get(key)
        if value is None:
            return None
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and key in ("id", "_id", "entity_number"):
            value = str(value)
        if not isinstance(value, str):
            raise ScreeningListError(f"a text or null, not {_kind(value)}", file=where.file,
                                     row=where.row, field=key)
        return value.strip() or None

    def items(key: str) -> tuple[str, ...]:
        value = doc.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ScreeningListError(f"a list of texts, not {_kind(value)}", file=where.file,
                                     row=where.row, field=key)
        return tuple(v.strip() for v in value if v.strip())

    ids = [text(k) for k in ("id", "_id") if k in doc]
    if len(set(ids)) > 1:
        raise ScreeningListError(f"'id' {ids[0]!r} and '_id' {ids[1]!r} differ",
                                 file=where.file, row=where.row, field="id")
    id_, source, name = _required(ids[0] if ids else None, text("source"), text("name"),
                                  where, id_field="id")
    scalars = {k: text(k) for k in _SCALARS}
    return Entry(
        id=id_, list=_code(source, where), source=source, name=name,
        alt_names=items("alt_names"), type=scalars["type"],
        addresses=_json_addresses(doc.get("addresses"), where),
        programs=items("programs"),
        federal_register_notice=scalars["federal_register_notice"],
        start_date=_date(scalars["start_date"], where, "start_date"),
        end_date=_date(scalars["end_date"], where, "end_date"),
        license_requirement=scalars["license_requirement"],
        license_policy=scalars["license_policy"], remarks=scalars["remarks"],
        source_list_url=scalars["source_list_url"],
        entity_number=scalars["entity_number"], title=scalars["title"],
        nationalities=items("nationalities"), citizenships=items("citizenships"),
        dates_of_birth=items("dates_of_birth"), places_of_birth=items("places_of_birth"),
        ids=_json_ids(doc.get("ids"), where))


_ADDRESS_FIELDS = ("address", "city", "state", "postal_code", "country")


def _json_addresses(value: Any, where: "_Where") -> tuple[Address, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ScreeningListError(f"a list of addresses, not {_kind(value)}",
                                 file=where.file, row=where.row, field="addresses")
    out = []
    for j, item in enumerate(value):
        field = f"addresses[{j}]"
        if not isinstance(item, dict):
            raise ScreeningListError(f"an address object, not {_kind(item)}",
                                     file=where.file, row=where.row, field=field)
        parts: dict[str, str | None] = {}
        for key in _ADDRESS_FIELDS:
            part = item.get(key)
            if part is not None and not isinstance(part, str):
                raise ScreeningListError(f"a text or null, not {_kind(part)}",
                                         file=where.file, row=where.row,
                                         field=f"{field}.{key}")
            parts[key] = (part or "").strip() or None
        country = parts["country"]
        if country is not None and not _COUNTRY.match(country):
            raise ScreeningListError(f"{country!r} is not an ISO 3166-1 alpha-2 code",
                                     file=where.file, row=where.row, field=f"{field}.country")
        out.append(Address(**parts))
    return tuple(out)


def _json_ids(value: Any, where: "_Where") -> tuple[str, ...]:
    """The ids as the CSV writes them: ``type, number, country`` (what the list gives)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ScreeningListError(f"a list, not {_kind(value)}", file=where.file,
                                 row=where.row, field="ids")
    out = []
    for j, item in enumerate(value):
        if isinstance(item, str):
            text = item.strip()
        elif isinstance(item, dict):
            parts = [item.get(k) for k in ("type", "number", "country")]
            if not all(p is None or isinstance(p, (str, int)) for p in parts):
                raise ScreeningListError("type, number and country are texts",
                                         file=where.file, row=where.row, field=f"ids[{j}]")
            text = ", ".join(str(p).strip() for p in parts if p not in (None, ""))
        else:
            raise ScreeningListError(f"an id object, not {_kind(item)}", file=where.file,
                                     row=where.row, field=f"ids[{j}]")
        if text:
            out.append(text)
    return tuple(out)


def _published(sources: Any, name: str) -> str | None:
    """The newest ``source_last_updated`` of ``sources_used`` (as written), or None."""
    if sources is None:
        return None
    if not isinstance(sources, list):
        raise ScreeningListError(f"a list, not {_kind(sources)}", file=name,
                                 field="sources_used")
    newest: tuple[dt.datetime, str] | None = None
    for i, item in enumerate(sources):
        field = f"sources_used[{i}].source_last_updated"
        stamp = item.get("source_last_updated") if isinstance(item, dict) else None
        if stamp is None:
            continue
        try:
            when = dt.datetime.fromisoformat(str(stamp).replace("Z", "+00:00"))
        except ValueError:
            raise ScreeningListError(f"{stamp!r} is not an ISO date and time", file=name,
                                     field=field) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        if newest is None or when > newest[0]:
            newest = (when, str(stamp))
    return newest[1] if newest else None


# -- shared --------------------------------------------------------------------


@dataclass(frozen=True)
class _Where:
    file: str
    row: str


def _required(id_: str | None, source: str | None, name: str | None, where: _Where,
              id_field: str = "_id") -> tuple[str, str, str]:
    for value, field in ((id_, id_field), (source, "source"), (name, "name")):
        if value is None:
            raise ScreeningListError("empty: every entry has one", file=where.file,
                                     row=where.row, field=field)
    assert id_ is not None and source is not None and name is not None
    return id_, source, name


def _code(source: str, where: _Where) -> str:
    code = list_code(source)
    if code is None:
        raise ScreeningListError(f"{source!r} names no list code in brackets "
                                 "(as in 'Entity List (EL) - Bureau of Industry and Security')",
                                 file=where.file, row=where.row, field="source")
    return code


def _date(value: str | None, where: _Where, field: str) -> str | None:
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        dt.date.fromisoformat(value)
    except ValueError:
        raise ScreeningListError(f"{value!r} is not a date (YYYY-MM-DD)", file=where.file,
                                 row=where.row, field=field) from None
    return value


def _unique(entry: Entry, seen: dict[str, str], where: _Where) -> None:
    first = seen.setdefault(entry.id, where.row)
    if first != where.row:
        raise ScreeningListError(f"the id {entry.id!r} is already used by {first}",
                                 file=where.file, row=where.row, field="id")


def _decode(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ScreeningListError(f"not UTF-8 (byte {exc.start})", file=name,
                                 row=f"line {line}") from None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a text", bool: "true or false",
            int: "a number", float: "a number", type(None): "null"}.get(type(value),
                                                                        type(value).__name__)


def _checked(found: LoadedList, name: str) -> LoadedList:
    """The entries a plugin read (`Plugins.screening_read` checked the type), checked as
    the CSL's are: each an `Entry` with an id, a source, a name and a list code, ids unique."""
    seen: dict[str, str] = {}
    for i, entry in enumerate(found.entries):
        where = _Where(name, f"entries[{i}]")
        if not isinstance(entry, Entry):
            raise ScreeningListError(f"not an Entry but {type(entry).__name__}",
                                     file=name, row=where.row)
        _required(entry.id or None, entry.source or None, (entry.name or "").strip() or None,
                  where, id_field="id")
        if not entry.list:
            raise ScreeningListError("empty: every entry has a list code", file=name,
                                     row=where.row, field="list")
        _unique(entry, seen, where)
    if not found.entries:
        raise ScreeningListError("the list has no entries", file=name)
    return found


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")

