"""Built-in engines whose modules are costly to import, registered by name only.

The ``opa-http`` engine needs ``requests`` and ``urllib3`` (a tenth of a cold
start's CPU): it is registered here, and its module (`engines.http`) is
imported when a gate first makes it, so a check on another engine never
loads an HTTP stack (docs/performance.md, "Start-up").
"""
from __future__ import annotations

from collections.abc import Callable

from .base import Engine
from .._settings import Settings
from .._markers import hookimpl


def opa_http(settings: Settings) -> Engine:
    """The ``opa-http`` engine (`engines.http.OpaHttpEngine`), imported on first use."""
    from .http import OpaHttpEngine
    return OpaHttpEngine(settings)


@hookimpl
def exportgate_register_engines(register: Callable[[str, Callable[[Settings], Engine]], None]
                                ) -> None:
    register("opa-http", opa_http)
