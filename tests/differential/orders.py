"""Hypothesis strategies: random valid canonical orders and quota states.

The orders cover every country the regimes name (the library's groups, the
Tier 1 list, the agreements, HK which is treated as CN, MO which is not)
plus some no table names; item classes through the ECCN, the performance
(TPP and PD around every threshold) or both; datacenter flags; parties with
headquarters, parents, VEU status, certifications and restrictions; dates
across 2024-2028 with the rule boundaries (2025-05-15, 2026-01-15,
2026-02-03, year ends) drawn often; and up to six lines. Quota usage is drawn
per key the order touches, often right at a cap's edge.
"""
from __future__ import annotations

import datetime
from typing import Any

from hypothesis import strategies as st

from exportgate._regime import Regime


def _countries(regimes: list[Regime]) -> list[str]:
    found: set[str] = {"HK", "MO", "US", "BR", "MY", "IN", "AE", "SA", "MX", "ZA", "NG",
                       "TH", "ID", "PH", "CL", "UA"}
    for regime in regimes:
        tables = regime.data["exportgate"]["tables"]
        lib = tables["lib"]
        found |= set(lib["aliases"]) | set(lib["aliases"].values())
        for members in lib["groups"].values():
            found |= set(members)
        params = tables[regime.leaf]["params"]
        for key in ("tier1", "agreements"):
            found |= set(params.get(key) or {})
        cbc = params.get("case_by_case")
        if cbc:
            found |= set(cbc["destinations"])
    return sorted(found)


BOUNDARY_DATES = ["2024-01-01", "2025-01-15", "2025-05-14", "2025-05-15", "2025-12-31",
                  "2026-01-01", "2026-01-14", "2026-01-15", "2026-02-02", "2026-02-03",
                  "2026-12-31", "2027-01-01", "2027-12-31", "2028-02-29", "2028-12-31"]

ECCNS = ["3A090.a", "3A090.b", "4A090.a", "4A090.b", "3A090", "4A090", "3a090.a", "3A090.a.1",
         "3A001.z", "4A003.z", "5A992.z", "5A002.z.1", "3A090.c", "3A991", "EAR99", "5A992"]
TPPS = [0, 1, 1599, 1600, 2399, 2400, 4799, 4800, 4801, 15832, 20999, 21000, 39500]
PDS = [0.0, 1.59, 1.6, 3.19, 3.2, 5.91, 5.92, 19.45, 0.5]
DRAM = [0, 1399, 1400, 3350, 4800, 6499, 6500, 8000]


def dates() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(BOUNDARY_DATES),
        st.dates(datetime.date(2024, 1, 1), datetime.date(2028, 12, 31)).map(
            lambda d: d.isoformat()))


def classification() -> st.SearchStrategy[dict[str, Any]]:
    def build(eccn: Any, tpp: Any, pd: Any, dc: Any, dram: Any) -> dict[str, Any]:
        c = {"eccn": eccn, "tpp": tpp, "pd": pd, "datacenter": dc, "dram_bandwidth_gbps": dram}
        return {k: v for k, v in c.items() if v is not None}

    eccn = st.one_of(st.none(), st.sampled_from(ECCNS))
    tpp = st.one_of(st.none(), st.sampled_from(TPPS), st.integers(0, 40000))
    pd = st.one_of(st.none(), st.sampled_from(PDS),
                   st.floats(0, 30, allow_nan=False, allow_infinity=False).map(
                       lambda x: round(x, 2)))
    dc = st.sampled_from([None, True, False])
    dram = st.one_of(st.none(), st.sampled_from(DRAM))
    return st.builds(build, eccn, tpp, pd, dc, dram).filter(
        lambda c: "eccn" in c or "tpp" in c)


