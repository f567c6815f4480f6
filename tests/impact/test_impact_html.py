"""The HTML report: one self-contained file that headless Chromium draws without a complaint."""
from __future__ import annotations

import copy
import html
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import matplotlib
import pytest
from matplotlib.colors import to_hex

from exportgate._adapter import Record
from exportgate._impact import OrderBook, impact, parse_side, turned_away
from exportgate import _impact_html as impact_html
from exportgate._impact_html import (COLOURS, MOVES_CMAP, OUTCOMES, TOP_QUOTA, quota_plan,
                                     render_html)
from exportgate._settings import Settings
from tests.impact.book import make_book

#: A Chromium console message in its log (``--enable-logging=stderr``).
CONSOLE = re.compile(r":CONSOLE[(:]")


def records_of(values: list[dict[str, Any]], source: str) -> list[Record]:
    """Canonical order documents as records, for a book built in Python."""
    return [Record.from_value(v, f"{source}[{n}]") for n, v in enumerate(values)]


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:  # make test installs it (.ci/ensure-chromium.sh)
        pytest.fail("chromium is not installed: run `make chromium` (Debian's chromium)")
    return exe


def screenshot(page: Path, png: Path, height: int = 3000) -> list[str]:
    """Draw ``page`` into ``png``; return the console messages Chromium logged."""
    proc = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--no-first-run", "--host-resolver-rules=MAP * ~NOTFOUND",
         f"--user-data-dir={png.parent / 'chromium-profile'}",
         f"--window-size=1100,{height}", f"--screenshot={png}",
         "--enable-logging=stderr", "--v=0", page.resolve().as_uri()],
        capture_output=True, text=True, timeout=90)
    assert png.is_file(), proc.stderr[-2000:]
    return [line for line in proc.stderr.splitlines() if CONSOLE.search(line)]


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    book = OrderBook(records_of(make_book(40, seed=7), "book"), {"kind": "files",
                                                                "files": ["book.jsonl"]})
    return impact(Settings(), book, parse_side("us-ai-diffusion-2025"),
                  parse_side("us-country-deals-2025"))


