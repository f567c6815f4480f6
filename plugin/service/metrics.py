"""What ``GET /metrics`` reports (Prometheus text, one registry per application).

Decisions by outcome and regime, held decisions by cause (``engine``,
``ledger``, ``audit``, ``deadline``, ``shipped``, ``screening``), request latency by endpoint, the
time spent in the engine on its own, and how many checks each decision step
took at once (the decider's groups). With ``--workers N`` each worker
process keeps its own counts: scrape each replica, or run one worker per
replica.
"""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from .._decide import Checked
from ..screening.screener import SCREENING_REQUIRED
from .decider import DEADLINE_PASSED

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]

#: Latency buckets (seconds): a decision costs about a millisecond in process.
BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)

#: Group sizes: how many waiting checks one decision step took at once.
GROUP_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decisions = Counter("exportgate_decisions", "Orders decided, by outcome and regime",
                                 ["outcome", "regime"], registry=self.registry)
        self.held = Counter("exportgate_held_decisions",
                            "Orders held (license with an error), by cause", ["cause"],
                            registry=self.registry)
        self.latency = Histogram("exportgate_request_seconds", "Request latency, by endpoint",
                                 ["endpoint"], buckets=BUCKETS, registry=self.registry)
        self.engine = Counter("exportgate_engine_seconds",
                              "Time spent in the engine (seconds)", registry=self.registry)
        self.groups = Histogram("exportgate_decision_group_size",
                                "Checks decided together in one decision step",
                                buckets=GROUP_BUCKETS, registry=self.registry)

    def count(self, checked: Checked) -> None:
        """Count one decision (a dry run's too: it was decided, and nothing reserved)."""
        decision = checked.decision
        self.decisions.labels(decision.outcome.value, decision.regime).inc()
        if decision.error is not None:
            self.held.labels(cause_of(checked)).inc()

    def text(self) -> bytes:
        return generate_latest(self.registry)


def cause_of(checked: Checked) -> str:
    """Why an order was held: the audit log, its deadline, the ledger, screening, or the engine."""
    error = checked.decision.error or ""
    if checked.audit_error is not None:
        return "audit"
    if DEADLINE_PASSED in error:
        return "deadline"
    if "its quota was committed" in error:  # shipped: release it before re-checking
        return "shipped"
    if error.startswith("ledger") or "ledger " in error[:40]:
        return "ledger"
    if error.startswith(SCREENING_REQUIRED):
        return "screening"
    return "engine"
