"""The gate the Tryton server checks sales with, and a sale as a canonical order.

One `exportgate.Gate` per server thread (the SQLite ledger's connection
belongs to the thread that opened it), built from the exportgate
configuration file the Tryton configuration names::

    [exportgate]
    config = /etc/tryton/exportgate.yaml   # else $EXPORTGATE_CONFIG
    regime = us-ai-diffusion-2025          # optional: else the file's calendar
    order_prefix = erp1/sale/              # optional: ledger order ids, default <database>/sale/

The gate is rebuilt when that file changes (touch it after editing the
catalogs or party files it names). Everything here raises
`exportgate.ExportgateError` (or a subclass) on trouble; the models turn that
into a user error that stops the transition.
"""
from __future__ import annotations

import logging
import os
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

from trytond import config
from trytond.pool import Pool
from trytond.transaction import Transaction

from exportgate import (Classification, ConfigError, ExportgateError, Gate, LedgerError, Line,
                        Order, Party, Restriction, Settings, ValidationError)

logger = logging.getLogger(__name__)
_local = threading.local()


def settings_key() -> tuple[str | None, float | None, str | None]:
    """What the gate of this thread is built from: config path, its mtime, regime."""
    path = config.get("exportgate", "config", default=None) or os.environ.get(
        "EXPORTGATE_CONFIG") or None
    mtime = None
    if path is not None:
        try:
            mtime = Path(path).stat().st_mtime
        except OSError as exc:
            raise ConfigError(f"exportgate configuration {path}: {exc.strerror}") from None
    regime = config.get("exportgate", "regime", default=None) or None
    return path, mtime, regime


def gate() -> Gate:
    """This thread's gate for the current configuration (built on first use)."""
    key = settings_key()
    current: tuple[tuple[str | None, float | None, str | None], Gate] | None = getattr(
        _local, "gate", None)
    if current is not None and current[0] == key:
        return current[1]
    if current is not None:
        current[1].close()
        _local.gate = None
    path, _, regime = key
    built = Gate(Settings.load(path), regime_id=regime)
    _local.gate = (key, built)
    return built


def reset() -> None:
    """Close this thread's gate (the next check builds a new one)."""
    current = getattr(_local, "gate", None)
    if current is not None:
        current[1].close()
        _local.gate = None


def ledger_state(order: str) -> str | None:
    """The order's state in the ledger (``reserved``, ``committed``, ``released``), or None."""
    for row in gate().ledger.orders():
        if row["order"] == order:
            return str(row["state"])
    return None


def settle(order: str, action: str) -> None:
    """Commit or release the order's quota; done already counts as done.

    A request the database rolls back after the ledger moved (a PostgreSQL
    serialization retry, an error later in the same request) finds the
    ledger a step ahead when it runs again; that is not an error. Anything
    else the ledger says (not there, unreachable) is raised.
    """
    ledger = gate().ledger
    try:
        if action == "commit":
            ledger.commit(order)
        else:
            ledger.release(order)
    except LedgerError:
        wanted = "committed" if action == "commit" else "released"
        if ledger_state(order) != wanted:
            raise


class QuoteGuard:
    """Releases the quotations reserved in a Tryton transaction that does not commit.

    Joined to the transaction (`Transaction.join`) by a quotation's check: a
    quotation refused later in the same request (another sale of the batch
    denied, the sale module's own checks) leaves its sale in draft, so its
    reservation goes too. Confirmation re-checks are not guarded: the sale
    stays quoted and keeps what its check reserved.
    """

    def __init__(self) -> None:
        self.orders: list[str] = []

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QuoteGuard)

    def __hash__(self) -> int:
        return hash(QuoteGuard)

    def tpc_begin(self, transaction: Any) -> None:
        pass

    def commit(self, transaction: Any) -> None:
        pass

    def tpc_vote(self, transaction: Any) -> None:
        pass

    def tpc_finish(self, transaction: Any) -> None:
        self.orders.clear()

    def tpc_abort(self, transaction: Any) -> None:
        orders, self.orders = self.orders, []
        for order in orders:
            try:
                settle(order, "release")
            except ExportgateError:
                # Left reserved: it over-counts until the sale is quoted again
                # or cancelled, or the ledger expires it; never under-counts.
                logger.warning("exportgate: could not release %s after a rollback", order,
                               exc_info=True)


def guard_quotation(order: str) -> None:
    """Release ``order``'s reservation if the current Tryton transaction rolls back."""
    Transaction().join(QuoteGuard()).orders.append(order)


def order_id(sale: Any) -> str:
    """The sale's id in the ledger: stable from quotation to shipment, unique per database."""
    prefix = config.get("exportgate", "order_prefix", default=None)
    if prefix is None:
        prefix = f"{Transaction().database.name}/sale/"
    return f"{prefix}{sale.id}"


