"""The decision log: one hash-chained record per decision, and `audit verify` catching tampering."""
from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from exportgate.audit.log import GENESIS, AuditLog, canonical, head_path, record_hash, verify
from exportgate._cli import main
from exportgate._gate import Gate
from exportgate._settings import Settings

from tests.helpers import h100_order

REGIME = "us-ai-diffusion-2025"


def _gate(tmp_path: Path, **engine: Any) -> Gate:
    settings = Settings.from_dict({"audit_log": "audit.jsonl", "engine": engine or {}},
                                  base=tmp_path)
    return Gate(settings, regime_id=REGIME, ledger_url=f"sqlite:///{tmp_path / 'l.db'}")


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """An audit log of six decisions made by the gate."""
    with _gate(tmp_path) as gate:
        for n, dest in enumerate(["IN", "KR", "CN", "BR", "DE", "AE"], 1):
            gate.check(h100_order(f"SO-{n}", dest, 10 * n))
    return tmp_path / "audit.jsonl"


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _write(path: Path, lines: list[str]) -> None:
    path.write_text("".join(line + "\n" for line in lines))


def _rehash(line: str, **changes: Any) -> str:
    rec = {**json.loads(line), **changes}
    rec["hash"] = record_hash(rec)
    return canonical(rec)


def _kinds(path: Path) -> list[tuple[str, int | None]]:
    return [(p.kind, p.line) for p in verify(path).problems]


# -- what is written ------------------------------------------------------------


def test_every_decision_is_one_record_in_opa_decision_log_shape(log: Path) -> None:
    records = [json.loads(line) for line in _lines(log)]
    assert [r["order_id"] for r in records] == [f"SO-{n}" for n in range(1, 7)]
    first = records[0]
    for key in ("decision_id", "timestamp", "path", "input", "result", "bundles", "metrics",
                "labels", "order_id", "regime", "parameters", "seq", "prev_hash", "hash"):
        assert key in first, key
    assert first["path"] == "exportgate/regimes/us_ai_diffusion_2025/ladders"
    assert first["input"]["order"]["id"] == "SO-1" and first["input"]["contract"] == 2
    assert first["result"]["outcome"] == first["result"]["lines"][0]["outcome"]
    revision = first["bundles"][REGIME]["revision"]
    assert revision and revision == first["result"]["revision"]
    assert first["metrics"]["timer_exportgate_decide_ns"] > 0
    assert first["labels"]["engine"] == "embedded"
    assert first["timestamp"].endswith("Z")
    assert len({r["decision_id"] for r in records}) == 6
    assert [r["seq"] for r in records] == list(range(1, 7))
    assert records[0]["prev_hash"] == GENESIS
    for before, after in zip(records, records[1:]):
        assert after["prev_hash"] == before["hash"]
    for r in records:
        assert r["hash"] == record_hash(r)
    head = json.loads(head_path(log).read_text())
    assert {k: head[k] for k in ("records", "hash", "chain", "log")} == {
        "records": 6, "hash": records[-1]["hash"], "chain": "sha256", "log": records[0]["hash"]}


def test_the_parameters_in_force_are_recorded(tmp_path: Path) -> None:
    settings = Settings.from_dict({"audit_log": "a.jsonl",
                                   "parameters": {REGIME: {"lpp_cap_tpp": 100}}}, base=tmp_path)
    with Gate(settings, regime_id=REGIME, ledger_url=f"sqlite:///{tmp_path / 'l.db'}") as g:
        g.check(h100_order("SO-P", "IN", 1))
    [record] = [json.loads(line) for line in _lines(tmp_path / "a.jsonl")]
    assert record["parameters"] == {"lpp_cap_tpp": 100}
    assert record["result"]["parameters"] == {"lpp_cap_tpp": 100}


def test_a_held_decision_is_logged_too(tmp_path: Path) -> None:
    with _gate(tmp_path, name="opa-http", url="http://127.0.0.1:9") as gate:
        checked = gate.check(h100_order("SO-H", "IN", 1))
    assert checked.decision.error
    [record] = [json.loads(line) for line in _lines(tmp_path / "audit.jsonl")]
    assert record["result"]["error"] == checked.decision.error
    assert record["result"]["outcome"] == "license"
    assert record["labels"]["engine"] == "opa-http"
    assert verify(tmp_path / "audit.jsonl").ok


