"""The decision acts on the sale: checked at quotation and confirmation.

- ``deny``: the transition is refused with each denied line's reason and
  citation; the order's reservations in the ledger are released.
- ``license``: the sale may be quoted, but it is confirmed only once a
  license recorded in exportgate's registry covers every such line (the
  check then allows the line under it, row LICENSED, and the license's
  number is put on the line; the license depletes like a quota).
- ``notify``: the sale proceeds; each notify line gets a filing obligation a
  person marks done (`exportgate.filing`).
- ``allow``: the sale proceeds.

Quotas follow the sale: reserved at quotation (a re-quote replaces them),
committed when a shipment of the sale is done, released when the sale is
cancelled or reset to draft. An undecided check (engine, ledger or data
trouble) refuses the transition: nothing is quoted or confirmed on it.
"""
from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any, Iterable

from trytond.i18n import gettext
from trytond.model import ModelView, Workflow, fields
from trytond.pool import Pool, PoolMeta
from trytond.pyson import Eval

from exportgate import Decision, ExportgateError, LineDecision, Outcome, Reason

from . import _gate
from .exceptions import ExportCheckError, ExportDenied, ExportLicenseRequired

OUTCOMES = [
    (None, ""),
    ("allow", "Allow"),
    ("notify", "Notify"),
    ("license", "License"),
    ("deny", "Deny"),
]
QUOTA_STATES = [
    (None, ""),
    ("reserved", "Reserved"),
    ("committed", "Committed"),
    ("released", "Released"),
]
#: The quota key prefix of a recorded license's entries: ``license:<number>:<entry>``.
LICENSE_QUOTA = "license:"
_SALE_EXPORT_FIELDS = ("export_outcome", "export_regime", "export_decision_id",
                       "export_checked_at", "export_decision", "export_quota")
_LINE_EXPORT_FIELDS = ("export_outcome", "export_reasons", "export_license")


def reason_text(reason: Reason) -> str:
    return f"{reason.code} ({reason.cite}): {reason.message}"


def _line_text(line: Any, decided: LineDecision) -> str:
    reasons = "; ".join(reason_text(r) for r in decided.reasons) or "no reason given"
    name = _gate.line_name(line) if line is not None else f"line {decided.id}"
    return f"- {name}: {decided.outcome.value}: {reasons}"


def license_numbers(decided: LineDecision) -> list[str]:
    """The recorded licenses a line ships under (its ``license:<number>:<entry>`` quota)."""
    found = [c.quota.split(":")[1] for c in decided.consumes
             if c.quota.startswith(LICENSE_QUOTA) and c.quota.count(":") >= 2]
    return list(dict.fromkeys(found))


def _unlicensed_text(line: Any, decided: LineDecision, recorded: bool | None) -> str:
    """A line still ``license`` at confirmation, and what is wrong with its reference."""
    text = _line_text(line, decided)
    reference = getattr(line, "export_license", None)
    if not reference:
        return text
    if recorded:
        return (f"{text} (license {reference} is in the registry but does not cover the "
                "line: revoked or expired, another destination, consignee or item, or "
                "not enough left)")
    return f"{text} (license {reference} is not in the registry)"


def _obligation_text(obligation: dict[str, Any]) -> str:
    code = obligation.get("code") or "obligation"
    cite = obligation.get("cite")
    message = obligation.get("message") or ""
    return f"{code} ({cite}): {message}" if cite else f"{code}: {message}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _recorded(gate: Any, line: Any) -> bool | None:
    """Whether the license reference typed on ``line`` is in the registry (None: none typed)."""
    reference = getattr(line, "export_license", None)
    if not reference:
        return None
    return bool(gate.ledger.license_rows(reference))


