"""Odoo ``sale.order`` as JSON-RPC ``read`` returns it, with its ``order_line`` read alongside.

The host (typically an ``action_confirm`` override in a small Odoo module)
reads the order and replaces the ``order_line`` ids with the lines' own
``read`` results; a JSON-RPC response ``{"jsonrpc": "2.0", "result": [...]}``
of several orders is read as several orders. Odoo's conventions apply:
many2one fields are ``[id, "display name"]`` pairs (``web_read``'s
``{"id", "display_name"}`` objects are read too), an empty field is
``false``. Parties are ``res.partner`` ids (``partner_id`` sold-to,
``partner_shipping_id`` ship-to, the configured many2one end user), named by
their display names; their countries come from the party master, keyed by
those ids, unless the host reads the partners with ``web_read`` and their
address (`_party`). The item is the product's internal reference, the
``[CODE]`` its display name starts with.
The quantity is ``product_uom_qty`` in the unit ``product_uom_id`` (Odoo 17+)
or ``product_uom`` names (``Units``, ``Dozens``, a pack the item catalog
knows), converted to the item's base unit. Not assessed (listed in the
decision): section and note lines (``display_type``), down payments
(``is_downpayment``), service products (``product_type`` ``service``, when
the host reads it) and zero quantities. A cancelled order (``state``
``cancel``) is an input error: there is nothing to check.

Odoo has no compliance block: the write-back asks the host to keep a blocked
order in draft (refuse to confirm) and to post the reasons on its chatter.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Mapping

from exportgate.toolkit import (ERP_OPTIONS, Adapter, Decision, Fields, LineIn, NotAssessed,
                               Order, PartyRef, Record, Settings, build_orders, document_id, blocks,
                               hookimpl, item_catalog, lacks, options, party_master, ship_from,
                               summary)

from ._address import address_line

#: The Odoo adapter's options (``adapters: {odoo: ...}``).
ODOO_OPTIONS: dict[str, Any] = {
    **ERP_OPTIONS,
    "end_user_field": {"type": "string", "nullable": True, "empty": False,
                       "default": "x_end_user_id"},
}


_DEFAULT_CODE = re.compile(r"^\[([^\]]+)\]")


class OdooAdapter:
    """Reads ``sale.order`` reads; writes back confirm-or-keep-draft and a chatter message."""

    name = "odoo"
    description = "Odoo sale.order (JSON-RPC read) with order_line read alongside"

    def __init__(self, settings: Settings) -> None:
        self.options = options(settings, self.name, ODOO_OPTIONS)
        self.master = party_master(settings.parties)
        self.catalog = item_catalog(settings.catalogs)

    def claims(self, record: Record) -> bool:
        docs = _documents(record.data)
        return bool(docs) and all(
            isinstance(d, dict) and {"name", "partner_id", "order_line"} <= set(d)
            and isinstance(d["order_line"], list) for d in docs or ())

    def near_miss(self, record: Record) -> str | None:
        """A JSON-RPC error; a sale.order read without its lines, or with their ids only."""
        data = record.data
        if isinstance(data, dict) and "jsonrpc" in data and "error" in data:
            return f"is a JSON-RPC error response, not a result: {str(data['error'])[:120]}"
        for doc in _documents(data) or ():
            if isinstance(doc, dict) and {"name", "partner_id", "order_line"} <= set(doc):
                return "looks like an Odoo sale.order but `order_line` is not a list"
            why = lacks(doc, "an Odoo sale.order", ("name", "partner_id", "order_line",
                                                    "date_order"))
            if why is not None:
                return why
        return None

    def adapt(self, record: Record) -> list[Order]:
        f = Fields(self.name, record)
        docs = _documents(record.data)
        if not docs:
            raise f.error("is not a sale.order read result (an object, or a JSON-RPC response "
                          "with a non-empty result list)", "record")
        return f.each((f.obj(doc, f"result[{i}]") for i, doc in enumerate(docs)),
                      lambda so: self._order(f, so))

    def _order(self, f: Fields, so: Mapping[str, Any]) -> list[Order]:
        f.order_id = f.need(so, "name", "name")
        if so.get("state") == "cancel":
            raise f.error("the order is cancelled: nothing to check", "state")
        parties = {"sold_to": _party(f, so, "partner_id"),
                   "ship_to": _party(f, so, "partner_shipping_id")}
        end_user_field = self.options.get("end_user_field")
        if end_user_field and so.get(end_user_field) not in (None, False):
            parties["end_user"] = _party(f, so, end_user_field)
        plant = (_many2one(f, so, "warehouse_id")[0]
                 if so.get("warehouse_id") not in (None, False) else None)
        lines: list[LineIn | NotAssessed] = []
        ids = so.get("order_line")
        if isinstance(ids, list) and ids and all(isinstance(x, int) for x in ids):
            raise f.error("holds the lines' ids, not their read() results: read the lines "
                          "alongside (order.order_line.read([...]))", "order_line")
        for at, row in f.rows(so.get("order_line"), "order_line"):
            line = f.need(row, "id", f"{at}.id")
            skip = _not_goods(row)
            if skip is not None:
                lines.append(NotAssessed(line, skip, _product_name(row)))
                continue
            product = _many2one(f, row, "product_id", at, line)[1]
            code = _DEFAULT_CODE.match(product)
            if code is None:
                raise f.error(f"product {product!r} has no internal reference: give it one "
                              "(the [CODE] of its display name) so the item catalog can match it",
                              f"{at}.product_id", line)
            unit_key = "product_uom_id" if "product_uom_id" in row else "product_uom"
            unit = (_many2one(f, row, unit_key, at, line)[1]
                    if row.get(unit_key) not in (None, False) else None)
            lines.append(LineIn(
                id=line, item=code.group(1).strip(),
                quantity=f.quantity(row.get("product_uom_qty"), f"{at}.product_uom_qty", line),
                unit=unit, ship_from=ship_from(self.options, plant),
                quantity_field=f"{at}.product_uom_qty", unit_field=f"{at}.{unit_key}"))
        return build_orders(f, self.master, order_id=f.order_id,
                            date=f.date(so.get("date_order"), "date_order"),
                            parties=parties, lines=lines, lines_field="order_line",
                            catalog=self.catalog)

    def writeback(self, order: Order, decision: Decision) -> dict[str, Any]:
        """Confirm or keep in draft; the reasons go to the order's chatter, line by line."""
        block = blocks(decision.outcome)
        return {"adapter": self.name, "model": "sale.order", "name": document_id(order),
                "order": order.id, "outcome": decision.outcome.value, "block": block,
                "confirm": not block, "state": "draft" if block else "sale",
                "message_post": {"body": summary(decision), "message_type": "comment",
                                 "subtype_xmlid": "mail.mt_note"},
                "order_line": [{"id": int(ld.id) if ld.id.isdigit() else ld.id,
                                "outcome": ld.outcome.value} for ld in decision.lines]}


