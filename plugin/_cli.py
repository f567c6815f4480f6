"""The ``exportgate`` command line.

Every command lives here (``diff`` in `_cli_diff`, ``screening`` and ``screen``
in `_cli_screening`); the exit codes are `_exits`'.

Every message and every decision is written so that it cannot fail on the
way out: text that is not valid Unicode (a lone surrogate) is escaped, never
raised, so nothing reserved goes unprinted.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

# What a check does not use (the audit log's verifier, the bundle writer, the
# ledger commands) is imported by the command that uses it: a cold check pays
# only for its own path (docs/performance.md, "Start-up").
from . import __version__, _cli_diff, _cli_screening, _heap
from ._exits import EXIT_AUDIT, EXIT_FAIL_ON, EXIT_HELD, EXIT_INPUT, EXIT_OK, EXIT_PLUGIN
from ._exceptions import AuditError, ConfigError, ExportgateError, InputError, PluginError
from ._gate import Checked, Gate
from ._model import Outcome
from ._plugins import Plugins
from ._render import decision_table, ledger_table, regimes_table
from ._input import open_records
from ._json import loads
from ._redact import redact_url
from ._settings import Settings, check_ledger_url

if TYPE_CHECKING:
    from .audit.log import Report
    from .ledger.base import SqlLedger




def _settings(args: argparse.Namespace) -> Settings:
    return Settings.load(args.config)


def _print_checked(checked: Checked, args: argparse.Namespace) -> None:
    """Print one decision in a single write, flushed: called once its quota is committed."""
    if args.json:
        doc = checked.decision.to_dict()
        if getattr(args, "writeback", False):
            doc["writeback"] = checked.writeback
        text = json.dumps(doc) + "\n"
    else:
        buf = io.StringIO()
        try:
            decision_table(checked.order, checked.decision, buf)
            if getattr(args, "writeback", False):
                buf.write("  write-back: " + json.dumps(checked.writeback) + "\n\n")
            text = buf.getvalue()
        except Exception:  # the quota is committed: the decision is printed, whatever it holds
            text = json.dumps(checked.decision.to_dict(), default=str) + "\n"
    sys.stdout.write(printable(text))
    sys.stdout.flush()


def printable(text: str) -> str:
    """``text`` as any stream can take it: lone surrogates escaped, never raised."""
    if text.isascii():
        return text
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


class _Tally:
    """What the exit code needs to know of the decisions, kept as they stream past."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.fail_on = Outcome(args.fail_on) if getattr(args, "fail_on", None) else None
        self.held = self.plugin_failed = self.reached = self.audit_failed = False
        #: Orders and lines by outcome, and the orders held, for a batch's totals.
        self.orders: dict[str, int] = {o.value: 0 for o in Outcome}
        self.lines: dict[str, int] = {o.value: 0 for o in Outcome}
        self.orders_held = 0
        self.started = time.monotonic()

    def totals(self) -> dict[str, Any]:
        """What a batch decided, for its last line on stderr and ``--totals FILE``."""
        elapsed = time.monotonic() - self.started
        lines = sum(self.lines.values())
        return {"orders": sum(self.orders.values()), "lines": lines,
                "orders_by_outcome": self.orders, "lines_by_outcome": self.lines,
                "orders_held": self.orders_held, "elapsed_s": round(elapsed, 3),
                "lines_per_s": round(lines / elapsed) if elapsed > 0 else None}

    def add(self, checked: Checked) -> None:
        self.orders[checked.decision.outcome.value] += 1
        for line in checked.decision.lines:
            self.lines[line.outcome.value] += 1
        if checked.audit_error is not None:
            print(printable(f"exportgate: {checked.audit_error}"), file=sys.stderr)
            self.audit_failed = True
        for err in checked.plugin_errors:
            print(printable(f"exportgate: {err}"), file=sys.stderr)
            self.plugin_failed = True
        if checked.decision.error:
            print(printable(f"exportgate: order {checked.decision.order} held: "
                            f"{checked.decision.error}"), file=sys.stderr)
            self.held = True
            self.orders_held += 1
        if self.fail_on is not None and self.fail_on <= checked.decision.outcome:
            self.reached = True

    def code(self) -> int:
        if self.audit_failed:
            return EXIT_AUDIT
        if self.held:
            return EXIT_HELD
        if self.plugin_failed:
            return EXIT_PLUGIN
        return EXIT_FAIL_ON if self.reached else EXIT_OK


