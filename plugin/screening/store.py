"""Screening list versions and clearances, in the ledger's database.

Kept where the quota is (SQLite or PostgreSQL: the ledger's connection, its
transactions and its placeholder style; tables of migration v4 in
`ledger.schema.MIGRATIONS`), so every replica of a deployment screens against
the same version and honours the same clearances.

Versions. ``load`` writes a version, all its entries and the pointer to the
version in force in one transaction: other processes see the old version or
the new one, never a part. A reader takes the current version's id, then
that version's entries; entries are never changed once written and older
versions are kept (a decision names the version it was screened against, and
that version must stay readable), so a reader that started on the old version
finishes on it whole while a new one is loaded. Loading a file already in
force changes nothing; loading an older version's file again puts that
version back in force (the operator's rollback of a bad list).

Clearances. A person who found a hit to be a false positive clears the party
*as screened* (`model.party_fingerprint`: its name, address and country)
against one entry *as listed* (the entry's id and `Entry.fingerprint`). It
applies only while both are unchanged: a party whose name or address changes
is screened afresh, and a list version that changes the entry shows it again.
A revoked clearance applies no more; nothing is deleted.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any, Iterable

from .._exceptions import InputError
from ..ledger.base import SqlLedger
from ..ledger.clock import now
from .model import Entry, ListVersion

#: The lock taken by every write to the screening tables (a load, a clearance).
_LOCK = "screening"

#: Rows written per statement batch when a version's entries are stored.
_BATCH = 1000

_CLEARANCE_COLUMNS = ("clearance_id", "party_id", "party_fingerprint", "party_name",
                      "entry_id", "entry_list", "entry_name", "entry_fingerprint",
                      "version_id", "cleared_by", "cleared_at", "why", "revoked_at",
                      "revoked_by", "revoked_why")


@dataclass(frozen=True)
class Clearance:
    """A person's finding that a party, as screened, is not the entry, as listed."""

    id: int
    party_id: str
    party_fingerprint: str
    party_name: str
    entry_id: str
    entry_list: str
    entry_name: str
    entry_fingerprint: str
    version_id: str | None       # the version in force when it was cleared
    by: str
    at: str
    why: str
    revoked_at: str | None = None
    revoked_by: str | None = None
    revoked_why: str | None = None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "party": self.party_id, "party_name": self.party_name,
            "party_fingerprint": self.party_fingerprint, "list": self.entry_list,
            "entry": self.entry_id, "entry_name": self.entry_name,
            "entry_fingerprint": self.entry_fingerprint, "version": self.version_id,
            "by": self.by, "at": self.at, "why": self.why,
        }
        if self.revoked_at is not None:
            out["revoked"] = {"at": self.revoked_at, "by": self.revoked_by,
                              "why": self.revoked_why}
        return out

    @classmethod
    def _from_row(cls, row: Iterable[Any]) -> "Clearance":
        r = dict(zip(_CLEARANCE_COLUMNS, row, strict=True))
        return cls(id=int(r["clearance_id"]), party_id=r["party_id"],
                   party_fingerprint=r["party_fingerprint"], party_name=r["party_name"],
                   entry_id=r["entry_id"], entry_list=r["entry_list"],
                   entry_name=r["entry_name"], entry_fingerprint=r["entry_fingerprint"],
                   version_id=r["version_id"], by=r["cleared_by"], at=r["cleared_at"],
                   why=r["why"], revoked_at=r["revoked_at"], revoked_by=r["revoked_by"],
                   revoked_why=r["revoked_why"])


