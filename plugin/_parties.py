"""The party master: customer number to country, headquarters, VEU status, screening hits.

ERP records carry customer numbers, not the facts a regime decides on. The
party master supplies them, from the YAML or CSV files named by ``parties:``
in the configuration (a later file overrides an earlier one for the same
customer). It serves two readers:

- the ERP adapters, which need a party's ``country`` when the record carries
  none (a country on the record always wins) and the ``end_user`` mapping
  when the ERP has no end-user partner;
- the enrichment hook (``trylast``), which fills ``hq_country``,
  ``parent_hq_country``, ``verified``, ``certifications`` and
  ``restrictions`` on every party whose id is in the master.

Customer numbers match case-insensitively and without leading zeros, so SAP's
``0001000045`` (IDoc) and ``1000045`` (OData) are the same customer.
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path
from typing import Any, Sequence

from . import _schemas
from ._enrich import Enrichment
from ._exceptions import ConfigError
from ._model import Order
from ._validate import load_yaml, validate_data
from ._markers import hookimpl

#: CSV columns besides ``id``; lists are ``;``-separated, a restriction is ``list:policy``.
CSV_COLUMNS = ("country", "name", "address", "hq_country", "parent_hq_country", "verified",
               "certifications", "restrictions", "end_user")


def party_key(party_id: str) -> str:
    """The matching key of a customer number: trimmed, upper case, no leading zeros."""
    key = str(party_id).strip().upper()
    return (key.lstrip("0") or "0") if key.isdigit() else key


class PartyMaster:
    """Party attributes by customer number."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Any]] = {}

    def load(self, doc: Any, what: str) -> None:
        """Validate one master document (``version``, ``parties``) and add its entries."""
        if isinstance(doc, dict) and isinstance(doc.get("parties"), dict):
            # Customer numbers written bare in YAML load as integers.
            doc = {**doc, "parties": {str(k) if isinstance(k, int) and not isinstance(k, bool)
                                      else k: v for k, v in doc["parties"].items()}}
        clean = validate_data(doc, _schemas.PARTY_MASTER, f"party master {what}")
        for party_id, entry in clean["parties"].items():
            self._entries[party_key(party_id)] = {
                k: v for k, v in entry.items() if v not in (None, [], "")}

    def load_file(self, path: Path) -> None:
        if path.suffix.lower() == ".csv":
            self.load(_csv_document(path), str(path))
        else:
            self.load(load_yaml(path, "party master"), str(path))

    def check_references(self, what: str) -> None:
        """Every ``end_user`` must name a customer of the master."""
        for key, entry in self._entries.items():
            target = entry.get("end_user")
            if target is not None and party_key(target) not in self._entries:
                raise ConfigError(f"party master {what}: parties.{key}.end_user: "
                                  f"{target!r} is not in the party master")

    def get(self, party_id: str) -> dict[str, Any] | None:
        """The master's attributes of a customer, or ``None`` when it is unknown."""
        entry = self._entries.get(party_key(party_id))
        return dict(entry) if entry is not None else None

    def country(self, party_id: str) -> str | None:
        entry = self._entries.get(party_key(party_id))
        return entry.get("country") if entry else None

    def end_user_of(self, party_id: str) -> str | None:
        """The end user the master names for orders of this customer, if any."""
        entry = self._entries.get(party_key(party_id))
        return entry.get("end_user") if entry else None

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[tuple[str, dict[str, Any]]]:
        """Every customer (its matching key) and its attributes, in the files' order."""
        return [(key, dict(entry)) for key, entry in self._entries.items()]

    @hookimpl(trylast=True)
    def exportgate_enrich_order(self, order: Order) -> Enrichment | None:
        parties = {}
        for role, party in order.parties().items():
            entry = self.get(party.id)
            if entry is not None:
                entry.pop("end_user", None)
                parties[role] = entry
        return Enrichment(parties=parties) if parties else None


def _csv_document(path: Path) -> dict[str, Any]:
    """A CSV party master as the YAML document it stands for."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ConfigError(f"party master {path}: cannot read ({exc.strerror or exc})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in ("id", *CSV_COLUMNS)]
    if "id" not in header or unknown:
        raise ConfigError(f"party master {path}: the header must have an id column and only "
                          f"{', '.join(CSV_COLUMNS)}"
                          + (f" (unknown: {', '.join(map(str, unknown))})" if unknown else ""))
    parties: dict[str, Any] = {}
    for row_number, row in enumerate(reader, start=2):
        party_id = (row.get("id") or "").strip()
        if not party_id:
            raise ConfigError(f"party master {path}: row {row_number}: id is empty")
        if party_id in parties:
            raise ConfigError(f"party master {path}: row {row_number}: "
                              f"customer {party_id!r} appears twice")
        entry: dict[str, Any] = {}
        for column in CSV_COLUMNS:
            cell = (row.get(column) or "").strip()
            if not cell:
                continue
            if column == "certifications":
                entry[column] = [c.strip() for c in cell.split(";") if c.strip()]
            elif column == "restrictions":
                entry[column] = [_restriction(path, row_number, r)
                                 for r in cell.split(";") if r.strip()]
            else:
                entry[column] = cell
        parties[party_id] = entry
    return {"version": 1, "parties": parties}


def _restriction(path: Path, row_number: int, cell: str) -> dict[str, str]:
    name, sep, policy = cell.strip().rpartition(":")
    if not sep or not name:
        raise ConfigError(f"party master {path}: row {row_number}: restriction {cell!r} "
                          "must be written list:policy (e.g. entity-list:denial)")
    return {"list": name, "policy": policy}


_LOADED: dict[tuple[tuple[str, int, int], ...], PartyMaster] = {}


def party_master(paths: Sequence[Path]) -> PartyMaster:
    """The party master of these files, read once per process and again when a file changes.

    The enrichment plugin and every adapter of one configuration share it, so
    the files are read and validated once. A missing or invalid file is a
    `ConfigError` naming the file and the key.
    """
    stamps = []
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:
            raise ConfigError(f"party master {path}: cannot read "
                              f"({exc.strerror or exc})") from None
        stamps.append((str(path), st.st_mtime_ns, st.st_size))
    key = tuple(stamps)
    if key not in _LOADED:
        master = PartyMaster()
        for path in paths:
            master.load_file(Path(path))
        master.check_references(", ".join(str(p) for p in paths))
        _LOADED[key] = master
    return _LOADED[key]
