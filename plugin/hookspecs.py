"""The hooks of exportgate, in the order they fire along an order's path.

Every built-in part (the canonical-JSON and ERP adapters, the engines, the
regimes, the item catalog, the party master) is a plugin that implements
these hooks, exactly as a third-party distribution ``exportgate-<name>``
would through the ``exportgate`` entry-point group. An implementation may
accept any subset of a hook's arguments (pluggy passes them by name), so
hooks can grow arguments without breaking plugins.

Startup (once per process, when the plugin manager is built):

1. :func:`exportgate_register_regimes`
2. :func:`exportgate_register_engines`
3. :func:`exportgate_register_adapters`

Per order:

4. :func:`exportgate_adapt_order` (raw record -> canonical orders)
5. :func:`exportgate_enrich_order` (classification, party attributes)
6. the engine evaluates the regime; the ledger reserves quota
7. :func:`exportgate_decision` (the host receives the decision)

Screening lists (``exportgate screening load FILE``, before any order is
screened against them):

- :func:`exportgate_screening_read` (a list file -> its entries)
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

# The markers, re-exported for plugin authors (`_markers` holds them).
from ._markers import hookimpl as hookimpl
from ._markers import hookspec as hookspec

if TYPE_CHECKING:
    from ._adapter import Adapted, Adapter, Record
    from .engines.base import EngineFactory
    from ._enrich import Enrichment
    from ._model import Decision, Order
    from ._regime import Regime
    from ._settings import Settings
    from .screening.lists import LoadedList



@hookspec
def exportgate_register_regimes(register: "Callable[[Regime], None]",
                                settings: "Settings") -> None:
    """Register the regimes a plugin ships.

    Fires once at startup, before any order is read.

    :param register: call ``register(regime)`` once per :class:`Regime`. The
        core validates the regime (metadata, data schema, Rego modules
        present) and raises :class:`PluginError` naming the plugin when the
        id is already taken or the regime is malformed.
    :param settings: the loaded configuration (parameter overrides are
        applied by the core after registration, not by the plugin).
    :returns: nothing; results are ignored. Every implementation is called.
    """


@hookspec
def exportgate_register_engines(register: "Callable[[str, EngineFactory], None]",
                                settings: "Settings") -> None:
    """Register policy engines by name.

    Fires once at startup.

    :param register: call ``register(name, factory)``; ``factory(settings)``
        returns an :class:`Engine` and is called only when the configuration
        selects that engine, so a missing optional dependency fails then,
        with a message that says how to install it. Duplicate names are a
        :class:`PluginError`.
    :param settings: the loaded configuration.
    :returns: nothing. Every implementation is called.
    """


@hookspec
def exportgate_register_adapters(register: "Callable[[Adapter], None]",
                                 settings: "Settings") -> None:
    """Register record adapters (ERP formats).

    Fires once at startup.

    :param register: call ``register(adapter)`` with an object that has a
        unique ``name``, ``claims(record) -> bool``,
        ``adapt(record) -> list[Order]`` and
        ``writeback(order, decision) -> dict``. Duplicate names are a
        :class:`PluginError`.
    :param settings: the loaded configuration; adapter options live under
        ``settings.adapter_options(name)``.
    :returns: nothing. Every implementation is called.
    """


@hookspec(firstresult=True)
def exportgate_adapt_order(record: "Record", adapter: str | None) -> "Adapted | None":
    """Turn one raw record into canonical orders.

    Fires once per record read by ``check`` or ``batch``, before validation.

    :param record: the raw record (its text, its parsed form when it is
        JSON, and where it came from).
    :param adapter: the adapter name forced with ``--adapter``, or ``None``
        to detect the adapter that claims the record.
    :returns: an :class:`Adapted` (the orders and the adapter that made
        them), or ``None`` to let the next implementation try. The first
        non-``None`` result wins (``firstresult``). The built-in
        implementation (``trylast``) dispatches to the registered adapters
        and raises :class:`AdapterError` naming the candidates when no
        adapter, or more than one, claims the record. An input error
        (:class:`AdapterError`, :class:`ValidationError`) refuses the record
        (exit 2); any other exception, here or in a registered adapter's
        methods, is a :class:`PluginError` naming the plugin and the hook, and
        nothing of the record is decided (exit 4).
    """


@hookspec
def exportgate_enrich_order(order: "Order") -> "Enrichment | None":
    """Contribute classification and party attributes the record lacks.

    Fires once per order, after structural validation and before the
    completeness check (every line must end up with a classification).

    :param order: the adapted order, as the record stated it.
    :returns: an :class:`Enrichment` (per line id a classification, per
        party role a set of attributes), or ``None``. Results combine field
        by field: what the order itself carries always wins, and among
        enrichers the first result in hook-call order wins (pluggy calls
        later-registered and ``tryfirst`` plugins first; the built-in item
        catalog and party master are ``trylast``). An exception other than an
        input error is a :class:`PluginError` naming the plugin and the hook;
        nothing of the order is decided (exit 4).
    """


@hookspec
def exportgate_decision(order: "Order", decision: "Decision",
                        writeback: "dict[str, Any] | None") -> None:
    """Tell the host about a decision that has been recorded.

    Fires once per decided order, after its quota is reserved and its audit
    record written, in input order. Also fires for fail-closed decisions
    (``decision.error`` set).

    :param order: the enriched canonical order.
    :param decision: the decision, as printed.
    :param writeback: what the order's adapter says the ERP should write
        back (block fields, statuses), or ``None`` for canonical input.
    :returns: nothing. Every implementation is called; an exception is
        reported as a :class:`PluginError` naming the plugin, never undoes
        the recorded decision, and makes the command exit non-zero.
    """


@hookspec(firstresult=True)
def exportgate_screening_read(path: "Path") -> "LoadedList | None":
    """Read a screening list file that is not the Consolidated Screening List.

    Fires once per ``exportgate screening load FILE``, before the built-in
    readers of the CSL's CSV and JSON downloads, so a plugin can load an
    OpenSanctions (FollowTheMoney) export or a company's own denied-party list.

    :param path: the file to load.
    :returns: a :class:`LoadedList` (``LoadedList.of(path, data, entries)``:
        the entries, each an :class:`Entry` with a list code its regimes know,
        and the version the file's bytes name), or ``None`` when the file is
        not the plugin's. The first non-``None`` result wins (``firstresult``).
        The entries are checked as the CSL's are (an id used once, a name, a
        source and a list code each); a file the plugin cannot read whole is a
        :class:`ScreeningListError` (an input error, exit 2, nothing loaded).
        Any other exception is a :class:`PluginError` naming the plugin and the
        hook, and nothing is loaded.
    """
