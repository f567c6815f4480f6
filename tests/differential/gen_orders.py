"""Hypothesis strategies: random valid canonical orders and quota states.

The orders cover every country the regimes name (the library's groups, the
Tier 1 list, the agreements, HK which is treated as CN, MO which is not)
plus some no table names; item classes through the ECCN, the performance
(TPP and PD around every threshold) or both, memory bandwidth density
around the HBM thresholds, is-informed flags and systems that contain up to
three kinds of chips; datacenter flags; parties with headquarters, parents,
VEU status, certifications, restrictions and owners with shares around 50%;
dates across 2024-2028 with the rule boundaries (2025-04-09, 2025-05-15,
2025-09-29, 2025-11-10, 2026-01-15, 2026-02-03, 2026-11-10, year ends)
drawn often; and up to six lines. Quota usage is drawn
per key the order touches, often right at a cap's edge. Granted licenses
are drawn around each order (`licenses`), so the engines are compared on the
licensed ladder variants too.
"""
from __future__ import annotations

import datetime
from typing import Any

from exportgate._regime import Regime
from exportgate._schemas import MAX_UNITS
from hypothesis import strategies as st


def countries(regimes: list[Regime]) -> list[str]:
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


BOUNDARY_DATES = ["2024-01-01", "2025-01-15", "2025-04-08", "2025-04-09", "2025-05-14",
                  "2025-05-15", "2025-09-28", "2025-09-29", "2025-11-09", "2025-11-10",
                  "2026-11-09", "2026-11-10", "2025-12-31",
                  "2026-01-01", "2026-01-14", "2026-01-15", "2026-02-02", "2026-02-03",
                  "2026-12-31", "2027-01-01", "2027-12-31", "2028-02-29", "2028-12-31"]

ECCNS = ["3A090.a", "3A090.b", "4A090.a", "4A090.b", "3A090", "4A090", "3a090.a", "3A090.a.1",
         "3A001.z", "4A003.z", "5A992.z", "5A002.z.1", "3A090.c", "3A991", "EAR99", "5A992"]
TPPS = [0, 1, 1599, 1600, 2399, 2400, 4799, 4800, 4801, 15832, 20999, 21000, 39500,
        MAX_UNITS]
PDS = [0.0, 1.59, 1.6, 3.19, 3.2, 5.91, 5.92, 19.45, 0.5, 5.919999999999999,
       5.920000000000001, 1.5999999999, 1e-7]
DRAM = [0, 1399, 1400, 3350, 4800, 6499, 6500, 8000, 6499.9999999, 6500.0000001]
DENSITY = [0, 1.99, 2, 2.0000001, 2.78, 3.29, 3.3, 3.3000001, 10.2]


def dates() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(BOUNDARY_DATES),
        st.dates(datetime.date(2024, 1, 1), datetime.date(2028, 12, 31)).map(
            lambda d: d.isoformat()))


def unit_classification() -> st.SearchStrategy[dict[str, Any]]:
    def build(eccn: Any, tpp: Any, pd: Any, dc: Any, dram: Any, density: Any,
              informed: Any) -> dict[str, Any]:
        c = {"eccn": eccn, "tpp": tpp, "pd": pd, "datacenter": dc, "dram_bandwidth_gbps": dram,
             "memory_bandwidth_density": density, "is_informed": informed}
        return {k: v for k, v in c.items() if v is not None}

    eccn = st.one_of(st.none(), st.sampled_from(ECCNS))
    tpp = st.one_of(st.none(), st.sampled_from(TPPS), st.integers(0, 40000))
    pd = st.one_of(st.none(), st.sampled_from(PDS),
                   st.floats(0, 30, allow_nan=False, allow_infinity=False).map(
                       lambda x: round(x, 2)))
    dc = st.sampled_from([None, True, False])
    dram = st.one_of(st.none(), st.sampled_from(DRAM))
    density = st.one_of(st.none(), st.none(), st.sampled_from(DENSITY))
    informed = st.sampled_from([None] * 6 + [True, False])
    return st.builds(build, eccn, tpp, pd, dc, dram, density, informed).filter(
        lambda c: "eccn" in c or "tpp" in c)


def classification() -> st.SearchStrategy[dict[str, Any]]:
    """A unit's classification, or a system's: its own, plus the chips it contains."""
    unit = unit_classification()
    chip = st.builds(lambda c, item, n: {**c, "item": item, "count": n}, unit,
                     st.sampled_from(["H100", "H20", "HBM", "X{item}"]),
                     st.sampled_from([1, 2, 8, 72]))
    system = st.builds(lambda c, chips: {**c, "contains": chips}, unit,
                       st.lists(chip, min_size=1, max_size=3))
    return st.one_of(unit, unit, unit, system)


