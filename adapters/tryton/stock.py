"""A done customer shipment commits its sales' export quota."""
from __future__ import annotations

from typing import Any

from trytond.model import ModelView, Workflow
from trytond.pool import Pool, PoolMeta
from trytond.transaction import without_check_access


class ShipmentOut(metaclass=PoolMeta):
    __name__ = "stock.shipment.out"

    @classmethod
    @ModelView.button
    @Workflow.transition("done")
    def do(cls, shipments: list[Any]) -> None:
        super().do(shipments)
        Sale = Pool().get("sale.sale")
        with without_check_access():
            sales = {m.sale for s in cls.browse(shipments) for m in s.outgoing_moves
                     if m.sale}
            Sale.export_commit(sorted(sales, key=lambda s: s.id))
