"""The errors the module raises to stop a sale transition (shown to the user)."""
from __future__ import annotations

from trytond.exceptions import UserError


class ExportCheckError(UserError):
    """The sale could not be checked (bad data, engine or ledger trouble): fail closed."""


class ExportDenied(UserError):
    """A line of the sale must not ship."""


class ExportLicenseRequired(UserError):
    """A line needs a license and none is recorded on it."""