def colour_share(png: Path, hex_colour: str) -> float:
    from matplotlib.image import imread
    pixels = imread(str(png))[..., :3]
    rgb = [int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    close = (abs(pixels - rgb) < 0.02).all(axis=-1)
    return float(close.mean())


def test_console_messages_are_caught(tmp_path: Path) -> None:
    page = tmp_path / "noisy.html"
    page.write_text("<!DOCTYPE html><html><body><p>x</p>"
                    "<script>console.error('broken chart')</script></body></html>")
    messages = screenshot(page, tmp_path / "noisy.png", height=300)
    assert any("broken chart" in m for m in messages)


def test_html_report_is_self_contained(report: dict[str, Any]) -> None:
    page = render_html(report)
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page.lower()
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:|//|file:)""", page, re.I)
    assert not re.search(r"@import|url\((?!#)", page, re.I)
    assert page.count("<svg") == 4  # outcomes, transitions, countries, quota
    # the numbers of the summary are in the page
    for outcome in ("allow", "notify", "license", "deny"):
        lines = report["outcomes"]["after"][outcome]["lines"]
        assert f">{lines:,}<" in page


def test_html_report_renders_in_chromium_without_console_errors(
        report: dict[str, Any], tmp_path: Path) -> None:
    page = tmp_path / "impact.html"
    page.write_text(render_html(report), encoding="utf-8")
    png = tmp_path / "impact.png"
    assert screenshot(page, png) == []
    # the charts were drawn: every outcome colour of the bars shows in the picture
    for outcome in ("allow", "notify", "license"):
        assert colour_share(png, COLOURS[outcome]) > 0.001, outcome
    # the transitions: the busiest move (stricter in this book) is a whole cell of the
    # scale's red end, and the scale shows its blue (looser) end too
    cmap = matplotlib.colormaps[MOVES_CMAP]
    busiest = max((t for t in report["transitions"] if t["changed"]), key=lambda t: t["lines"])
    assert OUTCOMES.index(busiest["to"]) > OUTCOMES.index(busiest["from"])
    assert colour_share(png, to_hex(cmap(1.0))) > 0.001
    assert colour_share(png, to_hex(cmap(0.0))) > 0


#: Run in Chromium after the page is laid out: what a reader sees, measured.
MEASURE = """<script>
const box = (el) => { const r = el.getBoundingClientRect();
  return {x: r.left, y: r.top, w: r.width, h: r.height}; };
const ids = (prefix) => [...document.querySelectorAll(`[id^="${prefix}"]`)];
const fill = (el) => getComputedStyle(el.querySelector("path") || el).fill;
const boxOf = (id) => document.getElementById(id) ? box(document.getElementById(id)) : null;
const out = {
  overflow: document.documentElement.scrollWidth - window.innerWidth,
  svgs: [...document.querySelectorAll("svg")].map(box),
  provenance: document.getElementById("provenance")?.innerText ?? null,
  provenanceBox: boxOf("provenance"),
  h1: document.querySelector("h1").innerText,
  labels: Object.fromEntries(ids("label-").map((el) => [el.id, box(el)])),
  bars: Object.fromEntries(ids("bar-").map((el) => [el.id, box(el)])),
  cells: Object.fromEntries(ids("cell-").map((el) => [el.id, fill(el)])),
  scale: boxOf("moves-scale"),
};
const pre = document.createElement("pre");
pre.id = "measured"; pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>"""


def rendered(page: str, tmp_path: Path) -> dict[str, Any]:
    """Lay the page out in headless Chromium and return what `MEASURE` found in it."""
    path = tmp_path / "measured.html"
    path.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    proc = subprocess.run(
        [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--host-resolver-rules=MAP * ~NOTFOUND", f"--user-data-dir={tmp_path / 'profile'}",
         "--window-size=1100,3000", "--dump-dom", path.resolve().as_uri()],
        capture_output=True, text=True, timeout=90)
    found = re.search(r'<pre id="measured">(.*?)</pre>', proc.stdout, re.S)
    assert found, proc.stderr[-2000:]
    measured: dict[str, Any] = json.loads(html.unescape(found.group(1)))
    return measured


def inside(inner: dict[str, float], outer: dict[str, float]) -> bool:
    return (inner["x"] >= outer["x"] - 0.5 and inner["y"] >= outer["y"] - 0.5
            and inner["x"] + inner["w"] <= outer["x"] + outer["w"] + 0.5
            and inner["y"] + inner["h"] <= outer["y"] + outer["h"] + 0.5)


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return (a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"]
            and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"])


def larger_book(report: dict[str, Any], factor: int) -> dict[str, Any]:
    """The same report as if the book were ``factor`` times larger (long numbers in bars)."""
    big = copy.deepcopy(report)
    for side in big["outcomes"].values():
        for counts in side.values():
            counts["lines"] *= factor
            counts["h100eq"] *= factor
    return big


@pytest.mark.parametrize("factor", [1, 3000])
def test_bar_labels_lie_inside_their_bars_and_never_collide(
        report: dict[str, Any], tmp_path: Path, factor: int) -> None:
    seen = rendered(render_html(larger_book(report, factor)), tmp_path)
    labels, bars = seen["labels"], seen["bars"]
    assert labels, "no bar is labelled"
    for name, label in labels.items():
        assert label["w"] > 0 and inside(label, bars["bar-" + name.removeprefix("label-")]), name
    names = sorted(labels)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not overlap(labels[a], labels[b]), (a, b)
    if factor > 1:  # numbers like 117,595 do not fit the thin segments: those labels go
        assert len(labels) < len(bars)


@pytest.fixture(scope="module")
def seen(report: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The report as Chromium lays it out, measured once for the tests that read it."""
    return rendered(render_html(report), tmp_path_factory.mktemp("measured"))


def test_page_states_its_provenance_and_fits_the_window(
        report: dict[str, Any], seen: dict[str, Any]) -> None:
    assert seen["overflow"] <= 0
    assert seen["h1"] == "Impact report: us-ai-diffusion-2025 against us-country-deals-2025"
    text, where = seen["provenance"], seen["provenanceBox"]
    assert where["h"] > 0 and where["y"] < seen["svgs"][0]["y"]  # before the first chart
    assert re.search(r"Made \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ by exportgate \S+", text)
    for side, flag in (("before", "--regime"), ("after", "--against")):
        assert flag in text and report["sides"][side]["revision"] in text
    assert all(0 < svg["w"] <= 1100 for svg in seen["svgs"])


def _rgb(css: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", css)[:3])


def test_transitions_shade_worse_moves_red_on_a_drawn_scale(
        report: dict[str, Any], seen: dict[str, Any]) -> None:
    moves = {(t["from"], t["to"]): t["lines"] for t in report["transitions"] if t["changed"]}
    rank = {o: n for n, o in enumerate(OUTCOMES)}
    stricter = [k for k in moves if rank[k[1]] > rank[k[0]]]
    looser = [k for k in moves if rank[k[1]] < rank[k[0]]]
    assert stricter and looser  # the book has both kinds
    outcome_colours = {_rgb("rgb(" + ",".join(str(int(c[i:i + 2], 16)) for i in (1, 3, 5))
                            + ")") for c in COLOURS.values()}
    for (a, b) in moves:
        r, _, bl = colour = _rgb(seen["cells"][f"cell-{a}-{b}"])
        assert colour not in outcome_colours
        assert (r > bl) if (a, b) in stricter else (bl > r), (a, b, colour)
    # the busiest move is the deepest of its hue; the scale is drawn beside the matrix
    top = max(stricter, key=moves.__getitem__)
    assert min(_rgb(seen["cells"][f"cell-{top[0]}-{top[1]}"])[1:]) == min(
        min(_rgb(seen["cells"][f"cell-{a}-{b}"])[1:]) for a, b in stricter)
    assert seen["scale"] and seen["scale"]["h"] > 100


def _quota(key: str, share: float, ran_out: str | None) -> dict[str, Any]:
    return {"quota": key, "cap": 100, "share": share,
            "ran_out": {"order": ran_out} if ran_out else None}


def test_quota_chart_says_how_many_keys_it_shows_and_runs_out_only_when_full() -> None:
    keys = [_quota(f"lpp:K{n:02d}:2025", 0.5 + n / 100, None) for n in range(20)]
    report = {"quota": {"before": [], "after": [
        _quota("lpp:FULL:2025", 1.0, "SO-1"), _quota("lpp:ROOM:2025", 0.72, "SO-2"), *keys]}}
    plan = quota_plan(report)
    assert plan is not None
    assert plan.title.startswith(f"{TOP_QUOTA} of 22 capped quota keys shown")
    assert plan.keys[:2] == ["lpp:FULL:2025", "lpp:ROOM:2025"]
    assert plan.notes["after"][:2] == ["runs out at order SO-1",
                                       "turns order SO-2 away, 72% of its cap used"]
    assert plan.notes["after"][2:] == [None] * (TOP_QUOTA - 2)
    # no bar on the before side: no legend entry for it
    assert plan.legend == ["after"]
    # the terminal and the tables say it the same way
    assert turned_away(0.995, "SO-1", "10") == "runs out at order SO-1 line 10"
    assert turned_away(0.72, "SO-2", "20") == \
        "turns order SO-2 line 20 away, 72% of its cap used"
    small = quota_plan({"quota": {"before": keys[:3], "after": keys[:3]}})
    assert small is not None and small.title == "all 3 capped quota keys"
    assert small.legend == ["before", "after"]


def drawn(monkeypatch: pytest.MonkeyPatch, chart: Any, report: dict[str, Any]) -> Any:
    """The matplotlib figure a chart function draws, before it becomes SVG."""
    figures: list[Any] = []
    monkeypatch.setattr(impact_html, "_svg", lambda fig: figures.append(fig) or "")
    chart(report)
    return figures[0]


def test_count_axes_have_whole_numbers_and_legends_only_drawn_outcomes(
        report: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    few = copy.deepcopy(report)
    few["countries"] = [{**c, "before": {"notify": 1}, "after": {"license": 2}}
                        for c in few["countries"][:2]]
    fig = drawn(monkeypatch, impact_html.chart_countries, few)
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    legend = [t.get_text() for t in fig.axes[1].get_legend().get_texts()]
    assert legend == ["notify", "license"]
    fig = drawn(monkeypatch, impact_html.chart_outcomes, report)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "deny" not in legend and report["outcomes"]["after"]["deny"]["lines"] == 0
