"""``POST /v1/screen``: a host screens a business partner before any order names it."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from exportgate._cli import main
from tests.screening import csl
from tests.service.live import CHECKER, Subprocess, config
from tests.service.test_service import post

EL_ID = csl.ROWS[0]["id"]


@pytest.fixture(scope="module")
def listed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Subprocess]:
    """A server whose ledger holds the sample list (loaded before it starts)."""
    tmp = tmp_path_factory.mktemp("screen")
    cfg = config(tmp)
    path = csl.write(tmp / "csl.csv", csl.csv_text())
    assert main(["--config", str(cfg), "screening", "load", str(path),
                 "--published", "2026-12-01"]) == 0
    live = Subprocess(cfg)
    yield live
    live.stop()


def test_a_listed_partner_under_another_spelling_is_a_hit(listed: Subprocess) -> None:
    r = post(listed, "/v1/screen", {"name": "Hebei Semiconductor Research Inst.",
                                    "country": "cn"}, token=CHECKER)
    assert r.status_code == 200, r.text
    doc = r.json()
    [hit] = doc["hits"]
    assert hit["entry"] == EL_ID and hit["list"] == "EL" and hit["status"] == "hit"
    assert doc["country"] == "CN" and len(doc["version"]) == 64
    clean = post(listed, "/v1/screen", {"name": "Tokyo Compute KK"}, token=CHECKER)
    assert clean.status_code == 200 and clean.json()["hits"] == []


@pytest.mark.parametrize("body, field", [
    ({}, "name"), ({"name": ""}, "name"), ({"name": "x", "country": "Japan"}, "country"),
    ({"name": "x", "vat": "1"}, "vat"), ([], "JSON object")])
def test_a_bad_body_is_a_400_naming_the_field(listed: Subprocess, body: object,
                                              field: str) -> None:
    r = post(listed, "/v1/screen", body)
    assert r.status_code == 400 and field in r.json()["error"]


def test_no_list_loaded_is_a_409(tmp_path: Path) -> None:
    live = Subprocess(config(tmp_path / "empty"))
    try:
        r = post(live, "/v1/screen", {"name": "Tokyo Compute KK"})
        assert r.status_code == 409 and "no screening list" in r.json()["error"]
        assert post(live, "/v1/screen", {"name": "x"}, token=None).status_code == 401
    finally:
        live.stop()
