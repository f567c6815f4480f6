"""Human-readable output: one table per order."""
from __future__ import annotations

from typing import Any, TextIO

from .ledger.base import QuotaState
from ._policy import license_number
from ._model import Decision, Order


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def decision_table(order: Order, decision: Decision, out: TextIO) -> None:
    """Print a decision as a table: line, item, quantity, class, outcome, reason."""
    head = (f"order {decision.order}  regime {decision.regime}  "
            f"outcome {decision.outcome.value.upper()}")
    out.write(head + "\n")
    if decision.error:
        out.write(f"  error: {decision.error}\n")
    if decision.parameters:
        out.write(f"  parameters overridden: {decision.parameters}\n")
    items = {line.id: line for line in order.lines}
    rows = [("line", "item", "qty", "class", "outcome", "reason")]
    for ld in decision.lines:
        line = items.get(ld.id)
        reason = ld.reasons[0] if ld.reasons else None
        code = reason.code if reason else ""
        numbers = [n for n in (license_number(c.quota) for c in ld.consumes) if n is not None]
        rows.append((ld.id, _cut(line.item if line else "?", 28),
                     str(line.quantity if line else ""), ld.item_class or "",
                     ld.outcome.value, " ".join([code, *numbers])))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for r in rows:
        out.write("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() + "\n")
    for ld in decision.lines:
        for reason in ld.reasons:
            out.write(f"    {ld.id}: {reason.message} [{reason.cite}]\n")
        for ob in ld.obligations:
            out.write(f"    {ld.id}: obligation: {ob.get('message', ob.get('code'))}\n")
        for c in ld.consumes:
            number = license_number(c.quota)
            if number is not None:  # a granted license's entry: counted in units
                out.write(f"    {ld.id}: consumes {c.tpp:,} units of license {number} entry "
                          f"{c.quota.rsplit(':', 1)[1]}"
                          + (f" (quantity {c.cap:,})" if c.cap is not None else "") + "\n")
                continue
            out.write(f"    {ld.id}: consumes {c.tpp:,} TPP of {c.quota}"
                      + (f" (cap {c.cap:,})" if c.cap is not None else "") + "\n")
    for x in decision.not_assessed:
        out.write(f"  not assessed: line {x.id}" + (f" ({x.item})" if x.item else "")
                  + f": {x.reason}\n")
    for note in decision.notes:
        out.write(f"  note: {note}\n")
    if decision.screening is not None and decision.screening.version is not None:
        published = decision.screening.published or "publication date not stated"
        out.write(f"  screened against list {decision.screening.version[:12]} "
                  f"({published})\n")
    out.write("\n")


def regimes_table(regimes: list[dict[str, Any]], out: TextIO) -> None:
    for r in regimes:
        to = r["effective_to"] or "open"
        out.write(f"{r['id']}  [{r['status']}]  in force {r['effective_from']} .. {to}\n")
        out.write(f"  {r['title']}\n  authority: {r['authority']}\n")
        if r.get("parameters"):
            out.write(f"  parameters overridden: {r['parameters']}\n")
        for s in r["sources"]:
            out.write(f"  source: {s['title']} <{s['url']}>\n")
        out.write("\n")


def ledger_table(states: list[QuotaState], out: TextIO) -> None:
    rows = [("quota", "cap", "reserved", "committed", "remaining")]
    for s in states:
        rows.append((s.quota, "-" if s.cap is None else f"{s.cap:,}", f"{s.reserved:,}",
                     f"{s.committed:,}", "-" if s.remaining is None else f"{s.remaining:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        out.write("  ".join(c.rjust(widths[i]) if i else c.ljust(widths[i])
                            for i, c in enumerate(r)) + "\n")


def licenses_table(rows: list[dict[str, Any]], out: TextIO) -> None:
    """``license list``: one row per entry of each license (its entries name different
    items or ECCNs, so their units are never added up): validity, parties, what the
    entry authorizes, its units, what remains, the license's state."""
    table: list[tuple[str, ...]] = [("license", "issued", "expires", "destinations",
                                     "consignees", "entry", "authorizes", "units",
                                     "remaining", "state")]
    for row in rows:
        for e in row["entries"]:
            table.append((row["number"], row["issued"], row["expires"],
                          ",".join(row["destinations"]), _cut(",".join(row["consignees"]), 30),
                          str(e["index"]), _cut(e.get("item") or f"ECCN {e.get('eccn')}", 30),
                          f"{e['quantity']:,}", f"{e['remaining']:,}", row["state"]))
    widths = [max(len(t[i]) for t in table) for i in range(len(table[0]))]
    for t in table:
        out.write("  ".join(c.ljust(widths[i]) for i, c in enumerate(t)).rstrip() + "\n")


def license_report(shown: dict[str, Any], out: TextIO) -> None:
    """``license show``: the license, each entry's use, each order's, the warnings."""
    lic = shown["license"]
    out.write(f"license {lic['number']}  issued {lic['issued']}  expires {lic['expires']}"
              + (f"  REVOKED {lic['revoked_at']}" if lic.get("revoked_at") else "") + "\n")
    out.write(f"  destinations: {', '.join(lic['destinations'])}\n")
    out.write(f"  consignees: {', '.join(lic['consignees'])}\n")
    if lic.get("end_users"):
        out.write(f"  end users: {', '.join(lic['end_users'])}\n")
    if lic.get("conditions"):
        out.write(f"  conditions: {lic['conditions']}\n")
    for e in shown["entries"]:
        what = e.get("item") or f"ECCN {e.get('eccn')}"
        out.write(f"  entry {e['index']}: {what}: {e['quantity']:,} units, "
                  f"{e['reserved']:,} reserved, {e['committed']:,} shipped, "
                  f"{e['remaining']:,} remain\n")
    for o in shown["orders"]:
        out.write(f"    order {o['order']} line {o['line']}: {o['units']:,} units of entry "
                  f"{o['entry']} ({'shipped' if o['state'] == 'committed' else o['state']})\n")
    for w in shown["warnings"]:
        out.write(f"  warning: {w}\n")
