"""A granted license through its life: recorded, covering lines, depleted, freed,
expired, revoked; and the registry's file checks.

Orders of H200s to China from 2026-01-15 are reviewed case by case under the
enforced regime (row B1, ``license``): a license for them turns the line into
``allow`` (row LICENSED) while the license entry has room for it.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from exportgate import FakeEngine, Outcome, Settings
from exportgate.ledger import licenses as _licenses
from exportgate._catalog import eccn_spelling
from exportgate._cli import main
from exportgate._exceptions import ConfigError, LedgerError
from exportgate._gate import Gate
from exportgate._render import decision_table
from exportgate.ledger.urls import open_ledger

from tests.licenses.builders import h200_order, license_doc

REGIME = "us-advanced-computing-2023"


@pytest.fixture
def gate(make_gate: Callable[..., Gate]) -> Gate:
    return make_gate(REGIME)


def record(gate: Gate, *docs: dict[str, Any]) -> None:
    _licenses.add(gate.ledger, _licenses.parse({"licenses": list(docs)}, "test"))


def line(gate: Gate, order: dict[str, Any]) -> Any:
    decision = gate.check(order).decision
    assert decision.error is None
    return decision.lines[0]


def test_without_a_license_the_line_is_held(gate: Gate) -> None:
    assert line(gate, h200_order("SO-1", 10)).reasons[0].code == "CASE_BY_CASE_2026"


def test_two_orders_that_together_exceed_it(gate: Gate) -> None:
    record(gate, license_doc(quantity=100))
    first = line(gate, h200_order("SO-1", 80))
    assert first.outcome is Outcome.ALLOW
    assert first.reasons[0].code == "LICENSED"
    assert "D1234567" in first.reasons[0].message and "20 of its 100" in first.reasons[0].message
    assert [(c.quota, c.tpp, c.cap) for c in first.consumes] == [("license:D1234567:0", 80, 100)]
    conditions = [o for o in first.obligations if o["code"] == "license_conditions"]
    assert conditions and "No reexport" in conditions[0]["message"]

    second = line(gate, h200_order("SO-2", 40))
    assert second.outcome is Outcome.LICENSE
    assert second.reasons[0].code == "CASE_BY_CASE_2026"
    assert [(c.quota, c.tpp) for c in second.refused] == [("license:D1234567:0", 40)]
    assert second.consumes == ()
    # what remains still serves a smaller order
    assert line(gate, h200_order("SO-3", 20)).outcome is Outcome.ALLOW
    assert line(gate, h200_order("SO-4", 1)).outcome is Outcome.LICENSE


def test_a_cancellation_frees_units_and_a_shipment_keeps_them(gate: Gate) -> None:
    record(gate, license_doc(quantity=100))
    line(gate, h200_order("SO-1", 80))
    line(gate, h200_order("SO-2", 60))
    assert line(gate, h200_order("SO-3", 30)).outcome is Outcome.LICENSE
    gate.ledger.commit("SO-1")
    assert line(gate, h200_order("SO-3", 30)).outcome is Outcome.LICENSE
    gate.ledger.release("SO-1")
    assert line(gate, h200_order("SO-3", 30)).outcome is Outcome.ALLOW
    shown = _licenses.show(gate.ledger, "D1234567", today="2026-03-02")
    assert shown["entries"][0]["reserved"] == 30 and shown["entries"][0]["remaining"] == 70
    assert [(o["order"], o["units"]) for o in shown["orders"]] == [("SO-3", 30)]


def test_a_recheck_replaces_what_the_order_took(gate: Gate) -> None:
    record(gate, license_doc(quantity=100))
    line(gate, h200_order("SO-1", 80))
    assert line(gate, h200_order("SO-1", 100)).outcome is Outcome.ALLOW
    assert _licenses.show(gate.ledger, "D1234567")["entries"][0]["reserved"] == 100


def test_show_reports_shipped_units_and_warns(gate: Gate) -> None:
    record(gate, license_doc(quantity=100))
    line(gate, h200_order("SO-1", 50))
    line(gate, h200_order("SO-2", 45))
    gate.ledger.commit("SO-1")
    shown = _licenses.show(gate.ledger, "D1234567", today="2028-01-10")
    entry = shown["entries"][0]
    assert (entry["committed"], entry["reserved"], entry["remaining"]) == (50, 45, 5)
    assert {o["order"]: o["state"] for o in shown["orders"]} == {"SO-1": "committed",
                                                                  "SO-2": "reserved"}
    assert any("only 5 of 100" in w for w in shown["warnings"])
    assert any("expires on 2028-01-31, in 21 days" in w for w in shown["warnings"])
    assert not _licenses.show(gate.ledger, "D1234567", today="2026-03-02")["warnings"][1:]


def test_validity_dates(gate: Gate) -> None:
    record(gate, license_doc(quantity=100))
    assert line(gate, h200_order("SO-1", 1, date="2026-01-31")).outcome is Outcome.LICENSE
    assert line(gate, h200_order("SO-2", 1, date="2026-02-01")).outcome is Outcome.ALLOW
    assert line(gate, h200_order("SO-3", 1, date="2028-01-31")).outcome is Outcome.ALLOW
    assert line(gate, h200_order("SO-4", 1, date="2028-02-01")).outcome is Outcome.LICENSE


def test_rego_decides_expiry_even_if_the_prefilter_lets_a_license_through(
        gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python prefilter only narrows; an expired license in the input covers nothing."""
    record(gate, license_doc(quantity=100))
    monkeypatch.setattr(_licenses.License, "valid_on", lambda self, date: True)
    order = gate.prepare(h200_order("SO-1", 1, date="2028-02-01"))
    doc = gate.policy_input(order, gate.regime_for(order))
    assert [x["number"] for x in doc["licenses"]] == ["D1234567"]
    assert gate.check(order).decision.lines[0].outcome is Outcome.LICENSE


