"""Helpers shared by the tests: the conformance cases, order builders, the CLI."""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CONFORMANCE = ROOT / "tests" / "conformance" / "cases.jsonl"


def conformance_cases() -> list[dict[str, Any]]:
    """The conformance cases (tests/conformance/cases.jsonl)."""
    return [json.loads(line) for line in CONFORMANCE.read_text().splitlines() if line.strip()]


def record_licenses(gate: Any, case: dict[str, Any]) -> None:
    """Record a conformance case's granted licenses (docs/licenses.md) in a gate's ledger."""
    if case.get("licenses"):
        from exportgate.ledger import licenses as _licenses
        _licenses.add(gate.ledger, _licenses.parse({"licenses": case["licenses"]}, case["name"]))


def h100_order(order_id: str, dest: str, qty: int, date: str = "2025-06-02",
               end_user: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    """A canonical order of H100s (by catalog alias) to one destination."""
    parties: dict[str, Any] = {"ship_to": {"id": f"{dest.lower()}-1", "country": dest}}
    if end_user:
        parties["end_user"] = end_user
    return {"id": order_id, "date": date, "parties": parties,
            "lines": [{"id": "10", "item": "H100", "quantity": qty}], **fields}


def exportgate_cmd() -> list[str]:
    exe = Path(os.environ.get("VIRTUAL_ENV", ROOT / ".venv")) / "bin" / "exportgate"
    return [str(exe)] if exe.exists() else ["exportgate"]


def reserved(db: Path) -> list[Any]:
    """(order_id, quota, tpp) of every reservation in a SQLite ledger file; none when the
    file or its tables do not exist yet (nothing was ever reserved there)."""
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT order_id, quota, tpp FROM eg_reservations").fetchall()
        except sqlite3.OperationalError:
            return []
