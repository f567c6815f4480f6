"""SAP IDoc ``ORDERS05`` (message type ORDERS) in SAP's XML IDoc format.

An inbound ORDERS IDoc arrives before the sales order exists, so checking it
screens an EDI order before it is posted. Claimed: the basic type ORDERS05,
also extended (``EDI_DC40`` ``IDOCTYP`` ORDERS05 with a ``CIMTYP``) and under
any root element, message types ORDERS and ORDCHG, in any encoding its XML
declaration names (the command line decodes it; ISO-8859-1 IDocs exist).
Read: ``E1EDK01`` (``BELNR``, the order id), ``E1EDK03`` dates (``IDDAT``
012 document date, else the control record's ``CREDAT``), ``E1EDKA1``
partners (``PARVW``, ``PARTN`` or, for a partner given by address, ``LIFNR``;
``NAME1`` .. ``NAME4``, the address ``STRAS``, ``STRS2``, ``ORT01``, ``PSTLZ``,
``REGIO``, and ``LAND1``), ``E1EDP01`` items (``POSEX``, ``MENGE``, ``MENEE``,
``WERKS``, ``ACTION``) with ``E1EDP19`` ``QUALF`` 002 (the seller's material
number) and ``E1EDPA1`` item partners, which override the header partners.
``LAND1``, the name and the address on a partner segment win over the party
master. ``MENGE`` is counted in ``MENEE`` and converted to the item's base
unit. Not assessed: items with ``ACTION`` 003 (deleted, in an ORDCHG) and
zero quantities; an order deleted whole (``E1EDK01-ACTION`` 003) is an input
error.
Partner functions are read from SAP's standard table (`_sap.STANDARD_FUNCTIONS`):
the vendor and the other functions that are no export party are skipped.

The write-back is for the IDoc before it is posted (or the order it
creates): ``E1EDK01-LIFSK`` delivery block, and for denied items the
rejection reason ``E1EDP01-ABGRU``.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any, Callable


from exportgate.toolkit import (Adapter, Decision, Fields, LineIn, NotAssessed, Order, Outcome,
                               PartyRef, Record, Settings, build_orders, document_id, blocks,
                               hookimpl, item_catalog, options, party_master, ship_from, summary)

from ._address import address_line, words
from ._sap import SAP_OPTIONS, BlockCodes, PartnerFunctions

_ROOT = re.compile(r"<ORDERS05[\s>]|<IDOCTYP>\s*ORDERS05\s*</IDOCTYP>")
_AN_IDOC = re.compile(r"<(?:IDOC|EDI_DC40)[\s>]")
_BASIC_TYPE = re.compile(r"<IDOCTYP>\s*([^<\s]{1,30})\s*</IDOCTYP>")
_IDOCTYP = "ORDERS05"
#: A partner segment's name, written over up to four fields, and its address in
#: the canonical order: street, second street line, city, postal code, region.
_NAME = ("NAME1", "NAME2", "NAME3", "NAME4")
_ADDRESS = ("STRAS", "STRS2", "ORT01", "PSTLZ", "REGIO")


class IdocOrders05Adapter:
    """Reads ORDERS05 XML IDocs (one order per ``IDOC``); writes back LIFSK and ABGRU."""

    name = "sap-idoc-orders05"
    description = ("SAP IDoc ORDERS05, also extended (XML): E1EDK01, E1EDK03, E1EDKA1, "
                   "E1EDP01/E1EDP19/E1EDPA1")

    def __init__(self, settings: Settings) -> None:
        self.options = options(settings, self.name, SAP_OPTIONS)
        self.partners = PartnerFunctions(self.options)
        self.codes = BlockCodes(self.options)
        self.master = party_master(settings.parties)
        self.catalog = item_catalog(settings.catalogs)

    def claims(self, record: Record) -> bool:
        return record.data is None and bool(_ROOT.search(record.text[:4096]))

    def near_miss(self, record: Record) -> str | None:
        """An IDoc of another basic type (``DELVRY07``, ``ORDERS01``)."""
        head = record.text[:4096] if record.data is None else ""
        if not _AN_IDOC.search(head):
            return None
        kind = _BASIC_TYPE.search(head)
        return (f"looks like an SAP IDoc but its basic type is {kind.group(1)}, not {_IDOCTYP}"
                if kind else f"looks like an SAP IDoc but names no basic type (EDI_DC40 "
                f"IDOCTYP) and its root is not {_IDOCTYP}")

    def adapt(self, record: Record) -> list[Order]:
        f = Fields(self.name, record)
        if "<!DOCTYPE" in record.text or "<!ENTITY" in record.text:
            raise f.error("document type declarations are not accepted in an IDoc", "record")
        try:
            root = ET.fromstring(record.text)
        except ET.ParseError as exc:
            raise f.error(f"is not well-formed XML ({exc})", "record") from None
        idocs = root.findall("IDOC")
        if not idocs:
            raise f.error("holds no IDOC element", root.tag)
        for i, idoc in enumerate(idocs):
            control = idoc.find("EDI_DC40")
            kind = _text(control, "IDOCTYP") if control is not None else None
            if kind is None and root.tag != _IDOCTYP:
                raise f.error(f"no EDI_DC40.IDOCTYP under root {root.tag}: cannot tell the "
                              "basic type", f"IDOC[{i}].EDI_DC40.IDOCTYP")
            if kind is not None and kind != _IDOCTYP:
                raise f.error(f"basic type {kind} is not {_IDOCTYP}",
                              f"IDOC[{i}].EDI_DC40.IDOCTYP")
        return f.each(idocs, lambda idoc: self._order(f, idoc))

    def _order(self, f: Fields, idoc: ET.Element) -> list[Order]:
        k01 = _one(f, idoc, "E1EDK01", "IDOC")
        f.order_id = _need(f, k01, "BELNR", "E1EDK01")
        if _text(k01, "ACTION") == "003":
            raise f.error("the whole order is deleted (ACTION 003): nothing to check",
                          "E1EDK01.ACTION")
        parties = self._partners(f, idoc.findall("E1EDKA1"), "E1EDKA1", None)
        lines = [self._line(f, p, i) for i, p in enumerate(idoc.findall("E1EDP01"))]
        return build_orders(f, self.master, order_id=f.order_id, date=self._date(f, idoc),
                            parties=parties, lines=lines, lines_field="E1EDP01",
                            catalog=self.catalog)

    def _date(self, f: Fields, idoc: ET.Element) -> str:
        for i, seg in enumerate(idoc.findall("E1EDK03")):
            if _text(seg, "IDDAT") == "012":
                return f.date(_text(seg, "DATUM"), f"E1EDK03[{i}].DATUM")
        control = idoc.find("EDI_DC40")
        if control is not None and _text(control, "CREDAT"):
            return f.date(_text(control, "CREDAT"), "EDI_DC40.CREDAT")
        raise f.error("no document date: neither E1EDK03 with IDDAT 012 nor EDI_DC40.CREDAT",
                      "E1EDK03")

    def _line(self, f: Fields, seg: ET.Element, i: int) -> LineIn | NotAssessed:
        at = f"E1EDP01[{i}]"
        line = _need(f, seg, "POSEX", at)
        if _text(seg, "ACTION") == "003":
            return NotAssessed(line, "deleted (ACTION 003)", _material(seg))
        material = None
        for j, ids in enumerate(seg.findall("E1EDP19")):
            if _text(ids, "QUALF") == "002":
                material = _need(f, ids, "IDTNR", f"{at}.E1EDP19[{j}]", line)
        if material is None:
            raise f.error("no E1EDP19 with QUALF 002 (the seller's material number); customer "
                          "material numbers (QUALF 001) are not mapped", f"{at}.E1EDP19", line)
        return LineIn(
            id=line, item=material,
            quantity=f.quantity(_text(seg, "MENGE"), f"{at}.MENGE", line),
            unit=_text(seg, "MENEE"),
            parties=self._partners(f, seg.findall("E1EDPA1"), f"{at}.E1EDPA1", line),
            ship_from=ship_from(self.options, _text(seg, "WERKS")),
            quantity_field=f"{at}.MENGE", unit_field=f"{at}.MENEE")

    def _partners(self, f: Fields, segs: list[ET.Element], at: str,
                  line: str | None) -> dict[str, PartyRef]:
        found: dict[str, PartyRef] = {}
        for i, seg in enumerate(segs):
            field = f"{at}[{i}]"
            role = self.partners.role(f, _need(f, seg, "PARVW", field, line), f"{field}.PARVW",
                                      line)
            if role is None:
                continue
            if role in found:
                raise f.error(f"a second {_text(seg, 'PARVW')} partner", f"{field}.PARVW", line)
            land = _text(seg, "LAND1")
            key = "PARTN" if _text(seg, "PARTN") or not _text(seg, "LIFNR") else "LIFNR"
            found[role] = PartyRef(
                _need(f, seg, key, field, line), f"{field}.{key}",
                f.country(land, f"{field}.LAND1", line) if land else None,
                words(_text(seg, n) for n in _NAME), address_line(_text(seg, n) for n in _ADDRESS))
        return found

    def writeback(self, order: Order, decision: Decision) -> dict[str, Any]:
        """``LIFSK`` on the header; per item its outcome, and ``ABGRU`` for a denied item."""
        items = []
        for ld in decision.lines:
            item: dict[str, Any] = {"POSEX": ld.id, "outcome": ld.outcome.value}
            if ld.outcome is Outcome.DENY and self.codes.rejection_reason:
                item["ABGRU"] = self.codes.rejection_reason
            items.append(item)
        return {"adapter": self.name, "BELNR": document_id(order), "order": order.id,
                "outcome": decision.outcome.value, "block": blocks(decision.outcome),
                "E1EDK01": self.codes.header(order, {"LIFSK": self.codes.block(decision.outcome)}),
                "E1EDP01": items, "block_codes": self.codes.own, "message": summary(decision)}


def _material(seg: ET.Element) -> str | None:
    """The seller's material number of an item segment, if it has one."""
    for ids in seg.findall("E1EDP19"):
        if _text(ids, "QUALF") == "002":
            return _text(ids, "IDTNR")
    return None


def _text(seg: ET.Element, name: str) -> str | None:
    child = seg.find(name)
    if child is None or child.text is None or not child.text.strip():
        return None
    return child.text.strip()


def _need(f: Fields, seg: ET.Element, name: str, at: str, line: str | None = None) -> str:
    value = _text(seg, name)
    if value is None:
        raise f.error("is missing or empty", f"{at}.{name}", line)
    return value


def _one(f: Fields, parent: ET.Element, name: str, at: str) -> ET.Element:
    found = parent.findall(name)
    if len(found) != 1:
        raise f.error(f"must hold exactly one {name} segment, found {len(found)}", at)
    return found[0]


@hookimpl
def exportgate_register_adapters(register: Callable[[Adapter], None], settings: Settings) -> None:
    register(IdocOrders05Adapter(settings))