def _finish(results: Iterable[Checked], args: argparse.Namespace) -> _Tally:
    tally = _Tally(args)
    for checked in results:
        tally.add(checked)
    return tally


def _say_totals(tally: _Tally, args: argparse.Namespace) -> None:
    """A batch ends with its totals on stderr (and as JSON in ``--totals FILE``)."""
    t = tally.totals()
    by = ", ".join(f"{n:,} {o}" for o, n in t["lines_by_outcome"].items() if n)
    rate = f", {t['lines_per_s']:,} lines/s" if t["lines_per_s"] is not None else ""
    print(f"totals: {t['orders']:,} orders, {t['lines']:,} lines ({by or 'none'}); "
          f"{t['orders_held']:,} orders held; {t['elapsed_s']:.1f} s{rate}", file=sys.stderr)
    if getattr(args, "totals", None):
        Path(args.totals).write_text(json.dumps(t, indent=2) + "\n", encoding="utf-8")


def _gate(args: argparse.Namespace) -> Gate:
    if args.ledger is not None:
        check_ledger_url(args.ledger, "--ledger")
    return Gate(_settings(args), regime_id=args.regime, ledger_url=args.ledger,
                engine=args.engine)


def ledger_shown(url: str) -> str:
    """A ledger URL as a person can find it again: a relative SQLite path made absolute
    (it is relative to the directory the command ran in), a password never shown."""
    prefix = "sqlite:///"
    path = url[len(prefix):] if url.startswith(prefix) else ""
    if path and path != ":memory:" and not path.startswith(("/", "file:")):
        return prefix + str(Path(path).resolve())
    return redact_url(url)


def _say_ledger(gate: Gate, args: argparse.Namespace) -> None:
    """Name the ledger a check or batch reserved quota in (stderr, text mode only): without
    ``--ledger`` it is the configuration's, by default ``./.exportgate/ledger.db``."""
    if not args.json:
        print(printable(f"ledger: {ledger_shown(gate.ledger_url)}"), file=sys.stderr)


def cmd_check(args: argparse.Namespace) -> int:
    with _gate(args) as gate:
        records = list(open_records(args.file, gate.plugins, args.adapter))
        if len(records) > 1 and not args.all:
            raise InputError(f"{args.file}: holds {len(records)} records; "
                             "use `exportgate batch`, or --all")
        results = []
        for record in records:
            results.extend(gate.check_record(record, args.adapter, single=not args.all,
                                             on_committed=lambda c: _print_checked(c, args)))
        _say_ledger(gate, args)
    return _finish(results, args).code()


def cmd_batch(args: argparse.Namespace) -> int:
    bad: list[InputError] = []

    def report(exc: InputError) -> None:
        bad.append(exc)
        print(printable(f"exportgate: {exc}"), file=sys.stderr)

    with _gate(args) as gate:
        records = open_records(args.file, gate.plugins, args.adapter,
                               on_error=report if args.keep_going else None)
        tally = _finish(gate.batch(records, args.adapter, keep_going=args.keep_going,
                                   on_error=report, workers=args.workers,
                                   on_committed=lambda c: _print_checked(c, args)), args)
        code = tally.code()
        _say_totals(tally, args)
        _say_ledger(gate, args)
    return EXIT_INPUT if bad else code


