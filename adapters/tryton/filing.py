"""Filing obligations of ``notify`` lines: something a person files and marks done."""
from __future__ import annotations

import datetime as dt
from typing import Any

from trytond.model import ModelSQL, ModelView, Workflow, fields
from trytond.pyson import Eval
from trytond.transaction import Transaction

STATES = [
    ("pending", "Pending"),
    ("done", "Done"),
]


class Filing(Workflow, ModelSQL, ModelView):
    __name__ = "exportgate.filing"

    sale = fields.Many2One(
        "sale.sale", "Sale", required=True, ondelete="CASCADE", readonly=True)
    line = fields.Many2One(
        "sale.line", "Sale Line", ondelete="CASCADE", readonly=True)
    codes = fields.Char("Codes", readonly=True, help="The reason codes that call for the filing.")
    description = fields.Text("Obligation", readonly=True)
    reference = fields.Char(
        "Filing Reference", states={"readonly": Eval("state") == "done"},
        help="The reference of the filing with the authority.")
    state = fields.Selection(STATES, "State", readonly=True, required=True, sort=False)
    done_by = fields.Many2One("res.user", "Done By", readonly=True)
    done_at = fields.Timestamp("Done At", readonly=True)

    @classmethod
    def __setup__(cls) -> None:
        super().__setup__()
        cls._order.insert(0, ("state", "DESC"))
        cls._transitions |= {("pending", "done"), ("done", "pending")}
        cls._buttons.update({
            "mark_done": {
                "invisible": Eval("state") != "pending",
                "depends": ["state"],
            },
            "reopen": {
                "invisible": Eval("state") != "done",
                "depends": ["state"],
            },
        })

    @classmethod
    def default_state(cls) -> str:
        return "pending"

    def get_rec_name(self, name: str) -> str:
        return f"{self.codes} ({self.sale.rec_name})"

    @classmethod
    @ModelView.button
    @Workflow.transition("done")
    def mark_done(cls, filings: list[Any]) -> None:
        now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
        cls.write(filings, {"done_by": Transaction().user, "done_at": now})

    @classmethod
    @ModelView.button
    @Workflow.transition("pending")
    def reopen(cls, filings: list[Any]) -> None:
        cls.write(filings, {"done_by": None, "done_at": None})
