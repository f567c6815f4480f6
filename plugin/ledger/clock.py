"""The ledger's one clock: every timestamp it writes, in UTC, to the microsecond."""
from __future__ import annotations

import datetime as dt


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds")
