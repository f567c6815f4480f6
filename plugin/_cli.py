"""The ``exportgate`` command line.

Exit codes (README, "Exit codes"):

- 0: every order was decided (whatever the outcomes);
- 1: ``--fail-on`` was given and an order's outcome reached it, or a Rego test failed;
- 2: bad input: an invalid record, an unknown regime, an unreadable file or
  configuration; nothing of the offending orders was decided;
- 3: an order was held because the engine or the ledger could not answer
  (its lines are ``license`` with an ``error``);
- 4: a plugin failed (a host callback raised); the decision stands;
- 5: the audit log could not be written (`AuditError`).

Every message and every decision is written so that it cannot fail on the
way out: text that is not valid Unicode (a lone surrogate) is escaped, never
raised, so nothing reserved goes unprinted.
"""
from __future__ import annotations

import argparse
import io
import json
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from . import _audit, _bundle, _diff
from ._adapter import Record
from ._exceptions import AuditError, ExportgateError, InputError, PluginError
from ._gate import Checked, Gate
from ._ledger import open_ledger, parse_duration
from ._model import Outcome
from ._plugins import Plugins
from ._render import decision_table, ledger_table, regimes_table
from ._settings import Settings, check_ledger_url

EXIT_OK, EXIT_FAIL_ON, EXIT_INPUT, EXIT_HELD, EXIT_PLUGIN, EXIT_AUDIT = 0, 1, 2, 3, 4, 5

#: Reading limits: one JSON record (a line of a batch, or a whole file) and its nesting.
MAX_RECORD_BYTES = 64 * 1024 * 1024
MAX_RECORD_DEPTH = 64

#: Further subcommands: (name, add_parser(subparsers) -> None). Modules that
#: own a command (bundles, the audit log) append here at import.
COMMANDS: list[tuple[str, Callable[[Any], None]]] = [
    ("bundle", _bundle.add_command),
    ("audit", _audit.add_command),
    ("diff", _diff.add_command),
]


_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*\sencoding=["']([A-Za-z0-9._-]{1,40})["']""")


def _read_text(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    declared = _XML_ENCODING.match(raw[:200])  # an IDoc in ISO-8859-1 says so
    if declared:
        try:
            return raw.decode(declared.group(1).decode("ascii"))
        except (LookupError, UnicodeDecodeError):
            raise InputError(f"{path}: not {declared.group(1).decode('ascii')} text, as its "
                             "XML declaration says") from None
    raise InputError(f"{path}: not UTF-8 text")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:40]} is too large for a number")
    return value


def _depth_over(value: Any, limit: int) -> bool:
    """True when ``value`` nests more than ``limit`` arrays/objects deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        elif not isinstance(item, list):
            continue
        if depth > limit:
            return True
        stack.extend((v, depth + 1) for v in item if isinstance(v, (dict, list)))
    return False


def parse_record(text: str, source: str) -> Record:
    """One record; JSON is read strictly and within limits (InputError naming ``source``).

    NaN, Infinity and numbers too large for a float are not JSON numbers; a
    record above `MAX_RECORD_BYTES` or nested deeper than `MAX_RECORD_DEPTH`
    is refused before anything walks it. Text that is not JSON is handed on
    as text (a CSV or an IDoc).
    """
    if len(text) > MAX_RECORD_BYTES:
        raise InputError(f"{source}: larger than {MAX_RECORD_BYTES // (1024 * 1024)} MiB")
    stripped = text.lstrip()
    if stripped[:1] not in ("{", "["):
        return Record.from_text(text, source)
    try:
        data = json.loads(text, parse_constant=_reject_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        if exc.msg != "Extra data":  # not JSON lines either: broken or truncated JSON
            raise InputError(f"{source}: invalid JSON at line {exc.lineno} column {exc.colno} "
                             f"({exc.msg})") from None
        return Record(text=text, data=None, source=source)
    except RecursionError:
        raise InputError(f"{source}: nested more than {MAX_RECORD_DEPTH} levels deep") \
            from None
    except ValueError as exc:  # NaN, Infinity, 1e999, an integer of thousands of digits
        raise InputError(f"{source}: not valid JSON: {str(exc)[:160]}") from None
    if (text.count("{") + text.count("[") > MAX_RECORD_DEPTH
            and _depth_over(data, MAX_RECORD_DEPTH)):
        raise InputError(f"{source}: nested more than {MAX_RECORD_DEPTH} levels deep")
    return Record(text=text, data=data, source=source)


def read_records(path: str, batch: bool,
                 whole_file: Callable[[Record], bool] = lambda record: False,
                 on_error: Callable[[InputError], None] | None = None
                 ) -> Iterator[Record]:
    """A file as records: JSON lines give one record a line, anything else one record.

    A JSON-lines file is kept whole when ``whole_file`` says an adapter reads
    it as one record (the tabular adapter groups rows into orders). Every
    line is parsed before the first record is handed on, so a malformed line
    stops the batch before anything is decided; with ``on_error`` (``batch
    --keep-going``) it is reported there and the other lines go on.
    """
    text = _read_text(path)
    name = "<stdin>" if path == "-" else path
    first = next((line for line in text.splitlines() if line.strip()), "")
    if not first:
        raise InputError(f"{name}: the file is empty")
    if batch and first.lstrip().startswith("{"):
        try:
            whole = parse_record(text, name)
        except InputError:
            whole = Record(text=text, data=None, source=name)
        if whole.data is not None or whole_file(whole):
            yield whole
            return
        good: list[int] = []  # parsed once to check, again when handed on: less memory
        lines = text.splitlines()
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                if parse_record(line, f"{name}:{n}").data is None:
                    raise InputError(f"{name}:{n}: not valid JSON")
            except InputError as exc:
                if on_error is None:
                    raise
                on_error(exc)
                continue
            good.append(n)
        for n in good:
            yield parse_record(lines[n - 1], f"{name}:{n}")
        return
    yield parse_record(text, name)


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


def _finish(results: list[Checked], args: argparse.Namespace) -> int:
    code = EXIT_OK
    for checked in results:
        for err in checked.plugin_errors:
            print(printable(f"exportgate: {err}"), file=sys.stderr)
    if any(c.plugin_errors for c in results):
        code = EXIT_PLUGIN
    if any(c.decision.error for c in results):
        for c in results:
            if c.decision.error:
                print(printable(f"exportgate: order {c.decision.order} held: "
                                f"{c.decision.error}"), file=sys.stderr)
        code = EXIT_HELD
    fail_on = getattr(args, "fail_on", None)
    if code == EXIT_OK and fail_on:
        threshold = Outcome(fail_on)
        if any(threshold <= c.decision.outcome for c in results):
            code = EXIT_FAIL_ON
    return code


def _gate(args: argparse.Namespace) -> Gate:
    if args.ledger is not None:
        check_ledger_url(args.ledger, "--ledger")
    return Gate(_settings(args), regime_id=args.regime, ledger_url=args.ledger,
                engine=args.engine)


def cmd_check(args: argparse.Namespace) -> int:
    records = list(read_records(args.file, batch=False))
    with _gate(args) as gate:
        results = []
        for record in records:
            orders, adapter = gate.read(record, args.adapter)
            if len(orders) != 1 and not args.all:
                raise InputError(f"{record.source}: holds {len(orders)} orders; "
                                 "use `exportgate batch`, or --all")
            for order in orders:
                gate.regime_for(order)
            for order in orders:
                results.append(gate.check(order, adapter,
                                          on_committed=lambda c: _print_checked(c, args)))
    return _finish(results, args)


def cmd_batch(args: argparse.Namespace) -> int:
    bad: list[InputError] = []

    def report(exc: InputError) -> None:
        bad.append(exc)
        print(printable(f"exportgate: {exc}"), file=sys.stderr)

    with _gate(args) as gate:
        def whole_file(record: Record) -> bool:
            if args.adapter:
                return bool(args.adapter != "canonical")
            return gate.plugins.claimants(record) != []

        records = read_records(args.file, batch=True, whole_file=whole_file,
                               on_error=report if args.keep_going else None)
        results = list(gate.batch(records, args.adapter, keep_going=args.keep_going,
                                  on_error=report,
                                  on_committed=lambda c: _print_checked(c, args)))
    code = _finish(results, args)
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


def cmd_ledger(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.ledger is not None:
        check_ledger_url(args.ledger, "--ledger")
    ledger = open_ledger(args.ledger or settings.ledger, settings.ledger_timeout)
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
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("check", help="check one order and print its decision")
    _decision_options(p)
    p.add_argument("--all", action="store_true",
                   help="decide every order of a record that holds several")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("batch", help="check the orders of a file in order, one ledger")
    _decision_options(p)
    p.add_argument("--keep-going", action="store_true",
                   help="decide the valid orders even when some records are invalid")
    p.set_defaults(func=cmd_batch)

    p = sub.add_parser("regimes", help="list the regimes: id, title, dates, sources")
    p.add_argument("--json", action="store_true")
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
    q.add_argument("--json", action="store_true")
    q = lsub.add_parser("commit", help="the order shipped: commit its reservations")
    q.add_argument("order")
    q = lsub.add_parser("release", help="the order was cancelled: release its quota")
    q.add_argument("order")
    q = lsub.add_parser("expire", help="release reservations older than a duration")
    q.add_argument("--older-than", required=True, help="e.g. 30d, 12h")
    p.set_defaults(func=cmd_ledger)

    for _name, add in COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
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
