"""The command line, as a host runs it: outputs, exit codes, and errors that decide nothing."""
from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import exportgate_cmd, h100_order


def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(exportgate_cmd() + list(args), cwd=cwd, capture_output=True,
                          text=True, input=stdin, timeout=120)


def write_jsonl(path: Path, orders: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(o) + "\n" for o in orders))
    return path


def reservations(db: Path) -> list[tuple[Any, ...]]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT order_id, quota, tpp, state FROM eg_reservations "
                            "ORDER BY order_id, seq").fetchall()


def test_batch_json_prints_one_decision_per_order_in_input_order(tmp_path: Path) -> None:
    orders = [h100_order("A", "IN", 1000), h100_order("B", "IN", 699), h100_order("C", "IN", 1)]
    f = write_jsonl(tmp_path / "o.jsonl", orders)
    proc = run("batch", "--regime", "us-ai-diffusion-2025", "--ledger",
               f"sqlite:///{tmp_path / 'l.db'}", "--json", str(f), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    decisions = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [d["order"] for d in decisions] == ["A", "B", "C"]
    assert [d["outcome"] for d in decisions] == ["notify", "notify", "license"]
    assert decisions[2]["lines"][0]["reasons"][0]["code"] == "TIER2_LICENSE"


def test_a_batch_ends_with_its_totals(tmp_path: Path) -> None:
    orders = [h100_order("A", "IN", 1000), h100_order("B", "IN", 699), h100_order("C", "IN", 1),
              h100_order("D", "CN", 2)]
    f = write_jsonl(tmp_path / "o.jsonl", orders)
    proc = run("batch", "--regime", "us-ai-diffusion-2025", "--ledger",
               f"sqlite:///{tmp_path / 'l.db'}", "--json", "--totals", str(tmp_path / "t.json"),
               str(f), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    decisions = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(decisions) == 4  # the totals are not a decision on stdout
    totals = json.loads((tmp_path / "t.json").read_text())
    assert (totals["orders"], totals["lines"], totals["orders_held"]) == (4, 4, 0)
    assert totals["orders_by_outcome"] == {"allow": 0, "notify": 2, "license": 1, "deny": 1}
    assert totals["lines_by_outcome"] == totals["orders_by_outcome"]
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("totals: 4 orders, 4 lines (2 notify, 1 license, 1 deny); "
                           "0 orders held;"), proc.stderr


def test_check_prints_a_table_for_people(tmp_path: Path) -> None:
    f = tmp_path / "o.json"
    f.write_text(json.dumps(h100_order("SO-7", "SA", 100)))
    proc = run("check", "--regime", "us-advanced-computing-2023", "--ledger",
               f"sqlite:///{tmp_path / 'l.db'}", str(f), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "order SO-7" in proc.stdout and "outcome LICENSE" in proc.stdout
    header = next(line for line in proc.stdout.splitlines() if line.strip().startswith("line"))
    assert header.split() == ["line", "item", "qty", "class", "outcome", "reason"]
    assert "D1_D4_ADVANCED" in proc.stdout


@pytest.mark.parametrize("bad, message", [
    ({"lines": [{"id": "20", "item": "H100", "quantity": -3}]},
     "order BAD-1 line 20: quantity must be a positive integer, got -3"),
    ({"lines": [{"id": "20", "item": "H100", "quantity": "1,5"}]},
     "order BAD-1 line 20: quantity must be a positive integer, got '1,5'"),
    ({"date": "2025-13-40"}, "order BAD-1: date"),
    ({"parties": {"ship_to": {"id": "x", "country": "Germany"}}},
     "order BAD-1: parties.ship_to.country must be an ISO 3166-1 alpha-2 country code"),
    ({"lines": [{"id": "20", "item": "NO-SUCH-CHIP", "quantity": 1}]},
     "order BAD-1 line 20: item 'NO-SUCH-CHIP' has no classification"),
])
def test_a_bad_record_stops_the_batch_before_anything_is_decided(
        tmp_path: Path, bad: dict[str, Any], message: str) -> None:
    db = tmp_path / "l.db"
    good = h100_order("GOOD-1", "IN", 100)
    broken = {**h100_order("BAD-1", "IN", 1), **bad}
    f = write_jsonl(tmp_path / "o.jsonl", [good, broken])
    proc = run("batch", "--regime", "us-ai-diffusion-2025", "--ledger", f"sqlite:///{db}",
               "--json", str(f), cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert reservations(db) == []


def test_keep_going_decides_the_valid_orders_and_still_fails(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    broken = {**h100_order("BAD-1", "IN", 1), "lines": [{"id": "1", "item": "H100",
                                                          "quantity": 0}]}
    f = write_jsonl(tmp_path / "o.jsonl", [h100_order("GOOD-1", "IN", 100), broken])
    proc = run("batch", "--regime", "us-ai-diffusion-2025", "--ledger", f"sqlite:///{db}",
               "--json", "--keep-going", str(f), cwd=tmp_path)
    assert proc.returncode == 2
    assert [json.loads(x)["order"] for x in proc.stdout.splitlines()] == ["GOOD-1"]
    assert "BAD-1" in proc.stderr
    assert [r[0] for r in reservations(db)] == ["GOOD-1"]


def test_keep_going_reports_each_bad_record_once(tmp_path: Path) -> None:
    """Each bad record is reported once, in input order, and the good ones are decided."""
    db = tmp_path / "l.db"
    broken = {**h100_order("BAD-1", "IN", 1), "lines": [{"id": "1", "item": "H100",
                                                          "quantity": 0}]}
    f = write_jsonl(tmp_path / "o.jsonl", [h100_order("GOOD-1", "IN", 100), broken])
    with f.open("a") as out:
        out.write('{"id": "BAD-2", broken\n')
    proc = run("batch", "--regime", "us-ai-diffusion-2025", "--ledger", f"sqlite:///{db}",
               "--json", "--keep-going", str(f), cwd=tmp_path)
    assert proc.returncode == 2
    assert [json.loads(x)["order"] for x in proc.stdout.splitlines()] == ["GOOD-1"]
    errors = [x for x in proc.stderr.strip().splitlines() if not x.startswith("totals: ")]
    assert len(errors) == 2 and len(set(errors)) == 2, proc.stderr
    assert "BAD-1" in errors[0] and "o.jsonl:3: invalid JSON" in errors[1]


@pytest.mark.parametrize("value, message", [
    (-5, "parameters.us-ai-diffusion-2025: lpp_cap_tpp must be at least 0, got -5"),
    ("lots", "lpp_cap_tpp must be of type integer"),
    (True, "lpp_cap_tpp must be of type integer"),
])
def test_configured_parameters_are_checked_against_the_regime_schema(
        tmp_path: Path, value: Any, message: str) -> None:
    """Refused when the configuration is loaded (exit 2), never held order by order."""
    db = tmp_path / "l.db"
    cfg = tmp_path / "c.yaml"
    cfg.write_text(json.dumps({"parameters": {"us-ai-diffusion-2025": {"lpp_cap_tpp": value}}}))
    f = write_jsonl(tmp_path / "o.jsonl", [h100_order("A", "IN", 100)])
    proc = run("--config", str(cfg), "batch", "--regime", "us-ai-diffusion-2025", "--ledger",
               f"sqlite:///{db}", "--json", str(f), cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and proc.stdout == ""
    assert reservations(db) == []


@pytest.mark.parametrize("action", ["commit", "release"])
def test_an_order_the_ledger_does_not_hold_is_bad_input(tmp_path: Path, action: str) -> None:
    """``ledger release NOPE``: the ledger answered; the order id is wrong (2, not 3)."""
    url = f"sqlite:///{tmp_path / 'l.db'}"
    assert run("ledger", "--ledger", url, "init", cwd=tmp_path).returncode == 0
    proc = run("ledger", "--ledger", url, action, "NOPE", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.strip() == "exportgate: order NOPE: not in the ledger"


def test_unknown_regime_and_missing_file_leave_the_ledger_as_it_was(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    f = write_jsonl(tmp_path / "o.jsonl", [h100_order("A", "IN", 100)])
    first = run("batch", "--regime", "us-ai-diffusion-2025", "--ledger", f"sqlite:///{db}",
                "--json", str(f), cwd=tmp_path)
    assert first.returncode == 0
    before = reservations(db)
    assert before == [("A", "lpp:in-1:2025", 1583200, "reserved")]
    again = write_jsonl(tmp_path / "p.jsonl", [h100_order("B", "IN", 100)])
    for args in (["--regime", "no-such-regime", str(again)],
                 ["--regime", "us-ai-diffusion-2025", str(tmp_path / "missing.jsonl")]):
        proc = run("batch", "--ledger", f"sqlite:///{db}", "--json", *args, cwd=tmp_path)
        assert proc.returncode == 2
        assert len(proc.stderr.strip().splitlines()) == 1
        assert proc.stdout == ""
        assert reservations(db) == before
    assert "unknown regime 'no-such-regime'" in run(
        "check", "--regime", "no-such-regime", str(again), cwd=tmp_path).stderr


def test_recheck_replaces_reservations_and_never_counts_twice(tmp_path: Path) -> None:
    db = tmp_path / "l.db"
    args = ["batch", "--regime", "us-ai-diffusion-2025", "--ledger", f"sqlite:///{db}", "--json"]
    run(*args, str(write_jsonl(tmp_path / "a.jsonl", [h100_order("A", "IN", 1500)])),
        cwd=tmp_path)
    proc = run(*args, str(write_jsonl(tmp_path / "b.jsonl", [h100_order("A", "IN", 1600)])),
               cwd=tmp_path)
    assert json.loads(proc.stdout)["outcome"] == "notify"
    assert reservations(db) == [("A", "lpp:in-1:2025", 1600 * 15832, "reserved")]


def test_fail_on_turns_an_outcome_into_exit_1(tmp_path: Path) -> None:
    f = tmp_path / "o.json"
    f.write_text(json.dumps(h100_order("X", "CN", 1)))
    common = ["check", "--regime", "us-advanced-computing-2023", "--ledger",
              f"sqlite:///{tmp_path / 'l.db'}", "--json"]
    assert run(*common, str(f), cwd=tmp_path).returncode == 0
    assert run(*common, "--fail-on", "deny", str(f), cwd=tmp_path).returncode == 1
    f.write_text(json.dumps(h100_order("Y", "KR", 1)))
    assert run(*common, "--fail-on", "license", str(f), cwd=tmp_path).returncode == 0


def test_check_reads_standard_input(tmp_path: Path) -> None:
    proc = run("check", "--regime", "us-country-deals-2025", "--ledger",
               f"sqlite:///{tmp_path / 'l.db'}", "--json", "-", cwd=tmp_path,
               stdin=json.dumps(h100_order("S", "AE", 2000)))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["lines"][0]["reasons"][0]["code"] == "AGREEMENT"


def test_regimes_lists_id_title_dates_and_sources(tmp_path: Path) -> None:
    proc = run("regimes", "--json", cwd=tmp_path)
    assert proc.returncode == 0
    docs = {d["id"]: d for d in map(json.loads, proc.stdout.splitlines())}
    assert set(docs) == {"us-advanced-computing-2023", "us-ai-diffusion-2025",
                         "us-country-deals-2025"}
    assert docs["us-advanced-computing-2023"]["effective_from"] == "2023-11-17"
    assert docs["us-ai-diffusion-2025"]["status"] == "as-written"
    assert all(d["sources"] and d["sources"][0]["url"].startswith("https://")
               for d in docs.values())


def test_rego_tests_run_and_pass(tmp_path: Path) -> None:
    proc = run("test", "--engine", "embedded", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout
    last = proc.stdout.strip().splitlines()[-1]
    passed, failed = int(last.split()[0]), int(last.split()[2])
    assert failed == 0 and passed >= 100


def test_bad_configuration_names_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("ledger_timeout: soon\n")
    proc = run("--config", str(cfg), "regimes", cwd=tmp_path)
    assert proc.returncode == 2
    assert "ledger_timeout" in proc.stderr


def test_batch_reads_a_mapped_json_lines_export_whole(tmp_path: Path) -> None:
    examples = Path(__file__).resolve().parent.parent / "examples" / "erp"
    proc = run("--config", str(examples / "exportgate.yaml"), "batch", "--regime",
               "us-advanced-computing-2023", "--ledger", f"sqlite:///{tmp_path / 'l.db'}",
               "--json", str(examples / "tabular" / "line-export.jsonl"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    orders = [json.loads(line)["order"] for line in proc.stdout.splitlines()]
    assert len(orders) == len(set(orders)) >= 2


def test_diff_reports_what_changes_under_another_regime(tmp_path: Path) -> None:
    f = write_jsonl(tmp_path / "o.jsonl", [h100_order("SAME", "CN", 1),
                                           h100_order("MOVES", "IN", 1000),
                                           h100_order("LPP-2", "IN", 1000)])
    proc = run("diff", "--regime", "us-advanced-computing-2023", "--against",
               "us-ai-diffusion-2025", "--json", str(f), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = {r["order"]: r for r in json.loads(proc.stdout)["orders"]}
    assert report["SAME"]["before"] == report["SAME"]["after"] == "deny"
    assert report["MOVES"]["changes"] == [{"line": "10", "before": "allow", "after": "notify",
                                           "reason_before": "NLR", "reason_after": "LPP",
                                           "tpp": 1000 * 15832}]
    # quota depletes across the orders of the what-if run, as in a batch
    assert report["LPP-2"]["after"] == "license"
    assert not list(tmp_path.glob("**/*.db")), "a what-if must not write a ledger"


def test_regimes_list_their_official_sources(tmp_path: Path) -> None:
    """Every Federal Register and eCFR citation links to the official text."""
    import re
    proc = run("regimes", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for doc in map(json.loads, proc.stdout.splitlines()):
        urls = [s["url"] for s in doc["sources"]]
        assert any(u.startswith("https://www.federalregister.gov/d/") for u in urls), doc["id"]
        for url in urls:
            if "federalregister" in url:
                assert re.fullmatch(r"https://www\.federalregister\.gov/d/\d{4}-\d{5}", url), url
            if "ecfr" in url:
                assert re.fullmatch(
                    r"https://www\.ecfr\.gov/current/title-15/section-\d{3}\.\d+", url), url


def test_diff_reads_a_file_as_batch_does(tmp_path: Path) -> None:
    """One input path: the mapped JSON-lines export that batch decides, diff reads too."""
    examples = Path(__file__).resolve().parent.parent / "examples" / "erp"
    proc = run("--config", str(examples / "exportgate.yaml"), "diff", "--regime",
               "us-advanced-computing-2023", "--against", "us-ai-diffusion-2025", "--json",
               str(examples / "tabular" / "line-export.jsonl"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    orders = [o["order"] for o in json.loads(proc.stdout)["orders"]]
    assert len(orders) == len(set(orders)) >= 2
