"""exportgate in a Tryton sale workflow, end to end, on a throwaway SQLite database.

    python examples/tryton/demo.py [WORKDIR]      (make tryton-demo)

1. Writes a Tryton server configuration and an exportgate configuration
   (regime us-ai-diffusion-2025, SQLite ledger) under WORKDIR
   (default .exportgate/tryton-demo), and creates the database with the
   real ``trytond-admin -u exportgate --activate-dependencies``.
2. Sets up a company, a warehouse in the US, customers and products.
3. Runs sales through quotation, confirmation, shipment and cancellation,
   each step in its own committed transaction as the Tryton server runs a
   button, and prints what happened to each; a license is recorded in the
   registry with the real ``exportgate license add``.

Every line it prints starts with the time since the demo started, so a slow
step shows as one. Creating the database takes longest (a quarter of a
minute on an idle machine, a minute or more on a busy one): each module is
named as trytond-admin activates it. Sales
are numbered SO-1, SO-2, ... by Tryton's own sale sequence as they are
entered, so the demo and Tryton's messages call each sale by one name. The
held sale of docs/tryton.md is SO-5 here.
"""
from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

DB = "exportgate_demo"
SALE_DATE = dt.date(2025, 6, 2)
#: The administrator's email trytond-admin asks for when it creates a database.
ADMIN_EMAIL = "admin@example.com"
#: trytond-admin's log line as it registers (first) and then activates each module.
MODULE_LOG = re.compile(r"INFO trytond\.modules (\w+) (register|load)$")
START = time.monotonic()


def part(title: str) -> None:
    """A heading for one sale's story."""
    print(f"\n== {title}", flush=True)


def say(text: str) -> None:
    """Print ``text`` after the time since the demo started, at once (make may pipe stdout)."""
    print(f"[{time.monotonic() - START:6.1f} s] {text}", flush=True)


