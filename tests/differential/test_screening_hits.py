"""Screening hits in the policy input, on rego-cpp and on OPA alike, under every regime.

The library turns hits into outcomes (rego/exportgate/lib/screening.rego);
its Rego tests check each list's outcome on both engines. Here whole orders
with hits go through both engines as the gate sends them, and the answers
must be identical (the reasons' texts included: names with quotes,
backslashes, non-ASCII and placeholder-like text), and the rendered reason
must name the party and the entry.
"""
from __future__ import annotations

from typing import Any

import differ
import pytest
from exportgate._plugins import Plugins
from exportgate._settings import Settings

REGIMES = sorted(Plugins(Settings(), entry_points=False).regimes)


def _hit(code: str, **extra: Any) -> dict[str, Any]:
    return {"list": code, "status": "hit", "entry": "csl-7", "entry_name": 'ACME "HK" LTD.',
            "matched": "Acme Ḥong Kong", "score": 93.25, "version": "v2026-12-01", **extra}


EL_DENIAL = _hit("EL", license_requirement="For all items subject to the EAR.",
                 license_policy="Presumption of denial.", start_date="2024-12-05",
                 federal_register_notice="89 FR 96790")

H100 = {"eccn": "3A090.a", "tpp": 15832, "pd": 19.45, "datacenter": True,
        "dram_bandwidth_gbps": 3350}
BCHIP = {"eccn": "3A090.b", "tpp": 3000, "pd": 2, "datacenter": True}


def _order(dest: str, restrictions: list[dict[str, Any]], *classifications: dict[str, Any],
           owners: list[dict[str, Any]] | None = None,
           date: str = "2026-12-01") -> dict[str, Any]:
    end_user: dict[str, Any] = {"id": 'C"7\\{dest}', "name": "Zürich {item} AG", "country": dest,
                                "restrictions": restrictions}
    if owners is not None:
        end_user["owners"] = owners
    return {"id": "SCR-1", "date": date, "ship_from": "US", "transaction": "export",
            "parties": {"sold_to": {"id": "S1", "country": dest},
                        "ship_to": {"id": "S1", "country": dest}, "end_user": end_user},
            "lines": [{"id": str(10 * (i + 1)), "item": f"ITEM-{i}", "quantity": 2,
                       "unit": "EA", "classification": c}
                      for i, c in enumerate(classifications)]}


# (order, the outcome of each line, the first reason's code of each line)
CASES: dict[str, tuple[dict[str, Any], list[str], list[str]]] = {
    "entity-list-denial": (_order("DE", [EL_DENIAL], H100, {"eccn": "EAR99"}),
                           ["deny", "deny"], ["RESTRICTED_PARTY"] * 2),
    "listed-after-the-order": (_order("DE", [EL_DENIAL], {"eccn": "EAR99"}, date="2024-12-04"),
                               ["allow"], ["NOT_CONTROLLED"]),
    "sdn": (_order("DE", [_hit("SDN")], {"eccn": "EAR99"}), ["deny"], ["RESTRICTED_PARTY"]),
    "unknown-list": (_order("DE", [_hit("MY-OWN-LIST")], {"eccn": "EAR99"}),
                     ["license"], ["RESTRICTED_PARTY"]),
    "possible": (_order("DE", [_hit("EL", status="possible")], BCHIP, {"eccn": "EAR99"}),
                 ["license", "license"], ["POSSIBLE_MATCH"] * 2),
    "meu": (_order("DE", [_hit("MEU")], {"eccn": "5A992.c"}, {"eccn": "EAR99"}, BCHIP),
            ["license", "allow", "allow"], ["MILITARY_END_USER", "NOT_CONTROLLED", "NLR"]),
    "uvl": (_order("SA", [_hit("UVL")], {"eccn": "EAR99"}, BCHIP),
            ["notify", "license"], ["UVL_STATEMENT", "UVL_LICENSE"]),
    "owner-possible": (_order("DE", [], {"eccn": "EAR99"}, owners=[
        {"id": "O-1", "name": "Ö Holdings", "share": 60,
         "restrictions": [_hit("EL", status="possible")]}]),
        ["license"], ["POSSIBLE_MATCH"]),
}


@pytest.fixture(scope="module")
def engines() -> Any:
    engs = differ.engines()
    yield engs
    for engine in engs.values():
        engine.close()


@pytest.mark.parametrize("regime_id", REGIMES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_hits_decide_alike_and_name_the_match(engines: Any, regime_id: str, name: str) -> None:
    order, outcomes, codes = CASES[name]
    regime = Plugins(Settings(), entry_points=False).regimes[regime_id]
    decision = differ.compare(engines, regime, order, lambda keys: {}, validate=False)
    lines = decision["lines"]
    assert [x["outcome"] for x in lines] == outcomes
    assert [x["reasons"][0]["code"] for x in lines] == codes
    for line in lines:
        code = line["reasons"][0]["code"]
        if code in ("RESTRICTED_PARTY", "POSSIBLE_MATCH", "MILITARY_END_USER",
                    "UVL_STATEMENT", "UVL_LICENSE"):
            message = line["reasons"][0]["message"]
            assert "entry csl-7" in message and '"ACME \\"HK\\" LTD."' not in message
            assert 'ACME "HK" LTD.' in message, message
            assert "Zürich {item} AG" in message or "Ö Holdings" in message, message
