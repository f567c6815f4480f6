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

H100 = {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45, "datacenter": True,
        "dram_bandwidth_gbps": 3350}
ITEMS: list[tuple[str, dict[str, Any], tuple[int, int]]] = [
    ("NVIDIA-H100-SXM5-80GB", H100, (1, 400)),
    ("NVIDIA-H200-SXM-141GB", {**H100, "dram_bandwidth_gbps": 4800}, (1, 300)),
    ("NVIDIA-B200", {"eccn": "3A090.a", "tpp": 36000, "pd": 22.11, "datacenter": True,
                     "dram_bandwidth_gbps": 8000}, (1, 200)),
    ("AMD-MI300X", {"eccn": "3A090.a", "tpp": 20915, "pd": 28.6, "datacenter": True,
                    "dram_bandwidth_gbps": 5300}, (1, 200)),
    # A server with 8 accelerators: classified like its chips, its TPP theirs summed.
    ("NVIDIA-HGX-H100-8GPU", {"eccn": "4A090.a", "tpp": 8 * 15832, "pd": 19.45,
                              "datacenter": True, "dram_bandwidth_gbps": 3350}, (1, 40)),
    ("NVIDIA-RTX-4090", {"eccn": "3A090.a", "tpp": 5285, "datacenter": False}, (1, 500)),
    ("ADV-B-ACCEL", {"eccn": "3A090.b", "tpp": 3000, "pd": 2.0, "datacenter": True}, (1, 500)),
    ("HBM3E-STACK-24GB", {"eccn": "3A090.c"}, (10, 5000)),
    ("DELL-LATITUDE-7450", {"eccn": "EAR99"}, (1, 200)),
    ("QSFP-400G-OPTIC", {"eccn": "5A992.c"}, (1, 1000)),
]
WEIGHTS = [30, 10, 6, 6, 6, 8, 8, 6, 12, 8]
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
            item, classification, (low, high) = rng.choices(ITEMS, WEIGHTS)[0]
            order_lines.append({"id": str(10 * (k + 1)), "item": item,
                                "quantity": rng.randint(low, high), "unit": "EA",
                                "classification": classification})
        yield {"id": f"BK-{n:07d}", "date": rng.choice(DATES), "ship_from": "US",
               "transaction": "export", "parties": {"ship_to": party}, "lines": order_lines}
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