FOCUS = ["US", "CN", "HK", "MO", "AE", "SA", "IN", "KR", "DE", "TW", "CU", "IR", "RU", "VN",
         "MY", "BR", "KH", "IL"]
# Ids, item ids and list names as ERPs have them, and as they break engines:
# quotes, backslashes, tabs, non-ASCII, and text that looks like a placeholder.
PARTY_IDS = ["C1", "C2", "C3", "dc-7", "acme.eu", "Zürich-7", "{dest}", 'K"9', "a\\b"]
VERIFIED = st.sampled_from([None, None, None, "uveu", "nveu", "dc-veu"])
CERTIFICATIONS = st.sampled_from([None, [], ["AIA"], ["AIA"], ["AIA", "ISO27001"],
                                  ["ISO27001"], ["aia"], ["HBM"], ["AIA", "HBM"]])
# Owners for the Affiliates rule: shares that add up around 50%, some listed.
OWNER_LIST = [{"list": "entity-list", "policy": "denial"}]
OWNER_CBC = [{"list": "mil-end-user", "policy": "case-by-case"}]
OWNERS = st.sampled_from([None] * 8 + [
    [], [{"id": "O1", "share": 50, "restrictions": OWNER_LIST}],
    [{"id": "O1", "name": "Owner {owners}", "share": 49.9, "restrictions": OWNER_LIST}],
    [{"id": "O1", "share": 33.3, "restrictions": OWNER_CBC},
     {"id": "O2", "share": 16.7, "restrictions": OWNER_LIST},
     {"id": "O3", "share": 50, "restrictions": []}],
    [{"id": "O1", "share": 30, "restrictions": OWNER_CBC},
     {"id": "Ö2", "share": 20, "restrictions": OWNER_CBC}],
    [{"id": "O1", "share": 100}]])
# Mostly none: a restriction decides every line (C2/C3) before any table does.
RESTRICTIONS = st.sampled_from([None] * 12 + [
    [], [{"list": "entity-list", "policy": "denial"}],
    [{"list": "mil-end-user", "policy": "case-by-case"}],
    [{"list": "unverified", "policy": "case-by-case"},
     {"list": "entity-list", "policy": "denial"}],
    [{"list": "Zoll-Liste", "policy": "case-by-case"},
     {"list": "ämter", "policy": "case-by-case"}, {"list": "{lists}", "policy": "case-by-case"},
     {"list": "Zoll-Liste", "policy": "case-by-case"}]])
# One to six lines, mostly few (rego-cpp takes ~25 ms a metered line); the
# quota fold across lines needs two or more.
LINE_COUNT = st.sampled_from([1] * 9 + [2] * 6 + [3] * 3 + [4, 6])
QUANTITY = st.one_of(st.integers(1, 50), st.integers(1, 5000),
                     st.sampled_from([1, 100, 1699, 1700, 10000, 50000, MAX_UNITS]))
ITEMS = st.sampled_from(["GPU-A", "GPU-B", "ACCEL", "NIC", "SRV-8X", '19" RACK', "A\\B C",
                         "X{dest}{item}", "Größe-Ä"])
SHIP_FROM = st.sampled_from([None, None, "US", "US", "DE", "CN", "HK", "SG"])
TRANSACTION = st.sampled_from([None, None, "export", "reexport", "transfer"])


@st.composite
def party(draw: st.DrawFn, country: st.SearchStrategy[str],
          attributes: bool = True) -> dict[str, Any]:
    p: dict[str, Any] = {"id": draw(st.sampled_from(PARTY_IDS)), "country": draw(country)}
    if draw(st.booleans()):
        p["name"] = "Party " + p["id"]
    if not attributes:
        return p
    if draw(st.booleans()):
        p["hq_country"] = draw(country)
    if draw(st.integers(0, 3)) == 0:
        p["parent_hq_country"] = draw(country)
    for key, strategy in (("verified", VERIFIED), ("certifications", CERTIFICATIONS),
                          ("restrictions", RESTRICTIONS), ("owners", OWNERS)):
        value = draw(strategy)
        if value is not None:
            p[key] = value
    return p


