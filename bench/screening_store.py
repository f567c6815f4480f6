#!/usr/bin/env python3
"""Screening lists: reading a 30,000-entry CSL, loading it into the ledger, reading it back.

    .venv/bin/python bench/screening_store.py [--entries N] [--postgres URL | --no-postgres]

A realistic list is generated (Entity List entries with aliases and one to
three addresses, SDN individuals with ids and dates of birth, MEU and UVL
entries) and written as the CSV and JSON downloads. Measured, best of
``--repeat`` runs:

- reading each download (`lists.read`), against ``csv.reader`` /
  ``json.loads`` over the same file (the parsing floor);
- ``ScreeningStore.load`` (one transaction: the version, every entry, the
  pointer) and ``ScreeningStore.entries`` (the rows, parsed back into
  entries), on SQLite and PostgreSQL, against the same rows written and read
  with bare ``executemany``/``SELECT`` on the same connection;
- ``ScreeningStore.cleared`` for one party (one indexed query), per call;
- the longest wait of a check's read of the version in force (``current``,
  from another connection, in a loop) while a list loads: on SQLite the
  load's write transaction holds the database.

Ratios are against the floor measured in the same run. Without
``--postgres`` a throw-away server is started with the test suite's fixture
(tests/ledger/pgserver.py; ``make postgres`` installs the binaries).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import random
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable

from exportgate.ledger.base import SqlLedger
from exportgate.ledger.urls import open_ledger
from exportgate.screening import lists
from exportgate.screening.model import party_fingerprint
from exportgate.screening.store import ScreeningStore

ROOT = Path(__file__).resolve().parents[1]

#: ``cleared`` calls timed together (one is too short to time alone).
LOOKUPS = 200

SOURCES = {
    "EL": "Entity List (EL) - Bureau of Industry and Security",
    "SDN": "Specially Designated Nationals (SDN) - Treasury Department",
    "MEU": "Military End User (MEU) List - Bureau of Industry and Security",
    "UVL": "Unverified List (UVL) - Bureau of Industry and Security",
}
SHARE = (("SDN", 0.6), ("EL", 0.32), ("MEU", 0.03), ("UVL", 0.05))
WORDS = ("Advanced Electronic Precision Aerospace Institute Technology Research Optical "
         "Semiconductor Trading Industrial Instruments Systems Engineering Machinery "
         "Northern Eastern Pacific Digital Nuclear Marine Logistics Development").split()
FORMS = ("Co., Ltd.", "LLC", "JSC", "OOO", "Limited", "GmbH", "Corporation", "FZE")
CITIES = (("Shenzhen", "Guangdong", "CN"), ("Moscow", None, "RU"), ("Tehran", None, "IR"),
          ("Dubai", None, "AE"), ("Hong Kong", None, "HK"), ("Minsk", None, "BY"),
          ("Istanbul", None, "TR"), ("Yerevan", None, "AM"))


def generate(n: int, seed: int = 20) -> list[dict[str, Any]]:
    """``n`` entries as the JSON download writes them."""
    rnd = random.Random(seed)
    out: list[dict[str, Any]] = []
    codes = [c for c, _ in SHARE]
    weights = [w for _, w in SHARE]
    for i in range(n):
        code = rnd.choices(codes, weights)[0]
        addresses = [{"address": f"{rnd.randint(1, 999)} {rnd.choice(WORDS)} Road",
                      "city": city, "state": state, "postal_code": str(rnd.randint(10000, 99999)),
                      "country": cc}
                     for city, state, cc in rnd.sample(CITIES, rnd.randint(1, 3))]
        row: dict[str, Any] = {"id": f"{code}-{i}", "source": SOURCES[code],
                               "addresses": addresses}
        if code == "SDN" and rnd.random() < 0.5:
            first, last = rnd.choice(WORDS), rnd.choice(WORDS).upper()
            row |= {"type": "Individual", "name": f"{last}, {first}",
                    "alt_names": [f"{last}, {first[0]}."], "programs": ["RUSSIA-EO14024"],
                    "dates_of_birth": [f"19{rnd.randint(40, 99)}-0{rnd.randint(1, 9)}-1"
                                       f"{rnd.randint(0, 9)}"],
                    "nationalities": [addresses[0]["country"]],
                    "ids": [{"type": "Passport", "number": str(rnd.randint(10**8, 10**9)),
                             "country": addresses[0]["country"]}]}
        else:
            name = " ".join(rnd.sample(WORDS, rnd.randint(2, 4))) + " " + rnd.choice(FORMS)
            row |= {"type": "Entity" if code == "SDN" else None, "name": name,
                    "alt_names": [" ".join(rnd.sample(WORDS, 2)) for _ in range(rnd.randint(0, 4))],
                    "programs": ["SDGT", "IRAN"] if code == "SDN" else []}
        if code in ("EL", "MEU"):
            row |= {"federal_register_notice": f"{rnd.randint(80, 90)} FR "
                                               f"{rnd.randint(1000, 99999)}",
                    "start_date": f"20{rnd.randint(10, 25)}-0{rnd.randint(1, 9)}-"
                                  f"1{rnd.randint(0, 9)}",
                    "license_requirement": "For all items subject to the EAR. "
                                           "(See §744.11 of the EAR)",
                    "license_policy": "Presumption of denial."}
        out.append(row)
    return out


def csv_text(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(lists.CSV_COLUMNS)
    for row in rows:
        flat = {c: "" for c in lists.CSV_COLUMNS}
        for key, value in row.items():
            column = "_id" if key == "id" else key
            if key == "addresses":
                flat[column] = "; ".join(", ".join(a[k] for k in ("address", "city", "state",
                                                                 "postal_code", "country")
                                                   if a.get(k)) for a in value)
            elif key == "ids":
                flat[column] = "; ".join(", ".join(str(x[k]) for k in ("type", "number",
                                                                      "country")) for x in value)
            elif isinstance(value, list):
                flat[column] = "; ".join(value)
            elif value is not None:
                flat[column] = str(value)
        writer.writerow([flat[c] for c in lists.CSV_COLUMNS])
    return buf.getvalue()


def best(repeat: int, fn: Callable[..., Any], *args: Any) -> float:
    """The shortest of ``repeat`` runs of ``fn(*args)``, in seconds."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - started)
    return min(times)


