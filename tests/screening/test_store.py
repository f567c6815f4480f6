"""List versions and clearances in the ledger's database, on SQLite and PostgreSQL.

A version is loaded whole or not at all and a reader sees one version whole;
loading the same file again changes nothing; a clearance applies only to the
party as screened and the entry as listed, and not once revoked.
"""
from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterator

import pytest

from exportgate._exceptions import InputError, LedgerError
from exportgate.ledger.schema import SCHEMA_VERSION
from exportgate.ledger.urls import open_ledger
from exportgate.screening import lists
from exportgate.screening.lists import LoadedList, ScreeningListError
from exportgate.screening.model import Address, Entry, party_fingerprint
from exportgate.screening.store import ScreeningStore

from . import csl


@pytest.fixture
def store(ledger_url: str) -> Iterator[ScreeningStore]:
    ledger = open_ledger(ledger_url)
    try:
        yield ScreeningStore(ledger)
    finally:
        ledger.close()


def _csl(tmp_path: Path, name: str = "consolidated.csv",
         rows: list[dict[str, Any]] | None = None) -> LoadedList:
    return lists.read(csl.write(tmp_path / name, csl.csv_text(rows)), published="2026-12-03")


def _generated(tag: str, n: int) -> LoadedList:
    entries = [Entry(id=f"E{i}", list="EL", source=csl.EL, name=f"{tag} entry {i}",
                     addresses=(Address("1 Main Street", country="CN"),))
               for i in range(n)]
    return LoadedList.of(f"{tag}.csv", tag.encode(), entries)


def _rows(store: ScreeningStore, table: str) -> int:
    with store.ledger._tx() as cur:
        cur.execute(f"SELECT COUNT(*) FROM {table}")
        return int(cur.fetchone()[0])


# -- versions ----------------------------------------------------------------------


def test_a_loaded_version_is_in_force_with_all_its_entries(store: ScreeningStore,
                                                           tmp_path: Path) -> None:
    assert store.ledger.version() == SCHEMA_VERSION >= 4
    assert store.current() is None and store.versions() == []
    loaded = _csl(tmp_path)
    assert store.load(loaded.version, loaded.entries) is True
    current = store.current()
    assert current is not None
    assert (current.id, current.published, current.file, current.counts) == (
        loaded.version.id, "2026-12-03", "consolidated.csv",
        {"EL": 1, "MEU": 1, "SDN": 1, "UVL": 1})
    assert store.versions() == [current]
    assert store.entries(current.id) == list(loaded.entries)  # equal, in the file's order
    uvl = loaded.entries[3]
    assert store.entry(current.id, uvl.id) == uvl
    assert store.entry(current.id, "no-such-entry") is None


def test_loading_the_same_file_again_changes_nothing(store: ScreeningStore,
                                                     tmp_path: Path) -> None:
    loaded = _csl(tmp_path)
    assert store.load(loaded.version, loaded.entries)
    with store.ledger._tx() as cur:
        cur.execute("SELECT changed_at FROM eg_screening_current")
        changed = cur.fetchone()[0]
    again = _csl(tmp_path)  # read afresh: the same bytes, the same version
    assert again.version.id == loaded.version.id
    assert store.load(again.version, again.entries) is False
    assert len(store.versions()) == 1
    assert _rows(store, "eg_screening_entries") == len(csl.ROWS)
    with store.ledger._tx() as cur:
        cur.execute("SELECT changed_at FROM eg_screening_current")
        assert cur.fetchone()[0] == changed


def test_a_new_version_replaces_the_old_which_stays_readable(store: ScreeningStore,
                                                             tmp_path: Path) -> None:
    old = _csl(tmp_path, "old.csv")
    rows = csl.rows()[:3]
    rows[0]["license_policy"] = "Case-by-case review."
    new = _csl(tmp_path, "new.csv", rows)
    store.load(old.version, old.entries)
    assert store.load(new.version, new.entries) is True
    assert store.current() == next(v for v in store.versions() if v.id == new.version.id)
    assert [v.file for v in store.versions()] == ["old.csv", "new.csv"]
    assert store.entries(old.version.id) == list(old.entries)  # what old decisions saw
    assert store.entries(new.version.id) == list(new.entries)
    # The old file loaded again puts its version back in force, entries unwritten.
    assert store.load(old.version, old.entries) is True
    current = store.current()
    assert current is not None and current.id == old.version.id
    assert _rows(store, "eg_screening_entries") == len(old.entries) + len(new.entries)