def cmd_regimes(args: argparse.Namespace) -> int:
    plugins = Plugins(_settings(args))
    docs = []
    for regime_id in sorted(plugins.regimes):
        regime = plugins.regimes[regime_id]
        doc = regime.metadata()
        if regime.parameters:
            doc["parameters"] = regime.parameters
        docs.append(doc)
    if args.json:
        for doc in docs:
            print(json.dumps(doc))
    else:
        regimes_table(docs, sys.stdout)
    return EXIT_OK


def _test_engines(plugins: Plugins, wanted: list[str] | None) -> list[str]:
    if wanted:
        return wanted
    names = ["embedded"]
    if "opa" in plugins.engines:
        try:
            plugins.engine("opa")
            names.append("opa")
        except ExportgateError as exc:
            print(f"exportgate: skipping engine opa: {exc}", file=sys.stderr)
    return names


def cmd_test(args: argparse.Namespace) -> int:
    plugins = Plugins(_settings(args))
    ids = [args.regime] if args.regime else sorted(plugins.regimes)
    passed = failed = 0
    for name in _test_engines(plugins, args.engine):
        engine = plugins.engine(name)
        for regime_id in ids:
            regime = plugins.regime(regime_id)
            results = engine.run_tests(regime)
            ok = sum(1 for _, good, _ in results if good)
            bad = [(n, d) for n, good, d in results if not good]
            print(f"{name:9} {regime_id:28} {ok} passed, {len(bad)} failed")
            for test, detail in bad:
                print(f"  FAIL {test}: {detail}")
            passed += ok
            failed += len(bad)
    print(f"{passed} passed, {failed} failed")
    return EXIT_FAIL_ON if failed or not passed else EXIT_OK


def _open_ledger(args: argparse.Namespace) -> SqlLedger:
    """The ledger ``--ledger`` names, else the configuration's."""
    from .ledger.urls import open_ledger
    settings = _settings(args)
    if args.ledger is not None:
        check_ledger_url(args.ledger, "--ledger")
    return open_ledger(args.ledger or settings.ledger, settings.ledger_timeout)


_DURATION = re.compile(r"^(\d+)\s*([smhdw])$")


def parse_duration(text: str) -> dt.timedelta:
    """``ledger expire --older-than``: ``30d``, ``12h``, ``90m``, ``2w`` -> timedelta."""
    m = _DURATION.match(text.strip())
    if not m:
        raise ConfigError(f"duration {text!r}: write a number and a unit (s, m, h, d, w), "
                          "e.g. 30d")
    n, unit = int(m.group(1)), m.group(2)
    return dt.timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days",
                            "w": "weeks"}[unit]: n})


def cmd_ledger(args: argparse.Namespace) -> int:
    ledger = _open_ledger(args)
    try:
        if args.action == "init":
            print(f"ledger {ledger.label}: schema version {ledger.init()}")
        elif args.action == "show":
            states = ledger.show()
            if args.json:
                for s in states:
                    print(json.dumps(s.to_dict()))
            else:
                ledger_table(states, sys.stdout)
        elif args.action == "commit":
            print(f"order {args.order}: {ledger.commit(args.order)} reservations committed")
        elif args.action == "release":
            print(f"order {args.order}: {ledger.release(args.order)} reservations released")
        elif args.action == "expire":
            ids = ledger.expire(parse_duration(args.older_than))
            print(f"released {len(ids)} orders: {', '.join(ids) if ids else '-'}")
    finally:
        ledger.close()
    return EXIT_OK