@st.composite
def party(draw: st.DrawFn, countries: list[str], ids: list[str],
          attributes: bool = True) -> dict[str, Any]:
    country = st.sampled_from(countries)
    p: dict[str, Any] = {"id": draw(st.sampled_from(ids)), "country": draw(country)}
    if draw(st.booleans()):
        p["name"] = "Party " + p["id"]
    if not attributes:
        return p
    if draw(st.booleans()):
        p["hq_country"] = draw(country)
    if draw(st.integers(0, 3)) == 0:
        p["parent_hq_country"] = draw(country)
    verified = draw(st.sampled_from([None, None, "uveu", "nveu", "dc-veu"]))
    if verified:
        p["verified"] = verified
    certs = draw(st.sampled_from([None, [], ["AIA"], ["AIA", "ISO27001"], ["ISO27001"],
                                  ["aia"]]))
    if certs is not None:
        p["certifications"] = certs
    restrictions = draw(st.sampled_from([
        None, None, None, [],
        [{"list": "entity-list", "policy": "denial"}],
        [{"list": "mil-end-user", "policy": "case-by-case"}],
        [{"list": "unverified", "policy": "case-by-case"},
         {"list": "entity-list", "policy": "denial"}],
    ]))
    if restrictions is not None:
        p["restrictions"] = restrictions
    return p


@st.composite
def orders(draw: st.DrawFn, countries: list[str]) -> dict[str, Any]:
    ids = ["C1", "C2", "C3", "dc-7", "acme.eu"]
    n_lines = draw(st.integers(1, 6))
    line_ids = draw(st.sampled_from([[str(10 * (i + 1)) for i in range(n_lines)],
                                     [f"L{i}" for i in range(n_lines, 0, -1)]]))
    lines = []
    for lid in line_ids:
        qty = draw(st.one_of(st.integers(1, 50), st.integers(1, 5000),
                             st.sampled_from([1, 100, 1699, 1700, 10000, 50000])))
        lines.append({"id": lid, "item": draw(st.sampled_from(["GPU-A", "GPU-B", "ACCEL",
                                                               "NIC", "SRV-8X"])),
                      "quantity": qty, "unit": "EA", "classification": draw(classification())})
    order: dict[str, Any] = {"id": f"GEN-{draw(st.integers(1, 10 ** 6))}", "date": draw(dates()),
                             "parties": {"ship_to": draw(party(countries, ids))},
                             "lines": lines}
    ship_from = draw(st.sampled_from([None, "US", "US", "DE", "CN", "HK", "SG"]))
    if ship_from:
        order["ship_from"] = ship_from
    transaction = draw(st.sampled_from([None, "export", "reexport", "transfer"]))
    if transaction:
        order["transaction"] = transaction
    if draw(st.booleans()):
        order["parties"]["end_user"] = draw(party(countries, ids))
    if draw(st.booleans()):
        order["parties"]["sold_to"] = draw(party(countries, ids, attributes=False))
    return order


def caps(regime: Regime) -> list[int]:
    """Every quota cap of a regime (TPP), for drawing usage right at the edge."""
    tables = regime.data["exportgate"]["tables"]
    h100 = tables["lib"]["units"]["h100_tpp"]
    params = tables[regime.leaf]["params"]
    out = set()
    for key, value in params.items():
        if key.endswith("_tpp") and isinstance(value, int):
            out.add(value)
    for step in params.get("nveu_cap_h100eq") or []:
        out.add(step["h100eq"] * h100)
    for agreement in (params.get("agreements") or {}).values():
        out.add(agreement["cap_h100eq"] * h100)
    return sorted(out)


def usage(regime: Regime) -> st.SearchStrategy[int]:
    edges = sorted({max(0, c - d) for c in caps(regime)
                    for d in (0, 1, 15832, 15832 * 10, 15832 * 100, 15832 * 1000)})
    return st.one_of(st.just(0), st.sampled_from(edges or [0]),
                     st.integers(0, 2 * max(caps(regime) or [10 ** 6])))


__all__ = ["caps", "dates", "orders", "usage", "_countries"]
