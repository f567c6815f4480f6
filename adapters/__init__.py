"""Record adapters shipped with exportgate, one module per record format.

Each module is a pluggy plugin: it implements ``exportgate_register_adapters``
and registers one or more adapters, exactly as a third-party distribution
would through the ``exportgate`` entry-point group, with the public adapter
toolkit (``exportgate.toolkit``) alone. ``_sap`` holds what the SAP adapters
share; it registers nothing.
"""
from __future__ import annotations

from . import canonical, dynamics, netsuite, odoo, sap_idoc, sap_odata, tabular

#: The adapter plugins registered by default, in registration order.
BUILTIN_ADAPTER_PLUGINS: tuple[object, ...] = (
    canonical, sap_odata, sap_idoc, odoo, dynamics, netsuite, tabular)

__all__ = ["BUILTIN_ADAPTER_PLUGINS"]
