"""docs/impact.md stays honest: every field of the report is documented, the picture is there."""
from __future__ import annotations

import json
import re

from exportgate._impact import parse_side
from tests.helpers import ROOT

DOC = ROOT / "docs" / "impact.md"


def test_every_report_field_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    example = json.loads(re.search(r"```json\n(.*?)\n```", text, re.S).group(1))
    table = text[text.index("| field |"):]
    for key in example:
        assert f"`{key}" in table, key
    for side in example["outcomes"].values():
        assert set(side) == {"allow", "notify", "license", "deny"}
    for key in example["quota"]["after"][0]:
        assert f"`{key}`" in table, key
    images = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert images and all((DOC.parent / image).is_file() for image in images)
    assert (DOC.parent / images[0]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_side_takes_tables_and_lists_as_values() -> None:
    side = parse_side('us-country-deals-2025:agreements={AE: {from: "2025-05-15", '
                      'cap_h100eq: 2000}},low_volume_cap_tpp=15_832_000')
    assert side.regime == "us-country-deals-2025"
    assert side.overrides == {"agreements": {"AE": {"from": "2025-05-15", "cap_h100eq": 2000}},
                              "low_volume_cap_tpp": 15832000}
    assert side.label == ('us-country-deals-2025 with agreements={"AE":{"from":"2025-05-15",'
                          '"cap_h100eq":2000}}, low_volume_cap_tpp=15832000')
