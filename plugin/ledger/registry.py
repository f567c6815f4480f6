"""The license registry's SQL: granted licenses recorded, read, revoked (docs/licenses.md).

`LicenseRegistry` is part of every `SqlLedger` (the registry lives in the
ledger's database, and what an order takes of a license entry is an
ordinary reservation of its quota key ``license:<number>:<entry>``);
`ledger.licenses` holds the logic over it. Revoking takes the locks of the
license's entries, the locks a check holds while it draws on them, so a
check sees a revocation that committed before it, and a revocation waits for
a check under way.
"""
from __future__ import annotations

import json
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from .._exceptions import ConfigError
from .._json import loads
from .._policy import LICENSE_KEY_PREFIX, license_number
from .clock import now


@dataclass(frozen=True)
class LicenseTerms:
    """A license's validity as the ledger holds it, read under the lock of its entries.

    `SqlLedger.revoke_license` takes the same locks, so a check that reads
    these terms sees a revocation that committed before its locks were
    granted, and a revocation waits for a check that holds them.
    """

    number: str
    issued: str
    expires: str
    revoked_at: str | None

    def in_force(self, date: str) -> bool:
        """Not revoked, and ``date`` (ISO) from ``issued`` to ``expires`` (its last day)."""
        return self.revoked_at is None and self.issued <= date <= self.expires


class LicenseRegistry:
    """The registry's part of `SqlLedger`: its methods run in the ledger's transactions."""

    # What the ledger provides (`SqlLedger`).
    def _sql(self, sql: str) -> str:  # pragma: no cover - SqlLedger's
        raise NotImplementedError

    def _tx(self, read_only: bool = False  # pragma: no cover - SqlLedger's
            ) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _lock(self, cur: Any, keys: list[str], order_id: str) -> None:  # pragma: no cover
        raise NotImplementedError

    def _license_terms(self, cur: Any, keys: list[str]) -> dict[str, LicenseTerms]:
        """The terms of the licenses whose entries are among ``keys``; under their locks."""
        numbers = sorted({n for n in map(license_number, keys) if n is not None})
        if not numbers:
            return {}
        marks = ",".join("?" for _ in numbers)
        cur.execute(self._sql(f"SELECT number, issued, expires, revoked_at FROM eg_licenses "
                              f"WHERE number IN ({marks})"), tuple(numbers))
        return {r[0]: LicenseTerms(*r) for r in cur.fetchall()}


    _LICENSE_COLUMNS = ("number", "issued", "expires", "destinations", "consignees",
                        "end_users", "items", "conditions", "revoked_at", "added_at")

    def add_licenses(self, rows: list[dict[str, Any]]) -> list[str]:
        """Record licenses (one row each, list fields as JSON text), all or none.

        A number already in the registry stops the whole file with a
        `ConfigError` naming it; nothing is recorded. Returns the numbers.
        """
        numbers = [str(r["number"]) for r in rows]
        with self._tx() as cur:
            self._lock(cur, ["license-registry"], "")
            for start in range(0, len(numbers), 500):
                part = numbers[start:start + 500]
                marks = ",".join("?" for _ in part)
                cur.execute(self._sql(f"SELECT number FROM eg_licenses WHERE number IN ({marks}) "
                                      "ORDER BY number"), tuple(part))
                found = [r[0] for r in cur.fetchall()]
                if found:
                    at = numbers.index(found[0])
                    raise ConfigError(f"licenses.{at}.number: {found[0]} is already recorded "
                                      "(a license is recorded once; revoke it to stop its use)")
            stamp = now()
            cols = ", ".join(self._LICENSE_COLUMNS)
            marks = ", ".join("?" for _ in self._LICENSE_COLUMNS)
            for r in rows:
                cur.execute(self._sql(f"INSERT INTO eg_licenses ({cols}) VALUES ({marks})"),
                            tuple(stamp if c == "added_at" else r.get(c)
                                  for c in self._LICENSE_COLUMNS))
        return numbers

    def license_rows(self, number: str | None = None) -> list[dict[str, Any]]:
        """The registry's rows (one license, or all), by number; list fields as JSON text."""
        sql = f"SELECT {', '.join(self._LICENSE_COLUMNS)} FROM eg_licenses"
        args: tuple[Any, ...] = ()
        if number is not None:
            sql += " WHERE number = ?"
            args = (number,)
        with self._tx(read_only=True) as cur:
            cur.execute(self._sql(sql + " ORDER BY number"), args)
            return [dict(zip(self._LICENSE_COLUMNS, row, strict=True))
                    for row in cur.fetchall()]

    def licenses_for(self, dest: str, party_ids: Iterable[str], date: str
                     ) -> list[dict[str, Any]]:
        """The rows of the licenses that could apply: valid on ``date`` (ISO, ``expires``
        its last day), not revoked, naming ``dest`` and one of ``party_ids`` as consignee.

        A coarse narrowing only: which license covers which line is the policy's.
        """
        ids = set(party_ids)
        sql = (f"SELECT {', '.join(self._LICENSE_COLUMNS)} FROM eg_licenses "
               "WHERE revoked_at IS NULL AND issued <= ? AND expires >= ? ORDER BY number")
        with self._tx(read_only=True) as cur:
            cur.execute(self._sql(sql), (date, date))
            rows = [dict(zip(self._LICENSE_COLUMNS, row, strict=True))
                    for row in cur.fetchall()]
        return [r for r in rows if dest in json.loads(r["destinations"])
                and not ids.isdisjoint(json.loads(r["consignees"]))]

    def revoke_license(self, number: str) -> str:
        """Mark a license revoked from now on; returns the time. ConfigError if unknown
        or already revoked.

        Under the locks of the license's entry keys, which every check that
        may draw on them holds while it reads the license's terms and folds:
        a check whose locks are granted after the revocation commits draws
        nothing of the license, and the revocation waits for the checks that
        hold them (their draws were made while the license was in force).
        """
        rows = self.license_rows(number)
        if not rows:
            raise ConfigError(f"license {number}: not in the registry")
        entries = len(loads(rows[0]["items"]))  # recorded once, never changed
        keys = [f"{LICENSE_KEY_PREFIX}{number}:{i}" for i in range(entries)]
        with self._tx() as cur:
            self._lock(cur, ["license-registry", *keys], "")
            cur.execute(self._sql("SELECT revoked_at FROM eg_licenses WHERE number = ?"),
                        (number,))
            row = cur.fetchone()
            if row is None:
                raise ConfigError(f"license {number}: not in the registry")
            if row[0] is not None:
                raise ConfigError(f"license {number}: already revoked at {row[0]}")
            stamp = now()
            cur.execute(self._sql("UPDATE eg_licenses SET revoked_at = ? WHERE number = ?"),
                        (stamp, number))
        return stamp

    def license_reservations(self, number: str) -> list[dict[str, Any]]:
        """What orders hold of a license's entries (reserved or committed), by order."""
        prefix = f"{LICENSE_KEY_PREFIX}{number}:"
        with self._tx(read_only=True) as cur:
            cur.execute(self._sql(
                "SELECT order_id, line_id, quota, tpp, state FROM eg_reservations "
                "WHERE substr(quota, 1, ?) = ? AND state IN ('reserved', 'committed') "
                "ORDER BY order_id, seq"), (len(prefix), prefix))
            cols = ("order", "line", "quota", "units", "state")
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]
