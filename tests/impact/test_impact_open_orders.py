"""The order book from the ledger: the orders still reserved, as the decision log last saw them."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from exportgate._gate import Gate
from exportgate._impact import latest_inputs
from exportgate._settings import Settings
from tests.helpers import exportgate_cmd, h100_order

LPP = "us-ai-diffusion-2025"


def test_open_orders_are_rescreened_from_the_decision_log(tmp_path: Path) -> None:
    config = tmp_path / "exportgate.yaml"
    config.write_text("ledger: sqlite:///ledger.db\naudit_log: audit.jsonl\n")
    settings = Settings.from_file(config)
    in_1 = {"id": "IN1", "country": "IN"}
    with Gate(settings, regime_id=LPP) as gate:
        for order in (h100_order("SHIPPED", "IN", 1000, end_user=in_1),
                      h100_order("OPEN-IN", "IN", 800, end_user=in_1),
                      h100_order("OPEN-DE", "DE", 100),
                      h100_order("CANCELLED", "IN", 400),
                      h100_order("OPEN-DE", "DE", 300)):   # re-checked: the latest counts
            gate.check(order)
        gate.ledger.commit("SHIPPED")
        gate.ledger.release("CANCELLED")
    inputs, unreadable = latest_inputs(tmp_path / "audit.jsonl", {"OPEN-DE", "OPEN-IN"})
    assert unreadable == 0
    assert inputs["OPEN-DE"]["lines"][0]["quantity"] == 300

    proc = subprocess.run(exportgate_cmd() + [
        "--config", str(config), "diff", "--open", "--regime", LPP, "--against",
        f"{LPP}:lpp_cap_tpp=7916000", "--json"], cwd=tmp_path, capture_output=True, text=True,
        timeout=120)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["book"]["kind"] == "ledger"
    assert report["book"]["open_orders"] == 2 and report["book"]["missing"] == []
    assert report["book"]["committed_orders"] == 1
    orders = {o["order"]: o for o in report["orders"]}
    assert set(orders) == {"OPEN-IN", "OPEN-DE"}
    assert report["book"]["h100eq"] == 800 + 300
    # SHIPPED's 1,000 H100s of LPP stay taken: 800 more exceed 1,700 on both sides
    assert orders["OPEN-IN"]["before"] == "license"
    lpp = {q["quota"]: q for q in report["quota"]["before"]}["lpp:IN1:2025"]
    assert lpp["committed"] == 1000 * 15832 and lpp["screened"] == 0
    assert lpp["ran_out"]["order"] == "OPEN-IN"


def test_open_needs_the_decision_log(tmp_path: Path) -> None:
    proc = subprocess.run(exportgate_cmd() + [
        "diff", "--open", "--ledger", f"sqlite:///{tmp_path / 'l.db'}", "--regime", LPP,
        "--against", LPP], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "audit_log" in proc.stderr


def test_a_logged_input_that_repeats_a_key_is_not_rescreened(tmp_path: Path) -> None:
    """Which of two quantities the record meant is unknown: the line is unreadable, not read."""
    log = tmp_path / "audit.jsonl"
    order = h100_order("OPEN-1", "IN", 10)
    line = json.dumps({"order_id": "OPEN-1", "input": {"order": order}})
    log.write_text(line.replace('"quantity": 10', '"quantity": 10, "quantity": 5000') + "\n")
    inputs, unreadable = latest_inputs(log, {"OPEN-1"})
    assert inputs == {} and unreadable == 1
