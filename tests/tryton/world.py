"""What every sale test starts from: a company, its customers and products, and a ledger.

`in_world` runs a test method in its own Tryton transaction (rolled back
after), as the user of a new company, and hands it a `World`: the parties
and products below, the models it uses, and helpers that enter, quote and
ship sales, record licenses and read the ledger, so a test states only
what differs. The consignee of the LPP scenarios, Berlin AI, is a German
company headquartered in Singapore (outside Tier 1): its H100 lines fall D6
(LPP, notify, 26,900,000 TPP a year) and, past the allowance, D7 (license).
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import with_transaction

from exportgate import Gate, Settings
from exportgate.adapters.tryton import _gate

H100_TPP = 15832
SALE_DATE = dt.date(2025, 6, 2)
LPP_CAP = 26_900_000


def write_config(directory: Path, **extra: str) -> Path:
    """An exportgate configuration: SQLite ledger beside it, us-ai-diffusion-2025, ``extra``."""
    lines = [
        "ledger: sqlite:///ledger.db",
        "calendar:",
        "  - {regime: us-ai-diffusion-2025, effective_from: '2025-01-15'}",
        *(f"{key}: {value}" for key, value in extra.items()),
    ]
    path = directory / "exportgate.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class _Model:
    """A Tryton model class, from the pool of the running transaction (``w.Sale``)."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, world: object, owner: type | None = None) -> Any:
        return Pool().get(self.name)


@dataclass
class World:
    """A company's customers and products, and the test's exportgate configuration."""

    tmp: Path
    config_path: Path
    company: Any
    countries: dict[str, Any]
    unit: Any
    berlin_ai: Any
    tehran: Any
    munich_lab: Any
    h100: Any
    cable: Any

    # -- the models a test calls ------------------------------------------

    Sale = _Model("sale.sale")
    Line = _Model("sale.line")
    Filing = _Model("exportgate.filing")
    Party = _Model("party.party")
    Template = _Model("product.template")

    # -- sales --------------------------------------------------------------

    def product(self, name: str, **values: Any) -> Any:
        """A salable product counted in units (goods unless ``type`` says otherwise)."""
        template, = self.Template.create([{
            "name": name, "default_uom": self.unit.id, "sale_uom": self.unit.id,
            "type": "goods", "salable": True, "list_price": Decimal(25000),
            "products": [("create", [{}])], **values,
        }])
        return template.products[0]

    def sale(self, customer: Any, *lines: tuple[Any, int], **values: Any) -> Any:
        """A draft sale to ``customer`` at its first address: one line per (product, quantity)."""
        address = customer.addresses[0]
        sale, = self.Sale.create([{
            "party": customer.id, "invoice_address": address.id,
            "shipment_address": address.id, "sale_date": SALE_DATE,
            "invoice_method": "manual", "shipment_method": "order",
            "lines": [("create", [{
                "product": product.id, "quantity": quantity, "unit": self.unit.id,
                "unit_price": Decimal(25000)} for product, quantity in lines])],
            **values,
        }])
        return sale

    def h100_sale(self, quantity: int, **values: Any) -> Any:
        """A draft sale of ``quantity`` H100 to Berlin AI, the LPP consignee."""
        return self.sale(self.berlin_ai, (self.h100, quantity), **values)

    def ship(self, sale: Any) -> Any:
        """Process the confirmed sale and take its one shipment to done; returns the shipment."""
        Shipment = Pool().get("stock.shipment.out")
        self.Sale.process([sale])  # the queued task confirmation schedules
        shipment, = sale.shipments
        Shipment.assign_force([shipment])
        Shipment.pick([shipment])
        Shipment.pack([shipment])
        Shipment.do([shipment])
        assert shipment.state == "done", shipment.state
        return shipment

    # -- the ledger and the registry ----------------------------------------

    @property
    def lpp_key(self) -> str:
        """Berlin AI's LPP quota key for the sale year."""
        return f"lpp:{self.berlin_ai.code}:2025"

    def ledger(self) -> Any:
        return Gate(Settings.from_file(self.config_path)).ledger

    def usage(self, sale_or_order: Any) -> list[tuple[str, int, str]]:
        """The ledger's reservations of a sale (or an order id): (quota, tpp, state)."""
        order = sale_or_order if isinstance(sale_or_order, str) else _gate.order_id(sale_or_order)
        return [(r["quota"], r["tpp"], r["state"]) for r in self.ledger().reservations(order)]

    def record_licenses(self, *licenses: dict[str, Any]) -> None:
        """Record granted licenses in the registry as an officer does (exportgate license add)."""
        path = self.tmp / "licenses.yaml"
        docs = [{"issued": "2025-01-01", "expires": "2026-12-31", **x} for x in licenses]
        path.write_text(json.dumps({"licenses": docs}))
        command = Path(sys.executable).with_name("exportgate")
        subprocess.run([str(command), "license", "--ledger",
                        f"sqlite:///{self.tmp / 'ledger.db'}", "add", str(path)],
                       check=True, capture_output=True, timeout=60)
        _gate.reset()  # a server's gate sees another process's additions within a second


def build_world(tmp: Path, config_path: Path, company: Any) -> World:
    """Countries, customers and products of a new company (call as its user)."""
    pool = Pool()
    Country = pool.get("country.country")
    Party = pool.get("party.party")
    countries = {code: Country(name=code, code=code) for code in ("US", "DE", "SG", "IR")}
    Country.save(list(countries.values()))
    unit, = pool.get("product.uom").search([("name", "=", "Unit")])

    def party(name: str, country: str, **values: Any) -> Any:
        record, = Party.create([{
            "name": name, "addresses": [("create", [{"country": countries[country].id}])],
            **values,
        }])
        return record

    world = World(tmp, config_path, company, countries, unit,
                  berlin_ai=party("Berlin AI GmbH", "DE", export_hq_country=countries["SG"].id),
                  tehran=party("Tehran Trading", "IR"), munich_lab=party("Munich Lab", "DE"),
                  h100=None, cable=None)
    world.h100 = world.product("H100 SXM5", export_eccn="3A090.a", export_tpp=H100_TPP,
                               export_pd=19.45)
    world.cable = world.product("QSFP cable", export_eccn="EAR99")
    return world


def in_world(test: Callable[[Any, World], None]) -> Callable[[Any], None]:
    """Run ``test(self, world)`` in its own transaction, as the user of a new company.

    The test case gives ``tmp`` and ``config_path`` (its exportgate
    configuration); the transaction is rolled back after the test.
    """
    @with_transaction()
    @functools.wraps(test)
    def run(case: Any) -> None:
        company = create_company()
        with set_company(company):
            test(case, build_world(case.tmp, case.config_path, company))

    return run
