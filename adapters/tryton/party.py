"""End-user attributes on parties: headquarters, VEU status, certifications, screening hits.

Unset attributes are taken from exportgate's party master (matched on the
party code) when the configuration names one.
"""
from __future__ import annotations

from trytond.model import ModelSQL, ModelView, fields
from trytond.pool import PoolMeta

VERIFIED = [
    (None, ""),
    ("uveu", "Universal VEU"),
    ("nveu", "National VEU"),
    ("dc-veu", "Data Center VEU"),
]
CERTIFICATIONS = [
    ("AIA", "AIA certification on file"),
]
POLICIES = [
    ("denial", "Denial"),
    ("case-by-case", "Case by case"),
]


class Party(metaclass=PoolMeta):
    __name__ = "party.party"

    export_hq_country = fields.Many2One(
        "country.country", "Headquarters Country", ondelete="RESTRICT",
        help="Where the party is headquartered (empty: the country of its address).")
    export_parent_hq_country = fields.Many2One(
        "country.country", "Parent Headquarters Country", ondelete="RESTRICT",
        help="Where the party's ultimate parent is headquartered "
        "(empty: the party's own headquarters).")
    export_verified = fields.Selection(
        VERIFIED, "Validated End User",
        help="The party's validated end-user (VEU) authorization, if any.")
    export_certifications = fields.MultiSelection(
        CERTIFICATIONS, "Export Certifications")
    export_restrictions = fields.One2Many(
        "exportgate.party.restriction", "party", "Screening Hits",
        help="Restricted-party lists the party is on, with their review policy.")


class Restriction(ModelSQL, ModelView):
    __name__ = "exportgate.party.restriction"

    party = fields.Many2One(
        "party.party", "Party", required=True, ondelete="CASCADE")
    screening_list = fields.Char(
        "List", required=True, help="The list the party is on, e.g. entity-list.")
    policy = fields.Selection(POLICIES, "Review Policy", required=True)

    def get_rec_name(self, name: str) -> str:
        return f"{self.screening_list} ({self.policy})"