def prepare(workdir: Path) -> Path:
    """Fresh configuration files and an empty database; returns trytond.conf."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    (workdir / "exportgate.yaml").write_text(textwrap.dedent("""\
        # exportgate configuration the Tryton server uses (named in trytond.conf).
        ledger: sqlite:///ledger.db
        calendar:
          - {regime: us-ai-diffusion-2025, effective_from: "2025-01-15"}
        """))
    conf = workdir / "trytond.conf"
    conf.write_text(textwrap.dedent(f"""\
        [database]
        uri = sqlite://
        path = {workdir}

        [exportgate]
        config = {workdir / "exportgate.yaml"}
        """))
    (workdir / f"{DB}.sqlite").touch()
    create_database(workdir, conf)
    return conf


def create_database(workdir: Path, conf: Path) -> None:
    """``trytond-admin -u exportgate --activate-dependencies``, without a question asked.

    The admin password comes from a file (TRYTONPASSFILE) and the email from
    ``--email``, so trytond-admin never prompts. Its log (``-vv``, kept in
    trytond-admin.log) names each module as it is activated: those lines are
    the progress shown.
    """
    password = workdir / "admin-password"
    password.write_text("exportgate-demo\n")
    command = [str(Path(sys.executable).with_name("trytond-admin")), "-c", str(conf), "-d", DB,
               "-u", "exportgate", "--activate-dependencies", "--email", ADMIN_EMAIL, "-vv"]
    say(f"Creating the Tryton database {DB}: trytond-admin activates exportgate and the "
        "modules it needs")
    print(f"           $ trytond-admin -c {conf} -d {DB} -u exportgate "
          f"--activate-dependencies --email {ADMIN_EMAIL}", flush=True)
    log_path = workdir / "trytond-admin.log"
    modules: list[str] = []
    with log_path.open("w") as log, subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "TRYTONPASSFILE": str(password)}) as admin:
        assert admin.stderr is not None
        for raw in admin.stderr:
            log.write(raw)
            found = MODULE_LOG.search(raw.rstrip())
            if found and found[2] == "register":
                modules.append(found[1])
            elif found:
                done = modules.index(found[1]) + 1 if found[1] in modules else "?"
                say(f"  module {found[1]} activated ({done} of {len(modules)})")
    if admin.returncode != 0:
        tail = "".join(log_path.read_text().splitlines(keepends=True)[-20:])
        sys.exit(f"trytond-admin failed (exit {admin.returncode}); the end of {log_path}:\n"
                 f"{tail}")
    say(f"Database ready: {len(modules)} modules")


class Demo:
    """Runs steps against the database, one committed transaction each."""

    def __init__(self) -> None:
        from trytond.pool import Pool
        say("Loading the Tryton modules into this process, as a server does")
        self.pool = Pool(DB)
        self.pool.init()
        self.ids: dict[str, int] = {}

    def step(self, title: str, action: Callable[[], str | None], required: bool = False) -> None:
        """Run ``action`` as a server request would: commit, or roll back on a user error.

        A ``required`` step (the set-up) stops the demo on a user error.
        """
        from trytond.exceptions import UserError
        from trytond.transaction import Transaction
        from trytond.worker import run_task
        print(flush=True)
        say(f"* {title}")
        with Transaction().start(DB, 1, context=self.context()) as transaction:
            try:
                said = action()
            except UserError as exc:
                transaction.rollback()
                if required:
                    raise
                print(textwrap.indent(f"refused: {exc.message}", "    "), flush=True)
                return
            transaction.commit()
            tasks = list(transaction.tasks)
            transaction.tasks.clear()
        if said:
            print(textwrap.indent(said, "    "), flush=True)
        for task in tasks:  # what the queue worker does after the request
            run_task(self.pool, task)

    def context(self) -> dict[str, Any]:
        return {"company": self.ids["company"]} if "company" in self.ids else {}

    def get(self, model: str, key: str) -> Any:
        return self.pool.get(model)(self.ids[key])


def setup(demo: Demo) -> None:
    countries: dict[str, Any] = {}

    def party(code: str, name: str, country: str, **values: Any) -> Any:
        Party = demo.pool.get("party.party")
        record, = Party.create([{"code": code, "name": name, "addresses": [
            ("create", [{"city": name.split()[0], "country": countries[country].id}])],
            **values}])
        return record

    def company() -> str:
        pool = demo.pool
        Country = pool.get("country.country")
        Currency = pool.get("currency.currency")
        Company = pool.get("company.company")
        User = pool.get("res.user")
        Location = pool.get("stock.location")
        Sequence = pool.get("ir.sequence")
        ModelData = pool.get("ir.model.data")
        countries.update({code: Country(name=name, code=code) for code, name in [
            ("US", "United States"), ("DE", "Germany"), ("SG", "Singapore"),
            ("IR", "Iran")]})
        Country.save(list(countries.values()))
        usd = Currency(name="U.S. Dollar", code="USD", symbol="$")
        usd.save()
        us_party = party("AUSTIN-COMPUTE", "Austin Compute Inc.", "US")
        company, = Company.create([{"party": us_party.id, "currency": usd.id}])
        User.write([User(1)], {"companies": [("add", [company.id])], "company": company.id})
        warehouse, = Location.search([("type", "=", "warehouse")], limit=1)
        Location.write([warehouse], {"address": us_party.addresses[0].id})
        demo.ids["company"] = company.id
        Sequence.write([Sequence(ModelData.get_id("sale", "sequence_sale"))], {"prefix": "SO-"})
        return ("company Austin Compute Inc., its warehouse in the US; "
                "sales numbered SO-1, SO-2, ...")

    def world() -> str:
        pool = demo.pool
        Country = pool.get("country.country")
        Template = pool.get("product.template")
        Uom = pool.get("product.uom")
        countries.update({c.code: c for c in Country.search([])})
        demo.ids["berlin"] = party("BERLIN-AI", "Berlin AI GmbH", "DE",
                                   export_hq_country=countries["SG"].id).id
        demo.ids["munich"] = party("MUNICH-LAB", "Munich Lab", "DE").id
        demo.ids["tehran"] = party("TEHRAN-TRADING", "Tehran Trading", "IR").id
        unit, = Uom.search([("name", "=", "Unit")])
        demo.ids["unit"] = unit.id

        def product(key: str, code: str, name: str, **values: Any) -> None:
            template, = Template.create([{
                "name": name, "code": code, "default_uom": unit.id, "sale_uom": unit.id,
                "type": "goods", "salable": True, "list_price": Decimal(100),
                "products": [("create", [{}])], **values}])
            demo.ids[key] = template.products[0].id

        product("h100", "H100-SXM5", "NVIDIA H100 SXM5 80GB", export_eccn="3A090.a",
                export_tpp=15832, export_pd=19.45, export_dram_bandwidth=3350)
        product("cable", "QSFP112-DAC-2M", "QSFP112 cable, 2 m", export_eccn="EAR99")
        return ("customers Berlin AI GmbH (DE, headquartered in SG), Munich Lab (DE), "
                "Tehran Trading (IR); products H100 (3A090.a, TPP 15,832), cable (EAR99)")

    demo.step("Company", company, required=True)
    demo.step("Customers and products", world, required=True)


def sale(demo: Demo, key: str, customer: str, product: str, quantity: int) -> None:
    """Enter a draft sale, numbered from the sale sequence at once (Tryton does it at quotation)."""
    def create() -> str:
        Sale = demo.pool.get("sale.sale")
        party = demo.get("party.party", customer)
        address = party.addresses[0]
        record, = Sale.create([{
            "party": party.id, "invoice_address": address.id, "shipment_address": address.id,
            "sale_date": SALE_DATE, "invoice_method": "manual", "shipment_method": "order",
            "lines": [("create", [{"product": demo.ids[product], "quantity": quantity,
                                   "unit": demo.ids["unit"], "unit_price": Decimal(100)}])]}])
        Sale.set_number([record])
        if record.rec_name != key:  # the script below names the sales it expects
            raise RuntimeError(f"the sale sequence gave {record.rec_name}, not {key}")
        demo.ids[key] = record.id
        return f"draft sale {record.rec_name}: {line_name(record.lines[0])} to {party.name}"

    demo.step(f"{key}: new sale", create)


def button(demo: Demo, key: str, name: str) -> None:
    def press() -> str:
        Sale = demo.pool.get("sale.sale")
        record = Sale(demo.ids[key])
        getattr(Sale, name)([record])
        return describe(Sale(demo.ids[key]))

    demo.step(f"{key}: {name}", press)


def line_name(line: Any) -> str:
    """A sale line named as exportgate's messages name it (imported once trytond is set up)."""
    from exportgate.adapters.tryton._gate import line_name as name
    return name(line)


