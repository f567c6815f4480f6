"""The HTML report: one self-contained file that headless Chromium draws without a complaint."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from exportgate._impact import OrderBook, impact, parse_side, records_of
from exportgate._impact_html import COLOURS, render_html
from exportgate._settings import Settings
from tests.impact.book import make_book

#: A Chromium console message in its log (``--enable-logging=stderr``).
CONSOLE = re.compile(r":CONSOLE[(:]")


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