def floor_tables(ledger: SqlLedger) -> None:
    with ledger._tx() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_floor (version_id TEXT NOT NULL, "
                    "seq INTEGER NOT NULL, entry_id TEXT NOT NULL, fingerprint TEXT NOT NULL, "
                    "doc TEXT NOT NULL, PRIMARY KEY (version_id, seq))")


def measure_store(label: str, new_url: Callable[[], str], loaded: lists.LoadedList,
                  repeat: int) -> None:
    rows = [(loaded.version.id, seq, e.id, e.fingerprint,
             json.dumps(e.to_dict(), ensure_ascii=False, separators=(",", ":")))
            for seq, e in enumerate(loaded.entries)]

    def load_floor(ledger: SqlLedger) -> None:
        with ledger._tx() as cur:
            cur.execute("DELETE FROM bench_floor")
            cur.executemany(ledger._sql("INSERT INTO bench_floor VALUES (?, ?, ?, ?, ?)"), rows)

    def read_floor(ledger: SqlLedger) -> None:
        with ledger._tx() as cur:
            cur.execute(ledger._sql("SELECT doc FROM bench_floor WHERE version_id = ? "
                                    "ORDER BY seq"), (loaded.version.id,))
            docs = [r[0] for r in cur.fetchall()]
        [json.loads(d) for d in docs]

    floor_load = floor_read = load = read = cleared = float("inf")
    for _ in range(repeat):
        ledger = open_ledger(new_url())
        try:
            floor_tables(ledger)
            store = ScreeningStore(ledger)
            floor_load = min(floor_load, best(1, load_floor, ledger))
            load = min(load, best(1, store.load, loaded.version, loaded.entries))
            floor_read = min(floor_read, best(1, read_floor, ledger))
            read = min(read, best(1, store.entries, loaded.version.id))
            entry = loaded.entries[len(loaded.entries) // 2]
            fp = party_fingerprint("Northern Optical Trading LLC", "5 Harbour Road", "HK")
            store.clear("C-1", fp, "Northern Optical Trading LLC", entry, by="bench",
                        why="bench")
            lookups = best(1, lambda s, f: [s.cleared(f, loaded.version.id)
                                            for _ in range(LOOKUPS)], store, fp)
            cleared = min(cleared, lookups / LOOKUPS)
        finally:
            ledger.close()
    print(f"{label:10} {'load (one transaction)':28} {load:8.3f} s   floor {floor_load:7.3f} s"
          f"   ratio {load / floor_load:5.2f}")
    print(f"{label:10} {'entries (read and parse)':28} {read:8.3f} s   floor {floor_read:7.3f} s"
          f"   ratio {read / floor_read:5.2f}")
    print(f"{label:10} {'cleared (one party)':28} {cleared * 1000:8.3f} ms")
    wait, reads = longest_wait(new_url(), loaded)
    print(f"{label:10} {'current() during a load':28} {wait * 1000:8.1f} ms longest "
          f"of {reads} reads")


def longest_wait(url: str, loaded: lists.LoadedList) -> tuple[float, int]:
    """The longest ``current()`` (another connection) while ``loaded`` loads, and how many."""
    waits: list[float] = []
    started, done = threading.Event(), threading.Event()

    def probe() -> None:
        reader = open_ledger(url)
        try:
            store = ScreeningStore(reader)
            while not done.is_set():
                t = time.perf_counter()
                store.current()
                waits.append(time.perf_counter() - t)
                started.set()
        finally:
            reader.close()

    thread = threading.Thread(target=probe)
    thread.start()
    started.wait(30)
    writer = open_ledger(url)
    try:
        ScreeningStore(writer).load(loaded.version, loaded.entries)
    finally:
        done.set()
        thread.join(60)
        writer.close()
    return max(waits), len(waits)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=30_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--postgres", help="a PostgreSQL database URL (default: start one)")
    ap.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = ap.parse_args()
    rows = generate(args.entries)
    aliases = sum(len(r.get("alt_names") or ()) for r in rows)
    server = None
    if args.postgres is None and not args.no_postgres:
        sys.path.insert(0, str(ROOT / "tests" / "ledger"))
        from pgserver import MISSING, PgServer, find_bindir
        bindir = find_bindir()
        if bindir is None:
            print(MISSING, file=sys.stderr)
            return 2
        server = PgServer(bindir).start()
    try:
        with tempfile.TemporaryDirectory(prefix="exportgate-bench-") as tmp:
            csv_path = Path(tmp, "consolidated.csv")
            csv_path.write_text(csv_text(rows), encoding="utf-8")
            json_path = Path(tmp, "consolidated.json")
            json_path.write_text(json.dumps({"results": rows, "total": len(rows)}),
                                 encoding="utf-8")
            print(f"{len(rows)} entries, {aliases} aliases; CSV "
                  f"{csv_path.stat().st_size / 1e6:.1f} MB, JSON "
                  f"{json_path.stat().st_size / 1e6:.1f} MB")
            for label, path, floor in (
                    ("csv", csv_path, lambda p: list(csv.reader(io.StringIO(
                        p.read_text(encoding="utf-8-sig"), newline="")))),
                    ("json", json_path, lambda p: json.loads(p.read_bytes()))):
                t = best(args.repeat, lists.read, path)
                f = best(args.repeat, floor, path)
                print(f"{label:10} {'read (lists.read)':28} {t:8.3f} s   floor {f:7.3f} s"
                      f"   ratio {t / f:5.2f}")
            loaded = lists.read(csv_path)
            n = iter(range(10**6))
            measure_store("sqlite", lambda: f"sqlite:///{tmp}/bench-{next(n)}.db", loaded,
                          args.repeat)
            if server is not None:
                measure_store("postgresql", lambda: server.create_schema("bench"), loaded,
                              args.repeat)
            elif args.postgres:
                print("(--postgres: one run on the given database, which must be empty)")
                measure_store("postgresql", lambda: args.postgres, loaded, 1)
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
