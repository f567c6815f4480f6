"""What the SAP adapters share: partner functions, and outcomes as SAP block codes.

SAP's APIs and IDocs carry the *internal* partner-function keys: ``AG``
sold-to, ``WE`` ship-to, ``RE`` bill-to, ``RG`` payer. The English UI shows
the mnemonics SP / SH / BP / PY instead, a classic integration mistake, so an
unknown key is an error that says which internal key a mnemonic stands for.
SD has no standard end-user function; projects define one (``ZE`` by
default, ``adapters.<name>.end_user_partner_function``). Functions that do not
matter for export control (bill-to, payer, sales employee, contact) are
skipped; extend the list with ``ignore_functions``.
"""
from __future__ import annotations

from typing import Any, Mapping

from exportgate._model import LineDecision, Order, Outcome

from ._common import Fields, held, is_part

_MNEMONICS = {"SP": "AG", "SH": "WE", "BP": "RE", "PY": "RG"}

#: Reason codes by the trade-compliance dimension SAP keeps a status for.
_EMBARGO = frozenset({"EMBARGO"})
_SANCTIONED_LIST = frozenset({"RESTRICTED_PARTY"})


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
        hint = (f" ({code} is the English UI mnemonic of {_MNEMONICS[code]}; the interface "
                "carries the internal keys)" if code in _MNEMONICS else "")
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
        codes = {r.code for r in line.reasons}
        embargo, listed = bool(codes & _EMBARGO), bool(codes & _SANCTIONED_LIST)
        legal = bool(codes - _EMBARGO - _SANCTIONED_LIST) or not (embargo or listed)
        return {"embargo": self.not_ok if embargo else self.ok,
                "sanctioned_list": self.not_ok if listed else self.ok,
                "legal_control": self.not_ok if legal else self.ok}

    def worst(self, values: list[str]) -> str:
        return self.not_ok if self.not_ok in values else self.ok
