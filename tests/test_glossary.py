"""docs/glossary.md defines the words a reader meets, and the README leads to it."""
from __future__ import annotations

import re

from tests.helpers import ROOT

TERMS = ["TPP", "PD", "H100-equivalent", "LPP", "AIA", "ACA", "NAC", "UVEU", "NVEU",
         "DC-VEU", "Tier 1", "Tier 2", "Tier 3", "A:5", "A:6", "D:1", "D:4", "D:5", "HBM",
         '"Is informed"']


def test_every_term_has_an_entry_and_its_links_resolve() -> None:
    text = (ROOT / "docs" / "glossary.md").read_text(encoding="utf-8")
    entries = [name for entry in re.findall(r"^\*\*(.+?)\*\*$", text, re.M)
               for name in entry.split(", ")]  # "A:5, A:6" names two
    for term in TERMS:
        assert any(e == term or e.startswith(term + " ") for e in entries), term
    for target in re.findall(r"\]\(([^)#]+)\)", text):
        assert (ROOT / "docs" / target).is_file(), target


def test_the_readme_links_the_glossary_and_names_the_fast_subset() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/glossary.md)" in readme
    assert "make test-fast" in readme
    assert re.search(r"^test-fast:", (ROOT / "Makefile").read_text(), re.M)
