"""The plugin manager, behind one typed facade.

`Plugins` builds the pluggy manager, registers the built-ins exactly as
third-party plugins are registered, loads the ``exportgate`` entry-point
group, and owns the registries of regimes, engines and adapters: it rejects
duplicate names and wraps every plugin failure in a `PluginError` that names
the plugin. The rest of the core calls hooks only through this class, and
every hook call goes through one method, `Plugins._call`, so a plugin that
raises is handled the same way whatever the hook:

- a startup hook (``exportgate_register_*``), ``exportgate_adapt_order`` or
  ``exportgate_enrich_order`` that raises anything but an input error
  (`InputError`: the record is wrong, exit 2) raises `PluginError` naming
  the plugin and the hook; nothing of that record is decided (exit 4);
- ``exportgate_screening_read`` likewise: a plugin's input error (a list file
  it cannot read whole) refuses the file; anything else is a `PluginError`;
- ``exportgate_decision`` failures are returned, never raised: the decision
  stands and was recorded (exit 4);
- an engine factory a plugin registered that raises holds the order
  (`EngineUnavailable` naming the engine and the plugin, exit 3).

The plugin named is the innermost one whose code the exception passed
through: a hook implementation, or the methods of an adapter a plugin
registered (the built-in dispatch calls them inside
``exportgate_adapt_order``).

Operator switches:

- ``EXPORTGATE_LOAD_PLUGINS``: comma-separated allow-list of entry-point
  plugins to load (empty: load none); unset loads all.
- ``EXPORTGATE_BLOCK_PLUGINS``: comma-separated plugins not to load.
- ``EXPORTGATE_TRACE_PLUGINS=1``: trace every hook call on stderr.
"""
from __future__ import annotations

import os
import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable

import pluggy

from . import _catalog, _parties, _regime, hookspecs

from .engines import lazy as _engine_http

from .engines import opa as _engine_opa

from .engines import embedded as _engine_regopy
from ._adapter import Adapted, Adapter, AdapterDispatch, Record, adapter_claims
from ._attribution import attributed, owner_of, running
from .engines.base import Engine, EngineFactory
from ._enrich import Enrichment
from ._exceptions import (ConfigError, EngineUnavailable, ExportgateError, InputError,
                          PluginError, UnknownRegimeError)
from ._model import Decision, Order
from ._regime import Regime
from ._settings import Settings

if TYPE_CHECKING:
    from .screening.lists import LoadedList

GROUP = "exportgate"


def _adapter_plugins(settings: Settings) -> list[tuple[str, object]]:
    from exportgate.adapters import BUILTIN_ADAPTER_PLUGINS
    return [(f"exportgate.adapters.{getattr(p, '__name__', type(p).__name__).rsplit('.', 1)[-1]}",
             p) for p in BUILTIN_ADAPTER_PLUGINS]


#: The built-in plugins, registered exactly like third-party ones, in this
#: order: (stable public name, plugin or a factory of plugins from the settings).
DEFAULT_PLUGINS: tuple[tuple[str, Callable[[Settings], Any]], ...] = (
    ("exportgate.regimes", lambda settings: _regime.BuiltinRegimes()),
    ("exportgate.engines.embedded", lambda settings: _engine_regopy),
    ("exportgate.engines.opa", lambda settings: _engine_opa),
    ("exportgate.engines.opa-http", lambda settings: _engine_http),
    ("exportgate.catalog", lambda settings: _catalog.item_catalog(settings.catalogs)),
    ("exportgate.parties", lambda settings: _parties.party_master(settings.parties)),
)


def _builtin_plugins(settings: Settings) -> list[tuple[str, object]]:
    """The default plugins and the built-in adapters, as (name, plugin)."""
    return [(name, make(settings)) for name, make in DEFAULT_PLUGINS] + \
        _adapter_plugins(settings)


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name)
    if raw is None:
        return None
    return [x.strip() for x in raw.split(",") if x.strip()]