def cmd_license(args: argparse.Namespace) -> int:
    """``exportgate license``: the registry of granted licenses (docs/licenses.md)."""
    from pathlib import Path

    from .ledger import licenses as _licenses
    from ._render import license_report, licenses_table
    ledger = _open_ledger(args)
    try:
        if args.action == "add":
            numbers = _licenses.add(ledger, _licenses.read_file(Path(args.file)))
            print(f"recorded {len(numbers)} license{'' if len(numbers) == 1 else 's'}: "
                  f"{', '.join(numbers)}")
        elif args.action == "list":
            rows = _licenses.listing(ledger)
            if args.json:
                for row in rows:
                    print(json.dumps(row))
            else:
                licenses_table(rows, sys.stdout)
        elif args.action == "show":
            license_report(_licenses.show(ledger, args.number), sys.stdout)
        elif args.action == "revoke":
            print(f"license {args.number}: revoked at {_licenses.revoke(ledger, args.number)}")
    finally:
        ledger.close()
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """``exportgate serve``: until interrupted (`service.server`)."""
    from .service.server import serve
    serve(args.config, args.host, args.port, max(1, args.workers), args.ssl_certfile,
          args.ssl_keyfile, argv=args.argv)
    return EXIT_OK


def _add_bundle(sub: Any) -> None:
    """``exportgate bundle [--regime ID ...] -o FILE.tar.gz``."""
    p = sub.add_parser("bundle", help="write an OPA bundle (for `opa run --server --bundle`)",
                       description="Write the regimes, with this configuration's parameters, "
                                   "as a standard OPA bundle: .manifest (revision, roots), "
                                   "policies and data.json files.")
    p.add_argument("--regime", action="append",
                   help="regime to include (repeatable; default: every regime)")
    p.add_argument("-o", "--output", required=True, help="the bundle file, e.g. bundle.tar.gz")
    p.set_defaults(func=cmd_bundle)


def cmd_bundle(args: Any) -> int:
    from .engines.bundle import write_bundle
    plugins = Plugins(Settings.load(args.config))
    ids = args.regime or sorted(plugins.regimes)
    regimes = [plugins.regime(regime_id) for regime_id in ids]
    bundle = write_bundle(regimes, args.output)
    print(f"wrote {args.output}: revision {bundle.revision}, roots "
          f"{', '.join(bundle.manifest['roots'])}")
    for regime in regimes:
        extra = f" (parameters: {json.dumps(regime.parameters)})" if regime.parameters else ""
        print(f"  {regime.id:28} revision {regime.revision}  "
              f"data.{regime.package}.ladders{extra}")
    print(f"serve it with: opa run --server --addr 127.0.0.1:8181 --bundle {args.output}")
    return 0


def _add_audit(sub: Any) -> None:
    """``exportgate audit verify FILE``."""
    p = sub.add_parser("audit", help="the decision log: verify its hash chain")
    asub = p.add_subparsers(dest="action", required=True)
    q = asub.add_parser("verify", help="check that no record was edited, removed, inserted "
                                       "or reordered; exit 1 if one was")
    q.add_argument("file", help="the audit log (the configuration's audit_log)")
    q.add_argument("--anchor", help="a copy of the head anchor kept elsewhere "
                                    "(default: FILE.head beside the log)")
    q.add_argument("--key-file", help="the chain key of a keyed log (default: the "
                                      "configuration's audit_key_file)")
    q.add_argument("--ledger", help="the ledger the decisions were committed to: tells "
                                    "the records of rolled-back transactions from decisions")
    q.add_argument("--json", action="store_true", help="print the report as JSON")
    q.set_defaults(func=cmd_audit_verify)


