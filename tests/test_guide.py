"""docs/writing-a-regime.md runs as written, so the guide cannot drift from the product.

The guide's fenced blocks are run in order in an empty directory, as a reader
would: ``sh`` blocks with bash (each from that directory, failing on the
first command that fails), ``diff`` blocks applied with ``git apply``, and a
``text`` block right after an ``sh`` block is output the reader is shown:
each of its lines must be printed by that block. The regime the guide builds
is then the one the assertions below read.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from tests.helpers import ROOT

GUIDE = ROOT / "docs" / "writing-a-regime.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
_KINDS = {"sh", "diff", "text"}


def _blocks(text: str) -> list[tuple[str, str]]:
    """The guide's fenced blocks, as (info string, body), in order."""
    return [(m.group(1), m.group(2)) for m in _FENCE.finditer(text)]


def _run_guide(workdir: Path) -> list[tuple[str, str]]:
    """Run every block of the guide in ``workdir``; returns each sh block with its output."""
    env = {**os.environ,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "GIT_CEILING_DIRECTORIES": str(workdir.parent)}
    ran: list[tuple[str, str]] = []
    previous: str | None = None
    for kind, body in _blocks(GUIDE.read_text(encoding="utf-8")):
        assert kind in _KINDS, f"a ```{kind} block: the guide's blocks are sh, diff or text"
        if kind == "sh":
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", body], cwd=workdir, env=env,
                                  capture_output=True, text=True, timeout=600)
            output = proc.stdout + proc.stderr
            assert proc.returncode == 0, f"this block exits {proc.returncode}:\n{body}\n{output}"
            ran.append((body, output))
            previous = output
        elif kind == "diff":
            proc = subprocess.run(["git", "apply", "--verbose", "-"], input=body, cwd=workdir,
                                  env=env, capture_output=True, text=True, timeout=60)
            assert proc.returncode == 0, f"this change does not apply:\n{body}\n{proc.stderr}"
            previous = None
        else:
            assert previous is not None, f"output shown after no command:\n{body}"
            for line in body.splitlines():
                assert not line.strip() or line in previous, \
                    f"the guide shows {line!r}, the command printed:\n{previous}"
            previous = None
    return ran


@pytest.mark.slow
def test_the_guide_runs_as_written(tmp_path: Path) -> None:
    workdir = tmp_path / "guide"
    workdir.mkdir()
    ran = _run_guide(workdir)
    commands = "\n".join(body for body, _ in ran)
    for step in ("exportgate --config exportgate.yaml test --regime draft-diversion-2026",
                 "diff --regime us-advanced-computing-2023",
                 "bundle --regime draft-diversion-2026 -o draft-diversion-2026.tar.gz"):
        assert step in commands
    folder = workdir / "regimes" / "draft_diversion_2026"
    policy = (folder / "policy.rego").read_text(encoding="utf-8")
    assert "package exportgate.regimes.draft_diversion_2026\n" in policy
    assert '#   id: draft-diversion-2026\n' in policy
    assert 'lib.document("draft-diversion-2026", ' in policy
    assert "\"KD\"" in policy
    tests = next(out for body, out in ran if " test --regime " in body)
    assert re.search(r"embedded\s+draft-diversion-2026\s+[1-9]\d* passed, 0 failed", tests)
    with tarfile.open(workdir / "draft-diversion-2026.tar.gz") as bundle:
        names = bundle.getnames()
    assert "/exportgate/regimes/draft_diversion_2026/policy.rego" in names


def test_the_guide_is_linked_from_the_readme_and_the_regimes_page() -> None:
    assert "(docs/writing-a-regime.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
    regimes = (ROOT / "docs" / "regimes.md").read_text(encoding="utf-8")
    assert "(writing-a-regime.md)" in regimes


def test_shown_output_is_checked_against_the_command(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The harness itself: a guide whose shown output the command does not print fails."""
    guide = tmp_path / "guide.md"
    guide.write_text("```sh\necho decided\n```\n\n```text\nnot decided\n```\n", encoding="utf-8")
    monkeypatch.setattr(sys.modules[__name__], "GUIDE", guide)
    with pytest.raises(AssertionError, match="not decided"):
        _run_guide(tmp_path)