def test_a_refused_file_leaves_the_version_in_force(store: ScreeningStore,
                                                   tmp_path: Path) -> None:
    loaded = _csl(tmp_path)
    store.load(loaded.version, loaded.entries)
    cut = csl.csv_text()[:-120]
    with pytest.raises(ScreeningListError):
        lists.read(csl.write(tmp_path / "next.csv", cut))
    current = store.current()
    assert current is not None and current.id == loaded.version.id


def test_a_load_that_fails_midway_leaves_nothing_behind(store: ScreeningStore) -> None:
    first = _generated("first", 50)
    store.load(first.version, first.entries)
    broken = _generated("second", 2500)
    twice = broken.entries + (broken.entries[1500],)  # the database refuses the repeat
    with pytest.raises(LedgerError):
        store.load(broken.version, twice)
    current = store.current()
    assert current is not None and current.id == first.version.id
    assert [v.id for v in store.versions()] == [first.version.id]
    assert _rows(store, "eg_screening_entries") == 50
    assert store.load(broken.version, broken.entries) is True  # nothing half-written in the way


def test_an_unknown_version_is_an_input_error(store: ScreeningStore) -> None:
    with pytest.raises(InputError, match="not stored"):
        store.entries("0" * 64)


def test_a_reader_sees_one_version_whole_while_new_ones_load(ledger_url: str) -> None:
    """A reader takes the version in force, then its entries: while other versions are
    loaded meanwhile (another connection), it never sees part of one and part of another."""
    writer = open_ledger(ledger_url)
    versions = [_generated(f"v{k}", 400 + 100 * k) for k in range(6)]
    sizes = {v.version.id: len(v.entries) for v in versions}
    store = ScreeningStore(writer)
    store.load(versions[0].version, versions[0].entries)
    seen: list[tuple[str, int, set[str]]] = []
    failed: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        reader = open_ledger(ledger_url)  # its own connection, in its own thread
        try:
            mine = ScreeningStore(reader)
            while not done.is_set() or len(seen) < 3:
                current = mine.current()
                assert current is not None
                entries = mine.entries(current.id)
                seen.append((current.id, len(entries), {e.name.split()[0] for e in entries}))
        except BaseException as exc:  # reported by the test, not lost in the thread
            failed.append(exc)
        finally:
            reader.close()

    thread = threading.Thread(target=read)
    thread.start()
    try:
        for v in versions[1:]:
            store.load(v.version, v.entries)
    finally:
        done.set()
        thread.join(60)
        writer.close()
    assert not failed and seen and not thread.is_alive()
    for version_id, count, tags in seen:
        assert count == sizes[version_id] and len(tags) == 1, (version_id, count, tags)


def test_a_reader_that_started_on_the_old_version_finishes_on_it(
        store: ScreeningStore, ledger_url: str) -> None:
    old, new = _generated("old", 300), _generated("new", 200)
    store.load(old.version, old.entries)
    other = open_ledger(ledger_url)
    try:
        started = ScreeningStore(other).current()  # the reader takes the version in force
        store.load(new.version, new.entries)       # another process loads the next
        assert started is not None
        entries = ScreeningStore(other).entries(started.id)
        assert entries == list(old.entries)
        assert ScreeningStore(other).current() == next(
            v for v in store.versions() if v.id == new.version.id)
    finally:
        other.close()


# -- clearances --------------------------------------------------------------------

PARTY = ("C-1042", "Atlas Sanat Garan LLC", "Komitas Ave 26, Yerevan", "AM")


def _party(name: str = PARTY[1], address: str = PARTY[2], country: str = PARTY[3]) -> str:
    return party_fingerprint(name, address, country)


def _uvl(loaded: LoadedList) -> Entry:
    return next(e for e in loaded.entries if e.list == "UVL")


def test_a_clearance_binds_the_party_as_screened_and_the_entry_as_listed(
        store: ScreeningStore, tmp_path: Path) -> None:
    loaded = _csl(tmp_path)
    store.load(loaded.version, loaded.entries)
    entry = _uvl(loaded)
    c = store.clear(PARTY[0], _party(), PARTY[1], entry, by="J. Rivera",
                    why="different company: registry no. 264.110.1234, founded 2019")
    assert (c.id, c.entry_id, c.entry_list, c.entry_fingerprint, c.version_id) == (
        1, entry.id, "UVL", entry.fingerprint, loaded.version.id)
    assert (c.by, c.party_fingerprint, c.revoked) == ("J. Rivera", _party(), False)
    assert c.to_dict()["why"].startswith("different company") and c.at
    assert store.clearances() == [c]

    assert store.cleared(_party(), loaded.version.id) == {entry.id}
    assert store.cleared(_party(), loaded.entries) == {entry.id}
    # The same party at another address, or under another name: screened afresh.
    assert store.cleared(_party(address="Baghramyan Ave 3, Yerevan"),
                         loaded.version.id) == set()
    assert store.cleared(_party(name="Atlas Sanatgaran"), loaded.version.id) == set()


