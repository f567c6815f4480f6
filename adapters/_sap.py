"""What the SAP adapters share: SAP's partner functions, and outcomes as SAP block codes.

Partner functions (table TPAR) are known from SAP's standard set,
`STANDARD_FUNCTIONS`, one table for the OData and the IDoc adapter alike:
both carry the *internal* keys (``AG`` sold-to, ``WE`` ship-to, ``RE``
bill-to, ``SP`` forwarding agent, ``LF`` vendor, ...). The export parties
among them are read (sold-to ``AG``, ship-to ``WE``); every other standard
function is known and skipped without configuration. SD has no standard
end-user function: projects define one (``ZE`` by default,
``adapters.<name>.end_user_partner_function``). Only the functions SAP does
not define (a project's own ``Z*`` / ``Y*``) must be listed to be skipped
(``ignore_functions``); an unknown one is an error, never a party silently
lost.

The English UI shows other keys for the same functions (the conversion of
TPAUM: SP, SH, BP, PY, ...). The English key of a function that is no export
party is known and skipped as well; the English key of an export party
(``SH``, the ship-to) is an error that names its internal key, because an
interface that sends English keys would otherwise have its ship-to skipped.
``SP`` is read as the internal key (the forwarding agent), never as the
English sold-to.
"""
from __future__ import annotations

from typing import Any, Mapping

from exportgate.toolkit import ERP_OPTIONS, Fields, LineDecision, Order, Outcome, blocks, is_part

#: The SAP delivery block reason of each outcome. ``allow`` clears the block
#: (``""``); every other outcome must name one, so nothing held ships unblocked.
DELIVERY_BLOCK: dict[str, Any] = {
    "allow": {"type": "string", "nullable": True, "required": True},
    **{outcome: {"type": "string", "empty": False, "required": True}
       for outcome in ("notify", "license", "deny")},
}

SAP_OPTIONS: dict[str, Any] = {
    **ERP_OPTIONS,
    "end_user_partner_function": {"type": "string", "nullable": True,
                                  "regex": "^[A-Z0-9]{1,2}$", "default": "ZE"},
    # The project's own partner functions to skip (SAP's standard ones are known).
    "ignore_functions": {"type": "list", "schema": {"type": "string"}, "default": []},
    # Item categories (PSTYV) that ship no goods: text, service items.
    "not_goods_item_categories": {"type": "list", "schema": {"type": "string"},
                                  "default": ["TATX", "TAD", "TADC"]},
    "delivery_block": {"type": "dict", "schema": DELIVERY_BLOCK,
                       "default": {"allow": "", "notify": "ZN", "license": "ZL",
                                   "deny": "ZD"}},
    "rejection_reason": {"type": "string", "nullable": True, "default": "ZD"},
    "status": {"type": "dict", "default": {"not_ok": "B", "ok": "C"}, "schema": {
        "not_ok": {"type": "string", "required": True},
        "ok": {"type": "string", "required": True}}},
}


#: SAP's standard partner functions: internal key (as APIs and IDocs carry it) ->
#: (the English UI key, what it is, the canonical role it is read as; ``None``: no
#: export party, skipped).
STANDARD_FUNCTIONS: dict[str, tuple[str | None, str, str | None]] = {
    "AG": ("SP", "sold-to party", "sold_to"),
    "WE": ("SH", "ship-to party", "ship_to"),
    "RE": ("BP", "bill-to party", None),
    "RG": ("PY", "payer", None),
    "AP": ("CP", "contact person", None),
    "VE": ("ES", "sales employee", None),
    "ZM": ("ER", "employee responsible", None),
    "SP": ("CR", "forwarding agent", None),
    "LF": ("VN", "vendor", None),
    "BA": ("OA", "ordering address", None),
    "RS": ("PI", "invoicing party", None),
    "WL": ("GS", "goods supplier", None),
    "LS": (None, "ship-from (the sender of an inbound IDoc)", None),
}