def orders(countries: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Valid canonical orders over ``countries``."""
    # Half the draws from the countries the tables single out most.
    country = st.one_of(st.sampled_from([c for c in FOCUS if c in countries]),
                        st.sampled_from(countries))
    parties = party(country)
    plain = party(country, attributes=False)
    klass = classification()
    when = dates()

    @st.composite
    def order(draw: st.DrawFn) -> dict[str, Any]:
        n_lines = draw(LINE_COUNT)
        line_ids = draw(st.sampled_from([[str(10 * (i + 1)) for i in range(n_lines)],
                                         [f"L{i}" for i in range(n_lines, 0, -1)]]))
        lines = [{"id": lid, "item": draw(ITEMS), "quantity": draw(QUANTITY), "unit": "EA",
                  "classification": draw(klass)} for lid in line_ids]
        doc: dict[str, Any] = {"id": f"GEN-{draw(st.integers(1, 10 ** 6))}",
                               "date": draw(when), "parties": {"ship_to": draw(parties)},
                               "lines": lines}
        ship_from = draw(SHIP_FROM)
        if ship_from:
            doc["ship_from"] = ship_from
        transaction = draw(TRANSACTION)
        if transaction:
            doc["transaction"] = transaction
        if draw(st.booleans()):
            doc["parties"]["end_user"] = draw(parties)
        if draw(st.booleans()):
            doc["parties"]["sold_to"] = draw(plain)
        return doc

    return order()


# Granted licenses (docs/licenses.md) drawn around an order: mostly naming its
# destination, consignee, items and ECCNs, valid around its date, so lines are
# covered, fall through or are refused by one detail; some expired, not yet
# valid, for another party, or marked revoked, which must cover nothing. The
# gate's prefilter would drop some of these: the engines must agree anyway.
LICENSE_DATES = st.sampled_from(BOUNDARY_DATES)
ECCNS_ON_LICENSES = [e for e in ECCNS if e != "EAR99"]
LICENSE_ECCNS = st.sampled_from(ECCNS_ON_LICENSES)
LICENSE_QUANTITY = st.one_of(st.integers(1, 60), st.sampled_from([1, 100, 1700, MAX_UNITS]))


@st.composite
def licenses(draw: st.DrawFn, order: dict[str, Any]) -> list[dict[str, Any]]:
    """Up to three licenses (as the policy input carries them) for ``order``."""
    ship_to = order["parties"]["ship_to"]
    end_user = order["parties"].get("end_user", ship_to)
    lines = order["lines"]
    out = []
    for number in draw(st.sampled_from([[], ["D1"], ["D1"], ["D1", "D2"], ["D1", "D2", "D3"]])):
        issued = draw(st.sampled_from(["2024-01-01"] * 4 + [order["date"]] * 2
                                      + BOUNDARY_DATES))
        expires = draw(st.sampled_from(["2028-12-31"] * 4 + [order["date"]] * 2
                                       + BOUNDARY_DATES))
        if expires < issued:
            issued, expires = expires, issued
        dest = draw(st.sampled_from([ship_to["country"]] * 8 + ["CN", "HK", "IN", "AE"]))
        consignee = draw(st.sampled_from([ship_to["id"]] * 8 + PARTY_IDS))
        items = []
        for _ in range(draw(st.integers(1, 3))):
            line = lines[draw(st.integers(0, len(lines) - 1))]
            eccn = line["classification"].get("eccn") or draw(LICENSE_ECCNS)
            if eccn not in ECCNS_ON_LICENSES:  # EAR99 is no ECCN a license names
                eccn = draw(LICENSE_ECCNS)
            entry = draw(st.sampled_from([{"item": line["item"]}, {"item": line["item"]},
                                          {"eccn": eccn}, {"eccn": eccn.upper()},
                                          {"eccn": draw(LICENSE_ECCNS)},
                                          {"item": "OTHER"}]))
            quantity = draw(st.one_of(LICENSE_QUANTITY, st.just(line["quantity"]),
                                      st.just(MAX_UNITS)))
            items.append({**entry, "quantity": quantity})
        if draw(st.booleans()):  # one that names this order exactly, with room
            issued, expires, dest, consignee = ("2024-01-01", "2028-12-31",
                                                ship_to["country"], ship_to["id"])
            items = [{"item": line["item"], "quantity": MAX_UNITS} for line in lines]
        lic: dict[str, Any] = {"number": number, "issued": issued, "expires": expires,
                               "destinations": [dest], "consignees": [consignee],
                               "items": items}
        if draw(st.integers(0, 2)) == 0:
            lic["end_users"] = [draw(st.sampled_from([end_user["id"], "C3", "{dest}"]))]
        if draw(st.booleans()):
            lic["conditions"] = draw(st.sampled_from(["No reexport.", 'Größe {license} \\ "q"']))
        if draw(st.integers(0, 5)) == 0:
            lic["revoked_at"] = "2026-01-01T00:00:00+00:00"
        out.append(lic)
    return out


def license_usage() -> st.SearchStrategy[int]:
    """What other orders hold of a license entry, in units."""
    return st.one_of(st.just(0), st.just(0), st.integers(0, 120), st.just(MAX_UNITS))


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


__all__ = ["caps", "countries", "dates", "license_usage", "licenses", "orders", "usage"]
