"""Batches: validated whole before anything is decided, worker processes decide as one
process does, identical inputs evaluated once, groups commit, progress only on a terminal."""
from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from exportgate import FakeEngine, InputError, Outcome, Record
from exportgate._batch import BatchRun, Progress
from exportgate.engines.embedded import RegopyEngine

from tests.helpers import h100_order


def book(n: int) -> list[Record]:
    """Orders to three consignees in turn, so LPP runs out part-way."""
    return [Record.from_value(h100_order(f"B-{i:03d}", "IN", 300 + i,
                                         end_user={"id": f"eu-{i % 3}", "country": "IN"}),
                              f"book:{i}") for i in range(n)]


def summary(checked: list[Any]) -> list[tuple[str, str, list[str]]]:
    return [(c.decision.order, c.decision.outcome.value,
             [line.reasons[0].code for line in c.decision.lines]) for c in checked]


@pytest.mark.slow
def test_worker_processes_decide_exactly_as_one_process(make_gate: Any, tmp_path: Path) -> None:
    records = book(40)
    alone = summary(list(make_gate().batch(records, workers=0)))
    spread = summary(list(make_gate(ledger=f"sqlite:///{tmp_path / 'w.db'}").batch(
        records, workers=2)))
    assert spread == alone
    codes = {code for _, _, cs in alone for code in cs}
    assert {"LPP", "TIER2_LICENSE"} <= codes  # the fold ran out of LPP part-way, in order