#: English UI key -> internal key. ``SP`` is not here: it is the internal key of the
#: forwarding agent, and an internal key is always read as one.
ENGLISH_KEYS: dict[str, str] = {
    english: internal for internal, (english, _, _) in STANDARD_FUNCTIONS.items()
    if english is not None and english not in STANDARD_FUNCTIONS}


class PartnerFunctions:
    """Partner function key to canonical role: SAP's standard table and the adapter's options."""

    def __init__(self, opts: Mapping[str, Any]) -> None:
        self.roles = {key: role for key, (_, _, role) in STANDARD_FUNCTIONS.items() if role}
        if opts.get("end_user_partner_function"):
            self.roles[opts["end_user_partner_function"]] = "end_user"
        self.ignored = set(opts.get("ignore_functions") or ()) - set(self.roles)

    def role(self, f: Fields, code: str, field: str, line: str | None = None) -> str | None:
        """The role of a partner function, ``None`` for one to skip; unknown keys are errors."""
        if code in self.roles:
            return self.roles[code]
        if code in STANDARD_FUNCTIONS or code in self.ignored:
            return None
        internal = ENGLISH_KEYS.get(code)
        if internal is not None and STANDARD_FUNCTIONS[internal][2] is None:
            return None  # the English key of a function that is no export party
        hint = (f" ({code} is the English UI key of {internal}, "
                f"{STANDARD_FUNCTIONS[internal][1].removesuffix(' party')}; the interface "
                "carries the internal keys)" if internal is not None
                else ": SAP defines no such function")
        own = ", ".join(sorted({*self.ignored, *(k for k in self.roles
                                                 if k not in STANDARD_FUNCTIONS)}))
        raise f.error(f"unknown partner function {code!r}{hint}; known: SAP's standard "
                      f"functions{' and ' + own if own else ''} (skip a project's own with "
                      f"adapters.{f.adapter}.ignore_functions)", field, line)


class BlockCodes:
    """Outcomes as SAP codes: delivery block reasons and trade-compliance statuses."""

    def __init__(self, opts: Mapping[str, Any]) -> None:
        self.delivery_block: dict[str, str | None] = dict(opts["delivery_block"])
        self.rejection_reason: str | None = opts.get("rejection_reason")
        self.ok: str = opts["status"]["ok"]
        self.not_ok: str = opts["status"]["not_ok"]

    @property
    def own(self) -> list[str]:
        """exportgate's own block codes: the host clears a block only when it is one of these."""
        return sorted({c for c in self.delivery_block.values() if c})

    def block(self, outcome: Outcome) -> str:
        """The delivery block reason for an outcome; ``""`` clears the block."""
        return self.delivery_block.get(outcome.value) or ""

    def header(self, order: Order, fields: dict[str, str]) -> dict[str, str]:
        """Header fields to write: all of them, or for one part of a split order only the blocks.

        A part sees only its own lines, so it may set a header block but never
        clear one that another part of the same SAP order needs.
        """
        if not is_part(order):
            return fields
        cleared = {"", self.ok}
        return {k: v for k, v in fields.items() if v not in cleared}

    def statuses(self, line: LineDecision) -> dict[str, str]:
        """A line's SAP trade-compliance statuses: embargo, sanctioned list, legal control."""
        if not blocks(line.outcome):
            return {"embargo": self.ok, "sanctioned_list": self.ok, "legal_control": self.ok}
        # Each row of the regime's data names its check (`check:` in data.yaml).
        checks = {r.check or "legal_control" for r in line.reasons}
        embargo, listed = "embargo" in checks, "sanctioned_list" in checks
        legal = "legal_control" in checks or not (embargo or listed)
        return {"embargo": self.not_ok if embargo else self.ok,
                "sanctioned_list": self.not_ok if listed else self.ok,
                "legal_control": self.not_ok if legal else self.ok}

    def worst(self, values: list[str]) -> str:
        return self.not_ok if self.not_ok in values else self.ok