def test_a_revocation_the_gate_has_not_seen_stops_the_next_draw(
        gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process revoked the license; the gate's copy of the registry still names it
    (and so does the policy input): the ledger's terms, read under the entry's lock, decide."""
    monkeypatch.setattr(_licenses, "REFRESH_SECONDS", float("inf"))
    record(gate, license_doc(quantity=100))
    assert line(gate, h200_order("SO-1", 10)).license == "D1234567"
    other = open_ledger(gate.ledger_url)
    try:
        other.revoke_license("D1234567")
    finally:
        other.close()
    order = gate.prepare(h200_order("SO-2", 10))
    stale = gate.policy_input(order, gate.regime_for(order))
    assert [x["number"] for x in stale["licenses"]] == ["D1234567"]
    got = line(gate, order)
    assert (got.outcome, got.reasons[0].code, got.consumes, got.license) == (
        Outcome.LICENSE, "CASE_BY_CASE_2026", (), None)
    assert got.licenses_not_in_force == ("D1234567",)
    assert [r["order"] for r in gate.ledger.license_reservations("D1234567")] == ["SO-1"]


def _licensed_answer(units: int) -> dict[str, Any]:
    """A policy's answer that offers license D1234567 to line 10, whatever the order."""
    offer = {"row": "LICENSED", "outcome": "allow", "code": "LICENSED",
             "quota": {"key": "license:D1234567:0", "cap": 100, "measure": "units"},
             "license": {"number": "D1234567", "entry": "D1234567:0",
                         "expires": "2028-01-31", "conditions": ""}}
    return {"contract": 2, "regime": REGIME, "facts": {},
            "ladders": {"x": [offer, {"row": "B1", "outcome": "license",
                                      "code": "CASE_BY_CASE_2026"}]},
            "lines": [{"id": "10", "class": "adv-a", "tpp": None, "units": units,
                       "extra": [], "ladder": "x"}]}


@pytest.mark.parametrize("date, covered", [
    ("2026-01-31", False), ("2026-02-01", True), ("2028-01-31", True), ("2028-02-01", False)])
def test_the_ledger_holds_a_line_to_the_license_dates_whatever_the_policy_answers(
        make_gate: Callable[..., Gate], date: str, covered: bool) -> None:
    gate = make_gate(REGIME, engine=FakeEngine(lambda *_: _licensed_answer(5)))
    record(gate, license_doc(quantity=100))
    got = line(gate, h200_order("SO-1", 5, date=date))
    assert (got.outcome is Outcome.ALLOW) is covered
    assert got.licenses_not_in_force == (() if covered else ("D1234567",))
    assert bool(gate.ledger.license_reservations("D1234567")) is covered


def test_the_decision_and_its_audit_record_name_the_license_drawn_on(
        make_gate: Callable[..., Gate], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_licenses, "REFRESH_SECONDS", float("inf"))
    gate = make_gate(REGIME, settings=Settings.from_dict({"audit_log": "audit.jsonl"}))
    record(gate, license_doc(quantity=100))
    gate.check(h200_order("SO-1", 10))
    gate.ledger.revoke_license("D1234567")  # as another process would: the copy still names it
    gate.check(h200_order("SO-2", 10))
    first, second = [json.loads(x) for x in Path("audit.jsonl").read_text().splitlines()]
    assert [x["number"] for x in first["input"]["licenses"]] == ["D1234567"]
    assert first["result"]["lines"][0]["license"] == "D1234567"
    assert [x["number"] for x in second["input"]["licenses"]] == ["D1234567"]
    assert "license" not in second["result"]["lines"][0]
    assert second["result"]["lines"][0]["licenses_not_in_force"] == ["D1234567"]


def test_revocation(gate: Gate) -> None:
    record(gate, license_doc(quantity=100))
    assert line(gate, h200_order("SO-1", 10)).outcome is Outcome.ALLOW
    _licenses.revoke(gate.ledger, "D1234567")
    assert line(gate, h200_order("SO-2", 10)).outcome is Outcome.LICENSE
    assert line(gate, h200_order("SO-1", 10)).outcome is Outcome.LICENSE  # a re-check too
    with pytest.raises(ConfigError, match="already revoked"):
        _licenses.revoke(gate.ledger, "D1234567")
    with pytest.raises(ConfigError, match="not in the registry"):
        _licenses.revoke(gate.ledger, "D0000000")


@pytest.mark.parametrize("order, why", [
    (h200_order("SO-1", 1, dest="HK"), "a license for CN does not cover Hong Kong"),
    (h200_order("SO-1", 1, consignee="C2"), "another consignee"),
    (h200_order("SO-1", 1, item="NVIDIA-H100-SXM5-80GB"), "another item"),
    (h200_order("SO-1", 1, end_user={"id": "E9", "country": "CN"}),
     "an end user the license does not name"),
])
def test_what_a_license_does_not_cover(gate: Gate, order: dict[str, Any], why: str) -> None:
    record(gate, license_doc(quantity=100, end_users=["C1"]))
    assert line(gate, order).outcome is Outcome.LICENSE, why


def test_an_eccn_entry_covers_any_item_of_that_eccn(gate: Gate) -> None:
    record(gate, license_doc(items=[{"item": "NVIDIA-H200-SXM-141GB", "quantity": 10},
                                    {"eccn": "3a090.A", "quantity": 5}]))
    first = line(gate, h200_order("SO-1", 8))
    assert [c.quota for c in first.consumes] == ["license:D1234567:0"]
    other = line(gate, h200_order("SO-2", 4, item="SOME-OTHER-3A090A-CHIP"))
    assert [c.quota for c in other.consumes] == ["license:D1234567:1"]
    # the item entry is short: the line falls through to the ECCN entry
    assert [c.quota for c in line(gate, h200_order("SO-3", 1)).consumes] \
        == ["license:D1234567:0"]
    assert line(gate, h200_order("SO-4", 2)).outcome is Outcome.LICENSE


@pytest.mark.parametrize("recorded, ordered", [
    ("NVIDIA-H200-SXM-141GB", "H200"),  # the catalog's alias on the line
    ("h200-sxm", "NVIDIA-H200-SXM-141GB"),  # an alias, in another case, on the license
    ("H200", "nvidia-h200-sxm"),  # two aliases
])
def test_an_item_is_the_catalogs_whatever_alias_names_it(gate: Gate, recorded: str,
                                                         ordered: str) -> None:
    record(gate, license_doc(items=[{"item": recorded, "quantity": 10}]))
    got = line(gate, h200_order("SO-1", 8, item=ordered))
    assert (got.outcome, got.license) == (Outcome.ALLOW, "D1234567")
    assert [c.quota for c in got.consumes] == ["license:D1234567:0"]
    # another item of the same ECCN is not the licensed item
    assert line(gate, h200_order("SO-2", 1, item="H200-NVL")).outcome is Outcome.LICENSE


@pytest.mark.parametrize("recorded, stated", [
    ("3A090.a", "3A090A"), ("3a090.A", " 3a090.a "), ("3A090.a", "3A090.A")])
def test_an_eccn_entry_matches_however_either_side_spells_it(gate: Gate, recorded: str,
                                                             stated: str) -> None:
    record(gate, license_doc(items=[{"eccn": recorded, "quantity": 10}]))
    order = h200_order("SO-1", 8, item="SOME-OTHER-CHIP")
    order["lines"][0]["classification"]["eccn"] = stated
    got = line(gate, order)
    assert (got.outcome, got.license) == (Outcome.ALLOW, "D1234567")


@pytest.mark.parametrize("written, spelt", [
    ("3A090.a", "3A090.a"), ("3a090.A", "3A090.a"), ("3A090A", "3A090.a"),
    (" 3A090 .a ", "3A090.a"), ("4a003z1a", "4A003.z.1.a"), ("4A003.Z.1.A", "4A003.z.1.a"),
    ("3A090.a.", "3A090.a"), ("ear99", "EAR99"), ("5A992.c", "5A992.c")])
def test_eccn_spelling(written: str, spelt: str) -> None:
    assert eccn_spelling(written) == spelt


@pytest.mark.parametrize("order, code", [
    # a denied party (row C2): never allowed by a license
    (h200_order("SO-1", 1, ship_to={"id": "C1", "country": "CN", "restrictions": [
        {"list": "entity-list", "policy": "denial"}]}), "RESTRICTED_PARTY"),
    # a presumption of denial (row B2, before the case-by-case review began)
    (h200_order("SO-1", 1, date="2026-01-10"), "D5_ADVANCED"),
])
def test_a_license_never_lifts_a_deny(gate: Gate, order: dict[str, Any], code: str) -> None:
    record(gate, license_doc(quantity=100, issued="2025-01-01"))
    got = line(gate, order)
    assert got.outcome is Outcome.DENY and got.reasons[0].code == code


def test_a_restricted_party_stays_held_for_a_person(gate: Gate) -> None:
    record(gate, license_doc(quantity=100))
    order = h200_order("SO-1", 1, ship_to={"id": "C1", "country": "CN", "restrictions": [
        {"list": "entity-list", "policy": "case-by-case"}]})
    got = line(gate, order)
    assert got.outcome is Outcome.LICENSE and got.reasons[0].code == "RESTRICTED_PARTY"


def test_an_empty_registry_leaves_the_input_as_it_was_and_is_read_once(
        gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = []
    real = _licenses.registry
    monkeypatch.setattr(_licenses, "registry", lambda ledger: reads.append(1) or real(ledger))
    order = gate.prepare(h200_order("SO-1", 1))
    regime = gate.regime_for(order)
    docs = [gate.policy_input(order, regime) for _ in range(50)]
    assert all(set(d) == {"contract", "order"} for d in docs)
    assert len(reads) == 1


def test_an_unreadable_registry_holds_never_allows(
        gate: Gate, monkeypatch: pytest.MonkeyPatch) -> None:
    record(gate, license_doc(quantity=100))

    def broken(ledger: Any) -> Any:
        raise LedgerError("ledger: cannot read the registry")

    monkeypatch.setattr(_licenses, "registry", broken)
    assert line(gate, h200_order("SO-1", 1)).outcome is Outcome.LICENSE


def test_the_terminal_table_names_the_license(gate: Gate) -> None:
    record(gate, license_doc(quantity=100))
    checked = gate.check(h200_order("SO-1", 10))
    out = io.StringIO()
    decision_table(checked.order, checked.decision, out)
    text = out.getvalue()
    assert "LICENSED D1234567" in text
    assert "consumes 10 units of license D1234567 entry 0" in text


# -- the registry's file ------------------------------------------------------


@pytest.mark.parametrize("change, field", [
    ({"colour": "red"}, "licenses.1.colour"),
    ({"expires": "2026-01-31"}, "licenses.1.expires"),
    ({"items": [{"item": "X", "quantity": 0}]}, "quantity"),
    ({"items": [{"item": "X", "eccn": "3A090.a", "quantity": 1}]}, "licenses.1.items.0"),
    ({"items": [{"quantity": 1}]}, "licenses.1.items.0"),
    ({"destinations": ["China"]}, "licenses.1.destinations.0"),
    ({"number": "D1 2"}, "licenses.1.number"),
])
def test_bad_files_are_rejected_whole(gate: Gate, change: dict[str, Any], field: str) -> None:
    bad = {**license_doc("D2"), **change}
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        _licenses.add(gate.ledger, _licenses.parse(
            {"licenses": [license_doc("D1"), bad]}, "test"))
    assert _licenses.registry(gate.ledger) == []


def test_a_number_twice_or_already_recorded_is_rejected_whole(gate: Gate) -> None:
    with pytest.raises(ConfigError, match=r"licenses\.1\.number: D1 is also licenses\.0"):
        _licenses.parse({"licenses": [license_doc("D1"), license_doc("D1")]}, "test")
    record(gate, license_doc("D1"))
    with pytest.raises(ConfigError, match=r"licenses\.1\.number: D1 is already recorded"):
        record(gate, license_doc("D2"), license_doc("D1"))
    assert [x.number for x in _licenses.registry(gate.ledger)] == ["D1"]


def test_the_command_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    path = tmp_path / "licenses.yaml"
    path.write_text("licenses:\n"
                    "  - number: D1234567\n    issued: 2026-02-01\n    expires: 2028-01-31\n"
                    "    destinations: [CN]\n    consignees: [C1]\n"
                    "    items:\n      - {item: NVIDIA-H200-SXM-141GB, quantity: 100}\n"
                    "    conditions: No reexport.\n")
    assert main(["license", "--ledger", url, "add", str(path)]) == 0
    assert "D1234567" in capsys.readouterr().out
    assert main(["license", "--ledger", url, "add", str(path)]) == 2
    assert "already recorded" in capsys.readouterr().err
    assert main(["license", "--ledger", url, "list", "--json"]) == 0
    listed = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["number"], [e["remaining"] for e in x["entries"]]) for x in listed] == [
        ("D1234567", [100])]
    assert main(["license", "--ledger", url, "show", "D1234567"]) == 0
    assert "NVIDIA-H200-SXM-141GB" in capsys.readouterr().out
    assert main(["license", "--ledger", url, "revoke", "D1234567"]) == 0
    capsys.readouterr()
    assert main(["license", "--ledger", url, "list"]) == 0
    assert "revoked" in capsys.readouterr().out
    assert main(["license", "--ledger", url, "show", "D7"]) == 2