def describe(record: Any) -> str:
    out = [f"state {record.state}; export outcome {record.export_outcome or '-'}; "
           f"quota {record.export_quota or '-'}"]
    for line in record.lines:
        if line.export_reasons:
            first = line.export_reasons.splitlines()[0]
            out.append(f"line {line_name(line)}: {line.export_outcome}: {first}")
        if line.export_license:
            out.append(f"license on file: {line.export_license}")
    for filing in record.export_filings:
        out.append(f"filing {filing.codes}: {filing.state}")
    return "\n".join(out)


def ship(demo: Demo, key: str) -> None:
    def run() -> str:
        Shipment = demo.pool.get("stock.shipment.out")
        Sale = demo.pool.get("sale.sale")
        shipment, = Sale(demo.ids[key]).shipments
        Shipment.assign_force([shipment])
        Shipment.pick([shipment])
        Shipment.pack([shipment])
        Shipment.do([shipment])
        return f"shipment {shipment.number} done\n" + describe(Sale(demo.ids[key]))

    demo.step(f"{key}: ship", run)


def record_license(workdir: Path, number: str, consignee: str, quantity: int) -> None:
    """The license is granted: the compliance officer records it in exportgate's registry."""
    path = workdir / f"license-{number}.yaml"
    path.write_text(textwrap.dedent(f"""\
        licenses:
          - number: {number}
            issued: "2025-05-20"
            expires: "2027-05-19"
            destinations: [DE]
            consignees: [{consignee}]
            items: [{{eccn: 3A090.a, quantity: {quantity}}}]
            conditions: No reexport; end-use report every quarter.
        """))
    exportgate = Path(sys.executable).with_name("exportgate")
    ledger = f"sqlite:///{workdir / 'ledger.db'}"
    print(flush=True)
    say(f"* $ exportgate license --ledger {ledger} add {path.name}")
    done = subprocess.run([str(exportgate), "license", "--ledger", ledger, "add", str(path)],
                          check=True, capture_output=True, text=True)
    print(textwrap.indent(done.stdout.strip(), "    "), flush=True)
    time.sleep(1.1)  # the server's gates read the registry again within a second