class Sale(metaclass=PoolMeta):
    __name__ = "sale.sale"

    export_end_user = fields.Many2One(
        "party.party", "End User", ondelete="RESTRICT",
        states={"readonly": Eval("state") != "draft"},
        help="Who uses the goods: the consignee for export quotas "
        "(empty: the shipment party).")
    export_outcome = fields.Selection(OUTCOMES, "Export Outcome", readonly=True)
    export_regime = fields.Char("Export Regime", readonly=True)
    export_decision_id = fields.Char("Export Decision ID", readonly=True)
    export_checked_at = fields.Timestamp("Export Checked At", readonly=True)
    export_decision = fields.Text("Export Decision", readonly=True,
                                  help="The decision as exportgate returned it (JSON).")
    export_quota = fields.Selection(
        QUOTA_STATES, "Export Quota", readonly=True,
        help="The state of the sale's export quota in the ledger.")
    export_filings = fields.One2Many(
        "exportgate.filing", "sale", "Export Filings", readonly=True)

    @classmethod
    def copy(cls, sales: list[Any], default: dict[str, Any] | None = None) -> list[Any]:
        default = dict(default or {})
        for name in _SALE_EXPORT_FIELDS:
            default.setdefault(name, None)
        default.setdefault("export_filings", None)
        return super().copy(sales, default=default)

    # -- transitions -----------------------------------------------------

    @classmethod
    @ModelView.button
    @Workflow.transition("quotation")
    def quote(cls, sales: list[Any]) -> None:
        cls.export_check(sales, confirming=False)
        super().quote(sales)

    @classmethod
    @ModelView.button
    @Workflow.transition("confirmed")
    def confirm(cls, sales: list[Any]) -> None:
        cls.export_check(sales, confirming=True)
        super().confirm(sales)

    @classmethod
    @ModelView.button
    @Workflow.transition("draft")
    def draft(cls, sales: list[Any]) -> None:
        cls.export_release(sales)
        super().draft(sales)

    @classmethod
    @ModelView.button
    @Workflow.transition("cancelled")
    def cancel(cls, sales: list[Any]) -> None:
        cls.export_release(sales)
        super().cancel(sales)

    # -- exportgate ------------------------------------------------------

    @classmethod
    def export_check(cls, sales: Iterable[Any], confirming: bool) -> None:
        """Check each sale; refuse (raise) on deny, on a missing license, on no decision."""
        for sale in sales:
            try:
                gate = _gate.gate()
                order = _gate.sale_order(sale, gate)
                if order is None:
                    cls.write([sale], {"export_outcome": "allow", "export_regime": None,
                                       "export_decision_id": None, "export_decision": None,
                                       "export_checked_at": _now()})
                    continue
                decision = gate.check(order).decision
            except ExportgateError as exc:
                raise ExportCheckError(gettext(
                    "exportgate.msg_check_failed", sale=sale.rec_name, error=str(exc))) from exc
            if decision.error is not None:
                raise ExportCheckError(gettext(
                    "exportgate.msg_undecided", sale=sale.rec_name, error=decision.error))
            lines = {str(line.id): line for line in sale.lines}
            if decision.outcome is Outcome.DENY:
                try:
                    gate.ledger.release(decision.order)
                except ExportgateError:
                    pass  # the sale is refused either way; a stale reservation only over-counts
                raise ExportDenied(gettext(
                    "exportgate.msg_denied", sale=sale.rec_name,
                    lines="\n".join(_line_text(lines.get(d.id), d) for d in decision.lines
                                    if d.outcome is Outcome.DENY)))
            cls.export_store(sale, decision)
            if not confirming:
                _gate.guard_quotation(decision.order)
            held = [d for d in decision.lines if d.outcome is Outcome.LICENSE]
            if confirming and held:
                try:
                    texts = [_unlicensed_text(lines.get(d.id), d, _recorded(gate, lines.get(d.id)))
                             for d in held]
                except ExportgateError as exc:
                    raise ExportCheckError(gettext(
                        "exportgate.msg_check_failed", sale=sale.rec_name,
                        error=str(exc))) from exc
                raise ExportLicenseRequired(gettext(
                    "exportgate.msg_license_required", sale=sale.rec_name,
                    lines="\n".join(texts)))

    @classmethod
    def export_store(cls, sale: Any, decision: Decision) -> None:
        """Write the decision on the sale and its lines; update its filing obligations."""
        pool = Pool()
        Line = pool.get("sale.line")
        Filing = pool.get("exportgate.filing")
        doc = decision.to_dict()
        decision_id = str(doc.get("decision_id") or uuid.uuid4())
        cls.write([sale], {
            "export_outcome": decision.outcome.value,
            "export_regime": decision.regime,
            "export_decision_id": decision_id,
            "export_checked_at": _now(),
            "export_decision": json.dumps(doc, indent=2, sort_keys=True),
            "export_quota": "reserved",
        })
        decided = {d.id: d for d in decision.lines}
        skipped = {str(x.get("id")): x.get("reason") for x in doc.get("not_assessed") or ()}
        for line in sale.lines:
            d = decided.get(str(line.id))
            values: dict[str, Any] = {"export_outcome": d.outcome.value if d else None}
            if d is not None:
                values["export_reasons"] = "\n".join(reason_text(r) for r in d.reasons)
                numbers = license_numbers(d)
                if numbers:  # the registry's licenses it ships under
                    values["export_license"] = ", ".join(numbers)
            else:
                reason = skipped.get(str(line.id), "not in the decision")
                values["export_reasons"] = f"not assessed: {reason}"
            Line.write([line], values)
        wanted: dict[int, tuple[str, str]] = {}
        for d in decision.lines:
            if d.outcome is Outcome.NOTIFY:
                codes = ", ".join(dict.fromkeys(r.code for r in d.reasons))
                text = "\n".join([*(reason_text(r) for r in d.reasons),
                                  *(_obligation_text(o) for o in d.obligations)])
                wanted[int(d.id)] = (codes, text)
        stale, kept = [], set()
        for filing in Filing.search([("sale", "=", sale.id)]):
            key = filing.line.id if filing.line else None
            if key in wanted and filing.codes == wanted[key][0] and key not in kept:
                kept.add(key)
            elif filing.state == "pending":
                stale.append(filing)
        Filing.delete(stale)
        Filing.create([{"sale": sale.id, "line": key, "codes": codes, "description": text}
                       for key, (codes, text) in wanted.items() if key not in kept])

    @classmethod
    def export_release(cls, sales: Iterable[Any]) -> None:
        """Free the quota of sales going back to draft or cancelled.

        Their pending filings go too (a new quotation records what it needs);
        filings marked done stay as the record of what was filed.
        """
        Filing = Pool().get("exportgate.filing")
        sales = list(sales)
        Filing.delete(Filing.search([("sale", "in", [s.id for s in sales]),
                                     ("state", "=", "pending")]))
        released = []
        for sale in sales:
            if sale.export_quota not in ("reserved", "committed"):
                continue
            try:
                _gate.settle(_gate.order_id(sale), "release")
            except ExportgateError as exc:
                raise ExportCheckError(gettext(
                    "exportgate.msg_ledger", action="release", sale=sale.rec_name,
                    error=str(exc))) from exc
            released.append(sale)
        if released:
            cls.write(released, {"export_quota": "released"})

    @classmethod
    def export_commit(cls, sales: Iterable[Any]) -> None:
        """A shipment of these sales is done: their reservations become commitments."""
        committed = []
        for sale in sales:
            if sale.export_quota != "reserved":
                continue
            try:
                _gate.settle(_gate.order_id(sale), "commit")
            except ExportgateError as exc:
                raise ExportCheckError(gettext(
                    "exportgate.msg_ledger", action="commit", sale=sale.rec_name,
                    error=str(exc))) from exc
            committed.append(sale)
        if committed:
            cls.write(committed, {"export_quota": "committed"})


class Line(metaclass=PoolMeta):
    __name__ = "sale.line"

    export_outcome = fields.Selection(OUTCOMES, "Export Outcome", readonly=True)
    export_reasons = fields.Text("Export Reasons", readonly=True)
    export_license = fields.Char(
        "Export License",
        states={
            "readonly": ~Eval("sale_state").in_(["draft", "quotation"]),
        },
        help="The recorded license(s) the line ships under, filled in by the check. "
        "A line whose export outcome is license is confirmed once a license in "
        "exportgate's registry covers it; a number typed here is looked up "
        "to say why it does not.")

    @classmethod
    def copy(cls, lines: list[Any], default: dict[str, Any] | None = None) -> list[Any]:
        default = dict(default or {})
        for name in _LINE_EXPORT_FIELDS:
            default.setdefault(name, None)
        return super().copy(lines, default=default)
