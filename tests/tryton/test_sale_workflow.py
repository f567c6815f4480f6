"""The exportgate Tryton module in real sales, on a real Tryton server (SQLite).

Tryton's own test framework activates the module (with ``sale`` and what it
depends on) once for the class; each test runs in its own transaction with
its own exportgate configuration and ledger file, under the regime
``us-ai-diffusion-2025``, in the world of tests/tryton/world.py (`in_world`:
a company, Berlin AI as the LPP consignee, an embargoed customer, a research
lab, H100s and cables).
"""
from __future__ import annotations

import json
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from trytond import config
from trytond.model.exceptions import AccessError
from trytond.model.modelview import AccessButtonError
from trytond.pool import Pool
from trytond.tests.test_tryton import ModuleTestCase, with_transaction
from trytond.transaction import Transaction

from exportgate.adapters.tryton import _gate
from exportgate.adapters.tryton.exceptions import (ExportCheckError, ExportDenied,
                                                   ExportLicenseRequired)
from tests.tryton.pages import VIEWS, doc_table, page_layout
from tests.tryton.world import H100_TPP, World, in_world, write_config


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

    def assert_quote_refused(self, w: World, sale: Any, error: type[Exception],
                             *texts: str) -> None:
        """Quoting ``sale`` raises ``error`` naming each of ``texts``; the sale stays a draft."""
        with self.assertRaises(error) as raised:
            w.Sale.quote([sale])
        for text in texts:
            self.assertIn(text, raised.exception.message)
        self.assertEqual(sale.state, "draft")

    # -- allow ------------------------------------------------------------

    @in_world
    def test_allow_quote_confirm_process(self, w: World) -> None:
        "An uncontrolled item is allowed: quoted, confirmed and processed"
        sale = w.sale(w.munich_lab, (w.cable, 40))
        w.Sale.quote([sale])
        self.assertEqual(sale.state, "quotation")
        self.assertEqual(sale.export_outcome, "allow")
        self.assertEqual(sale.export_regime, "us-ai-diffusion-2025")
        self.assertEqual(sale.export_quota, "reserved")
        line, = sale.lines
        self.assertEqual(line.export_outcome, "allow")
        self.assertIn("NOT_CONTROLLED", line.export_reasons)
        w.Sale.confirm([sale])
        w.Sale.process([sale])  # the queued task confirmation schedules
        self.assertEqual(sale.state, "processing")
        self.assertEqual(len(sale.shipments), 1)
        self.assertEqual(sale.export_filings, ())
        decision = json.loads(sale.export_decision)
        self.assertEqual(decision["order"], _gate.order_id(sale))
        self.assertEqual(decision["outcome"], "allow")
        self.assertTrue(sale.export_decision_id)
        w.ship(sale)
        self.assertEqual(sale.export_quota, "committed")

    # -- deny -------------------------------------------------------------

    @in_world
    def test_deny_embargoed_destination_cannot_be_confirmed(self, w: World) -> None:
        "A sale to an embargoed destination is refused with its reason and citation"
        sale = w.sale(w.tehran, (w.cable, 2))
        self.assert_quote_refused(w, sale, ExportDenied, "EMBARGO", "15 CFR 746.1", "IR")
        w.Sale.confirm([sale])
        self.assertEqual(sale.state, "draft")
        self.assertEqual(w.usage(sale), [])

    @in_world
    def test_deny_restricted_end_user(self, w: World) -> None:
        "An end user with a denial screening hit, named on the sale, is refused"
        front = w.munich_lab
        w.Party.write([front], {"export_restrictions": [("create", [
            {"screening_list": "entity-list", "policy": "denial"}])]})
        sale = w.h100_sale(8, export_end_user=front.id)
        self.assert_quote_refused(w, sale, ExportDenied, "RESTRICTED_PARTY")

    # -- notify -----------------------------------------------------------

    @in_world
    def test_notify_proceeds_and_records_filing(self, w: World) -> None:
        "An LPP line proceeds; its filing obligation is recorded and can be marked done"
        sale = w.h100_sale(1000)
        w.Sale.quote([sale])
        self.assertEqual(sale.export_outcome, "notify")
        w.Sale.confirm([sale])
        w.Sale.process([sale])  # the queued task confirmation schedules
        self.assertEqual(sale.state, "processing")
        line, = sale.lines
        self.assertEqual(line.export_outcome, "notify")
        self.assertIn("LPP", line.export_reasons)
        filing, = sale.export_filings
        self.assertEqual((filing.line, filing.codes, filing.state), (line, "LPP", "pending"))
        self.assertIn("15 CFR 740.29", filing.description)
        self.assertEqual(w.usage(sale), [(w.lpp_key, 1000 * H100_TPP, "reserved")])
        w.Filing.write([filing], {"reference": "BIS-LPP-0001"})
        w.Filing.mark_done([filing])
        self.assertEqual(filing.state, "done")
        self.assertEqual(filing.done_by.id, 1)
        self.assertIsNotNone(filing.done_at)

    # -- license and quota ------------------------------------------------

    @in_world
    def test_license_blocks_confirmation_until_recorded(self, w: World) -> None:
        "A sale past the LPP allowance is confirmed once a recorded license covers it"
        consignee = w.berlin_ai.code
        first, second = w.h100_sale(1000), w.h100_sale(800)
        w.Sale.quote([first])
        w.Sale.quote([second])
        self.assertEqual(first.export_outcome, "notify")
        self.assertEqual(second.export_outcome, "license")
        self.assertEqual(second.state, "quotation")
        line, = second.lines
        self.assertIn("AIA_UNAVAILABLE", line.export_reasons)
        with self.assertRaises(ExportLicenseRequired) as raised:
            w.Sale.confirm([second])
        self.assertIn("AIA_UNAVAILABLE", raised.exception.message)
        message = raised.exception.message
        self.assertIn(f"- {_gate.line_name(line)}: license: ", message)
        self.assertIn(f'Sale "{second.rec_name}"', message)
        self.assertNotIn(" @ ", message)  # the sale is named once, not again on its line
        self.assertIn("exportgate license add", raised.exception.message)
        self.assertEqual(second.state, "quotation")

        w.Line.write([line], {"export_license": "D1234567"})
        with self.assertRaises(ExportLicenseRequired) as raised:
            w.Sale.confirm([second])
        self.assertIn("license D1234567 is not in the registry", raised.exception.message)

        w.record_licenses(
            {"number": "D7654321", "destinations": ["FR"], "consignees": [consignee],
             "items": [{"eccn": "3A090.a", "quantity": 1000}]})
        w.Line.write([line], {"export_license": "D7654321"})
        with self.assertRaises(ExportLicenseRequired) as raised:
            w.Sale.confirm([second])
        self.assertIn("license D7654321 is in the registry but does not cover",
                      raised.exception.message)
        self.assertEqual(second.state, "quotation")

        w.record_licenses(
            {"number": "D1234567", "destinations": ["DE"], "consignees": [consignee],
             "items": [{"eccn": "3A090.a", "quantity": 1000}]})
        w.Sale.confirm([second])
        self.assertEqual(second.state, "confirmed")
        self.assertEqual((line.export_outcome, line.export_license), ("allow", "D1234567"))
        self.assertIn("LICENSED", line.export_reasons)
        self.assertEqual(w.usage(second), [("license:D1234567:0", 800, "reserved")])
        w.ship(second)
        self.assertEqual(second.export_quota, "committed")
        self.assertEqual(w.usage(second), [("license:D1234567:0", 800, "committed")])

    @in_world
    def test_cancel_frees_quota_and_requote_notifies(self, w: World) -> None:
        "Cancelling the first sale frees its LPP quota; re-quoting the second makes it notify"
        first, second = w.h100_sale(1000), w.h100_sale(800)
        w.Sale.quote([first, second])
        self.assertEqual([first.export_outcome, second.export_outcome], ["notify", "license"])
        self.assertEqual([f.state for f in first.export_filings], ["pending"])
        w.Sale.cancel([first])
        self.assertEqual(first.state, "cancelled")
        self.assertEqual(first.export_quota, "released")
        self.assertEqual(first.export_filings, ())
        self.assertEqual(w.usage(first), [])
        w.Sale.draft([second])
        self.assertEqual(second.export_quota, "released")
        w.Sale.quote([second])
        self.assertEqual(second.export_outcome, "notify")
        self.assertEqual(w.usage(second), [(w.lpp_key, 800 * H100_TPP, "reserved")])
        quota = {q.quota: q for q in w.ledger().show()}[w.lpp_key]
        self.assertEqual(quota.reserved, 800 * H100_TPP)

    @in_world
    def test_requote_replaces_reservation(self, w: World) -> None:
        "Reset to draft and quoted again, a sale holds its quota once"
        sale = w.h100_sale(1000)
        w.Sale.quote([sale])
        w.Sale.draft([sale])
        line, = sale.lines
        w.Line.write([line], {"quantity": 1200})
        w.Sale.quote([sale])
        self.assertEqual(w.usage(sale), [(w.lpp_key, 1200 * H100_TPP, "reserved")])

    @in_world
    def test_shipment_done_commits(self, w: World) -> None:
        "The shipment done commits the sale's reservation"
        Shipment = Pool().get("stock.shipment.out")
        sale = w.h100_sale(1000)
        w.Sale.quote([sale])
        w.Sale.confirm([sale])
        w.Sale.process([sale])
        shipment, = sale.shipments
        Shipment.assign_force([shipment])
        Shipment.pick([shipment])
        Shipment.pack([shipment])
        self.assertEqual(sale.export_quota, "reserved")
        Shipment.do([shipment])
        self.assertEqual(shipment.state, "done")
        self.assertEqual(sale.export_quota, "committed")
        self.assertEqual(w.usage(sale), [(w.lpp_key, 1000 * H100_TPP, "committed")])

    @in_world
    def test_rolled_back_quotation_releases_its_reservation(self, w: World) -> None:
        "Sales quoted in a request that is rolled back hold nothing in the ledger"
        fits = w.h100_sale(1000)
        embargoed = w.sale(w.tehran, (w.cable, 1))
        orders = [_gate.order_id(fits), _gate.order_id(embargoed)]
        with self.assertRaises(ExportDenied):
            w.Sale.quote([fits, embargoed])
        self.assertEqual(len(w.usage(orders[0])), 1)
        Transaction().rollback()  # what the server does with a user error
        self.assertEqual([w.usage(o) for o in orders], [[], []])

    @in_world
    def test_retried_shipment_and_cancel_find_the_ledger_ahead(self, w: World) -> None:
        "A request replayed after a rollback commits or releases once, without an error"
        shipped, cancelled = w.h100_sale(10), w.h100_sale(20)
        w.Sale.quote([shipped, cancelled])
        w.Sale.export_commit([shipped])
        w.Sale.write([shipped], {"export_quota": "reserved"})  # as if rolled back
        w.Sale.export_commit([shipped])
        self.assertEqual(shipped.export_quota, "committed")
        self.assertEqual([r[2] for r in w.usage(shipped)], ["committed"])
        w.Sale.export_release([cancelled])
        w.Sale.write([cancelled], {"export_quota": "reserved"})
        w.Sale.cancel([cancelled])
        self.assertEqual((cancelled.state, cancelled.export_quota), ("cancelled", "released"))

    @in_world
    def test_commit_of_an_order_the_ledger_lost_is_refused(self, w: World) -> None:
        "A shipment whose sale the ledger does not know is not done"
        sale = w.h100_sale(10)
        w.Sale.quote([sale])
        (self.tmp / "ledger.db").unlink()
        _gate.reset()
        with self.assertRaises(ExportCheckError) as raised:
            w.Sale.export_commit([sale])
        self.assertIn("not in the ledger", raised.exception.message)
        self.assertEqual(sale.export_quota, "reserved")

    @in_world
    def test_only_export_compliance_records_licenses_and_filings(self, w: World) -> None:
        "A sales clerk cannot record a license or close a filing; Export Compliance can"
        pool = Pool()
        User = pool.get("res.user")
        ModelData = pool.get("ir.model.data")
        Line, Filing, Template = w.Line, w.Filing, w.Template
        sales = ModelData.get_id("sale", "group_sale")
        compliance = ModelData.get_id("exportgate", "group_export_compliance")
        first, held = w.h100_sale(1000), w.h100_sale(800)
        w.Sale.quote([first, held])
        line, = held.lines
        filing, = first.export_filings
        clerk, officer = User.create([
            {"login": login, "name": login, "groups": [("add", groups)],
             "companies": [("add", [w.company.id])], "company": w.company.id}
            for login, groups in [("clerk", [sales]), ("officer", [sales, compliance])]])
        transaction = Transaction()
        with transaction.set_user(clerk.id), transaction.set_context(_check_access=True):
            with self.assertRaises(AccessError):
                Line.write([Line(line.id)], {"export_license": "D1234567"})
            with self.assertRaises(AccessError):
                Template.write([Template(w.h100.template.id)], {"export_eccn": "EAR99"})
            with self.assertRaises(AccessButtonError):
                Filing.mark_done([Filing(filing.id)])
        with transaction.set_user(officer.id), transaction.set_context(_check_access=True):
            Line.write([Line(line.id)], {"export_license": "D1234567"})
            Filing.mark_done([Filing(filing.id)])
        self.assertEqual(Line(line.id).export_license, "D1234567")
        self.assertEqual(Filing(filing.id).state, "done")

    @in_world
    def test_copy_starts_unchecked(self, w: World) -> None:
        "A copied sale carries no decision, quota state, filing or license"
        sale = w.h100_sale(1000)
        w.Sale.quote([sale])
        w.Line.write(list(sale.lines), {"export_license": "D1234567"})
        copy, = w.Sale.copy([sale])
        self.assertEqual((copy.export_outcome, copy.export_quota, copy.export_decision,
                          copy.export_filings), (None, None, None, ()))
        line, = copy.lines
        self.assertEqual((line.export_outcome, line.export_reasons, line.export_license),
                         (None, None, None))

    @in_world
    def test_services_and_text_lines_are_not_assessed(self, w: World) -> None:
        "Service and comment lines get no outcome; the decision lists them as not assessed"
        service = w.product("Installation", type="service", list_price=Decimal(10))
        sale = w.sale(w.berlin_ai, (w.h100, 10), (service, 1))
        w.Line.create([{"sale": sale.id, "type": "comment", "description": "Rack 4"}])
        w.Sale.quote([sale])
        self.assertEqual(sale.export_outcome, "notify")
        goods, installation, comment = sorted(sale.lines, key=lambda x: x.id)
        self.assertEqual(goods.export_outcome, "notify")
        self.assertEqual((installation.export_outcome, installation.export_reasons),
                         (None, "not assessed: service (product type service)"))
        self.assertEqual(comment.export_reasons, "not assessed: text line (comment)")
        decision = json.loads(sale.export_decision)
        self.assertEqual([x["id"] for x in decision["not_assessed"]],
                         [str(installation.id), str(comment.id)])
        services_only = w.sale(w.munich_lab, (service, 2))
        w.Sale.quote([services_only])
        self.assertEqual((services_only.export_outcome, services_only.export_quota),
                         ("allow", None))

    # -- master data ------------------------------------------------------

    @in_world
    def test_classification_from_item_catalog(self, w: World) -> None:
        "A product that names a catalog item takes its classification from the catalog"
        gpu = w.product("GPU from the catalog", list_price=Decimal(1),
                        export_catalog_item="NVIDIA-H100-SXM5-80GB")
        sale = w.sale(w.berlin_ai, (gpu, 10))
        w.Sale.quote([sale])
        self.assertEqual(sale.export_outcome, "notify")
        decision = json.loads(sale.export_decision)
        self.assertEqual(decision["lines"][0]["class"], "adv-a")
        self.assertEqual(decision["lines"][0]["consumes"][0]["tpp"], 10 * H100_TPP)

    @in_world
    def test_end_user_attributes_from_the_party_master(self, w: World) -> None:
        "Attributes a party leaves empty come from the party master, matched on the party code"
        (self.tmp / "parties.yaml").write_text(
            "version: 1\nparties:\n"
            "  NORDWIND: {country: DE, restrictions: [{list: entity-list, policy: denial}]}\n")
        write_config(self.tmp, parties="[parties.yaml]")
        listed = w.munich_lab
        w.Party.write([listed], {"code": "NORDWIND"})
        sale = w.sale(w.munich_lab, (w.h100, 8))
        self.assert_quote_refused(w, sale, ExportDenied, "RESTRICTED_PARTY")
        w.Party.write([listed], {"code": "MUNICH-LAB"})
        w.Sale.quote([sale])
        self.assertEqual(sale.export_outcome, "notify")
        self.assertIn("AIA", sale.lines[0].export_reasons)

    @in_world
    def test_address_without_country_is_refused(self, w: World) -> None:
        "A sale whose shipment address has no country is not quoted"
        customer = w.munich_lab
        Pool().get("party.address").write(list(customer.addresses), {"country": None})
        sale = w.sale(customer, (w.cable, 1))
        self.assert_quote_refused(w, sale, ExportCheckError, "has no country")

    # -- failing closed ---------------------------------------------------

    @in_world
    def test_ledger_trouble_blocks_confirmation(self, w: World) -> None:
        "With the ledger unreachable, a quoted sale is not confirmed and says why"
        sale = w.h100_sale(10)
        w.Sale.quote([sale])
        self.assertEqual(sale.export_outcome, "notify")
        broken = self.tmp / "broken"
        broken.mkdir()
        config.set("exportgate", "config", str(write_config(broken).with_name("x.yaml")))
        (broken / "x.yaml").write_text(
            "ledger: postgresql://exportgate@127.0.0.1:9/none\nledger_timeout: 0.5\n"
            "calendar:\n  - {regime: us-ai-diffusion-2025, effective_from: '2025-01-15'}\n")
        with self.assertRaises(ExportCheckError) as raised:
            w.Sale.confirm([sale])
        self.assertIn("could not decide", raised.exception.message)
        self.assertEqual(sale.state, "quotation")

    @in_world
    def test_engine_trouble_blocks_quotation(self, w: World) -> None:
        "With the policy engine unreachable, nothing is quoted and the ledger is untouched"
        write_config(self.tmp, engine="{name: opa-http, url: 'http://127.0.0.1:9', "
                     "connect_timeout: 0.2, read_timeout: 0.2}")
        sale = w.h100_sale(10)
        self.assert_quote_refused(w, sale, ExportCheckError, "could not decide")
        self.assertIsNone(sale.export_outcome)
        self.assertEqual(w.ledger().reservations(), [])

    @in_world
    def test_unknown_regime_blocks_quotation(self, w: World) -> None:
        "A configuration naming no regime in force refuses the quotation with the fix"
        self.config_path.write_text("ledger: sqlite:///ledger.db\n")
        sale = w.sale(w.munich_lab, (w.cable, 1))
        self.assert_quote_refused(w, sale, ExportCheckError, "no regime")

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