def not_assessed(line: Any) -> str | None:
    """Why a sale line is not assessed (it ships no goods), or None when it is.

    As exportgate's other ERP adapters do: text lines, services and lines
    that ship nothing (zero or negative quantities: returns) get no outcome;
    the decision lists them under ``not_assessed``.
    """
    if line.type != "line":
        return f"text line ({line.type})"
    if line.product is None:
        return "no product"
    if line.product.type == "service":
        return "service (product type service)"
    if (line.quantity or 0) <= 0:
        return "return (negative quantity)" if (line.quantity or 0) < 0 else "zero quantity"
    return None


def line_name(line: Any) -> str:
    """A sale line as a message about its sale names it: Tryton's name without ``@ <sale>``.

    Tryton names a line ``1,000 u [H100-SXM5] NVIDIA H100 @ SO-5``; the
    messages already name the sale, so the line says only what it is.
    """
    return str(line.rec_name).removesuffix(f" @ {line.sale.rec_name}")


def _country(address: Any, party: Any, sale: Any) -> str:
    if address is None or address.country is None:
        raise ValidationError(f"party {party.rec_name} has no country on its address; "
                              "exportgate needs it to check the sale", record=sale.rec_name)
    return str(address.country.code)


def _address_line(address: Any) -> str | None:
    """The address the goods go to, as one line (screening's supporting evidence)."""
    parts = [getattr(address, f, None) for f in ("street", "city", "postal_code")]
    text = ", ".join(" ".join(str(p).split()) for p in parts if p)
    return text or None


def party(record: Any, address: Any, sale: Any) -> Party:
    """A Tryton party (and the address the goods go to) as a canonical party."""
    hq = record.export_hq_country
    parent = record.export_parent_hq_country
    return Party(
        id=str(record.code or f"party-{record.id}"),
        country=_country(address, record, sale),
        name=record.name,
        address=_address_line(address),
        hq_country=hq.code if hq else None,
        parent_hq_country=parent.code if parent else None,
        verified=record.export_verified or None,
        certifications=tuple(record.export_certifications or ()),
        restrictions=tuple(Restriction(r.screening_list, r.policy)
                           for r in record.export_restrictions),
    )


def classification(template: Any) -> Classification | None:
    """The product's own classification, or None to take it from the item catalog."""
    if not template.export_eccn and template.export_tpp is None:
        return None
    pd = template.export_pd
    dram = template.export_dram_bandwidth
    return Classification(
        eccn=template.export_eccn or None,
        tpp=template.export_tpp,
        pd=float(pd) if isinstance(pd, Decimal | float | int) else None,
        datacenter=template.export_datacenter != "no",
        dram_bandwidth_gbps=float(dram) if dram is not None else None,
    )


def line(record: Any, sale: Any) -> Line:
    """A sale line as a canonical line, its quantity in the product's unit."""
    Uom = Pool().get("product.uom")
    product = record.product
    quantity = Uom.compute_qty(record.unit, record.quantity, product.default_uom, round=False)
    if quantity != int(quantity):
        raise ValidationError(f"quantity {quantity} {product.default_uom.symbol} is not a "
                              "whole number of units", record=sale.rec_name,
                              line=line_name(record), field="quantity")
    item = product.template.export_catalog_item or product.code or f"product-{product.id}"
    # Counted in the product's default unit (the unit its TPP is given for), so
    # no unit is passed on: exportgate takes the quantity in the item's base unit.
    return Line(id=str(record.id), item=str(item), quantity=int(quantity),
                classification=classification(product.template))


def ship_from(sale: Any, gate_: Gate) -> str:
    warehouse = sale.warehouse
    address = warehouse.address if warehouse is not None else None
    if address is not None and address.country is not None:
        return str(address.country.code)
    option = gate_.settings.adapter_options("tryton").get("ship_from")
    return str(option or "US")


def sale_order(sale: Any, gate_: Gate) -> dict[str, Any] | None:
    """The sale as a canonical order document (None when no line ships goods)."""
    Date = Pool().get("ir.date")
    lines = [x for x in sale.lines if not_assessed(x) is None]
    if not lines:
        return None
    ship_party = sale.shipment_party or sale.party
    end_user = None
    if sale.export_end_user is not None:
        end_user = party(sale.export_end_user, sale.export_end_user.address_get(), sale)
    date = sale.sale_date or Date.today()
    doc = Order(
        id=order_id(sale), date=date.isoformat(), ship_from=ship_from(sale, gate_),
        sold_to=party(sale.party, sale.invoice_address or sale.shipment_address, sale),
        ship_to=party(ship_party, sale.shipment_address, sale),
        end_user=end_user,
        lines=tuple(line(x, sale) for x in lines),
    ).to_dict()
    skipped = [(x, not_assessed(x)) for x in sale.lines]
    doc["not_assessed"] = [{"id": str(x.id), "reason": why,
                            **({"item": x.product.rec_name} if x.product else {})}
                           for x, why in skipped if why is not None]
    return doc
