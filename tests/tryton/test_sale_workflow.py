"""The exportgate Tryton module in real sales, on a real Tryton server (SQLite).

Tryton's own test framework activates the module (with ``sale`` and what it
depends on) once for the class; each test runs in its own transaction with
its own exportgate configuration and ledger file, under the regime
``us-ai-diffusion-2025``. The consignee of the LPP scenarios is a German
company headquartered in Singapore (outside Tier 1): its lines fall D6 (LPP,
notify, 26,900,000 TPP a year) and, past the allowance, D7 (license).
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from trytond import config
from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.modules.company.tests import create_company, set_company
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from exportgate import Gate, Settings
from exportgate.adapters.tryton import _gate
from exportgate.adapters.tryton.exceptions import (ExportCheckError, ExportDenied,
                                                   ExportLicenseRequired)
from tests.tryton.pages import VIEWS, doc_table, page_layout

H100_TPP = 15832
SALE_DATE = dt.date(2025, 6, 2)
LPP_CAP = 26_900_000


def write_config(directory: Path, **extra: str) -> Path:
    lines = [
        "ledger: sqlite:///ledger.db",
        "calendar:",
        "  - {regime: us-ai-diffusion-2025, effective_from: '2025-01-15'}",
        *(f"{key}: {value}" for key, value in extra.items()),
    ]
    path = directory / "exportgate.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


class ExportgateTestCase(ModuleTestCase):
    "The exportgate Tryton module"
    module = "exportgate"

    def setUp(self) -> None:
        super().setUp()
        self.tmp = Path(tempfile.mkdtemp(prefix="exportgate-tryton-"))
        self.config_path = write_config(self.tmp)
        if not config.has_section("exportgate"):
            config.add_section("exportgate")
        config.set("exportgate", "config", str(self.config_path))
        self.addCleanup(self._clean)

    def _clean(self) -> None:
        _gate.reset()
        config.remove_section("exportgate")
        config.add_section("exportgate")
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- fixtures ---------------------------------------------------------

    def ledger(self) -> Any:
        return Gate(Settings.from_file(self.config_path)).ledger

    def setup_world(self) -> dict[str, Any]:
        """Company, countries, customers and products; call inside set_company."""
        pool = Pool()
        Country = pool.get("country.country")
        Party = pool.get("party.party")
        Template = pool.get("product.template")
        Uom = pool.get("product.uom")
        countries = {code: Country(name=code, code=code) for code in ("US", "DE", "SG", "IR")}
        Country.save(list(countries.values()))
        unit, = Uom.search([("name", "=", "Unit")])

        def party(name: str, country: str, **values: Any) -> Any:
            record, = Party.create([{
                "name": name,
                "addresses": [("create", [{"country": countries[country].id}])],
                **values,
            }])
            return record

        def product(name: str, **values: Any) -> Any:
            template, = Template.create([{
                "name": name, "default_uom": unit.id, "sale_uom": unit.id, "type": "goods",
                "salable": True,
                "list_price": Decimal(25000), "products": [("create", [{}])], **values,
            }])
            return template.products[0]

        return {
            "countries": countries,
            "unit": unit,
            "berlin_ai": party("Berlin AI GmbH", "DE",
                               export_hq_country=countries["SG"].id),
            "tehran": party("Tehran Trading", "IR"),
            "munich_lab": party("Munich Lab", "DE"),
            "h100": product("H100 SXM5", export_eccn="3A090.a", export_tpp=H100_TPP,
                            export_pd=19.45),
            "cable": product("QSFP cable", export_eccn="EAR99"),
        }

    def sale(self, world: dict[str, Any], customer: Any, lines: list[tuple[Any, int]],
             **values: Any) -> Any:
        Sale = Pool().get("sale.sale")
        address = customer.addresses[0]
        sale, = Sale.create([{
            "party": customer.id, "invoice_address": address.id,
            "shipment_address": address.id, "sale_date": SALE_DATE,
            "invoice_method": "manual", "shipment_method": "order",
            "lines": [("create", [{
                "product": product.id, "quantity": quantity, "unit": world["unit"].id,
                "unit_price": Decimal(25000)} for product, quantity in lines])],
            **values,
        }])
        return sale

    def ship(self, sale: Any) -> None:
        """Process the confirmed sale and take its one shipment to done."""
        pool = Pool()
        Sale = pool.get("sale.sale")
        Shipment = pool.get("stock.shipment.out")
        Sale.process([sale])  # the queued task confirmation schedules
        shipment, = sale.shipments
        Shipment.assign_force([shipment])
        Shipment.pick([shipment])
        Shipment.pack([shipment])
        Shipment.do([shipment])
        self.assertEqual(shipment.state, "done")

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

    def usage(self, order_id: str) -> list[tuple[str, int, str]]:
        return [(r["quota"], r["tpp"], r["state"])
                for r in self.ledger().reservations(order_id)]

    # -- allow ------------------------------------------------------------

    @with_transaction()
    def test_allow_quote_confirm_process(self) -> None:
        "An uncontrolled item is allowed: quoted, confirmed and processed"
        Sale = Pool().get("sale.sale")
        with set_company(create_company()):
            world = self.setup_world()
            sale = self.sale(world, world["munich_lab"], [(world["cable"], 40)])
            Sale.quote([sale])
            self.assertEqual(sale.state, "quotation")
            self.assertEqual(sale.export_outcome, "allow")
            self.assertEqual(sale.export_regime, "us-ai-diffusion-2025")
            self.assertEqual(sale.export_quota, "reserved")
            line, = sale.lines
            self.assertEqual(line.export_outcome, "allow")
            self.assertIn("NOT_CONTROLLED", line.export_reasons)
            Sale.confirm([sale])
            Sale.process([sale])  # the queued task confirmation schedules
            self.assertEqual(sale.state, "processing")
            self.assertEqual(len(sale.shipments), 1)
            self.assertEqual(sale.export_filings, ())
            decision = json.loads(sale.export_decision)
            self.assertEqual(decision["order"], _gate.order_id(sale))
            self.assertEqual(decision["outcome"], "allow")
            self.assertTrue(sale.export_decision_id)
            self.ship(sale)
            self.assertEqual(sale.export_quota, "committed")

    # -- deny -------------------------------------------------------------

    @with_transaction()
    def test_deny_embargoed_destination_cannot_be_confirmed(self) -> None:
        "A sale to an embargoed destination is refused with its reason and citation"
        Sale = Pool().get("sale.sale")
        with set_company(create_company()):
            world = self.setup_world()
            sale = self.sale(world, world["tehran"], [(world["cable"], 2)])
            with self.assertRaises(ExportDenied) as raised:
                Sale.quote([sale])
            message = raised.exception.message
            self.assertIn("EMBARGO", message)
            self.assertIn("15 CFR 746.1", message)
            self.assertIn("IR", message)
            self.assertEqual(sale.state, "draft")
            Sale.confirm([sale])
            self.assertEqual(sale.state, "draft")
            self.assertEqual(self.usage(_gate.order_id(sale)), [])

    @with_transaction()
    def test_deny_restricted_end_user(self) -> None:
        "An end user with a denial screening hit, named on the sale, is refused"
        pool = Pool()
        Sale = pool.get("sale.sale")
        Party = pool.get("party.party")
        with set_company(create_company()):
            world = self.setup_world()
            front = world["munich_lab"]
            Party.write([front], {"export_restrictions": [("create", [
                {"screening_list": "entity-list", "policy": "denial"}])]})
            sale = self.sale(world, world["berlin_ai"], [(world["h100"], 8)],
                             export_end_user=front.id)
            with self.assertRaises(ExportDenied) as raised:
                Sale.quote([sale])
            self.assertIn("RESTRICTED_PARTY", raised.exception.message)
            self.assertEqual(sale.state, "draft")

    # -- notify -----------------------------------------------------------

    @with_transaction()
    def test_notify_proceeds_and_records_filing(self) -> None:
        "An LPP line proceeds; its filing obligation is recorded and can be marked done"
        pool = Pool()
        Sale = pool.get("sale.sale")
        Filing = pool.get("exportgate.filing")
        with set_company(create_company()):
            world = self.setup_world()
            sale = self.sale(world, world["berlin_ai"], [(world["h100"], 1000)])
            Sale.quote([sale])
            self.assertEqual(sale.export_outcome, "notify")
            Sale.confirm([sale])
            Sale.process([sale])  # the queued task confirmation schedules
            self.assertEqual(sale.state, "processing")
            line, = sale.lines
            self.assertEqual(line.export_outcome, "notify")
            self.assertIn("LPP", line.export_reasons)
            filing, = sale.export_filings
            self.assertEqual((filing.line, filing.codes, filing.state), (line, "LPP", "pending"))
            self.assertIn("15 CFR 740.29", filing.description)
            consignee = world["berlin_ai"].code
            self.assertEqual(self.usage(_gate.order_id(sale)),
                             [(f"lpp:{consignee}:2025", 1000 * H100_TPP, "reserved")])
            Filing.write([filing], {"reference": "BIS-LPP-0001"})
            Filing.mark_done([filing])
            self.assertEqual(filing.state, "done")
            self.assertEqual(filing.done_by.id, 1)
            self.assertIsNotNone(filing.done_at)

    # -- license and quota ------------------------------------------------

    @with_transaction()
    def test_license_blocks_confirmation_until_recorded(self) -> None:
        "A sale past the LPP allowance is confirmed once a recorded license covers it"
        pool = Pool()
        Sale = pool.get("sale.sale")
        Line = pool.get("sale.line")
        with set_company(create_company()):
            world = self.setup_world()
            consignee = world["berlin_ai"].code
            first = self.sale(world, world["berlin_ai"], [(world["h100"], 1000)])
            second = self.sale(world, world["berlin_ai"], [(world["h100"], 800)])
            Sale.quote([first])
            Sale.quote([second])
            self.assertEqual(first.export_outcome, "notify")
            self.assertEqual(second.export_outcome, "license")
            self.assertEqual(second.state, "quotation")
            line, = second.lines
            self.assertIn("AIA_UNAVAILABLE", line.export_reasons)
            with self.assertRaises(ExportLicenseRequired) as raised:
                Sale.confirm([second])
            self.assertIn("AIA_UNAVAILABLE", raised.exception.message)
            message = raised.exception.message
            self.assertIn(f"- {_gate.line_name(line)}: license: ", message)
            self.assertIn(f'Sale "{second.rec_name}"', message)
            self.assertNotIn(" @ ", message)  # the sale is named once, not again on its line
            self.assertIn("exportgate license add", raised.exception.message)
            self.assertEqual(second.state, "quotation")

            Line.write([line], {"export_license": "D1234567"})
            with self.assertRaises(ExportLicenseRequired) as raised:
                Sale.confirm([second])
            self.assertIn("license D1234567 is not in the registry", raised.exception.message)

            self.record_licenses(
                {"number": "D7654321", "destinations": ["FR"], "consignees": [consignee],
                 "items": [{"eccn": "3A090.a", "quantity": 1000}]})
            Line.write([line], {"export_license": "D7654321"})
            with self.assertRaises(ExportLicenseRequired) as raised:
                Sale.confirm([second])
            self.assertIn("license D7654321 is in the registry but does not cover",
                          raised.exception.message)
            self.assertEqual(second.state, "quotation")

            self.record_licenses(
                {"number": "D1234567", "destinations": ["DE"], "consignees": [consignee],
                 "items": [{"eccn": "3A090.a", "quantity": 1000}]})
            Sale.confirm([second])
            self.assertEqual(second.state, "confirmed")
            self.assertEqual((line.export_outcome, line.export_license), ("allow", "D1234567"))
            self.assertIn("LICENSED", line.export_reasons)
            order = _gate.order_id(second)
            self.assertEqual(self.usage(order), [("license:D1234567:0", 800, "reserved")])
            self.ship(second)
            self.assertEqual(second.export_quota, "committed")
            self.assertEqual(self.usage(order), [("license:D1234567:0", 800, "committed")])

    @with_transaction()
    def test_cancel_frees_quota_and_requote_notifies(self) -> None:
        "Cancelling the first sale frees its LPP quota; re-quoting the second makes it notify"
        Sale = Pool().get("sale.sale")
        with set_company(create_company()):
            world = self.setup_world()
            first = self.sale(world, world["berlin_ai"], [(world["h100"], 1000)])
            second = self.sale(world, world["berlin_ai"], [(world["h100"], 800)])
            Sale.quote([first, second])
            self.assertEqual([first.export_outcome, second.export_outcome],
                             ["notify", "license"])
            self.assertEqual([f.state for f in first.export_filings], ["pending"])
            Sale.cancel([first])
            self.assertEqual(first.state, "cancelled")
            self.assertEqual(first.export_quota, "released")
            self.assertEqual(first.export_filings, ())
            self.assertEqual(self.usage(_gate.order_id(first)), [])
            Sale.draft([second])
            self.assertEqual(second.export_quota, "released")
            Sale.quote([second])
            self.assertEqual(second.export_outcome, "notify")
            consignee = world["berlin_ai"].code
            self.assertEqual(self.usage(_gate.order_id(second)),
                             [(f"lpp:{consignee}:2025", 800 * H100_TPP, "reserved")])
            quota = {q.quota: q for q in self.ledger().show()}[f"lpp:{consignee}:2025"]
            self.assertEqual(quota.reserved, 800 * H100_TPP)

    @with_transaction()
    def test_requote_replaces_reservation(self) -> None:
        "Reset to draft and quoted again, a sale holds its quota once"
        pool = Pool()
        Sale = pool.get("sale.sale")
        Line = pool.get("sale.line")
        with set_company(create_company()):
            world = self.setup_world()
            sale = self.sale(world, world["berlin_ai"], [(world["h100"], 1000)])
            Sale.quote([sale])
            Sale.draft([sale])
            line, = sale.lines
            Line.write([line], {"quantity": 1200})
            Sale.quote([sale])
            consignee = world["berlin_ai"].code
            self.assertEqual(self.usage(_gate.order_id(sale)),
                             [(f"lpp:{consignee}:2025", 1200 * H100_TPP, "reserved")])

    @with_transaction()
    def test_shipment_done_commits(self) -> None:
        "The shipment done commits the sale's reservation"
        pool = Pool()
        Sale = pool.get("sale.sale")
        Shipment = pool.get("stock.shipment.out")
        with set_company(create_company()):
            world = self.setup_world()
            sale = self.sale(world, world["berlin_ai"], [(world["h100"], 1000)])
            Sale.quote([sale])
            Sale.confirm([sale])
            Sale.process([sale])
            shipment, = sale.shipments
            Shipment.assign_force([shipment])
            Shipment.pick([shipment])
            Shipment.pack([shipment])
            self.assertEqual(sale.export_quota, "reserved")
            Shipment.do([shipment])
            self.assertEqual(shipment.state, "done")
            self.assertEqual(sale.export_quota, "committed")
            consignee = world["berlin_ai"].code
            self.assertEqual(self.usage(_gate.order_id(sale)),
                             [(f"lpp:{consignee}:2025", 1000 * H100_TPP, "committed")])

    @with_transaction()
    def test_rolled_back_quotation_releases_its_reservation(self) -> None:
        "Sales quoted in a request that is rolled back hold nothing in the ledger"
        Sale = Pool().get("sale.sale")
        with set_company(create_company()):
            world = self.setup_world()
            fits = self.sale(world, world["berlin_ai"], [(world["h100"], 1000)])
            embargoed = self.sale(world, world["tehran"], [(world["cable"], 1)])
            orders = [_gate.order_id(fits), _gate.order_id(embargoed)]
            with self.assertRaises(ExportDenied):
                Sale.quote([fits, embargoed])
            self.assertEqual(len(self.usage(orders[0])), 1)
            Transaction().rollback()  # what the server does with a user error
            self.assertEqual([self.usage(o) for o in orders], [[], []])

    @with_transaction()
    def test_retried_shipment_and_cancel_find_the_ledger_ahead(self) -> None:
        "A request replayed after a rollback commits or releases once, without an error"
        pool = Pool()
        Sale = pool.get("sale.sale")
        with set_company(create_company()):
            world = self.setup_world()
            shipped = self.sale(world, world["berlin_ai"], [(world["h100"], 10)])
            cancelled = self.sale(world, world["berlin_ai"], [(world["h100"], 20)])
            Sale.quote([shipped, cancelled])
            Sale.export_commit([shipped])
            Sale.write([shipped], {"export_quota": "reserved"})  # as if rolled back
            Sale.export_commit([shipped])
            self.assertEqual(shipped.export_quota, "committed")
            self.assertEqual([r[2] for r in self.usage(_gate.order_id(shipped))], ["committed"])
            Sale.export_release([cancelled])
            Sale.write([cancelled], {"export_quota": "reserved"})
            Sale.cancel([cancelled])
            self.assertEqual((cancelled.state, cancelled.export_quota), ("cancelled", "released"))

    @with_transaction()
    def test_commit_of_an_order_the_ledger_lost_is_refused(self) -> None:
        "A shipment whose sale the ledger does not know is not done"
        pool = Pool()
        Sale = pool.get("sale.sale")
        with set_company(create_company()):
            world = self.setup_world()
            sale = self.sale(world, world["berlin_ai"], [(world["h100"], 10)])
            Sale.quote([sale])
            (self.tmp / "ledger.db").unlink()
            _gate.reset()
            with self.assertRaises(ExportCheckError) as raised:
                Sale.export_commit([sale])
            self.assertIn("not in the ledger", raised.exception.message)
            self.assertEqual(sale.export_quota, "reserved")

    @with_transaction()
    def test_only_export_compliance_records_licenses_and_filings(self) -> None:
        "A sales clerk cannot record a license or close a filing; Export Compliance can"
        pool = Pool()
        Sale = pool.get("sale.sale")
        Line = pool.get("sale.line")
        Filing = pool.get("exportgate.filing")
        Template = pool.get("product.template")
        User = pool.get("res.user")
        ModelData = pool.get("ir.model.data")
        sales = ModelData.get_id("sale", "group_sale")
        compliance = ModelData.get_id("exportgate", "group_export_compliance")
        company = create_company()
        with set_company(company):
            world = self.setup_world()
            first = self.sale(world, world["berlin_ai"], [(world["h100"], 1000)])
            held = self.sale(world, world["berlin_ai"], [(world["h100"], 800)])
            Sale.quote([first, held])
            line, = held.lines
            filing, = first.export_filings
            clerk, officer = User.create([
                {"login": login, "name": login, "groups": [("add", groups)],
                 "companies": [("add", [company.id])], "company": company.id}
                for login, groups in [("clerk", [sales]), ("officer", [sales, compliance])]])
            transaction = Transaction()
            with transaction.set_user(clerk.id), transaction.set_context(_check_access=True):
                with self.assertRaises(AccessError):
                    Line.write([Line(line.id)], {"export_license": "D1234567"})
                with self.assertRaises(AccessError):
                    Template.write([Template(world["h100"].template.id)],
                                   {"export_eccn": "EAR99"})
                with self.assertRaises(AccessButtonError):
                    Filing.mark_done([Filing(filing.id)])
            with transaction.set_user(officer.id), transaction.set_context(_check_access=True):
                Line.write([Line(line.id)], {"export_license": "D1234567"})
                Filing.mark_done([Filing(filing.id)])
            self.assertEqual(Line(line.id).export_license, "D1234567")
            self.assertEqual(Filing(filing.id).state, "done")

    @with_transaction()
    def test_copy_starts_unchecked(self) -> None:
        "A copied sale carries no decision, quota state, filing or license"
        pool = Pool()
        Sale = pool.get("sale.sale")
        Line = pool.get("sale.line")
        with set_company(create_company()):
            world = self.setup_world()
            sale = self.sale(world, world["berlin_ai"], [(world["h100"], 1000)])
            Sale.quote([sale])
            Line.write(list(sale.lines), {"export_license": "D1234567"})
            copy, = Sale.copy([sale])
            self.assertEqual((copy.export_outcome, copy.export_quota, copy.export_decision,
                              copy.export_filings), (None, None, None, ()))
            line, = copy.lines
            self.assertEqual((line.export_outcome, line.export_reasons, line.export_license),
                             (None, None, None))

    @with_transaction()
    def test_services_and_text_lines_are_not_assessed(self) -> None:
        "Service and comment lines get no outcome; the decision lists them as not assessed"
        pool = Pool()
        Sale = pool.get("sale.sale")
        Line = pool.get("sale.line")
        Template = pool.get("product.template")
        with set_company(create_company()):
            world = self.setup_world()
            service, = Template.create([{
                "name": "Installation", "default_uom": world["unit"].id,
                "sale_uom": world["unit"].id, "type": "service", "salable": True,
                "list_price": Decimal(10), "products": [("create", [{}])]}])
            sale = self.sale(world, world["berlin_ai"], [(world["h100"], 10),
                                                         (service.products[0], 1)])
            Line.create([{"sale": sale.id, "type": "comment", "description": "Rack 4"}])
            Sale.quote([sale])
            self.assertEqual(sale.export_outcome, "notify")
            goods, installation, comment = sorted(sale.lines, key=lambda x: x.id)
            self.assertEqual(goods.export_outcome, "notify")
            self.assertEqual((installation.export_outcome, installation.export_reasons),
                             (None, "not assessed: service (product type service)"))
            self.assertEqual(comment.export_reasons, "not assessed: text line (comment)")
            decision = json.loads(sale.export_decision)
            self.assertEqual([x["id"] for x in decision["not_assessed"]],
                             [str(installation.id), str(comment.id)])
            services_only = self.sale(world, world["munich_lab"], [(service.products[0], 2)])
            Sale.quote([services_only])
            self.assertEqual((services_only.export_outcome, services_only.export_quota),
                             ("allow", None))

    # -- master data ------------------------------------------------------

    @with_transaction()
    def test_classification_from_item_catalog(self) -> None:
        "A product that names a catalog item takes its classification from the catalog"
        pool = Pool()
        Sale = pool.get("sale.sale")
        Template = pool.get("product.template")
        with set_company(create_company()):
            world = self.setup_world()
            gpu, = Template.create([{
                "name": "GPU from the catalog", "default_uom": world["unit"].id,
                "sale_uom": world["unit"].id,
                "type": "goods", "salable": True, "list_price": Decimal(1),
                "export_catalog_item": "NVIDIA-H100-SXM5-80GB",
                "products": [("create", [{}])]}])
            sale = self.sale(world, world["berlin_ai"], [(gpu.products[0], 10)])
            Sale.quote([sale])
            self.assertEqual(sale.export_outcome, "notify")
            decision = json.loads(sale.export_decision)
            self.assertEqual(decision["lines"][0]["class"], "adv-a")
            self.assertEqual(decision["lines"][0]["consumes"][0]["tpp"], 10 * H100_TPP)

    @with_transaction()
    def test_end_user_attributes_from_the_party_master(self) -> None:
        "Attributes a party leaves empty come from the party master, matched on the party code"
        pool = Pool()
        Sale = pool.get("sale.sale")
        Party = pool.get("party.party")
        (self.tmp / "parties.yaml").write_text(
            "version: 1\nparties:\n"
            "  NORDWIND: {country: DE, restrictions: [{list: entity-list, policy: denial}]}\n")
        write_config(self.tmp, parties="[parties.yaml]")
        with set_company(create_company()):
            world = self.setup_world()
            listed = world["munich_lab"]
            Party.write([listed], {"code": "NORDWIND"})
            sale = self.sale(world, world["munich_lab"], [(world["h100"], 8)])
            with self.assertRaises(ExportDenied) as raised:
                Sale.quote([sale])
            self.assertIn("RESTRICTED_PARTY", raised.exception.message)
            Party.write([listed], {"code": "MUNICH-LAB"})
            Sale.quote([sale])
            self.assertEqual(sale.export_outcome, "notify")
            self.assertIn("AIA", sale.lines[0].export_reasons)

    @with_transaction()
    def test_address_without_country_is_refused(self) -> None:
        "A sale whose shipment address has no country is not quoted"
        pool = Pool()
        Sale = pool.get("sale.sale")
        Address = pool.get("party.address")
        with set_company(create_company()):
            world = self.setup_world()
            customer = world["munich_lab"]
            Address.write(list(customer.addresses), {"country": None})
            sale = self.sale(world, customer, [(world["cable"], 1)])
            with self.assertRaises(ExportCheckError) as raised:
                Sale.quote([sale])
            self.assertIn("has no country", raised.exception.message)
            self.assertEqual(sale.state, "draft")

    # -- failing closed ---------------------------------------------------

    @with_transaction()
    def test_ledger_trouble_blocks_confirmation(self) -> None:
        "With the ledger unreachable, a quoted sale is not confirmed and says why"
        Sale = Pool().get("sale.sale")
        with set_company(create_company()):
            world = self.setup_world()
            sale = self.sale(world, world["berlin_ai"], [(world["h100"], 10)])
            Sale.quote([sale])
            self.assertEqual(sale.export_outcome, "notify")
            broken = self.tmp / "broken"
            broken.mkdir()
            config.set("exportgate", "config", str(write_config(broken).with_name("x.yaml")))
            (broken / "x.yaml").write_text(
                "ledger: postgresql://exportgate@127.0.0.1:9/none\nledger_timeout: 0.5\n"
                "calendar:\n  - {regime: us-ai-diffusion-2025, effective_from: '2025-01-15'}\n")
            with self.assertRaises(ExportCheckError) as raised:
                Sale.confirm([sale])
            self.assertIn("could not decide", raised.exception.message)
            self.assertEqual(sale.state, "quotation")

    @with_transaction()
    def test_engine_trouble_blocks_quotation(self) -> None:
        "With the policy engine unreachable, nothing is quoted and the ledger is untouched"
        Sale = Pool().get("sale.sale")
        with set_company(create_company()):
            world = self.setup_world()
            write_config(self.tmp, engine="{name: opa-http, url: 'http://127.0.0.1:9', "
                         "connect_timeout: 0.2, read_timeout: 0.2}")
            sale = self.sale(world, world["berlin_ai"], [(world["h100"], 10)])
            with self.assertRaises(ExportCheckError) as raised:
                Sale.quote([sale])
            self.assertIn("could not decide", raised.exception.message)
            self.assertEqual(sale.state, "draft")
            self.assertIsNone(sale.export_outcome)
            self.assertEqual(self.ledger().reservations(), [])

    @with_transaction()
    def test_unknown_regime_blocks_quotation(self) -> None:
        "A configuration naming no regime in force refuses the quotation with the fix"
        Sale = Pool().get("sale.sale")
        with set_company(create_company()):
            world = self.setup_world()
            self.config_path.write_text("ledger: sqlite:///ledger.db\n")
            sale = self.sale(world, world["munich_lab"], [(world["cable"], 1)])
            with self.assertRaises(ExportCheckError) as raised:
                Sale.quote([sale])
            self.assertIn("no regime", raised.exception.message)
            self.assertEqual(sale.state, "draft")

    # -- views ------------------------------------------------------------

    @with_transaction()
    def test_form_views_show_the_decision(self) -> None:
        "The sale and sale line forms carry the export fields"
        pool = Pool()
        for model, names in [
                ("sale.sale", ("export_outcome", "export_decision_id", "export_filings",
                               "export_end_user")),
                ("sale.line", ("export_outcome", "export_reasons", "export_license")),
                ("party.party", ("export_hq_country", "export_restrictions")),
                ("product.template", ("export_eccn", "export_catalog_item"))]:
            arch = pool.get(model).fields_view_get(view_type="form")["arch"]
            for name in names:
                self.assertIn(f'name="{name}"', arch, f"{model} form lacks {name}")

    @with_transaction()
    def test_docs_describe_the_export_control_pages(self) -> None:
        "docs/tryton.md gives every field of the sale and line pages, where the client draws it"
        pool = Pool()
        for view, model in [("sale_form.xml", "sale.sale"), ("sale_line_form.xml", "sale.line")]:
            placed = page_layout(VIEWS / view)
            rows = doc_table(view)
            self.assertEqual([r["Field"].strip("`") for r in rows], list(placed),
                             f"docs/tryton.md's table for {view} and the view differ")
            drawn = pool.get(model).fields_view_get(view_type="form")["fields"]
            for row in rows:
                name = row["Field"].strip("`")
                self.assertEqual((row["Label"], row["Type"], row["Where on the page"]),
                                 (drawn[name]["string"], drawn[name]["type"], placed[name]),
                                 f"{view}: {name}")


del ModuleTestCase
