"""The party master: YAML and CSV files, validated, enriching orders through the hook."""
from __future__ import annotations

import os
from pathlib import Path

import erp_examples as ex
import pytest
from exportgate import ConfigError, Order
from exportgate._enrich import apply
from exportgate._parties import PartyMaster, party_key, party_master
from exportgate._plugins import Plugins
from exportgate._validate import order_from_dict


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def order(**ship_to: object) -> Order:
    return order_from_dict({"id": "T1", "date": "2025-06-02",
                            "parties": {"ship_to": {"id": "1000399", "country": "MY",
                                                    **ship_to}},
                            "lines": [{"id": "1", "item": "H100", "quantity": 1}]})


def test_the_examples_master_reads_yaml_and_csv() -> None:
    master = party_master(ex.example_settings().parties)
    assert master.get("T-200")["restrictions"] == [{"list": "entity-list", "policy": "denial"}]
    assert master.get("T-100")["certifications"] == ["AIA"]
    assert master.get("2210")["verified"] == "nveu"
    assert master.end_user_of("MY-031") == "MY-031-EU"


@pytest.mark.parametrize("written,looked_up", [("0001000045", "1000045"), ("1000045", "0001000045"),
                                               ("c100", "C100"), (" 42 ", "42")])
def test_customer_numbers_match_without_leading_zeros_or_case(written: str,
                                                              looked_up: str) -> None:
    assert party_key(written) == party_key(looked_up)


def test_enrichment_fills_what_the_order_lacks_and_the_order_wins() -> None:
    master = party_master(ex.example_settings().parties)
    enriched = apply(order(), [master.exportgate_enrich_order(order())])
    assert (enriched.ship_to.hq_country, enriched.ship_to.parent_hq_country) == ("CN", "CN")
    own = order(hq_country="MY", name="Own name")
    enriched = apply(own, [master.exportgate_enrich_order(own)])
    assert (enriched.ship_to.hq_country, enriched.ship_to.name) == ("MY", "Own name")


def test_an_order_of_unknown_parties_gets_no_enrichment() -> None:
    master = party_master(ex.example_settings().parties)
    unknown = order_from_dict({"id": "T", "date": "2025-06-02",
                               "parties": {"ship_to": {"id": "nobody", "country": "DE"}},
                               "lines": [{"id": "1", "item": "H100", "quantity": 1}]})
    assert master.exportgate_enrich_order(unknown) is None


def test_the_master_is_a_registered_enrichment_plugin() -> None:
    plugins = Plugins(ex.example_settings(), entry_points=False)
    assert "exportgate.parties" in [name for name, _ in plugins.pm.list_name_plugin()]
    enriched = apply(order(), plugins.enrich(order()))
    assert enriched.ship_to.hq_country == "CN"


def test_bare_numeric_yaml_keys_are_customer_numbers(tmp_path: Path) -> None:
    path = write(tmp_path / "p.yaml", "version: 1\nparties:\n  1000045: {country: DE}\n")
    assert party_master([path]).country("0001000045") == "DE"


def test_a_later_file_overrides_an_earlier_one(tmp_path: Path) -> None:
    a = write(tmp_path / "a.yaml", "version: 1\nparties:\n  C1: {country: DE}\n")
    b = write(tmp_path / "b.csv", "id,country\nC1,FR\n")
    assert party_master([a, b]).country("C1") == "FR"


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    path = write(tmp_path / "p.yaml", "version: 1\nparties:\n  C1: {country: DE}\n")
    assert party_master([path]).country("C1") == "DE"
    write(path, "version: 1\nparties:\n  C1: {country: FRANCE}\n".replace("FRANCE", "FR"))
    os.utime(path, ns=(1, 1))
    assert party_master([path]).country("C1") == "FR"


@pytest.mark.parametrize("name,text,words", [
    ("bad-country.yaml", "version: 1\nparties:\n  C1: {country: Germany}\n",
     "parties.C1.country must be an ISO 3166-1"),
    ("bad-verified.yaml", "version: 1\nparties:\n  C1: {verified: yes}\n", "parties.C1.verified"),
    ("no-version.yaml", "parties: {}\n", "version is required"),
    ("unknown-end-user.yaml", "version: 1\nparties:\n  C1: {country: DE, end_user: C9}\n",
     "parties.C1.end_user: 'C9' is not in the party master"),
    ("bad-header.csv", "customer,country\nC1,DE\n", "id column"),
    ("duplicate.csv", "id,country\nC1,DE\nC1,FR\n", "row 3: customer 'C1' appears twice"),
    ("bad-restriction.csv", "id,country,restrictions\nC1,DE,entity-list\n",
     "row 2: restriction 'entity-list' must be written list:policy"),
    ("bad-policy.csv", "id,country,restrictions\nC1,DE,entity-list:maybe\n",
     "parties.C1.restrictions"),
])
def test_an_invalid_master_is_a_config_error_naming_file_and_key(
        tmp_path: Path, name: str, text: str, words: str) -> None:
    path = write(tmp_path / name, text)
    with pytest.raises(ConfigError) as info:
        party_master([path])
    assert str(path) in str(info.value) and words in str(info.value)


def test_a_missing_master_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        party_master([tmp_path / "absent.yaml"])


def test_an_empty_master_knows_nobody() -> None:
    master = PartyMaster()
    assert (len(master), master.get("C1"), master.country("C1"), master.end_user_of("C1")) \
        == (0, None, None, None)