@pytest.mark.slow
def test_workers_replaced_for_their_memory_lose_nothing(make_gate: Any, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker past its memory bound finishes the tasks it holds and a fresh one takes the
    next: with a bound every worker passes at once, the batch decides as one process does."""
    import exportgate._batch as batch_module
    monkeypatch.setattr(batch_module, "WORKER_MB", 0)
    records = book(450)
    alone = summary(list(make_gate().batch(records, workers=0)))
    replaced = summary(list(make_gate(ledger=f"sqlite:///{tmp_path / 'r.db'}").batch(
        records, workers=2)))
    assert replaced == alone


def test_identical_inputs_are_evaluated_once(make_gate: Any) -> None:
    """Two orders that differ only in their id are one evaluation; each still folds on its own."""
    real = RegopyEngine()
    fake = FakeEngine(lambda regime, rule, doc: real.evaluate(regime, rule, doc))
    gate = make_gate(engine=fake)
    same = [Record.from_value(h100_order(f"S-{i}", "IN", 1000), f"s:{i}") for i in range(3)]
    decided = list(gate.batch(same, workers=0))
    assert len(fake.inputs) == 1
    # The first two fit LPP (26,900,000 TPP) whole; the third does not and falls through.
    assert [d.decision.lines[0].reasons[0].code for d in decided] == ["LPP", "TIER2_LICENSE",
                                                                       "TIER2_LICENSE"]


def test_a_license_revoked_mid_batch_covers_no_later_identical_order(
        make_gate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two identical orders share one evaluation whose input offered the license; it is
    revoked once the first is committed: the second, decided in a later transaction, is not
    covered by it (the deciding transaction reads the license again)."""
    import exportgate._batch as batch_module
    from exportgate.ledger import licenses as _licenses
    from tests.licenses.builders import h200_order, license_doc
    monkeypatch.setattr(batch_module, "CHUNK", 1)  # one order a transaction
    real = RegopyEngine()
    fake = FakeEngine(lambda regime, rule, doc: real.evaluate(regime, rule, doc))
    gate = make_gate("us-advanced-computing-2023", engine=fake)
    _licenses.add(gate.ledger, _licenses.parse({"licenses": [license_doc()]}, "test"))

    def revoke_after_the_first(checked: Any) -> None:
        if checked.order.id == "R-0":
            _licenses.revoke(gate.ledger, "D1234567")

    records = [Record.from_value(h200_order(f"R-{i}", 10), f"r:{i}") for i in range(2)]
    decided = list(gate.batch(records, workers=0, on_committed=revoke_after_the_first))
    assert [[x["number"] for x in doc.get("licenses", ())] for doc in fake.inputs] == [
        ["D1234567"]]
    assert [(c.decision.outcome, c.decision.lines[0].license,
             c.decision.lines[0].licenses_not_in_force) for c in decided] == [
        (Outcome.ALLOW, "D1234567", ()), (Outcome.LICENSE, None, ("D1234567",))]


def test_an_input_that_no_longer_names_a_license_is_evaluated_afresh(make_gate: Any) -> None:
    """The answers are kept by the whole input, its licenses included: an order read after a
    revocation is evaluated without the license, never answered from an input with it."""
    from exportgate.ledger import licenses as _licenses
    from tests.licenses.builders import h200_order, license_doc
    real = RegopyEngine()
    fake = FakeEngine(lambda regime, rule, doc: real.evaluate(regime, rule, doc))
    gate = make_gate("us-advanced-computing-2023", engine=fake)
    _licenses.add(gate.ledger, _licenses.parse({"licenses": [license_doc()]}, "test"))
    first = gate.check(h200_order("R-0", 10))
    _licenses.revoke(gate.ledger, "D1234567")
    second = gate.check(h200_order("R-1", 10))
    assert [[x["number"] for x in doc.get("licenses", ())] for doc in fake.inputs] == [
        ["D1234567"], []]
    assert (first.decision.outcome, first.decision.lines[0].license) == (Outcome.ALLOW,
                                                                         "D1234567")
    assert (second.decision.outcome, second.decision.lines[0].license,
            second.decision.lines[0].licenses_not_in_force) == (Outcome.LICENSE, None, ())


@pytest.mark.parametrize("group_commits", [True, False])
def test_an_order_shipped_while_the_batch_runs_is_held(make_gate: Any, group_commits: bool,
                                                       monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    """Shipped after the batch read it, before its turn: held, saying so (as a check
    is), its commitment kept; the orders around it are decided, in one transaction or each
    in its own."""
    gate = make_gate()
    gate.check(h100_order("A", "IN", 100))
    gate.ledger.group_commits = group_commits

    import exportgate._batch as batch_module
    read_back = batch_module._Spool.blocks

    def shipped_once_read(spool: Any) -> Any:
        gate.ledger.commit("A")  # every record read, nothing decided yet
        yield from read_back(spool)

    monkeypatch.setattr(batch_module._Spool, "blocks", shipped_once_read)
    records = [Record.from_value(h100_order(name, "IN", 100), f"r:{name}") for name in "BAC"]
    decided = {c.decision.order: c.decision for c in gate.batch(records, workers=0)}
    assert "committed at shipment" in (decided["A"].error or "")
    assert decided["A"].outcome is Outcome.LICENSE
    assert decided["B"].error is None and decided["C"].error is None
    assert {r["order"]: r["state"] for r in gate.ledger.reservations()} == {
        "A": "committed", "B": "reserved", "C": "reserved"}


def test_a_bad_record_stops_the_batch_before_anything_is_decided(make_gate: Any) -> None:
    records = book(3)
    bad = dict(records[2].data)
    bad["lines"] = [{"id": "10", "item": "H100", "quantity": -1}]
    gate = make_gate()
    with pytest.raises(InputError, match="quantity"):
        list(gate.batch([*records[:2], Record.from_value(bad, "book:2")]))
    assert gate.ledger.reservations() == []


@pytest.mark.slow
def test_a_bad_record_read_by_a_worker_is_named_as_in_process(make_gate: Any) -> None:
    """An input error crosses from the worker with its record, line and field; with
    keep_going the batch decides the rest, in input order, and nothing of the bad order."""
    from exportgate import ValidationError
    records = book(450)
    bad = dict(records[200].data)
    bad["lines"] = [{"id": "10", "item": "H100", "quantity": -1}]
    records[200] = Record.from_value(bad, "book:200")
    errors: list[InputError] = []
    decided = list(make_gate().batch(records, workers=2, keep_going=True,
                                     on_error=errors.append))
    [error] = errors
    assert isinstance(error, ValidationError)
    assert (error.record, error.line, error.field) == ("B-200", "10", "quantity")
    assert [c.order.id for c in decided] == [f"B-{i:03d}" for i in range(450) if i != 200]


def test_a_chunk_whose_commit_fails_is_held_whole(make_gate: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from exportgate import LedgerError
    gate = make_gate()
    real_group = gate.ledger.group

    class Failing:
        def __enter__(self) -> Any:
            self.inner = real_group()
            return self.inner.__enter__()

        def __exit__(self, *exc: Any) -> None:
            self.inner.__exit__(LedgerError, LedgerError("disk full"), None)
            raise LedgerError("ledger: disk full")

    monkeypatch.setattr(gate.ledger, "group", lambda: Failing())
    decided = list(gate.batch(book(3), workers=0))
    assert all(c.decision.error and "disk full" in c.decision.error for c in decided)
    assert all(line.outcome is Outcome.LICENSE for c in decided for line in c.decision.lines)
    monkeypatch.undo()
    assert gate.ledger.reservations() == []


def test_the_progress_bar_shows_on_a_terminal_only() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    piped, tty = io.StringIO(), Tty()
    for stream in (piped, tty):
        bar = Progress(100, stream)
        bar.advance(40)
        bar.advance(60)
        bar.close()
    assert piped.getvalue() == ""
    shown = tty.getvalue()
    assert "100/100 lines" in shown and "lines/s" in shown and "ETA" in shown


def test_the_batch_command_streams_json_lines(tmp_path: Path) -> None:
    from exportgate._cli import main
    path = tmp_path / "b.jsonl"
    path.write_text("".join(json.dumps(r.data) + "\n" for r in book(5)))
    out = tmp_path / "out.txt"
    import contextlib
    with out.open("w") as f, contextlib.redirect_stdout(f):
        code = main(["batch", "--regime", "us-ai-diffusion-2025", "--json", "--workers", "0",
                     "--ledger", f"sqlite:///{tmp_path / 'l.db'}", str(path)])
    assert code == 0
    assert [json.loads(x)["order"] for x in out.read_text().splitlines()] == \
        [f"B-{i:03d}" for i in range(5)]


def test_run_counts_the_work_before_deciding(make_gate: Any) -> None:
    run = BatchRun(make_gate())
    counts = run.read(book(4))
    assert (counts.records, counts.orders, counts.lines) == (4, 4, 4)
    run.close()


@pytest.mark.slow
def test_a_worker_that_dies_holds_its_orders_and_the_batch_goes_on(make_gate: Any,
                                                                  tmp_path: Path) -> None:
    """A worker killed mid-batch (out of memory, a native crash) never hangs the batch: the
    orders it was evaluating are held, reserving nothing, and the rest are decided."""
    import multiprocessing
    import os
    import signal
    import threading

    records = book(600)
    gate = make_gate()
    killed: list[int] = []
    others = {p.pid for p in multiprocessing.active_children()}  # other tests' servers

    def kill_a_worker() -> None:
        for _ in range(600):  # up to a minute for the pool to start
            children = [p for p in multiprocessing.active_children() if p.pid not in others]
            if children:
                os.kill(children[0].pid, signal.SIGKILL)
                killed.append(children[0].pid)
                return
            threading.Event().wait(0.1)

    killer = threading.Thread(target=kill_a_worker)
    decided: list[Any] = []
    run = threading.Thread(target=lambda: decided.extend(gate.batch(records, workers=2)))
    killer.start()
    run.start()
    run.join(timeout=600)  # a guard against hanging, not a speed target
    killer.join(timeout=5)
    assert not run.is_alive(), "the batch waited on a dead worker"
    assert killed
    assert [c.decision.order for c in decided] == [f"B-{i:03d}" for i in range(600)]
    held = [c.decision for c in decided if c.decision.error]
    assert held and all("engine worker failed" in d.error for d in held)
    assert all(d.outcome is Outcome.LICENSE for d in held)
    with sqlite3.connect(tmp_path / "ledger.db") as conn:  # the gate's is the batch thread's
        reserved = {row[0] for row in conn.execute("SELECT order_id FROM eg_reservations")}
    assert reserved.isdisjoint({d.order for d in held})
    assert any(not c.decision.error for c in decided)  # the next chunks got a fresh pool


# -- evaluation by context ------------------------------------------------------


def test_an_order_is_evaluated_in_slices_and_answered_whole(make_gate: Any) -> None:
    """600 kinds of line: three evaluations of at most 256 lines, the order's facts in each;
    the order's answer has its own lines in order, and decides as its whole input does."""
    from exportgate._contexts import LINES_PER_CALL
    real = RegopyEngine()
    fake = FakeEngine(lambda regime, rule, doc: real.evaluate(regime, rule, doc))
    gate = make_gate(engine=fake)
    doc = h100_order("BIG", "IN", 1)
    doc["lines"] = [{"id": str(10 * (i + 1)), "item": f"PART-{i}", "quantity": 1 + i % 7,
                     "classification": {"eccn": "3A090.a", "tpp": 100 + i}} for i in range(600)]
    evaluated = gate.evaluate(gate.prepare(doc))
    assert [len(x["order"]["lines"]) for x in fake.inputs] == [256, 256, 88]
    assert max(len(x["order"]["lines"]) for x in fake.inputs) <= LINES_PER_CALL
    assert evaluated.answer is not None
    whole = real.evaluate(evaluated.regime, "ladders", evaluated.doc)
    assert evaluated.answer.value["lines"] == whole["lines"]
    assert evaluated.answer.value["facts"] == whole["facts"]


def test_measures_are_never_derived_from_an_answer_that_does_not_carry_them(
        make_gate: Any) -> None:
    """A kind of line is reused at another quantity only if its answer carried the measures
    the contract defines; here the engine answers otherwise, so each order is evaluated whole
    and keeps exactly what the engine said for it."""
    real = RegopyEngine()

    def doubled(regime: Any, rule: str, doc: dict[str, Any]) -> Any:
        answer = real.evaluate(regime, rule, doc)
        for line in answer["lines"]:
            line["units"] *= 2
        return answer
    fake = FakeEngine(doubled)
    gate = make_gate(engine=fake)
    answers = [gate.evaluate(gate.prepare(h100_order(f"Q-{q}", "IN", q))).answer
               for q in (10, 20)]
    assert [a.value["lines"][0]["units"] for a in answers if a is not None] == [20, 40]
    # Q-10 through its context (a line of its kind); Q-20, same context, whole and alone.
    assert [(x["order"]["id"], x["order"]["lines"][0]["id"]) for x in fake.inputs] == [
        ("Q-10", "1"), ("Q-20", "10")]


def test_a_malformed_answer_sends_each_order_of_its_context_to_the_engine_alone(
        make_gate: Any) -> None:
    """Undefined for the shared input: each order is then evaluated whole and held, its own
    id in the reason, as a check of it alone would say."""
    fake = FakeEngine(lambda regime, rule, doc: None)
    gate = make_gate(engine=fake)
    same = [Record.from_value(h100_order(f"U-{i}", "IN", 10 + i), f"u:{i}") for i in range(3)]
    decided = list(gate.batch(same, workers=0))
    assert len(fake.inputs) == 4  # the context once, then each order alone
    assert [fake.inputs[i]["order"]["id"] for i in (1, 2, 3)] == ["U-0", "U-1", "U-2"]
    for checked in decided:
        assert checked.decision.outcome is Outcome.LICENSE
        assert f"undefined for order {checked.order.id}" in (checked.decision.error or "")
    assert gate.ledger.reservations() == []


def test_an_engine_that_cannot_answer_holds_every_order_of_the_context(make_gate: Any) -> None:
    from exportgate import EngineError

    def down(regime: Any, rule: str, doc: dict[str, Any]) -> Any:
        raise EngineError("sidecar down")
    gate = make_gate(engine=FakeEngine(down))
    same = [Record.from_value(h100_order(f"D-{i}", "IN", 10 + i), f"d:{i}") for i in range(3)]
    decided = list(gate.batch(same, workers=0))
    assert [(c.decision.outcome, "sidecar down" in (c.decision.error or ""))
            for c in decided] == [(Outcome.LICENSE, True)] * 3
    assert gate.ledger.reservations() == []
