"""A generated order book: what a chip distributor's open orders look like, at any size.

Orders go to a mix of destinations (Tier 1, Tier 2, countries of concern, an
embargoed one), for consignees that come back again and again (so LPP,
low-volume and allocation quotas bite across orders), with datacenter
accelerators, consumer cards, adv-b parts, servers that contain accelerators,
HBM stacks and uncontrolled items, and now and then a restricted party or a
verified end user. Deterministic for a seed.

    python bench/orderbook.py --lines 1000000 > book.jsonl
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Iterator
from typing import Any, TextIO

# (catalog item, how often, quantity range). Items are named by their catalog
# id: the catalog classifies them, expands systems into their chips and
# converts units, as it does for real orders.
ITEMS: list[tuple[str, int, tuple[int, int]]] = [
    ("NVIDIA-H100-SXM5-80GB", 24, (1, 400)),
    ("NVIDIA-H200-SXM-141GB", 8, (1, 300)),
    ("NVIDIA-B200-180GB", 5, (1, 200)),
    ("AMD-MI300X-192GB", 5, (1, 200)),
    ("NVIDIA-H20-96GB", 4, (1, 500)),
    # Systems that contain accelerators: classified by their chips, TPP summed.
    ("NVIDIA-HGX-H100-8GPU", 4, (1, 40)),
    ("NVIDIA-HGX-B200-8GPU", 3, (1, 20)),
    ("NVIDIA-GB200-NVL72", 1, (1, 4)),
    ("AMD-MI300X-PLATFORM-8GPU", 2, (1, 20)),
    # High bandwidth memory stacks (3A090.c).
    ("HBM3E-12H-36GB", 4, (10, 5000)),
    ("HBM2E-8H-16GB", 2, (10, 5000)),
    ("NVIDIA-RTX-4090-24GB", 8, (1, 500)),
    ("NVIDIA-L40S-48GB", 6, (1, 300)),
    ("LAPTOP-EAR99", 12, (1, 200)),
]
_NAMES = [i for i, _, _ in ITEMS]
_WEIGHTS = [w for _, w, _ in ITEMS]
_RANGES = {i: r for i, _, r in ITEMS}
#: Items outside the catalog carry their classification on the line.
INLINE = {"LAPTOP-EAR99": {"eccn": "EAR99"}}
DESTINATIONS = ["US", "DE", "JP", "KR", "GB", "FR", "NL", "IN", "IN", "BR", "MY", "SG", "AE",
                "SA", "MX", "TR", "CN", "HK", "MO", "RU", "VN", "IR"]
DATES = ["2025-06-02", "2025-09-15", "2026-01-20", "2026-03-02", "2026-11-12"]


def consignee(rng: random.Random, dest: str) -> dict[str, Any]:
    """One of a few hundred consignees per country, some with attributes."""
    n = int(rng.paretovariate(1.2)) % 300
    party: dict[str, Any] = {"id": f"{dest}-C{n:03d}", "name": f"Consignee {n} {dest}",
                             "country": dest}
    roll = rng.random()
    if roll < 0.03:
        party["restrictions"] = [{"list": "entity-list",
                                  "policy": rng.choice(["denial", "case-by-case"])}]
    elif roll < 0.08:
        party["verified"] = rng.choice(["nveu", "uveu", "dc-veu"])
    elif roll < 0.12:
        party["parent_hq_country"] = rng.choice(["CN", "US", "IN"])
    elif roll < 0.20:
        party["certifications"] = ["AIA"]
    return party


def orders(lines: int, seed: int = 20260115) -> Iterator[dict[str, Any]]:
    """Orders whose lines add up to ``lines``: mostly small, some large."""
    rng = random.Random(seed)
    made = n = 0
    while made < lines:
        n += 1
        size = min(lines - made, rng.choice([1, 1, 2, 3, 4, 6, 10, 20, 60]))
        dest = rng.choice(DESTINATIONS)
        party = consignee(rng, dest)
        order_lines = []
        for k in range(size):
            item = rng.choices(_NAMES, _WEIGHTS)[0]
            low, high = _RANGES[item]
            line: dict[str, Any] = {"id": str(10 * (k + 1)), "item": item,
                                    "quantity": rng.randint(low, high)}
            if item in INLINE:
                line["classification"] = INLINE[item]
            order_lines.append(line)
        parties: dict[str, Any] = {"ship_to": party}
        if rng.random() < 0.03:  # a consignee partly owned by a listed parent (Affiliates rule)
            parties["end_user"] = {**party, "owners": [
                {"id": f"{dest}-P{n % 7}", "share": rng.choice([30, 50, 60]),
                 "restrictions": [{"list": "entity-list", "policy": "denial"}]}]}
        yield {"id": f"BK-{n:07d}", "date": rng.choice(DATES), "ship_from": "US",
               "transaction": "export", "parties": parties, "lines": order_lines}
        made += size


def write(lines: int, out: TextIO, seed: int = 20260115) -> int:
    """Write the book as JSON lines; returns the number of orders."""
    count = 0
    for order in orders(lines, seed):
        out.write(json.dumps(order, separators=(",", ":")) + "\n")
        count += 1
    return count


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20260115)
    args = ap.parse_args()
    write(args.lines, sys.stdout, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
