"""exportgate: export-control license determination as code.

ERP order records go in; Rego regimes evaluated by OPA (or the embedded
rego-cpp engine) decide each line ``allow``, ``notify``, ``license`` or
``deny``; quotas deplete in a ledger shared across orders.
"""
from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version as _version

try:
    #: The installed distribution's version: what ``exportgate --version``, bug reports,
    #: impact reports and audits name. Read once, from the package metadata.
    __version__ = _version("exportgate")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

from ._adapter import Adapted, Adapter, Record
from .engines.base import Answer, Answering, Engine
from .engines.fake import FakeEngine
from ._enrich import Enrichment
from ._gate import Checked, Gate
from ._exceptions import (AdapterError, AuditError, ConfigError, EngineError, EngineUnavailable,
                          ExportgateError, InputError, LedgerError, OrderClosedError,
                          PluginError, UndefinedResult, UnknownRegimeError, ValidationError)
from ._model import (Classification, Consumption, Decision, Line, LineDecision, Order,
                     Outcome, Party, Reason, Restriction)
from ._regime import Regime
from ._settings import Settings
from .hookspecs import hookimpl

__all__ = [
    "Adapted", "Adapter", "AdapterError", "Answer", "Answering", "AuditError", "Checked",
    "Classification",
    "ConfigError", "Consumption", "Decision", "Engine", "EngineError", "EngineUnavailable",
    "Enrichment", "ExportgateError", "FakeEngine", "Gate", "InputError", "LedgerError", "Line",
    "LineDecision", "Order", "OrderClosedError", "Outcome", "Party", "PluginError", "Reason",
    "Record", "Regime", "Restriction", "Settings", "UndefinedResult", "UnknownRegimeError",
    "ValidationError", "__version__", "hookimpl",
]
