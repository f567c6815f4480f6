"""make tryton-demo: nothing asked, every step timed, each sale called by one name.

Runs examples/tryton/demo.py as a user does (a fresh database through the
real trytond-admin) with no terminal to answer a prompt, and holds the
refusal docs/tryton.md quotes to what the demo prints.
"""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "tryton.md"
STAMP = re.compile(r"^\[ *\d+\.\d s\] ")


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory) -> str:
    workdir = tmp_path_factory.mktemp("tryton-demo")
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "tryton" / "demo.py"),
                           str(workdir)], stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=900, cwd=workdir)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "email for" not in done.stdout + done.stderr
    return done.stdout


def test_every_step_says_when_it_started(output: str) -> None:
    steps = [line for line in output.splitlines() if line.startswith(("[", "* "))]
    assert steps and all(STAMP.match(line) for line in steps), steps[:5]
    assert re.search(r"module exportgate activated \((\d+) of \1\)", output), output[:2000]
    assert "Database ready" in output
    assert STAMP.match(output.splitlines()[-1]) and output.rstrip().endswith("Done")


def test_a_sale_has_one_name(output: str) -> None:
    named = re.findall(r'Sale "([^"]*)"', output)
    assert named and all(re.fullmatch(r"SO-\d", name) for name in named), named
    assert " @ " not in output  # a line is not named with its sale again
    assert "[SO-" not in output
    assert re.findall(r"draft sale (SO-\d)", output) == [f"SO-{n}" for n in range(1, 6)]


def test_the_docs_quote_the_demo(output: str) -> None:
    quoted = re.search(r"<!-- the demo's refusal[^>]*-->\n\s*```\n(.*?)```",
                       DOC.read_text(encoding="utf-8"), re.S)
    assert quoted is not None
    expected = " ".join(quoted[1].split())
    refusals = [" ".join(block.split()) for block in
                re.findall(r"refused: (.*?)(?:\n\n|\Z)", output, re.S)]
    assert expected in refusals, refusals
