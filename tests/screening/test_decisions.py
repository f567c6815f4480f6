"""Screening as a user meets it: a list loaded, orders decided, a false positive cleared.

Through the command line for what a person types (``screening load``,
``clear``, ``revoke``) and the `Gate` for the orders, on SQLite and on
PostgreSQL: the decision names the party, the entry and the list version;
a possible match holds the order until a person clears it; a changed address
shows the match again; a new list version applies whole.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from exportgate import Gate
from exportgate._cli import main
from exportgate._exceptions import InputError
from exportgate._input import open_records
from exportgate._settings import Settings
from tests.screening import csl

REGIME = "us-advanced-computing-2023"
EL_ID = csl.ROWS[0]["id"]


def order(name: str | None, address: str | None = None, order_id: str = "SO-1",
          country: str = "JP") -> dict[str, Any]:
    """Eight H100s to a party in Japan: `allow` unless the party is restricted."""
    party: dict[str, Any] = {"id": "C-7", "country": country}
    if name is not None:
        party["name"] = name
    if address is not None:
        party["address"] = address
    return {"id": order_id, "date": "2026-06-02", "parties": {"ship_to": party},
            "lines": [{"id": "10", "item": "H100", "quantity": 8}]}


def load(tmp_path: Path, url: str, entries: list[dict[str, Any]] | None = None,
         name: str = "csl.csv") -> None:
    path = csl.write(tmp_path / name, csl.csv_text(entries))
    assert main(["screening", "load", str(path), "--ledger", url,
                 "--published", "2026-12-01"]) == 0


def decide(url: str, doc: dict[str, Any], settings: Settings | None = None) -> dict[str, Any]:
    with Gate(settings or Settings(), regime_id=REGIME, ledger_url=url) as gate:
        return gate.check(doc).decision.to_dict()


def reasons(decision: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for line in decision["lines"] for r in line["reasons"]]


def test_a_listed_party_under_another_spelling_is_denied_naming_the_entry(
        tmp_path: Path, ledger_url: str) -> None:
    spelled = order("Hebei Semiconductor Research Inst.")
    before = decide(ledger_url, spelled)
    assert before["outcome"] == "allow" and "screening" not in before
    load(tmp_path, ledger_url)
    after = decide(ledger_url, spelled)
    assert after["outcome"] == "deny"
    [why] = [r for r in reasons(after) if r["code"] == "RESTRICTED_PARTY"]
    assert EL_ID in why["message"] and "Hebei Semiconductor Research Inst." in why["message"]
    assert "ship-to" in why["message"]
    version = after["screening"]["version"]
    assert len(version) == 64 and after["screening"]["published"] == "2026-12-01"


def test_a_possible_match_is_held_until_cleared_and_a_new_address_shows_it_again(
        tmp_path: Path, ledger_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    load(tmp_path, ledger_url)
    near = order("Hebei Semiconductor Research Centre", "12 Harbour Road, Osaka")
    held = decide(ledger_url, near)
    assert held["outcome"] == "license"
    [why] = [r for r in reasons(held) if r["code"] == "POSSIBLE_MATCH"]
    assert EL_ID in why["message"]

    capsys.readouterr()
    assert main(["screening", "clear", "C-7", EL_ID, "--ledger", ledger_url,
                 "--by", "J. Rivera", "--why", "An Osaka retailer, not the institute",
                 "--name", "Hebei Semiconductor Research Centre",
                 "--address", "12 Harbour Road, Osaka", "--country", "JP"]) == 0
    cleared = decide(ledger_url, near)
    assert cleared["outcome"] == "allow"
    assert any("cleared" in n and EL_ID in n for n in cleared["notes"])

    moved = decide(ledger_url, order("Hebei Semiconductor Research Centre",
                                     "3 Changsheng Street, Shijiazhuang"))
    assert moved["outcome"] == "license"

    capsys.readouterr()
    assert main(["screening", "clearances", "--json", "--ledger", ledger_url]) == 0
    [row] = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert main(["screening", "revoke", str(row["id"]), "--ledger", ledger_url,
                 "--by", "J. Rivera", "--why", "new information"]) == 0
    assert decide(ledger_url, near)["outcome"] == "license"
    capsys.readouterr()
    assert main(["screening", "clearances", "--ledger", ledger_url]) == 0
    assert capsys.readouterr().out == "no clearances\n"  # a revoked one is not in force
    assert main(["screening", "clearances", "--all", "--ledger", ledger_url]) == 0
    text = capsys.readouterr().out
    assert "cleared by J. Rivera" in text and "revoked by J. Rivera" in text


def test_a_new_list_version_applies_whole(tmp_path: Path, ledger_url: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    load(tmp_path, ledger_url)
    spelled = order("CETC Research Inst 13")
    first = decide(ledger_url, spelled)
    assert first["outcome"] == "deny"
    load(tmp_path, ledger_url, csl.rows()[1:], name="csl-2.csv")  # the entry is delisted
    second = decide(ledger_url, spelled)
    assert second["outcome"] == "allow"
    assert second["screening"]["version"] != first["screening"]["version"]
    capsys.readouterr()
    assert main(["screening", "list", "--json", "--ledger", ledger_url]) == 0
    versions = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [v["current"] for v in versions].count(True) == 1
    assert {v["id"] for v in versions} == {first["screening"]["version"],
                                           second["screening"]["version"]}


def test_a_bad_list_file_leaves_the_version_in_force(tmp_path: Path, ledger_url: str,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    load(tmp_path, ledger_url)
    rows = csl.rows()
    rows[1]["name"] = ""
    bad = csl.write(tmp_path / "bad.csv", csl.csv_text(rows))
    assert main(["screening", "load", str(bad), "--ledger", ledger_url]) == 2
    assert "name" in capsys.readouterr().err
    assert decide(ledger_url, order("CETC Research Inst 13"))["outcome"] == "deny"


def test_an_unnamed_party_is_an_input_error_once_a_list_is_loaded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    assert decide(url, order(None))["outcome"] == "allow"
    load(tmp_path, url)
    with pytest.raises(InputError) as err:
        decide(url, order(None))
    assert "parties.ship_to.name" in str(err.value)


def test_required_screening_with_no_list_holds_every_order(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    settings = Settings.from_dict({"screening": {"required": True}})
    held = decide(url, order("Tokyo Compute KK"), settings)
    assert held["outcome"] == "license" and "no list is loaded" in held["error"]


def test_screening_off_decides_on_the_hosts_flags_alone(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    load(tmp_path, url)
    settings = Settings.from_dict({"screening": {"enabled": False}})
    assert decide(url, order("CETC Research Inst 13"), settings)["outcome"] == "allow"


def test_a_batch_screens_every_order_against_one_version(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    load(tmp_path, url)
    book = tmp_path / "book.jsonl"
    docs = [order("Tokyo Compute KK", order_id="SO-1"),
            order("CETC Research Inst 13", order_id="SO-2"),
            order("Atlas Sanat Garan", order_id="SO-3", country="AM")]
    book.write_text("".join(json.dumps(d) + "\n" for d in docs))
    with Gate(Settings(), regime_id=REGIME, ledger_url=url) as gate:
        records = list(open_records(str(book), gate.plugins))
        got = {c.decision.order: c.decision for c in gate.batch(records)}
    assert got["SO-1"].outcome.value == "allow"
    assert got["SO-2"].outcome.value == "deny"
    assert got["SO-3"].outcome.value != "allow"  # the Unverified List's statement first
    assert len({d.screening.version for d in got.values() if d.screening}) == 1


def test_a_clearance_is_written_to_the_decision_log(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    config = tmp_path / "exportgate.yaml"
    config.write_text(f"ledger: {url}\naudit_log: {tmp_path / 'audit.jsonl'}\n")
    load(tmp_path, url)
    assert main(["--config", str(config), "screening", "clear", "C-7", EL_ID,
                 "--by", "J. Rivera", "--why", "not them", "--name", "Hebei Semi Centre",
                 "--country", "JP"]) == 0
    records = [json.loads(x) for x in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert records[-1]["kind"] == "screening-clearance"
    assert records[-1]["entry"] == EL_ID and records[-1]["by"] == "J. Rivera"


def test_a_pinned_version_holds_until_unpinned(tmp_path: Path) -> None:
    """A batch pins the version in force when it starts (and its workers pin the same):
    a list loaded while it runs is for the next batch."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    load(tmp_path, url)
    with Gate(Settings(), regime_id=REGIME, ledger_url=url) as gate:
        assert gate.screener is not None
        first = gate.screener.pin()
        load(tmp_path, url, csl.rows()[1:], name="csl-2.csv")  # delisted meanwhile
        pinned = gate.prepare(order("CETC Research Inst 13"))
        assert pinned.screening is not None and first is not None
        assert pinned.screening.version == first.id
        assert pinned.ship_to.restrictions  # still screened against the old entry
        worker = Gate(Settings(), regime_id=REGIME, ledger_url=url)
        assert worker.screener is not None
        worker.screener.pin(gate.screener.pinned)  # as _batch's workers do
        assert worker.prepare(order("CETC Research Inst 13")).screening == pinned.screening
        worker.close()
        gate.screener.unpin()
        after = gate.prepare(order("CETC Research Inst 13"))
        assert after.screening is not None and after.screening.version != first.id
        assert not after.ship_to.restrictions