def test_list_shows_each_entry_on_its_own(gate: Gate, capsys: pytest.CaptureFixture[str]
                                          ) -> None:
    """Entries name different items and ECCNs: their units are never summed into one."""
    record(gate, license_doc(items=[{"item": "NVIDIA-H200-SXM-141GB", "quantity": 100},
                                    {"eccn": "3A090.a", "quantity": 50}]),
           license_doc("D7", items=[{"item": "H20", "quantity": 9}]))
    line(gate, h200_order("SO-1", 30))
    gate.ledger.commit("SO-1")
    line(gate, h200_order("SO-2", 40))
    url = gate.ledger_url
    assert main(["license", "--ledger", url, "list", "--json"]) == 0
    listed = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["number"], x["state"], [
        (e["index"], e.get("item") or e.get("eccn"), e["quantity"], e["reserved"],
         e["committed"], e["remaining"]) for e in x["entries"]]) for x in listed] == [
        ("D1234567", "valid", [(0, "NVIDIA-H200-SXM-141GB", 100, 40, 30, 30),
                               (1, "3A090.a", 50, 0, 0, 50)]),
        ("D7", "valid", [(0, "H20", 9, 0, 0, 9)])]
    assert all("remaining" not in x for x in listed)
    assert main(["license", "--ledger", url, "list"]) == 0
    header, *rows = [r.split() for r in capsys.readouterr().out.splitlines()]
    assert header == ["license", "issued", "expires", "destinations", "consignees", "entry",
                      "authorizes", "units", "remaining", "state"]
    assert [(r[0], r[5], " ".join(r[6:-3]), r[-3], r[-2]) for r in rows] == [
        ("D1234567", "0", "NVIDIA-H200-SXM-141GB", "100", "30"),
        ("D1234567", "1", "ECCN 3A090.a", "50", "50"),
        ("D7", "0", "H20", "9", "9")]


def test_the_write_back_message_names_the_license(gate: Gate) -> None:
    from exportgate._adapter_kit import summary
    record(gate, license_doc(quantity=10))
    assert "line 10 under license D1234567" in summary(gate.check(h200_order("SO-1", 10)).decision)
    assert "under license" not in summary(gate.check(h200_order("SO-2", 10)).decision)
