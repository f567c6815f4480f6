"""The module's form pages as the Tryton client lays them out, and their tables in docs/tryton.md.

A form page is a grid of ``col`` columns (4 unless the page says): each
label, field and separator takes ``colspan`` cells (1 unless it says) and
starts a new row when it does not fit; ``newline`` ends a row. The docs
describe each page in a table after a ``<!-- view: PATH ... -->`` comment.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VIEWS = ROOT / "adapters" / "tryton" / "view"
DOC = ROOT / "docs" / "tryton.md"


def page_layout(view: Path, page_id: str = "exportgate") -> dict[str, str]:
    """Each field of the page, in order, and where the client draws it ("row 1, left")."""
    page = ET.parse(view).getroot().find(f".//page[@id='{page_id}']")
    assert page is not None, f"{view} has no page {page_id}"
    columns = int(page.get("col", "4"))
    row, cell = 1, 0
    headings: dict[str, int] = {}
    where: dict[str, str] = {}
    for element in page:
        span = int(element.get("colspan", "1"))
        if element.tag == "newline" or cell + span > columns:
            row, cell = (row + 1, 0) if cell else (row, cell)
            if element.tag == "newline":
                continue
        name = element.get("name")
        if element.tag == "separator" and name:
            headings[name] = row
        elif element.tag == "field" and name:
            if span == columns:
                place = f"row {row}, whole width"
                if name in headings:
                    place += f", under its heading (row {headings[name]})"
            else:
                place = f"row {row}, " + ("left" if cell < columns // 2 else "right")
            where[name] = place
        cell += span
    return where


def doc_table(view_name: str, doc: Path = DOC) -> list[dict[str, str]]:
    """The rows of the docs' table for ``view_name`` (a file in the view folder), by column."""
    text = doc.read_text(encoding="utf-8")
    marker = re.search(rf"<!-- view: adapters/tryton/view/{re.escape(view_name)}\b[^>]*-->\n",
                       text)
    assert marker is not None, f"{doc} has no table for {view_name}"
    lines = text[marker.end():].split("\n")
    table = _leading_table(lines)
    head = [cell.strip() for cell in table[0].strip("|").split("|")]
    return [dict(zip(head, (c.strip() for c in line.strip("|").split("|")), strict=True))
            for line in table[2:]]


def _leading_table(lines: list[str]) -> list[str]:
    rows = []
    for line in lines:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows
