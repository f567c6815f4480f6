"""The ``exportgate screening`` and ``exportgate screen`` commands (docs/screening.md).

``screening load FILE`` makes a list file the version every check screens
against (atomically, in the ledger's database, so every replica sees it);
``screening list`` shows the versions; ``screening clear``, ``clearances``
and ``revoke`` keep the record of false positives a person cleared (each
also written to the decision log, when one is configured). ``screen NAME``
asks the index directly: the hits with their scores and why they matched.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ._exceptions import InputError
from ._parties import PartyMaster, party_master
from ._settings import Settings, check_ledger_url
from .ledger.base import SqlLedger
from .ledger.urls import open_ledger

__all__ = ["add_command"]


def _ledger(args: argparse.Namespace, settings: Settings) -> SqlLedger:
    if args.ledger is not None:
        check_ledger_url(args.ledger, "--ledger")
    return open_ledger(args.ledger or settings.ledger, settings.ledger_timeout)


def _store(ledger: SqlLedger) -> Any:
    from .screening.store import ScreeningStore
    return ScreeningStore(ledger)


def _audit(settings: Settings, event: dict[str, Any]) -> None:
    """Write a clearance event to the decision log, when the configuration keeps one."""
    if settings.audit_log is None:
        return
    from .audit.log import AuditLog
    AuditLog.from_settings(settings, {}, None).append(event)


def cmd_screening(args: argparse.Namespace) -> int:
    settings = Settings.load(args.config)
    ledger = _ledger(args, settings)
    try:
        store = _store(ledger)
        if args.action == "load":
            _load(args, settings, store)
        elif args.action == "list":
            _list(args, store)
        elif args.action == "clear":
            _clear(args, settings, store)
        elif args.action == "clearances":
            _clearances([c.to_dict() for c in store.clearances(include_revoked=args.all)],
                        args.json)
        elif args.action == "revoke":
            cleared = store.revoke(args.id, by=args.by, why=args.why)
            _audit(settings, {"kind": "screening-clearance-revoked", **cleared.to_dict()})
            print(f"clearance {cleared.id}: revoked ({cleared.party_name} against "
                  f"{cleared.entry_list} entry {cleared.entry_id})")
    finally:
        ledger.close()
    return 0


def _load(args: argparse.Namespace, settings: Settings, store: Any) -> None:
    from ._plugins import Plugins
    from .screening import lists
    read = lists.read(Path(args.file), Plugins(settings), published=args.published)
    changed = store.load(read.version, read.entries)
    v = read.version
    counts = ", ".join(f"{code} {n}" for code, n in sorted(v.counts.items()))
    state = "loaded; in force from now" if changed else "already loaded; nothing changed"
    print(f"screening list {v.id[:12]} ({v.file}, published {v.published or 'not stated'}): "
          f"{sum(v.counts.values())} entries ({counts}): {state}")


def _list(args: argparse.Namespace, store: Any) -> None:
    current = store.current()
    rows = [{**v.to_dict(), "current": current is not None and v.id == current.id}
            for v in store.versions()]
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    if not rows:
        print("no screening list loaded (exportgate screening load FILE)")
    for row in rows:
        counts = ", ".join(f"{k} {n}" for k, n in sorted(row["counts"].items()))
        mark = "*" if row["current"] else " "
        print(f"{mark} {row['id'][:12]}  loaded {row['loaded_at']}  published "
              f"{row['published'] or '-'}  {row['file']}  ({counts})")


def _party(args: argparse.Namespace, settings: Settings) -> dict[str, Any]:
    """The party as it is screened: the flags, else the party master's entry."""
    master = party_master(settings.parties)
    known = master.get(args.party) or {}
    party = {"name": args.name or known.get("name"),
             "address": args.address or known.get("address"),
             "country": args.country or known.get("country")}
    if not party["name"]:
        raise InputError(f"party {args.party}: no name in the party master; give --name "
                         "(and --address, --country) as the order names the party")
    return party


def _clear(args: argparse.Namespace, settings: Settings, store: Any) -> None:
    from .screening.model import party_fingerprint
    version = store.current()
    if version is None:
        raise InputError("no screening list loaded (exportgate screening load FILE)")
    entry = store.entry(version.id, args.entry)
    if entry is None:
        raise InputError(f"entry {args.entry!r} is not in the screening list in force "
                         f"({version.id[:12]})")
    party = _party(args, settings)
    fp = party_fingerprint(party["name"], party["address"], party["country"])
    cleared = store.clear(args.party, fp, party["name"], entry, by=args.by, why=args.why)
    _audit(settings, {"kind": "screening-clearance", **cleared.to_dict(),
                      "party_address": party["address"], "party_country": party["country"]})
    print(f"clearance {cleared.id}: {party['name']} ({args.party}) cleared against "
          f"{entry.list} entry {entry.id} ({entry.name}) by {args.by}")


def _clearances(rows: list[dict[str, Any]], as_json: bool) -> None:
    """One clearance a paragraph: who is cleared against what, by whom, when and why."""
    if as_json:
        for row in rows:
            print(json.dumps(row))
        return
    if not rows:
        print("no clearances")
    for row in rows:
        print(f"clearance {row['id']}: {row['party_name']} ({row['party']}) is not "
              f"{row['list']} entry {row['entry']} ({row['entry_name']})")
        print(f"  cleared by {row['by']} at {row['at']}: {row['why']}")
        revoked = row.get("revoked")
        if revoked:
            print(f"  revoked by {revoked['by']} at {revoked['at']}: {revoked['why']}")


def cmd_screen(args: argparse.Namespace) -> int:
    """Screen names against the list in force: the hits and why they matched."""
    settings = Settings.load(args.config)
    ledger = _ledger(args, settings)
    try:
        from .screening.screener import Screener
        screener = Screener(lambda: _store(ledger), settings.screening)
        version = screener.version()
        if version is None:
            raise InputError("no screening list loaded (exportgate screening load FILE)")
        index = screener.index(version)
        for name, country, address in _names(args, settings):
            hits = index.search(name, country=country, address=address)
            _print_hits(name, country, hits, version.id, args.json)
    finally:
        ledger.close()
    return 0


def _names(args: argparse.Namespace, settings: Settings) -> list[tuple[str, str | None,
                                                                       str | None]]:
    if args.parties is None:
        if not args.name:
            raise InputError("give a NAME, or --parties FILE")
        return [(args.name, args.country, args.address)]
    master = PartyMaster()
    master.load_file(Path(args.parties))
    out = []
    for party_id, entry in master.entries():
        if not entry.get("name"):
            raise InputError(f"{args.parties}: party {party_id}: no name to screen")
        out.append((entry["name"], entry.get("country"), entry.get("address")))
    return out


def _print_hits(name: str, country: str | None, hits: list[Any], version: str,
                as_json: bool) -> None:
    if as_json:
        print(json.dumps({"name": name, "country": country, "version": version,
                          "hits": [h.to_dict() for h in hits]}))
        return
    where = f" ({country})" if country else ""
    if not hits:
        print(f"{name}{where}: no match")
        return
    print(f"{name}{where}: {len(hits)} match{'es' if len(hits) != 1 else ''}")
    for h in hits:
        why = f"; {', '.join(h.why)}" if h.why else ""
        print(f"  {h.status:8} {h.score:5.1f}  {h.entry.list:6} {h.entry.id}  "
              f"{h.entry.name}  (matched {h.matched!r}{why})")


def add_command(sub: Any) -> None:
    """Register ``screening`` (load, list, clear, clearances, revoke) and ``screen``."""
    p = sub.add_parser("screening", help="restricted-party lists: load, list, clear false "
                                         "positives (docs/screening.md)")
    ssub = p.add_subparsers(dest="action", required=True)
    q = ssub.add_parser("load", help="make a list file the version every check screens "
                                     "against (atomic)",
                        description="Load the Consolidated Screening List (its CSV or JSON "
                                    "download) or a list a plugin reads. The file is "
                                    "refused whole if a row does not parse; the version in "
                                    "force then stays.")
    q.add_argument("file", help="the list file (CSL CSV or JSON download)")
    q.add_argument("--published", metavar="YYYY-MM-DD",
                   help="the list's publication date, when the file does not state it (CSV)")
    q = ssub.add_parser("list", help="the loaded versions; * marks the one in force")
    q.add_argument("--json", action="store_true", help="one JSON object per version")
    q = ssub.add_parser("clear", help="record that a person cleared a party against an entry",
                        description="The clearance binds the entry as listed and the party "
                                    "as screened (name, address, country): a change of "
                                    "either, or a newer list that changes the entry, shows "
                                    "the match again.")
    q.add_argument("party", help="the party's id (customer number)")
    q.add_argument("entry", help="the list entry's id (as the decision names it)")
    q.add_argument("--by", required=True, help="who cleared it")
    q.add_argument("--why", required=True, help="why it is not the listed party")
    q.add_argument("--name", help="the party's name as orders give it (default: the party "
                                  "master's)")
    q.add_argument("--address", help="its address, one line (default: the party master's)")
    q.add_argument("--country", help="its country (default: the party master's)")
    q = ssub.add_parser("clearances", help="the clearances in force")
    q.add_argument("--all", action="store_true", help="revoked ones too")
    q.add_argument("--json", action="store_true", help="one JSON object per clearance")
    q = ssub.add_parser("revoke", help="revoke a clearance: the match holds orders again")
    q.add_argument("id", help="the clearance's id")
    q.add_argument("--by", required=True, help="who revokes it")
    q.add_argument("--why", required=True, help="why")
    for q in ssub.choices.values():
        q.add_argument("--ledger", help="ledger URL (default: the configuration's)")
    p.set_defaults(func=cmd_screening)

    p = sub.add_parser("screen", help="screen a name (or a file of parties) against the list "
                                      "in force",
                       description="Hits at or above the review threshold, with the score, "
                                   "the entry and what matched.")
    p.add_argument("name", nargs="?", help="the name to screen")
    p.add_argument("--country", help="the party's country (supporting evidence)")
    p.add_argument("--address", help="the party's address (supporting evidence)")
    p.add_argument("--parties", metavar="FILE",
                   help="screen every party of a file in the party master's format "
                        "(YAML or CSV)")
    p.add_argument("--json", action="store_true", help="one JSON object per name")
    p.add_argument("--ledger", help="ledger URL (default: the configuration's)")
    p.set_defaults(func=cmd_screen)
