"""The impact report's numbers against an independent count of a generated book."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import exportgate_cmd
from tests.impact.book import Side, count, expect, make_book

BOOK = make_book(90)


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(exportgate_cmd() + list(args), cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def book_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("impact") / "book.jsonl"
    path.write_text("".join(json.dumps(o) + "\n" for o in BOOK))
    return path


def diff_json(book: Path, regime: str, against: str, *options: str) -> dict[str, Any]:
    proc = run("diff", "--regime", regime, "--against", against, "--json", *options,
               str(book), cwd=book.parent)
    assert proc.returncode == 0, proc.stderr
    report: dict[str, Any] = json.loads(proc.stdout)
    return report


def check_summary(report: dict[str, Any], before: Side, after: Side) -> None:
    want = count(BOOK, before, after)
    for side in ("before", "after"):
        for outcome, got in report["outcomes"][side].items():
            assert got["lines"] == want["lines"][(side, outcome)], (side, outcome)
            assert got["orders"] == want["orders"][(side, outcome)], (side, outcome)
            assert got["h100eq"] == pytest.approx(want["h100"][(side, outcome)]), (side, outcome)
    moves = {(t["from"], t["to"]): t for t in report["transitions"] if t["changed"]}
    assert set(moves) == set(want["moves"])
    for key, t in moves.items():
        assert t["lines"] == want["moves"][key], key
        assert t["orders"] == len(want["move_orders"][key]), key
    assert report["changed"]["lines"] == sum(want["moves"].values())
    countries = {c["country"]: c for c in report["countries"]}
    for country, c in countries.items():
        assert c["changed_lines"] == want["country_changed"][country], country
        assert c["after"] == dict(want["country_after"][country]), country
    listed = {c["consignee"]: c["changed_lines"] for c in report["consignees"]}
    assert len(listed) == min(10, len({o["parties"]["end_user"]["id"] for o in BOOK}))
    for consignee, changed in listed.items():
        assert changed == want["consignee_changed"][consignee], consignee
    unlisted = [n for k, n in want["consignee_changed"].items() if k not in listed]
    assert max(unlisted, default=0) <= min(listed.values())
    for side, expected in (("before", before), ("after", after)):
        ran_out = {q["quota"]: q["ran_out"] for q in report["quota"][side] if q["ran_out"]}
        assert {k: (r["order"], r["refused_lines"]) for k, r in ran_out.items()} \
            == expected.ran_out, side


def test_lpp_at_500_h100s_as_the_proposed_regime(book_file: Path) -> None:
    report = diff_json(book_file, "us-ai-diffusion-2025", "us-country-deals-2025")
    before = expect(BOOK, "us-ai-diffusion-2025")
    after = expect(BOOK, "us-country-deals-2025")
    check_summary(report, before, after)
    # the question has teeth: lines move from notify to license, and quota runs out
    moves = {(t["from"], t["to"]): t["lines"] for t in report["transitions"]}
    assert moves[("notify", "license")] > 10
    assert any(r["side"] == "after" and r["quota"].startswith("lowvol:")
               for r in report["ran_out"])
    assert report["sides"]["after"]["overrides"] == {}


def test_lpp_at_500_h100s_as_a_parameter_override(book_file: Path) -> None:
    # in worker processes: the override must reach them
    report = diff_json(book_file, "us-ai-diffusion-2025",
                       "us-ai-diffusion-2025:lpp_cap_tpp=7916000", "--workers", "2")
    before = expect(BOOK, "us-ai-diffusion-2025")
    after = expect(BOOK, "us-ai-diffusion-2025", lpp_cap=7_916_000)
    check_summary(report, before, after)
    assert report["sides"]["after"]["overrides"] == {"lpp_cap_tpp": 7916000}
    assert report["sides"]["after"]["label"] == \
        "us-ai-diffusion-2025 with lpp_cap_tpp=7916000"
    assert ("notify", "license") in {(t["from"], t["to"]) for t in report["transitions"]}
    lpp_after = {q["quota"]: q for q in report["quota"]["after"]}
    assert all(q["cap"] == 7916000 for k, q in lpp_after.items() if k.startswith("lpp:"))


def test_terminal_report_puts_the_summary_first(book_file: Path) -> None:
    proc = run("diff", "--regime", "us-ai-diffusion-2025", "--against",
               "us-ai-diffusion-2025:lpp_cap_tpp=7916000", str(book_file), cwd=book_file.parent)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert out.index("Outcomes") < out.index("Changes:") < out.index("By destination country") \
        < out.index("By consignee") < out.index("Quota that runs out") \
        < out.index("Order by order")
    assert "notify -> license:" in out
    assert "(the first 20; --detail for all)" in out
    shown = [line for line in out.splitlines() if line.startswith("order ")]
    assert len(shown) == 20
    page = book_file.parent / "impact.html"
    full = run("diff", "--regime", "us-ai-diffusion-2025", "--against",
               "us-ai-diffusion-2025:lpp_cap_tpp=7916000", "--detail", "--html", str(page),
               str(book_file), cwd=book_file.parent)
    assert len([line for line in full.stdout.splitlines() if line.startswith("order ")]) > 20
    assert f"report drawn in {page}" in full.stdout
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert "Impact of us-ai-diffusion-2025 with lpp_cap_tpp=7916000" in html


@pytest.mark.parametrize("against, message", [
    ("us-ai-diffusion-2025:lpp_cap=1", "parameters.us-ai-diffusion-2025.lpp_cap: unknown "
                                       "parameter"),
    ("us-ai-diffusion-2025:lpp_cap_tpp=lots", "expects a number"),
    ("us-ai-diffusion-2025:lpp_cap_tpp", "write each parameter as NAME=VALUE"),
    ("no-such-regime:x=1", "unknown regime 'no-such-regime'"),
])
def test_overrides_are_validated_like_the_configuration(tmp_path: Path, against: str,
                                                       message: str) -> None:
    book = tmp_path / "b.jsonl"
    book.write_text(json.dumps(BOOK[0]) + "\n")
    proc = run("diff", "--regime", "us-ai-diffusion-2025", "--against", against, str(book),
               cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert against.split(":")[0] in proc.stderr