class ScreeningStore:
    """The screening tables of one ledger (its connection and transactions).

    Every method is one transaction; a database fault is the ledger's
    `LedgerError` (the order is held, never screened as clean).
    """

    def __init__(self, ledger: SqlLedger) -> None:
        self.ledger = ledger

    # -- versions ----------------------------------------------------------

    def load(self, version: ListVersion, entries: Iterable[Entry]) -> bool:
        """Store a version with its entries and put it in force, all or nothing.

        Returns False when that version (the same file) is already in force:
        nothing is written. A version stored before and not in force is put
        back in force without writing its entries again. The counts per list
        stored are the entries' own, and ``loaded_at`` the time of this load.
        """
        with self.ledger._tx() as cur:
            if self._current_id(cur) == version.id:
                return False
        # Prepared before the transaction: on SQLite it holds the write lock,
        # and every check waits for it.
        entries = list(entries)
        counts = dict(sorted(Counter(e.list for e in entries).items()))
        rows = [(version.id, seq, e.id, e.fingerprint, _doc(e)) for seq, e in enumerate(entries)]
        sql = self.ledger._sql
        with self.ledger._tx() as cur:
            self.ledger._lock(cur, [_LOCK], "")
            current = self._current_id(cur)
            if current == version.id:
                return False
            cur.execute(sql("SELECT 1 FROM eg_screening_versions WHERE version_id = ?"),
                        (version.id,))
            if cur.fetchone() is None:
                cur.execute(sql("INSERT INTO eg_screening_versions (version_id, published, "
                                "loaded_at, file, counts, entries) VALUES (?, ?, ?, ?, ?, ?)"),
                            (version.id, version.published, now(), version.file,
                             json.dumps(counts), len(entries)))
                insert = sql("INSERT INTO eg_screening_entries (version_id, seq, entry_id, "
                             "fingerprint, doc) VALUES (?, ?, ?, ?, ?)")
                for start in range(0, len(rows), _BATCH):
                    cur.executemany(insert, rows[start:start + _BATCH])
            stamp = now()
            if current is None:
                cur.execute(sql("INSERT INTO eg_screening_current (slot, version_id, "
                                "changed_at) VALUES (1, ?, ?)"), (version.id, stamp))
            else:
                cur.execute(sql("UPDATE eg_screening_current SET version_id = ?, "
                                "changed_at = ? WHERE slot = 1"), (version.id, stamp))
        return True

    def current(self) -> ListVersion | None:
        """The version in force, or None before the first load."""
        with self.ledger._tx(read_only=True) as cur:
            version_id = self._current_id(cur)
            if version_id is None:
                return None
            found = self._versions(cur, version_id)
        return found[0] if found else None

    def versions(self) -> list[ListVersion]:
        """Every version stored, the first loaded first."""
        with self.ledger._tx(read_only=True) as cur:
            return self._versions(cur)

    def entries(self, version_id: str) -> list[Entry]:
        """A version's entries, in the order of its file (InputError if no such version).

        The rows are fetched in one short transaction and parsed after it, so
        reading a large list holds no lock while it is parsed.
        """
        sql = self.ledger._sql
        with self.ledger._tx(read_only=True) as cur:
            cur.execute(sql("SELECT 1 FROM eg_screening_versions WHERE version_id = ?"),
                        (version_id,))
            if cur.fetchone() is None:
                raise InputError(f"screening list version {version_id}: not stored")
            cur.execute(sql("SELECT doc FROM eg_screening_entries WHERE version_id = ? "
                            "ORDER BY seq"), (version_id,))
            docs = [r[0] for r in cur.fetchall()]
        return [Entry.from_dict(json.loads(d)) for d in docs]

    def entry(self, version_id: str, entry_id: str) -> Entry | None:
        """One entry of a version as it lists it (to clear a party against), or None."""
        with self.ledger._tx(read_only=True) as cur:
            cur.execute(self.ledger._sql("SELECT doc FROM eg_screening_entries "
                                         "WHERE version_id = ? AND entry_id = ?"),
                        (version_id, entry_id))
            row = cur.fetchone()
        return Entry.from_dict(json.loads(row[0])) if row else None

    def _current_id(self, cur: Any) -> str | None:
        cur.execute("SELECT version_id FROM eg_screening_current WHERE slot = 1")
        row = cur.fetchone()
        return str(row[0]) if row else None

    def _versions(self, cur: Any, version_id: str | None = None) -> list[ListVersion]:
        sql = ("SELECT version_id, published, loaded_at, file, counts "
               "FROM eg_screening_versions")
        args: tuple[Any, ...] = ()
        if version_id is not None:
            sql += " WHERE version_id = ?"
            args = (version_id,)
        cur.execute(self.ledger._sql(sql + " ORDER BY loaded_at, version_id"), args)
        return [ListVersion(id=r[0], published=r[1], loaded_at=r[2], file=r[3],
                            counts=json.loads(r[4])) for r in cur.fetchall()]

    # -- clearances --------------------------------------------------------

    def clear(self, party_id: str, party_fingerprint: str, party_name: str, entry: Entry,
              by: str, why: str) -> Clearance:
        """Record that ``by`` cleared the party, as screened, against ``entry``, as listed.

        ``by`` and ``why`` are required (InputError): a clearance nobody can
        account for is no clearance. Clearing the same party against the same
        entry twice while the first still applies is an InputError naming it.
        """
        by, why = (by or "").strip(), (why or "").strip()
        if not by:
            raise InputError("a clearance names the person who cleared the party (--by)")
        if not why:
            raise InputError("a clearance says why the party is not the entry (--why)")
        sql = self.ledger._sql
        with self.ledger._tx() as cur:
            self.ledger._lock(cur, [_LOCK], "")
            cur.execute(sql("SELECT clearance_id, cleared_by, cleared_at "
                            "FROM eg_screening_clearances WHERE party_fingerprint = ? "
                            "AND entry_id = ? AND entry_fingerprint = ? "
                            "AND revoked_at IS NULL"),
                        (party_fingerprint, entry.id, entry.fingerprint))
            same = cur.fetchone()
            if same is not None:
                raise InputError(f"party {party_id} is already cleared against "
                                 f"{entry.list} entry {entry.id} (clearance {same[0]}, by "
                                 f"{same[1]} at {same[2]})")
            cur.execute("SELECT COALESCE(MAX(clearance_id), 0) + 1 FROM eg_screening_clearances")
            clearance = Clearance(
                id=int(cur.fetchone()[0]), party_id=party_id,
                party_fingerprint=party_fingerprint, party_name=party_name,
                entry_id=entry.id, entry_list=entry.list, entry_name=entry.name,
                entry_fingerprint=entry.fingerprint, version_id=self._current_id(cur),
                by=by, at=now(), why=why)
            values = (clearance.id, clearance.party_id, clearance.party_fingerprint,
                      clearance.party_name, clearance.entry_id, clearance.entry_list,
                      clearance.entry_name, clearance.entry_fingerprint,
                      clearance.version_id, clearance.by, clearance.at, clearance.why,
                      None, None, None)
            cur.execute(sql(f"INSERT INTO eg_screening_clearances "
                            f"({', '.join(_CLEARANCE_COLUMNS)}) "
                            f"VALUES ({', '.join('?' for _ in _CLEARANCE_COLUMNS)})"), values)
        return clearance

    def clearances(self, include_revoked: bool = False) -> list[Clearance]:
        """The clearances recorded, by number (revoked ones only when asked)."""
        sql = f"SELECT {', '.join(_CLEARANCE_COLUMNS)} FROM eg_screening_clearances"
        if not include_revoked:
            sql += " WHERE revoked_at IS NULL"
        with self.ledger._tx(read_only=True) as cur:
            cur.execute(sql + " ORDER BY clearance_id")
            return [Clearance._from_row(r) for r in cur.fetchall()]

    def revoke(self, clearance_id: int | str, by: str, why: str) -> Clearance:
        """Withdraw a clearance from now on (who, when, why); InputError if unknown or revoked.

        ``clearance_id`` is its number, or the number as text (a command line's).
        """
        by, why = (by or "").strip(), (why or "").strip()
        if not by or not why:
            raise InputError("revoking a clearance names who revokes it (--by) and why (--why)")
        try:
            number = int(clearance_id)
        except ValueError:
            raise InputError(f"clearance {clearance_id}: not recorded (clearances are "
                             "numbered: exportgate screening clearances)") from None
        sql = self.ledger._sql
        select = sql(f"SELECT {', '.join(_CLEARANCE_COLUMNS)} FROM eg_screening_clearances "
                     "WHERE clearance_id = ?")
        with self.ledger._tx() as cur:
            self.ledger._lock(cur, [_LOCK], "")
            cur.execute(select, (number,))
            row = cur.fetchone()
            if row is None:
                raise InputError(f"clearance {clearance_id}: not recorded")
            found = Clearance._from_row(row)
            if found.revoked:
                raise InputError(f"clearance {clearance_id}: already revoked by "
                                 f"{found.revoked_by} at {found.revoked_at}")
            cur.execute(sql("UPDATE eg_screening_clearances SET revoked_at = ?, "
                            "revoked_by = ?, revoked_why = ? WHERE clearance_id = ?"),
                        (now(), by, why, number))
            cur.execute(select, (number,))
            return Clearance._from_row(cur.fetchone())

    def cleared(self, party_fingerprint: str,
                against: str | Iterable[Entry]) -> set[str]:
        """The ids of the entries the party, as screened, is cleared against.

        ``against`` is a version id (the entries as that version lists them)
        or the entries themselves. A clearance applies when it is not revoked,
        its party fingerprint is ``party_fingerprint``, and the entry is there
        with the fingerprint it had when it was cleared.
        """
        sql = self.ledger._sql
        with self.ledger._tx(read_only=True) as cur:
            if isinstance(against, str):
                cur.execute(sql(
                    "SELECT c.entry_id FROM eg_screening_clearances c "
                    "JOIN eg_screening_entries e ON e.version_id = ? "
                    "AND e.entry_id = c.entry_id AND e.fingerprint = c.entry_fingerprint "
                    "WHERE c.party_fingerprint = ? AND c.revoked_at IS NULL"),
                    (against, party_fingerprint))
                return {str(r[0]) for r in cur.fetchall()}
            cur.execute(sql("SELECT entry_id, entry_fingerprint FROM eg_screening_clearances "
                            "WHERE party_fingerprint = ? AND revoked_at IS NULL"),
                        (party_fingerprint,))
            bound = {(str(r[0]), str(r[1])) for r in cur.fetchall()}
        return {e.id for e in against if (e.id, e.fingerprint) in bound}


def _doc(entry: Entry) -> str:
    """An entry as its row stores it: compact JSON text."""
    return json.dumps(entry.to_dict(), ensure_ascii=False, separators=(",", ":"))