def test_screen_answers_a_name_and_a_file_of_parties(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'l.db'}"
    load(tmp_path, url)
    capsys.readouterr()
    assert main(["screen", "Hebei Semiconductor Research Inst.", "--country", "CN",
                 "--ledger", url]) == 0
    text = capsys.readouterr().out
    assert "1 match" in text and EL_ID in text and "hit" in text
    parties = tmp_path / "parties.yaml"
    parties.write_text("version: 1\nparties:\n"
                       "  C-1: {country: JP, name: Tokyo Compute KK}\n"
                       "  C-2: {country: AM, name: Atlas Sanatgaran LLC}\n")
    assert main(["screen", "--parties", str(parties), "--json", "--ledger", url]) == 0
    answers = {a["name"]: a for a in map(json.loads, capsys.readouterr().out.splitlines())}
    assert answers["Tokyo Compute KK"]["hits"] == []
    [hit] = answers["Atlas Sanatgaran LLC"]["hits"]
    assert hit["list"] == "UVL" and hit["status"] == "hit"
    assert main(["screen", "--ledger", f"sqlite:///{tmp_path / 'empty.db'}", "x"]) == 2


def test_the_docs_try_it_lines_run_as_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """docs/screening.md, "Try it": each command as the page writes it, from the repository
    (its ledger in the test's folder)."""
    import shlex

    from tests.helpers import ROOT
    text = (ROOT / "docs" / "screening.md").read_text(encoding="utf-8")
    block = text.split("## Try it", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [shlex.split(line) for line in block.splitlines()
                if line.startswith("exportgate ")]
    assert len(commands) == 3
    monkeypatch.chdir(ROOT)
    url = f"sqlite:///{tmp_path / 'try.db'}"
    outs = []
    for words in commands:
        capsys.readouterr()
        assert main([url if w == "sqlite:///try.db" else w for w in words[1:]]) == 0
        outs.append(capsys.readouterr().out)
    assert "outcome DENY" in outs[1] and "RESTRICTED_PARTY" in outs[1]
    assert "Hebei Semiconductor Research Institute" in outs[1]
    assert "hit" in outs[2]
