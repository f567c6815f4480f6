"""The quota effects of a side: each key's cap and use, and where it turned lines away.

`turned_away` says what a key did no stronger than it was; the terminal and
the HTML report both use it.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ._impact_book import OrderBook
from ._impact_run import Refusal, SideRun

#: From this share of its cap used (in %), a key that turned a line away is said to run out.
RUNS_OUT_SHARE = 99.5


def quota_use(run: SideRun, book: OrderBook) -> list[dict[str, Any]]:
    """Per quota key: cap, use (shipped and screened), and where it ran out (`refusals`)."""
    used: Counter[str] = Counter()
    committed: Counter[str] = Counter()
    cap: dict[str, int | None] = {}
    orders: dict[str, set[int]] = defaultdict(set)
    for consumes in book.committed.values():
        for _, c in consumes:
            committed[c.quota] += c.tpp
            used[c.quota] += c.tpp
            if c.cap is not None:
                cap[c.quota] = c.cap
    for i, result in enumerate(run.results):
        for line in result.lines:
            for c in line.consumes:
                used[c.quota] += c.tpp
                orders[c.quota].add(i)
                if c.cap is not None:
                    cap[c.quota] = c.cap
    refused: dict[str, list[Refusal]] = defaultdict(list)
    for r in run.refusals:
        refused[r.quota].append(r)
    out = []
    for k in sorted(set(used) | set(refused)):
        c_k = cap.get(k)
        hits = refused.get(k, [])
        entry: dict[str, Any] = {
            "quota": k, "cap": c_k, "used": used[k], "committed": committed[k],
            "screened": used[k] - committed[k], "orders": len(orders[k]),
            "remaining": None if c_k is None else c_k - used[k],
            "share": None if not c_k else round(used[k] / c_k, 4),
            "ran_out": None,
        }
        if hits:
            entry["ran_out"] = {"order": hits[0].order_id, "line": hits[0].line,
                                "refused_lines": len(hits),
                                "refused_orders": len({h.order for h in hits}),
                                "refused_tpp": sum(h.tpp for h in hits)}
        out.append(entry)
    return out


def turned_away(share: float | None, order: str, line: str | None = None) -> str:
    """What a quota key that turned lines away did, said no stronger than it was.

    "runs out at order X" only when the key ends used up (`RUNS_OUT_SHARE`);
    a key with room left, too little for the line, "turns order X away" and
    says how much of its cap was used.
    """
    at = f"order {order}" + (f" line {line}" if line else "")
    used = 100 * (share or 0)
    if used >= RUNS_OUT_SHARE:
        return f"runs out at {at}"
    return f"turns {at} away, {used:.0f}% of its cap used"
