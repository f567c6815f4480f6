"""Record adapters shipped with exportgate, one module per record format.

Each module is a pluggy plugin: it implements ``exportgate_register_adapters``
and registers one or more adapters, exactly as a third-party distribution
would through the ``exportgate`` entry-point group.
"""
from __future__ import annotations

from . import canonical

#: The adapter plugins registered by default, in registration order.
BUILTIN_ADAPTER_PLUGINS: tuple[object, ...] = (canonical,)

__all__ = ["BUILTIN_ADAPTER_PLUGINS"]
