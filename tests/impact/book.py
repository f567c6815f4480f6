"""A generated order book for the impact report, and an independent count of it.

The count re-reads the rules from docs/regimes.md for the only lines the book
holds (datacenter H100s, no VEU, no country of concern), so the report's
numbers are checked against arithmetic that shares no code with it.
"""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

H100_TPP = 15832
LPP_CAP = 26_900_000
LOW_VOLUME_CAP = 7_916_000
ALLOC_CAP = 790_000_000
AE_DEAL_CAP = 500_000 * H100_TPP
TIER1 = {"DE", "JP", "GB", "FR"}
TIER2 = {"IN", "BR", "MY", "AE"}


def make_book(n_orders: int, seed: int = 15) -> list[dict[str, Any]]:
    """Orders of H100s for a dozen consignees in Tier 1 and Tier 2 destinations.

    Quantities are sized so that the LPP allowance (about 1,700 H100s per
    consignee and year) is reached by some consignees and the proposed 500
    by many.
    """
    rng = random.Random(seed)
    consignees = []
    names = [("IN", "Mumbai Compute"), ("IN", "Pune AI Labs"), ("BR", "Sao Paulo Cloud"),
             ("MY", "Johor Data Park"), ("AE", "Abu Dhabi AI Campus"), ("AE", "Dubai GPU Cloud"),
             ("DE", "Frankfurt Hosting"), ("JP", "Osaka Research DC"), ("GB", "London Compute"),
             ("FR", "Paris Saclay HPC"), ("IN", "Hyderabad Cloud"), ("BR", "Rio Data Center"),
             ("DE", "Munich AI Factory")]
    for n, (country, name) in enumerate(names):
        consignees.append({"id": f"K{n:02d}", "country": country, "name": name,
                           "certified": country in TIER1 and n % 2 == 0})
    orders = []
    for i in range(n_orders):
        c = rng.choice(consignees)
        year = "2026" if i >= n_orders * 0.8 else "2025"
        month = 1 + (i * 11 // n_orders) % 12 if year == "2025" else 1 + i % 3
        date = f"{year}-{max(month, 6) if year == '2025' else month:02d}-{1 + i % 28:02d}"
        end_user: dict[str, Any] = {"id": c["id"], "name": c["name"], "country": c["country"]}
        if c["certified"]:
            end_user["certifications"] = ["AIA"]
        lines = [{"id": str(10 * (k + 1)), "item": "H100",
                  "quantity": rng.choice([40, 120, 250, 380, 520, 700, 900])}
                 for k in range(rng.choice([1, 1, 1, 2, 3]))]
        orders.append({"id": f"SO-{5000 + i}", "date": date,
                       "parties": {"ship_to": {"id": f"{c['id']}-DC", "country": c["country"]},
                                   "end_user": end_user},
                       "lines": lines})
    return orders


@dataclass
class Side:
    """The expected decisions of one side: per line outcome, and the keys that ran out."""

    outcomes: list[list[str]] = field(default_factory=list)
    ran_out: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (order, lines)


def expect(orders: list[dict[str, Any]], regime: str, lpp_cap: int = LPP_CAP) -> Side:
    """What docs/regimes.md says each line gets, in book order, quotas depleting."""
    used: Counter[str] = Counter()
    side = Side()
    first: dict[str, str] = {}
    refused: Counter[str] = Counter()

    def take(key: str, cap: int, tpp: int, ladder_full: list[str]) -> bool:
        if used[key] + tpp <= cap:
            used[key] += tpp
            return True
        if used[key] > 0 and tpp <= cap:
            ladder_full.append(key)
        return False

    for o in orders:
        eu = o["parties"]["end_user"]
        dest, cid, year = eu["country"], eu["id"], o["date"][:4]
        row = []
        for line in o["lines"]:
            tpp = line["quantity"] * H100_TPP
            lost: list[str] = []
            if regime == "us-ai-diffusion-2025":
                if dest in TIER1:
                    outcome = "allow" if "AIA" in eu.get("certifications", []) else "notify"
                elif take(f"lpp:{cid}:{year}", lpp_cap, tpp, lost):
                    outcome = "notify"
                elif take(f"alloc:{dest}", ALLOC_CAP, tpp, lost):
                    outcome = "license"
                else:
                    outcome = "deny"
            else:
                if dest == "AE" and take(f"deal:AE:{year}", AE_DEAL_CAP, tpp, lost):
                    outcome = "allow"
                elif take(f"lowvol:{cid}:{year}", LOW_VOLUME_CAP, tpp, lost):
                    outcome = "notify"
                else:
                    outcome = "license"
            if outcome != "allow" and lost:
                key = lost[0]
                first.setdefault(key, o["id"])
                refused[key] += 1
            row.append(outcome)
        side.outcomes.append(row)
    side.ran_out = {k: (first[k], refused[k]) for k in first}
    return side


def count(orders: list[dict[str, Any]], before: Side, after: Side) -> dict[str, Any]:
    """The summary numbers, counted the plain way."""
    rank = {"allow": 0, "notify": 1, "license": 2, "deny": 3}
    out: dict[str, Any] = {"lines": Counter(), "orders": Counter(), "h100": Counter(),
                           "moves": Counter(), "move_orders": defaultdict(set),
                           "country_changed": Counter(), "consignee_changed": Counter(),
                           "country_after": defaultdict(Counter)}
    for i, o in enumerate(orders):
        country = o["parties"]["ship_to"]["country"]
        for side, outcomes in (("before", before.outcomes[i]), ("after", after.outcomes[i])):
            out["orders"][(side, max(outcomes, key=rank.__getitem__))] += 1
            for line, outcome in zip(o["lines"], outcomes, strict=True):
                out["lines"][(side, outcome)] += 1
                out["h100"][(side, outcome)] += line["quantity"]
        for a, b in zip(before.outcomes[i], after.outcomes[i], strict=True):
            out["country_after"][country][b] += 1
            if a != b:
                out["moves"][(a, b)] += 1
                out["move_orders"][(a, b)].add(o["id"])
                out["country_changed"][country] += 1
                out["consignee_changed"][o["parties"]["end_user"]["id"]] += 1
    return out