class Plugins:
    """The typed facade over pluggy: one method per hook, plus the registries."""

    def __init__(self, settings: Settings | None = None, *,
                 extra: Iterable[object] = (), entry_points: bool = True) -> None:
        self.settings = settings or Settings()
        self.pm = pluggy.PluginManager(GROUP)
        self.pm.add_hookspecs(hookspecs)
        self.regimes: dict[str, Regime] = {}
        self.engines: dict[str, EngineFactory] = {}
        self.adapters: dict[str, Adapter] = {}
        self._engine_cache: dict[str, Engine] = {}
        self._owners: dict[tuple[str, str], str] = {}
        self._taken: set[tuple[str, str]] = set()
        for name, plugin in _builtin_plugins(self.settings):
            self._register(plugin, name)
        self._register(AdapterDispatch(self.adapters, self._adapter_owner),
                       "exportgate.adapter-dispatch")
        if entry_points:
            self._load_entry_points()
        for plugin in extra:
            self._register(plugin, getattr(plugin, "__name__", None) or repr(plugin))
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            name = self.pm.get_name(exc.plugin) or repr(exc.plugin)
            raise PluginError(name, str(exc)) from None
        if os.environ.get("EXPORTGATE_TRACE_PLUGINS"):
            self.pm.trace.root.setwriter(sys.stderr.write)
            self.pm.enable_tracing()
        self._collect()

    # -- loading -------------------------------------------------------

    def _register(self, plugin: object, name: str) -> None:
        """Register ``plugin`` as ``name``: its hooks run as its code (`_attribution`)."""
        try:
            self.pm.register(attributed(plugin, name, GROUP), name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(name, str(exc)) from None

    def _adapter_owner(self, adapter_name: str) -> str:
        """The plugin that registered an adapter (its code runs as that plugin's)."""
        return self._owners.get(("adapter", adapter_name), "?")

    def _load_entry_points(self) -> None:
        allow = _env_list("EXPORTGATE_LOAD_PLUGINS")
        if allow is None:
            allow = self.settings.plugins.get("load")
        block = set(_env_list("EXPORTGATE_BLOCK_PLUGINS") or []) | set(
            self.settings.plugins.get("block") or [])
        for ep in metadata.entry_points(group=GROUP):
            if ep.name in block or (allow is not None and ep.name not in allow):
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                raise PluginError(ep.name, f"cannot be loaded: {exc}") from None
            self._register(plugin, ep.name)

    def _implementers(self, hook_name: str) -> str:
        """The plugins that implement a hook (to name them when its result is wrong)."""
        hook = getattr(self.pm.hook, hook_name)
        return ", ".join(sorted({impl.plugin_name for impl in hook.get_hookimpls()}))

    def _call(self, hook_name: str, passthrough: tuple[type[Exception], ...] = (),
              **kwargs: Any) -> Any:
        """Call a hook through pluggy (order, wrappers, tracing); failures name the plugin.

        The one way the core calls a hook. Exceptions of the ``passthrough``
        kinds (a record's input errors) propagate as they are; any other
        becomes a `PluginError` naming the plugin and the hook.
        """
        stop: tuple[type[Exception], ...] = (PluginError, *passthrough)
        try:
            return getattr(self.pm.hook, hook_name)(**kwargs)
        except stop:
            raise
        except Exception as exc:
            name = owner_of(exc)
            detail = str(exc) if isinstance(exc, ExportgateError) else \
                f"{type(exc).__name__}: {exc}"
            raise PluginError(name, f"{hook_name}: {detail}") from exc

    def _collect(self) -> None:
        """Run the register hooks; what a plugin registers is checked, errors name it."""
        for hook_name, add in (("exportgate_register_regimes", self._add_regime),
                               ("exportgate_register_engines", self._add_engine),
                               ("exportgate_register_adapters", self._add_adapter)):
            def register(*args: Any, add: Callable[..., None] = add) -> None:
                plugin = running()  # the plugin whose registration hook calls
                try:
                    add(*args, owner=plugin)
                except ExportgateError as exc:
                    raise PluginError(plugin, str(exc)) from None

            self._call(hook_name, register=register, settings=self.settings)
        for folder in self.settings.regime_folders:
            self._add_configured_regime(folder)
        for regime_id, overrides in self.settings.parameters.items():
            if regime_id not in self.regimes:
                raise UnknownRegimeError(f"parameters.{regime_id}: no regime has this id; "
                                         f"known: {', '.join(sorted(self.regimes))}")
            self.regimes[regime_id] = self.regimes[regime_id].with_parameters(overrides)
        for entry in self.settings.calendar:
            if entry["regime"] not in self.regimes:
                raise UnknownRegimeError(f"calendar: regime {entry['regime']!r}: no regime has "
                                         f"this id; known: {', '.join(sorted(self.regimes))}")

    def _claim(self, kind: str, name: str, owner: str) -> None:
        """Record who registered a name; a second registration names both plugins."""
        first = self._owners.setdefault((kind, name), owner)
        if first != owner or (kind, name) in self._taken:
            raise ExportgateError(f"{kind} {name!r} is already registered (by plugin {first!r})")
        self._taken.add((kind, name))

    def _add_regime(self, regime: Regime, owner: str = "?") -> None:
        if not isinstance(regime, Regime):
            raise ExportgateError(f"registered a {type(regime).__name__}, not a Regime")
        self._claim("regime", regime.id, owner)
        self._claim("regime package", regime.package, owner)
        self.regimes[regime.id] = regime

    def _add_configured_regime(self, folder: Path) -> None:
        """Register the regime of a ``regime_folders:`` folder, after every plugin's.

        Registered as a plugin's regime is; an id or a package already taken
        is the configuration's error (ConfigError, exit 2) naming the folder.
        """
        regime = _regime.load_configured(folder)
        try:
            self._add_regime(regime, owner=f"regime_folders: {folder}")
        except ExportgateError as exc:
            raise ConfigError(f"regime_folders: {folder}: {exc}") from None

    def _add_engine(self, name: str, factory: EngineFactory, owner: str = "?") -> None:
        if not callable(factory):
            raise ExportgateError(f"engine {name!r}: the factory is not callable")
        self._claim("engine", name, owner)
        self.engines[name] = factory

    def _add_adapter(self, adapter: Adapter, owner: str = "?") -> None:
        for attr in ("name", "claims", "adapt", "writeback"):
            if not hasattr(adapter, attr):
                raise ExportgateError(f"adapter {adapter!r} has no {attr!r}")
        self._claim("adapter", adapter.name, owner)
        self.adapters[adapter.name] = adapter

    # -- registries ----------------------------------------------------

    def regime(self, regime_id: str) -> Regime:
        try:
            return self.regimes[regime_id]
        except KeyError:
            raise UnknownRegimeError(f"unknown regime {regime_id!r}; known: "
                                     f"{', '.join(sorted(self.regimes))}") from None

    def engine(self, name: str | None = None) -> Engine:
        """The engine ``name`` (default: the configuration's), made once.

        A factory that raises something other than an exportgate error (a
        configuration error, an engine that is not installed) cannot give an
        engine: `EngineUnavailable` naming the engine and its plugin, so the
        order is held.
        """
        name = name or self.settings.engine_name
        if name not in self._engine_cache:
            factory = self.engines.get(name)
            if factory is None:
                raise ConfigError(f"engine.name: unknown engine {name!r}; known: "
                                  f"{', '.join(sorted(self.engines))}")
            try:
                self._engine_cache[name] = factory(self.settings)
            except ExportgateError:
                raise
            except Exception as exc:
                owner = self._owners.get(("engine", name), "?")
                raise EngineUnavailable(f"engine {name!r} (plugin {owner!r}) could not start: "
                                        f"{type(exc).__name__}: {exc}") from exc
        return self._engine_cache[name]

    def close(self) -> None:
        for engine in self._engine_cache.values():
            engine.close()
        self._engine_cache.clear()

    def claimants(self, record: Record) -> list[str]:
        """The names of the registered adapters that claim a record."""
        return sorted(name for name, adapter in self.adapters.items()
                      if adapter_claims(adapter, record))

    # -- per-order hooks -----------------------------------------------

    def adapt(self, record: Record, adapter: str | None = None) -> Adapted:
        """The orders of a record: the first plugin that adapts it (input errors pass)."""
        result = self._call("exportgate_adapt_order", passthrough=(InputError,),
                            record=record, adapter=adapter)
        if not isinstance(result, Adapted):
            raise PluginError(self._implementers("exportgate_adapt_order"),
                f"exportgate_adapt_order returned a {type(result).__name__}, not Adapted")
        return result

    def enrich(self, order: Order) -> list[Enrichment]:
        """Every enricher's contribution, in pluggy's call order (the first wins a field)."""
        results: list[Enrichment] = self._call("exportgate_enrich_order",
                                               passthrough=(InputError,), order=order)
        for result in results:
            if not isinstance(result, Enrichment):
                raise PluginError(self._implementers("exportgate_enrich_order"),
                    f"exportgate_enrich_order returned a {type(result).__name__}, "
                    "not an Enrichment")
        return results

    def screening_read(self, path: Path) -> "LoadedList | None":
        """The entries of a screening list file a plugin reads, or None (input errors pass)."""
        from .screening.lists import LoadedList
        result = self._call("exportgate_screening_read", passthrough=(InputError,), path=path)
        if result is not None and not isinstance(result, LoadedList):
            raise PluginError(self._implementers("exportgate_screening_read"),
                f"exportgate_screening_read returned a {type(result).__name__}, "
                "not a LoadedList")
        return result

    def decided(self, order: Order, decision: Decision,
                writeback: dict[str, Any] | None) -> list[PluginError]:
        """Tell the host callbacks; a failure is returned (never raised) naming the plugin.

        As with any pluggy hook, a callback that raises stops the callbacks
        after it (in call order) for this order.
        """
        try:
            self._call("exportgate_decision", order=order, decision=decision,
                       writeback=writeback)
        except PluginError as exc:
            return [exc]
        return []
