"""The errors the module raises to stop a sale transition (shown to the user)."""
from __future__ import annotations

from trytond.exceptions import UserError


class ExportCheckError(UserError):  # type: ignore[misc]
    """The sale could not be checked (bad data, engine or ledger trouble): fail closed."""


class ExportDenied(UserError):  # type: ignore[misc]
    """A line of the sale must not ship."""


class ExportLicenseRequired(UserError):  # type: ignore[misc]
    """A line needs a license and none is recorded on it."""