def _not_goods(row: Mapping[str, Any]) -> str | None:
    """Why an order line ships no goods, or ``None`` for goods."""
    if row.get("display_type"):
        return f"not goods (display_type {row['display_type']})"
    if row.get("is_downpayment") is True:
        return "not goods (down payment)"
    if row.get("product_type") == "service":
        return "not goods (service product)"
    return None


def _product_name(row: Mapping[str, Any]) -> str | None:
    value = row.get("product_id")
    if isinstance(value, Mapping):  # web_read
        value = [value.get("id"), value.get("display_name")]
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], str):
        code = _DEFAULT_CODE.match(value[1])
        return code.group(1).strip() if code else value[1]
    return None


def _documents(data: Any) -> list[Any] | None:
    if isinstance(data, dict) and "jsonrpc" in data:
        result = data.get("result")
        return result if isinstance(result, list) else None
    return [data] if isinstance(data, dict) else None


def _party(f: Fields, m: Mapping[str, Any], key: str) -> PartyRef:
    """A ``res.partner`` many2one as a party: its id (as a string), display name and address.

    ``read()`` gives the id and the display name only. ``web_read`` with a
    specification that asks for the partner's ``street``, ``street2``,
    ``city``, ``zip``, ``state_id`` and ``country_code`` gives them inside the
    many2one, and the party carries them (the country then wins over the
    party master's, as every record's does).
    """
    partner_id, name = _many2one(f, m, key)
    partner = m[key]
    if not isinstance(partner, Mapping):
        return PartyRef(partner_id, key, None, name or None)

    def read(field: str) -> str | None:  # ``false`` is Odoo's empty value
        return None if partner.get(field) is False else f.text(partner, field, f"{key}.{field}")

    state = partner.get("state_id")
    country = read("country_code")
    return PartyRef(
        partner_id, f"{key}.country_code" if country else key,
        f.country(country, f"{key}.country_code") if country else None, name or None,
        address_line((read("street"), read("street2"), read("city"), read("zip"),
                      _many2one(f, partner, "state_id", key)[1]
                      if isinstance(state, (list, Mapping)) else None)))


def _many2one(f: Fields, m: Mapping[str, Any], key: str, at: str | None = None,
              line: str | None = None) -> tuple[str, str]:
    """A many2one: the id as a string, and the display name.

    ``read()`` writes it ``[id, "display name"]``; ``web_read`` with a
    specification ``{"id": ..., "display_name": ..., <the fields asked>}``.
    """
    field = f"{at}.{key}" if at else key
    value = m.get(key)
    if value is None or value is False:
        raise f.error("is missing or empty", field, line)
    if isinstance(value, Mapping):
        if (isinstance(value.get("id"), bool) or not isinstance(value.get("id"), int)
                or not isinstance(value.get("display_name"), str)):
            raise f.error(f"must be a many2one {{\"id\", \"display_name\"}}, got "
                          f"{dict(value)!r:.60}", field, line)
        return str(value["id"]), value["display_name"]
    if (not isinstance(value, list) or len(value) != 2 or isinstance(value[0], bool)
            or not isinstance(value[0], int) or not isinstance(value[1], str)):
        raise f.error(f"must be a many2one [id, \"name\"], got {value!r:.60}", field, line)
    return str(value[0]), value[1]


@hookimpl
def exportgate_register_adapters(register: Callable[[Adapter], None], settings: Settings) -> None:
    register(OdooAdapter(settings))
