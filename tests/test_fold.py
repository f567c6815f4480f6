"""The quota fold against a plain reference: line order, whole lines, other orders' use."""
from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from exportgate._fold import fold
from exportgate._model import Outcome
from exportgate._policy import Candidate, Ladders, LineLadder

KEYS = ["lpp:c1:2025", "alloc:IN", "nveu:e1:IN"]


def reference(ladders: Ladders, usage: dict[str, int]) -> list[tuple[int, int]]:
    """(candidate index, quota used before it) per line, recomputed from scratch for each line."""
    picks: list[tuple[int, int]] = []
    for i, line in enumerate(ladders.lines):
        def used(key: str) -> int:
            earlier = sum(ladders.lines[j].amount(ladders.lines[j].candidates[k]) or 0
                          for j, (k, _) in enumerate(picks)
                          if ladders.lines[j].candidates[k].quota == key)
            return usage.get(key, 0) + earlier
        for k, c in enumerate(line.candidates):
            if c.quota is None:
                picks.append((k, 0))
                break
            amount = line.amount(c)
            if amount is not None and (c.cap is None or used(c.quota) + amount <= c.cap):
                picks.append((k, used(c.quota)))
                break
    return picks


@st.composite
def ladders(draw: Any) -> Ladders:
    lines = []
    for n in range(draw(st.integers(1, 12))):
        metered = [Candidate(f"M{k}", Outcome.NOTIFY, "Q", key,
                             draw(st.one_of(st.integers(0, 2000), st.none())),
                             draw(st.sampled_from(["tpp", "units"])))
                   for k, key in enumerate(draw(st.lists(st.sampled_from(KEYS), max_size=3)))]
        last = Candidate("Z", draw(st.sampled_from(list(Outcome))), "END")
        tpp = draw(st.one_of(st.none(), st.integers(0, 900)))
        lines.append(LineLadder(str(n), "adv-a", tpp, draw(st.integers(1, 900)), (),
                                (*metered, last)))
    return Ladders("r", {}, tuple(lines))


@settings(max_examples=300, deadline=None)
@given(ladders(), st.dictionaries(st.sampled_from(KEYS), st.integers(0, 2500)))
def test_the_fold_matches_the_reference(doc: Ladders, usage: dict[str, int]) -> None:
    picks = fold(doc, usage)
    want = reference(doc, usage)
    assert [(p.line.candidates.index(p.candidate), p.before or 0) for p in picks] == want
    # No capped quota goes over its cap through this order, and no line is split.
    taken: dict[str, int] = {}
    for p in picks:
        if p.candidate.quota is not None:
            assert p.amount == p.line.amount(p.candidate)
            taken[p.candidate.quota] = taken.get(p.candidate.quota, 0) + (p.amount or 0)
            if p.candidate.cap is not None:  # an uncapped candidate only counts
                assert usage.get(p.candidate.quota, 0) + taken[p.candidate.quota] <= \
                    p.candidate.cap
    # Every metered candidate a line passed over is reported as refused, in order.
    for p in picks:
        skipped = [c for c in p.line.candidates[:p.line.candidates.index(p.candidate)]
                   if p.line.amount(c) is not None]
        assert [r.quota for r in p.refused] == [c.quota for c in skipped]


def test_a_later_smaller_line_fits_where_a_larger_one_did_not() -> None:
    lpp = Candidate("D6", Outcome.NOTIFY, "LPP", "k", 10, "tpp")
    end = Candidate("D8", Outcome.LICENSE, "T2")
    doc = Ladders("r", {}, tuple(LineLadder(str(i), "adv-a", t, 1, (), (lpp, end))
                                 for i, t in enumerate([8, 8, 2])))
    assert [(p.candidate.row, p.before) for p in fold(doc, {})] == [
        ("D6", 0), ("D8", None), ("D6", 8)]
    assert [(p.candidate.row, p.before) for p in fold(doc, {"k": 5})] == [
        ("D8", None), ("D8", None), ("D6", 5)]


def test_a_license_not_in_force_in_the_transaction_covers_nothing() -> None:
    """A licensed candidate applies only if the ledger read its license as in force; else
    the line goes on down its ladder, as it would without the license, and says why."""
    lic = Candidate("LICENSED", Outcome.ALLOW, "LICENSED", "license:D1:0", 100, "units")
    held = Candidate("B1", Outcome.LICENSE, "CASE_BY_CASE_2026")
    doc = Ladders("r", {}, (LineLadder("10", "adv-a", 800, 8, (), (lic, held)),))
    [drawn] = fold(doc, {}, {"D1"})
    assert (drawn.candidate.row, drawn.amount, drawn.not_in_force) == ("LICENSED", 8, ())
    for in_force in (set(), {"D2"}):
        [passed] = fold(doc, {}, in_force)
        assert (passed.candidate.row, passed.amount, passed.refused, passed.not_in_force) \
            == ("B1", None, (), ("D1",))
    [default] = fold(doc, {})  # told nothing: no license is in force
    assert default.candidate.row == "B1"