def test_an_intact_log_verifies(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = verify(log)
    assert report.ok and report.records == 6 and report.anchored
    assert main(["audit", "verify", str(log)]) == 0
    assert "6 records, chain intact" in capsys.readouterr().out


# -- tampering -------------------------------------------------------------------


def test_an_edited_record_is_named(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines(log)
    lines[2] = lines[2].replace('"outcome":"deny"', '"outcome":"allow"')
    assert '"outcome":"allow"' in lines[2]
    _write(log, lines)
    assert _kinds(log) == [("edited", 3)]
    assert main(["audit", "verify", str(log)]) == 1
    out = capsys.readouterr().out
    assert f"{log}:3: edited: record 3 (order SO-3)" in out


def test_an_edited_and_rehashed_record_is_named(log: Path) -> None:
    lines = _lines(log)
    lines[3] = _rehash(lines[3], order_id="SO-X")
    _write(log, lines)
    assert _kinds(log) == [("edited", 4)]


def test_an_unreadable_line_is_named(log: Path) -> None:
    lines = _lines(log)
    lines[1] = "garbage"
    _write(log, lines)
    assert _kinds(log) == [("edited", 2)]


@pytest.mark.parametrize("gone", [0, 2, 3])
def test_a_removed_record_is_named(log: Path, gone: int) -> None:
    lines = _lines(log)
    del lines[gone]
    _write(log, lines)
    [problem] = verify(log).problems
    assert (problem.kind, problem.line) == ("removed", gone + 1)
    assert "1 record(s) missing before" in problem.message


def test_removed_records_at_the_end_are_caught_by_the_head(log: Path) -> None:
    lines = _lines(log)
    _write(log, lines[:-2])
    [problem] = verify(log).problems
    assert problem.kind == "removed" and "2 record(s) removed at the end" in problem.message
    head_path(log).unlink()  # without the anchor the shortened chain still verifies
    assert verify(log).ok and not verify(log).anchored


def test_an_anchor_kept_elsewhere_catches_a_rewritten_end(log: Path, tmp_path: Path) -> None:
    anchor = tmp_path / "anchor.json"
    anchor.write_text(head_path(log).read_text())
    lines = _lines(log)
    _write(log, lines[:-1])
    head_path(log).write_text(json.dumps({"records": 5,
                                          "hash": json.loads(lines[-2])["hash"]}))
    assert verify(log).ok  # the forger rewrote the head beside the log too
    assert main(["audit", "verify", "--anchor", str(anchor), str(log)]) == 1


def test_an_inserted_record_is_named(log: Path) -> None:
    lines = _lines(log)
    forged = _rehash(lines[2], order_id="SO-FORGED", seq=4)  # chained after record 3
    lines.insert(3, forged)
    _write(log, lines)
    assert _kinds(log) == [("inserted", 4)]


def test_an_inserted_record_with_a_made_up_link_is_named(log: Path) -> None:
    lines = _lines(log)
    lines.insert(1, _rehash(lines[0], prev_hash="f" * 64, order_id="SO-FORGED"))
    _write(log, lines)
    assert _kinds(log) == [("inserted", 2)]


def test_a_record_appended_after_the_head_is_named(log: Path) -> None:
    lines = _lines(log)
    last = json.loads(lines[-1])
    lines.append(_rehash(lines[-1], prev_hash=last["hash"], seq=7, order_id="SO-LATE"))
    _write(log, lines)
    assert _kinds(log) == [("inserted", 7)]


def test_swapped_records_are_named(log: Path) -> None:
    lines = _lines(log)
    lines[1], lines[2] = lines[2], lines[1]
    _write(log, lines)
    [problem] = verify(log).problems
    assert problem.kind == "reordered" and problem.line in (2, 3)


def test_a_moved_record_is_named(log: Path) -> None:
    lines = _lines(log)
    lines.append(lines.pop(1))  # record 2 moved to the end
    _write(log, lines)
    assert _kinds(log) == [("reordered", 6)]
    assert "belongs after line 1" in verify(log).problems[0].message


def test_verify_json_report(log: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = _lines(log)
    del lines[4]
    _write(log, lines)
    assert main(["audit", "verify", "--json", str(log)]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["ok"] is False and doc["problems"][0]["kind"] == "removed"
    assert doc["problems"][0]["line"] == 5


def test_a_missing_log_is_an_input_error(tmp_path: Path) -> None:
    assert main(["audit", "verify", str(tmp_path / "nope.jsonl")]) == 2


# -- appending ------------------------------------------------------------------


def _append_many(path: str, worker: int, n: int) -> None:
    log = AuditLog(path)
    for i in range(n):
        log.append({"order_id": f"W{worker}-{i}", "result": {"i": i}})


def test_concurrent_appends_from_many_processes_keep_one_chain(tmp_path: Path) -> None:
    path = tmp_path / "shared.jsonl"
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append_many, args=(str(path), w, 25)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    report = verify(path)
    assert report.ok, report.problems
    records = [json.loads(line) for line in _lines(path)]
    assert [r["seq"] for r in records] == list(range(1, 101))
    assert len({r["order_id"] for r in records}) == 100


def test_a_torn_last_line_is_reported_and_the_chain_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "torn.jsonl"
    log = AuditLog(path)
    log.append({"order_id": "A"})
    log.append({"order_id": "B"})
    with open(path, "a") as f:
        f.write('{"order_id": "C", "se')  # a writer died mid-line
    log.append({"order_id": "D"})
    assert _kinds(path) == [("edited", 3)]
    records = [json.loads(line) for line in _lines(path) if line.startswith('{"')
               and line.endswith("}")]
    assert records[-1]["prev_hash"] == records[-2]["hash"]


def test_a_log_that_cannot_be_written_stops_the_check(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "audit.jsonl").mkdir()  # a folder where the log should be
    order = tmp_path / "o.json"
    order.write_text(json.dumps(h100_order("SO-1", "KR", 1)))
    config = tmp_path / "c.yaml"
    config.write_text("audit_log: audit.jsonl\n")
    code = main(["--config", str(config), "check", "--regime", REGIME, "--ledger",
                 f"sqlite:///{tmp_path / 'l.db'}", str(order)])
    assert code == 5  # EXIT_AUDIT: its own kind, its own exit code
    captured = capsys.readouterr()
    assert "cannot append the decision" in captured.err
    # The order is answered, held, and nothing of it stays reserved.
    assert "outcome LICENSE" in captured.out and "cannot append the decision" in captured.out
    from exportgate.ledger.urls import open_ledger
    ledger = open_ledger(f"sqlite:///{tmp_path / 'l.db'}")
    try:
        assert ledger.reservations() == [] and ledger.orders() == []
    finally:
        ledger.close()