def mark_filed(demo: Demo, key: str, reference: str) -> None:
    def run() -> str:
        Filing = demo.pool.get("exportgate.filing")
        filings = Filing.search([("sale", "=", demo.ids[key]), ("state", "=", "pending")])
        Filing.write(filings, {"reference": reference})
        Filing.mark_done(filings)
        return "\n".join(f"filing {f.codes} done ({f.reference})" for f in filings)

    demo.step(f"{key}: filing done", run)


def ledger(workdir: Path) -> None:
    from exportgate import Gate, Settings
    with Gate(Settings.from_file(workdir / "exportgate.yaml")) as gate:
        print(flush=True)
        say("* The ledger")
        for quota in gate.ledger.show():
            unit = "units" if quota.quota.startswith("license:") else "TPP"
            of = f" of {quota.cap:,} {unit}" if quota.cap else ""
            print(f"    {quota.quota}: reserved {quota.reserved:,} committed "
                  f"{quota.committed:,}{of}")


def main(argv: list[str]) -> int:
    workdir = Path(argv[1] if len(argv) > 1 else ".exportgate/tryton-demo").resolve()
    say(f"exportgate in Tryton's sale workflow: a throwaway database in {workdir}")
    conf = prepare(workdir)
    from trytond import config
    config.update_etc(str(conf))
    demo = Demo()
    setup(demo)

    part("SO-1: cables to a research lab in Germany (allow)")
    sale(demo, "SO-1", "munich", "cable", 40)
    button(demo, "SO-1", "quote")
    button(demo, "SO-1", "confirm")
    ship(demo, "SO-1")

    part("SO-2: cables to Iran (deny)")
    sale(demo, "SO-2", "tehran", "cable", 4)
    button(demo, "SO-2", "quote")

    part("SO-3: 1,000 H100 to Berlin AI, headquartered outside Tier 1 (LPP: notify)")
    sale(demo, "SO-3", "berlin", "h100", 1000)
    button(demo, "SO-3", "quote")

    part("SO-4: 800 more H100 to Berlin AI (past the LPP allowance: license)")
    sale(demo, "SO-4", "berlin", "h100", 800)
    button(demo, "SO-4", "quote")
    button(demo, "SO-4", "confirm")

    part("SO-3 is cancelled: its LPP quota is freed; SO-4 is quoted again (notify)")
    button(demo, "SO-3", "cancel")
    button(demo, "SO-4", "draft")
    button(demo, "SO-4", "quote")
    button(demo, "SO-4", "confirm")
    mark_filed(demo, "SO-4", "BIS-LPP-2025-0042")
    ship(demo, "SO-4")

    part("SO-5: 1,000 H100 to Berlin AI after SO-4 shipped (license, then licensed)")
    sale(demo, "SO-5", "berlin", "h100", 1000)
    button(demo, "SO-5", "quote")
    button(demo, "SO-5", "confirm")
    record_license(workdir, "D1234567", "BERLIN-AI", 1500)
    button(demo, "SO-5", "confirm")
    ship(demo, "SO-5")

    ledger(workdir)
    print(flush=True)
    say("Done")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
