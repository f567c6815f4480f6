"""Which plugin's code is running: so a failure names its plugin, without reading the stack.

Every plugin is registered with pluggy as its `attributed` stand-in: each
hook implementation runs with its plugin's name set (`running`), and an
exception it lets out carries that name (`owner_of`). The innermost plugin
names the failure: a built-in hook that calls a plugin's adapter runs the
adapter's code under the adapter's owner (`run_as`), so an adapter's error
is its plugin's, not the dispatcher's. ``register`` calls made from a
plugin's registration hook learn who registers from `running`.
"""
from __future__ import annotations

import functools
import inspect
import types
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")

_RUNNING: ContextVar[str] = ContextVar("exportgate_plugin", default="?")
#: The attribute an exception carries its plugin's name in.
_OWNER = "_exportgate_plugin"


def running() -> str:
    """The name of the plugin whose code is running ("?" outside any)."""
    return _RUNNING.get()


def owner_of(exc: BaseException) -> str:
    """The plugin whose code let ``exc`` out ("?" when none did)."""
    return str(getattr(exc, _OWNER, "?"))


def run_as(name: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``function`` as plugin ``name``'s code (see the module)."""
    token = _RUNNING.set(name)
    try:
        return function(*args, **kwargs)
    except Exception as exc:
        if getattr(exc, _OWNER, None) is None:
            try:
                setattr(exc, _OWNER, name)
            except AttributeError:  # an exception type without a __dict__: stays "?"
                pass
        raise
    finally:
        _RUNNING.reset(token)


def attributed(plugin: object, name: str, project: str) -> object:
    """What pluggy registers for ``plugin``: its hook implementations, each run as ``name``.

    The stand-in holds, under the same attribute names, wrappers that keep
    the implementations' markers and signatures (pluggy reads both); the
    plugin's own object, and its state, are untouched.
    """
    stand_in = types.SimpleNamespace()
    for attr in dir(plugin):
        if attr.startswith("__"):
            continue
        try:
            method = getattr(plugin, attr)
        except Exception:  # a property that raises is no hook implementation
            continue
        if inspect.isroutine(method) and hasattr(method, f"{project}_impl"):
            setattr(stand_in, attr, _as(method, name))
    return stand_in


def _as(method: Callable[..., Any], name: str) -> Callable[..., Any]:
    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        return run_as(name, method, *args, **kwargs)
    return call
