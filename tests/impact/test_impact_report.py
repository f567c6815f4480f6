"""The impact report's numbers against an independent count of a generated book."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

import exportgate
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
    # provenance: when, by which version, and which rules
    assert report["exportgate"] == exportgate.__version__
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", report["made"])
    assert report["sides"]["before"]["effective_from"] and report["sides"]["after"]["revision"]
    assert report["consignees_changed"] == sum(1 for n in want_changed(before, after).values()
                                               if n)


def want_changed(before: Side, after: Side) -> dict[str, int]:
    changed: dict[str, int] = count(BOOK, before, after)["consignee_changed"]
    return changed


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
        < out.index("By consignee") < out.index("Quota that turns lines away") \
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
    assert ("<h1>Impact report: us-ai-diffusion-2025 against us-ai-diffusion-2025 with "
            "lpp_cap_tpp=7916000</h1>") in html


def consignee_section(out: str) -> tuple[str, list[str]]:
    """The heading of the terminal's consignee breakdown, and the consignees it lists."""
    lines = out[out.index("\nBy consignee"):].splitlines()[1:]
    listed = []
    for line in lines[1:]:
        if not line.startswith("  "):
            break
        listed.append(line)
    return lines[0], listed


def test_terminal_names_the_sides_as_the_flags_do_and_counts_what_it_lists(
        book_file: Path) -> None:
    args = ["diff", "--regime", "us-ai-diffusion-2025", "--against",
            "us-ai-diffusion-2025:lpp_cap_tpp=7916000", str(book_file)]
    out = run(*args, cwd=book_file.parent).stdout
    head = out.splitlines()[:4]
    assert head[0] == ("Impact report: us-ai-diffusion-2025 against us-ai-diffusion-2025 "
                       "with lpp_cap_tpp=7916000")
    assert head[1].startswith("  before (--regime):  us-ai-diffusion-2025, revision ")
    assert head[2].startswith("  after  (--against): us-ai-diffusion-2025 with "
                              "lpp_cap_tpp=7916000, revision ")
    assert re.fullmatch(r"Made \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ by exportgate \S+",
                        head[3])
    changing = sum(1 for n in want_changed(expect(BOOK, "us-ai-diffusion-2025"), expect(
        BOOK, "us-ai-diffusion-2025", lpp_cap=7_916_000)).values() if n)
    total = len({o["parties"]["end_user"]["id"] for o in BOOK})
    heading, listed = consignee_section(out)
    assert heading == f"By consignee ({changing} of {total} change)"
    assert len(listed) == changing < 10  # every one that changes, not "top 10"
    heading, listed = consignee_section(run(*args, "--top", "3", cwd=book_file.parent).stdout)
    assert heading == f"By consignee ({changing} of {total} change; the 3 that change most)"
    assert len(listed) == 3


@pytest.mark.parametrize("against, message", [
    ("us-ai-diffusion-2025:lpp_cap=1", "parameters.us-ai-diffusion-2025.lpp_cap: unknown "
                                       "parameter"),
    ("us-ai-diffusion-2025:lpp_cap_tpp=lots", "lpp_cap_tpp must be of type integer"),
    ("us-ai-diffusion-2025:lpp_cap_tpp=-5", "lpp_cap_tpp must be at least 0, got -5"),
    ("us-ai-diffusion-2025:lpp_cap_tpp=7916000.5", "lpp_cap_tpp must be of type integer"),
    ("us-ai-diffusion-2025:nveu_cap_h100eq=[{from_year: 0, h100eq: -1}]",
     "nveu_cap_h100eq.0.h100eq must be at least 0"),
    ("us-country-deals-2025:agreements={SA: {cap_h100eq: 100}}", "agreements.SA.from is required"),
    ("us-country-deals-2025:agreements={AE: {from: \"2025-13-01\"}}",
     "agreements.AE.from not a calendar date"),
    ("us-country-deals-2025:agreements={AE: {from: 2025-13-01}}", "month must be in 1..12"),
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


def test_a_date_override_may_be_written_as_yaml_writes_dates(tmp_path: Path) -> None:
    book = tmp_path / "b.jsonl"
    book.write_text(json.dumps(BOOK[0]) + "\n")
    proc = run("diff", "--regime", "us-country-deals-2025", "--against",
               "us-country-deals-2025:agreements={AE: {from: 2025-06-01}}", "--json", str(book),
               cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    after = json.loads(proc.stdout)["sides"]["after"]
    assert after["overrides"] == {"agreements": {"AE": {"from": "2025-06-01"}}}


class _Flaky:
    """An engine that cannot answer for every third order under overridden parameters."""

    name = "flaky"

    def __init__(self, settings: Any) -> None:
        from exportgate.engines.embedded import RegopyEngine
        self.inner = RegopyEngine()

    def evaluate(self, regime: Any, rule: str, input: dict[str, Any]) -> Any:
        from exportgate import EngineError
        if regime.parameters and int(input["order"]["id"].rsplit("-", 1)[-1]) % 3 == 0:
            raise EngineError("engine unreachable (injected)")
        return self.inner.evaluate(regime, rule, input)

    def run_tests(self, regime: Any) -> Any:
        return self.inner.run_tests(regime)

    def close(self) -> None:
        self.inner.close()


def test_a_diff_with_held_orders_exits_3_and_says_so_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Held lines are no effect of the rule: never `notify -> license (EVALUATION_ERROR)`."""
    from exportgate import hookimpl
    from exportgate._cli import main

    class Plugin:
        __name__ = "exportgate-flaky"

        @hookimpl
        def exportgate_register_engines(self, register: Any) -> None:
            register("flaky", _Flaky)

    class EntryPoint:
        name = "exportgate-flaky"

        def load(self) -> object:
            return Plugin()

    import exportgate._plugins as mod
    monkeypatch.setattr(mod.metadata, "entry_points", lambda group: [EntryPoint()])
    monkeypatch.delenv("EXPORTGATE_LOAD_PLUGINS", raising=False)
    book = tmp_path / "b.jsonl"
    orders = [{**o, "id": f"SO-{n}"} for n, o in enumerate(BOOK[:12], 1)]
    book.write_text("".join(json.dumps(o) + "\n" for o in orders))
    (tmp_path / "c.yaml").write_text("engine: {name: flaky}\n")
    args = ["--config", str(tmp_path / "c.yaml"), "diff", "--regime", "us-ai-diffusion-2025",
            "--against", "us-ai-diffusion-2025:lpp_cap_tpp=26900000", str(book)]
    assert main(args) == 3
    out, err = capsys.readouterr()
    assert out.startswith("HELD: 4 orders of 12 could not be decided")
    assert "order SO-3 (after): engine unreachable (injected)" in out
    assert "EVALUATION_ERROR" not in out.split("Outcomes", 1)[1]
    assert "4 order(s) held (before: 0, after: 4)" in err
    assert main(args + ["--json"]) == 3
    report = json.loads(capsys.readouterr().out)
    assert report["held"]["orders"] == 4 and report["held"]["lines"] == sum(
        len(o["lines"]) for o in orders[2::3])
    assert report["changed"]["lines"] == 0 and report["book"]["orders"] == 12
    assert sum(o["orders"] for o in report["outcomes"]["after"].values()) == 8
    assert [o["order"] for o in report["orders"] if o["held"]] == ["SO-3", "SO-6", "SO-9",
                                                                  "SO-12"]
