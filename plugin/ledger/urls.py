"""The ledger a URL names: ``sqlite:///PATH`` or ``postgresql://...``.

Apart from `_ledger` (the logic every backend shares) so that the backends
import the logic and this module imports the backends, with no loop.
"""
from __future__ import annotations

from .._exceptions import ConfigError
from .._schemas import LEDGER_TIMEOUT
from .base import SqlLedger
from .sqlite import SqliteLedger
from .._redact import redact_url


def open_ledger(url: str, timeout: float = LEDGER_TIMEOUT) -> SqlLedger:
    """Open (and migrate) the ledger a URL names."""
    if url.startswith("sqlite:"):
        ledger: SqlLedger = SqliteLedger(url, timeout)
    elif url.startswith(("postgresql:", "postgres:")):
        try:
            from .postgres import PostgresLedger
        except ImportError as exc:
            raise ConfigError(f"ledger {redact_url(url)}: the PostgreSQL ledger needs psycopg 3 "
                              f"(pip install 'psycopg[binary]'): {exc}") from None
        ledger = PostgresLedger(url, timeout)
    else:
        raise ConfigError(f"ledger {redact_url(url)!r}: use sqlite:///PATH or "
                          "postgresql://...")
    ledger.init()
    return ledger