def test_a_new_version_that_changes_the_entry_shows_it_again(store: ScreeningStore,
                                                             tmp_path: Path) -> None:
    v1 = _csl(tmp_path, "v1.csv")
    store.load(v1.version, v1.entries)
    store.clear(PARTY[0], _party(), PARTY[1], _uvl(v1), by="J. Rivera", why="not them")

    rows = csl.rows()
    rows[0]["license_policy"] = "Case-by-case review."  # another entry changes
    v2 = _csl(tmp_path, "v2.csv", rows)
    store.load(v2.version, v2.entries)
    assert store.cleared(_party(), v2.version.id) == {_uvl(v1).id}  # still applies

    rows[3]["addresses"].append({"address": "Arshakunyats 2", "city": "Yerevan",
                                 "country": "AM"})                  # the entry itself
    v3 = _csl(tmp_path, "v3.csv", rows)
    store.load(v3.version, v3.entries)
    assert _uvl(v3).id == _uvl(v1).id and _uvl(v3).fingerprint != _uvl(v1).fingerprint
    assert store.cleared(_party(), v3.version.id) == set()
    assert store.cleared(_party(), v3.entries) == set()
    assert store.cleared(_party(), v1.version.id) == {_uvl(v1).id}  # as v1 listed it

    # Cleared again against the entry as v3 lists it: both clearances are kept.
    store.clear(PARTY[0], _party(), PARTY[1], _uvl(v3), by="A. Chen", why="still not them")
    assert store.cleared(_party(), v3.version.id) == {_uvl(v3).id}
    assert [c.id for c in store.clearances()] == [1, 2]


def test_a_revoked_clearance_no_longer_applies(store: ScreeningStore, tmp_path: Path) -> None:
    loaded = _csl(tmp_path)
    store.load(loaded.version, loaded.entries)
    c = store.clear(PARTY[0], _party(), PARTY[1], _uvl(loaded), by="J. Rivera",
                    why="not them")
    revoked = store.revoke(str(c.id), by="Compliance officer",
                           why="registry number unverified")  # as a command line gives it
    assert revoked.revoked and (revoked.revoked_by, revoked.revoked_why) == (
        "Compliance officer", "registry number unverified")
    assert revoked.to_dict()["revoked"]["by"] == "Compliance officer"
    assert store.cleared(_party(), loaded.version.id) == set()
    assert store.cleared(_party(), loaded.entries) == set()
    assert store.clearances() == []
    assert store.clearances(include_revoked=True) == [revoked]
    with pytest.raises(InputError, match="already revoked by Compliance officer"):
        store.revoke(c.id, by="X", why="again")
    with pytest.raises(InputError, match="clearance 99: not recorded"):
        store.revoke(99, by="X", why="unknown")
    with pytest.raises(InputError, match="clearance C-1: not recorded"):
        store.revoke("C-1", by="X", why="not a number")
    # Clearing anew after a revocation is allowed and applies.
    again = store.clear(PARTY[0], _party(), PARTY[1], _uvl(loaded), by="A. Chen",
                        why="registry number verified")
    assert again.id == 2 and store.cleared(_party(), loaded.version.id) == {_uvl(loaded).id}


def test_a_clearance_says_who_and_why_and_is_recorded_once(store: ScreeningStore,
                                                           tmp_path: Path) -> None:
    loaded = _csl(tmp_path)
    store.load(loaded.version, loaded.entries)
    entry = _uvl(loaded)
    for by, why in (("", "not them"), ("J. Rivera", "  ")):
        with pytest.raises(InputError):
            store.clear(PARTY[0], _party(), PARTY[1], entry, by=by, why=why)
    assert store.clearances(include_revoked=True) == []
    store.clear(PARTY[0], _party(), PARTY[1], entry, by="J. Rivera", why="not them")
    with pytest.raises(InputError, match=r"already cleared .*\(clearance 1, by J\. Rivera"):
        store.clear(PARTY[0], _party(), PARTY[1], entry, by="A. Chen", why="not them")
    # Another party against the same entry is its own clearance.
    other = party_fingerprint("Atlas Trading CJSC", "Tigran Mets 5, Yerevan", "AM")
    store.clear("C-2001", other, "Atlas Trading CJSC", replace(entry), by="A. Chen",
                why="different company")
    assert store.cleared(other, loaded.version.id) == {entry.id}
    assert len(store.clearances()) == 2
