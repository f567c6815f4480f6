"""pluggy's markers for exportgate's hooks: ``hookspec`` declares one, ``hookimpl`` implements one.

Apart from `hookspecs` (which names the types its hooks take, and so
imports the modules that define them), so that a module implementing a hook
imports only the marker. Plugin authors import both from `exportgate`,
`exportgate.hookspecs` or `exportgate.toolkit`: the same objects.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("exportgate")
hookimpl = pluggy.HookimplMarker("exportgate")
