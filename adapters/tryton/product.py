"""Export classification on product templates, or a reference to the item catalog."""
from __future__ import annotations

from trytond.model import fields
from trytond.pool import PoolMeta
from trytond.pyson import Bool, Eval

DATACENTER = [
    ("yes", "Datacenter"),
    ("no", "Not datacenter"),
]


class Template(metaclass=PoolMeta):
    __name__ = "product.template"

    export_catalog_item = fields.Char(
        "Export Catalog Item",
        help="The item's id in exportgate's item catalog "
        "(empty: the product code). Fields below override the catalog.")
    export_eccn = fields.Char("ECCN", help="Export Control Classification Number.")
    export_tpp = fields.Integer(
        "TPP per Unit", domain=[("export_tpp", ">=", 0)],
        help="Total processing performance of one unit.")
    export_pd = fields.Float(
        "Performance Density", digits=(12, 4),
        states={"invisible": ~Bool(Eval("export_tpp")) & ~Bool(Eval("export_eccn"))})
    export_datacenter = fields.Selection(
        DATACENTER, "Datacenter Item",
        states={"invisible": ~Bool(Eval("export_tpp")) & ~Bool(Eval("export_eccn"))})
    export_dram_bandwidth = fields.Float(
        "DRAM Bandwidth (GB/s)", digits=(12, 1),
        states={"invisible": ~Bool(Eval("export_tpp")) & ~Bool(Eval("export_eccn"))})

    @classmethod
    def default_export_datacenter(cls) -> str:
        return "yes"
