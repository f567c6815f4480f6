"""The exception tree of exportgate.

    ExportgateError
    ├── InputError              the caller must fix something; nothing was decided
    │   ├── ValidationError     a record breaks the canonical order or a data schema
    │   ├── AdapterError        an ERP record could not be read as an order
    │   ├── ConfigError         a configuration or data file is wrong or missing
    │   ├── UnknownRegimeError  no regime has that id
    │   └── OrderClosedError    the order's quota is committed (shipped); it cannot be re-checked
    ├── EngineError             the policy engine could not answer: hold the line
    │   ├── EngineUnavailable   engine missing, sidecar down or timed out
    │   └── UndefinedResult     the policy answered nothing, or something malformed
    ├── LedgerError             the quota ledger could not answer: hold the line
    ├── AuditError              the decision log could not be written: nothing is reported
    └── PluginError             a plugin failed; carries the plugin's name

Input errors exit with status 2 and decide nothing. Engine and ledger errors
never surface as exceptions to a host checking an order: they become a
``license`` decision with an ``error`` (fail closed). An audit error exits
with its own status (5): a decision that cannot be recorded is not handed on.
"""
from __future__ import annotations


class ExportgateError(Exception):
    """Base of every error exportgate raises on purpose."""


class InputError(ExportgateError):
    """Something the caller gave is wrong; fixing it is the caller's job."""


class ValidationError(InputError):
    """A record breaks a schema. Names the record, the line and the field."""

    def __init__(self, message: str, *, record: str | None = None,
                 line: str | None = None, field: str | None = None) -> None:
        self.record = record
        self.line = line
        self.field = field
        self.detail = message
        where = []
        if record is not None:
            where.append(f"order {record}")
        if line is not None:
            where.append(f"line {line}")
        prefix = " ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class AdapterError(ValidationError):
    """An ERP record could not be turned into a canonical order."""

    def __init__(self, message: str, *, adapter: str | None = None, record: str | None = None,
                 line: str | None = None, field: str | None = None) -> None:
        self.adapter = adapter
        super().__init__(f"{message}" + (f" [{adapter}]" if adapter else ""),
                         record=record, line=line, field=field)


class ConfigError(InputError):
    """A configuration or data file is missing, unreadable or invalid."""


class UnknownRegimeError(InputError):
    """No registered regime has the requested id."""


class OrderClosedError(InputError):
    """The order's reservations were committed at shipment; it cannot be re-checked."""


class EngineError(ExportgateError):
    """The policy engine could not produce a decision."""


class EngineUnavailable(EngineError):
    """The engine is not installed, the sidecar is down, or it timed out."""


class UndefinedResult(EngineError):
    """The policy returned no result, or one that breaks the output contract."""


class LedgerError(ExportgateError):
    """The quota ledger could not be read or written."""


class AuditError(ExportgateError):
    """The decision log could not be written (or read to chain onto); names the file."""


class PluginError(ExportgateError):
    """A plugin raised or registered something invalid."""

    def __init__(self, plugin: str, message: str) -> None:
        self.plugin = plugin
        super().__init__(f"plugin {plugin!r}: {message}")
