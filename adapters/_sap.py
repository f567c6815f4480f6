"""What the SAP adapters share: partner functions, and outcomes as SAP block codes.

SAP's APIs and IDocs carry the *internal* partner-function keys (table
TPAR): ``AG`` sold-to, ``WE`` ship-to, ``RE`` bill-to, ``RG`` payer, ``VE``
sales employee, ``AP`` contact person, ``ZM`` employee responsible, ``SP``
forwarding agent, ``LF`` vendor. The English UI shows other keys (the
conversion of TPAUM): SP / SH / BP / PY / ES / CP / ER / CR / VN. Reading the
English keys is a classic integration mistake, so an unknown key is an error
that says which internal key it stands for. Note that ``SP`` is itself an
internal key (the forwarding agent): it is skipped like the other functions
that do not matter for export control, and an interface that sends English
keys is caught by its ``SH`` ship-to. SD has no standard end-user function;
projects define one (``ZE`` by default,
``adapters.<name>.end_user_partner_function``). Skipped by default: bill-to,
payer, sales employee, contact, employee responsible, forwarding agent,
vendor (``LF``) and the ship-from vendor (``LS``) that inbound IDocs carry;
set the list with ``ignore_functions``.
"""
from __future__ import annotations

from typing import Any, Mapping




from exportgate.toolkit import ERP_OPTIONS, Fields, LineDecision, Order, Outcome, held, is_part

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
    "ignore_functions": {"type": "list", "schema": {"type": "string"},
                         "default": ["RE", "RG", "VE", "AP", "ZM", "SP", "LF", "LS"]},
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


#: English (external) key -> internal key, for the error hint. SP is not here: it is
#: also the internal key of the forwarding agent.
_MNEMONICS = {"SH": "WE", "BP": "RE", "PY": "RG", "ES": "VE", "CP": "AP", "ER": "ZM",
              "CR": "SP", "VN": "LF"}
#: What each internal key is, for the hint.
_NAMES = {"AG": "sold-to", "WE": "ship-to", "RE": "bill-to", "RG": "payer",
          "VE": "sales employee", "AP": "contact person", "ZM": "employee responsible",
          "SP": "forwarding agent", "LF": "vendor"}



class PartnerFunctions:
    """Partner function key to canonical role, from the adapter's options."""

    def __init__(self, opts: Mapping[str, Any]) -> None:
        self.roles = {"AG": "sold_to", "WE": "ship_to"}
        if opts.get("end_user_partner_function"):
            self.roles[opts["end_user_partner_function"]] = "end_user"
        self.ignored = set(opts.get("ignore_functions") or ()) - set(self.roles)

    def role(self, f: Fields, code: str, field: str, line: str | None = None) -> str | None:
        """The role of a partner function, ``None`` for one to skip; unknown keys are errors."""
        if code in self.roles:
            return self.roles[code]
        if code in self.ignored:
            return None
        hint = (f" ({code} is the English UI key of {_MNEMONICS[code]}, "
                f"{_NAMES[_MNEMONICS[code]]}; the interface carries the internal keys)"
                if code in _MNEMONICS else "")
        known = ", ".join(sorted({*self.roles, *self.ignored}))
        raise f.error(f"unknown partner function {code!r}{hint}; known: {known} (skip it with "
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
        if not held(line.outcome):
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