def cmd_audit_verify(args: Any) -> int:
    from .audit.log import read_key, verify
    anchor = None
    if args.anchor:
        try:
            anchor = loads(Path(args.anchor).read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:
            raise ConfigError(f"{args.anchor}: not a head anchor ({exc})") from None
        if not isinstance(anchor, dict):
            raise ConfigError(f"{args.anchor}: not a head anchor (not a JSON object)")
    key_file = args.key_file
    if key_file is None and (getattr(args, "config", None) or os.environ.get("EXPORTGATE_CONFIG")):
        key_file = Settings.load(getattr(args, "config", None)).audit_key_file
    key = read_key(key_file) if key_file else None
    if args.ledger:
        from .ledger.urls import open_ledger
        ledger = open_ledger(args.ledger)
        try:
            report = verify(args.file, anchor, key, ledger)
        finally:
            ledger.close()
    else:
        report = verify(args.file, anchor, key)
    if args.json:
        _print_report_json(report)
    else:
        _print_report_text(report, "the anchor given" if args.anchor else "its head")
    return 0 if report.ok else 1


def _print_report_json(report: Report) -> None:
    """`audit verify --json`: the report as one JSON object (its head is an anchor to copy)."""
    print(json.dumps({"file": str(report.path), "records": report.records,
                      "last_hash": report.head, "chain": report.chain,
                      "anchored": report.anchored,
                      "keyed": report.keyed, "ok": report.ok, "notes": list(report.notes),
                      "ledger_checked": report.ledger_checked,
                      "decisions": report.decisions,
                      "uncommitted": [{"line": u.line, "seq": u.seq, "order": u.order_id}
                                      for u in report.uncommitted],
                      "problems": [{"kind": p.kind, "line": p.line, "message": p.message}
                                   for p in report.problems]}))


def _print_report_text(report: Report, anchored_by: str) -> None:
    """`audit verify`: notes, then one line per problem, then the verdict."""
    for note in report.notes:
        print(f"{report.path}: note: {note}")
    for record in report.uncommitted:
        print(f"{report.path}:{record.line}: not committed: record {record.seq} (order "
              f"{record.order_id}): its ledger transaction rolled back: not a decision")
    for problem in report.problems:
        where = f":{problem.line}" if problem.line else ""
        print(f"{report.path}{where}: {problem.kind}: {problem.message}")
    if not report.ok:
        print(f"{report.path}: {len(report.problems)} problem(s) in {report.records} "
              f"records: the log was tampered with")
        return
    anchored = f"anchored by {anchored_by}" if report.anchored else \
        "no head anchor: records removed from the end would go unnoticed"
    keyed = ", keyed" if report.keyed else ""
    print(f"{report.path}: {report.records} records, chain intact{keyed}, last hash "
          f"{report.head} ({anchored})")
    if report.ledger_checked:
        print(f"{report.path}: {report.decisions} decision(s), {len(report.uncommitted)} "
              "record(s) not committed (rolled back), per the ledger")
    elif report.ledger_records:
        print(f"{report.path}: note: {report.ledger_records} record(s) commit with the "
              "ledger: give --ledger URL to tell them from records of rolled-back "
              "transactions")
    if not report.keyed:
        print(f"{report.path}: note: a plain SHA-256 chain: whoever can write the log "
              "can rewrite it whole, head included, so this proves nothing against "
              "that; check it against an anchor kept elsewhere (--anchor), and a log "
              "that was keyed with its key (--key-file)")


def _decision_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--regime", help="regime id (default: the calendar's regime in force "
                                    "on each order's date)")
    p.add_argument("--ledger", help="ledger URL: sqlite:///PATH or postgresql://...")
    p.add_argument("--engine", help="engine name: embedded (default), opa, opa-http")
    p.add_argument("--adapter", help="force a record adapter by name")
    p.add_argument("--json", action="store_true", help="print decision JSON")
    p.add_argument("--writeback", action="store_true",
                   help="show what the ERP should write back")
    p.add_argument("--fail-on", choices=[o.value for o in Outcome],
                   help="exit 1 when an order's outcome is this or worse")
    p.add_argument("file", help="the record file, or - for standard input")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="exportgate",
        description="Export-control license determination for ERP orders, as code.")
    parser.add_argument("--config", help="configuration file (default: $EXPORTGATE_CONFIG)")
    parser.add_argument("--version", action="version", version=f"exportgate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="check one order and print its decision")
    _decision_options(p)
    p.add_argument("--all", action="store_true",
                   help="decide every order of a record that holds several")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("batch", help="check the orders of a file in order, one ledger")
    _decision_options(p)
    p.add_argument("--workers", type=int, default=None, metavar="N",
                   help="engine worker processes (default: one per CPU for batches of "
                        "400 orders or more, none below)")
    p.add_argument("--keep-going", action="store_true",
                   help="decide the valid orders even when some records are invalid")
    p.add_argument("--totals", metavar="FILE", default=None,
                   help="also write the batch's totals (orders and lines by outcome, held, "
                        "elapsed, lines/s) to FILE as JSON; they always end stderr")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("regimes", help="list the regimes: id, title, dates, sources")
    p.add_argument("--json", action="store_true",
                   help="print them as one JSON list: id, title, authority, status, "
                        "effective_from, effective_to, sources, package, revision, and the "
                        "parameters the configuration overrides")
    p.set_defaults(func=cmd_regimes)

    p = sub.add_parser("test", help="run every regime's Rego tests")
    p.add_argument("--engine", action="append", help="engine to run on (repeatable; "
                                                     "default: every in-process engine)")
    p.add_argument("--regime", help="only this regime")
    p.set_defaults(func=cmd_test)

    p = sub.add_parser("ledger", help="the quota ledger: init, show, commit, release, expire")
    p.add_argument("--ledger", help="ledger URL (default: the configuration's)")
    lsub = p.add_subparsers(dest="action", required=True)
    lsub.add_parser("init", help="create or migrate the schema")
    q = lsub.add_parser("show", help="per quota key: cap, reserved, committed, remaining")
    q.add_argument("--json", action="store_true",
                   help="print one JSON object a line per quota key (TPP): quota, cap (null: "
                        "uncapped), reserved, committed, remaining")
    q = lsub.add_parser("commit", help="the order shipped: commit its reservations")
    q.add_argument("order")
    q = lsub.add_parser("release", help="the order was cancelled: release its quota")
    q.add_argument("order")
    q = lsub.add_parser("expire", help="release reservations older than a duration")
    q.add_argument("--older-than", required=True, help="e.g. 30d, 12h")
    p.set_defaults(func=cmd_ledger)

    p = sub.add_parser("license", help="granted licenses: add, list, show, revoke")
    p.add_argument("--ledger", help="ledger URL (default: the configuration's)")
    lsub = p.add_subparsers(dest="action", required=True)
    q = lsub.add_parser("add", help="record the licenses of a YAML or JSON file (all or none)",
                        description="Record granted licenses from a file: YAML or JSON, a "
                                    "top-level `licenses:` list, each with number, issued, "
                                    "expires, destinations, consignees, optional end_users, "
                                    "and items (by item or ECCN, with a quantity). The format "
                                    "is described in docs/licenses.md. Either every license "
                                    "of the file is recorded or none is.")
    q.add_argument("file", help="the licenses file (YAML or JSON; docs/licenses.md)")
    q = lsub.add_parser("list", help="every license: validity, units remaining, state")
    q.add_argument("--json", action="store_true")
    q = lsub.add_parser("show", help="a license: what each order reserved and shipped, "
                                     "what remains, warnings")
    q.add_argument("number")
    q = lsub.add_parser("revoke", help="revoke a license: it covers nothing from now on")
    q.add_argument("number")
    p.set_defaults(func=cmd_license)

    p = sub.add_parser("serve", help="the decision service over HTTP (docs/service.md)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on "
                                                       "(default: 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="worker processes, each with its own engine and ledger connection")
    p.add_argument("--ssl-certfile", help="serve TLS with this certificate (PEM)")
    p.add_argument("--ssl-keyfile", help="the certificate's private key (PEM)")
    p.set_defaults(func=cmd_serve)

    for add in (_add_bundle, _add_audit, _cli_diff.add_command, _cli_screening.add_command):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    _heap.tune()
    args = build_parser().parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return int(args.func(args))
    except ExportgateError as exc:
        print(printable(f"exportgate: {exc}"), file=sys.stderr)
        if isinstance(exc, InputError):
            return EXIT_INPUT
        if isinstance(exc, AuditError):
            return EXIT_AUDIT
        return EXIT_PLUGIN if isinstance(exc, PluginError) else EXIT_HELD
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
