"""``exportgate bundle``: a standard OPA bundle that decides exactly as the regime folder."""
from __future__ import annotations

import dataclasses
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
from exportgate import ConfigError, InputError
from exportgate.engines.bundle import write_bundle
from exportgate._cli import main
from exportgate._gate import Gate
from exportgate._plugins import Plugins
from exportgate._settings import Settings

from bundle_reader import read_bundle, regimes_from_bundle
from tests.helpers import conformance_cases, record_licenses

PLUGINS = Plugins(Settings(), entry_points=False)
REGIMES = sorted(PLUGINS.regimes)


def _members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar if m.isfile()}  # type: ignore


@pytest.mark.parametrize("regime_id", REGIMES)
def test_the_bundle_holds_manifest_policies_and_data(regime_id: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "b.tar.gz"
    assert main(["bundle", "--regime", regime_id, "-o", str(out)]) == 0
    regime = PLUGINS.regime(regime_id)
    assert f"revision {regime.revision}" in capsys.readouterr().out
    files = _members(out)
    manifest = json.loads(files["/.manifest"])
    assert manifest["revision"] == regime.revision
    assert manifest["roots"] == ["exportgate"]
    leaf = regime.leaf
    assert f"/exportgate/regimes/{leaf}/policy.rego" in files
    assert "/exportgate/lib/lib.rego" in files
    assert not any(name.endswith("_test.rego") for name in files)
    assert json.loads(files[f"/exportgate/tables/{leaf}/data.json"]) == \
        regime.data["exportgate"]["tables"][leaf]
    assert json.loads(files["/exportgate/tables/lib/data.json"]) == \
        regime.data["exportgate"]["tables"]["lib"]
    assert json.loads(files["/exportgate/revisions/data.json"]) == {regime_id: regime.revision}
    for name, content in files.items():
        if name.endswith(".rego"):
            package = content.decode().split("\npackage ", 1)[-1].split()[0] \
                if not content.startswith(b"package ") else content.split()[1].decode()
            assert name.startswith("/" + package.replace(".", "/") + "/"), name


def test_bundles_are_reproducible(tmp_path: Path) -> None:
    a, b = tmp_path / "a.tar.gz", tmp_path / "b.tar.gz"
    write_bundle(PLUGINS.regimes.values(), a)
    write_bundle(reversed(list(PLUGINS.regimes.values())), b)
    assert a.read_bytes() == b.read_bytes()


def test_a_bundle_of_every_regime(tmp_path: Path) -> None:
    out = tmp_path / "all.tar.gz"
    assert main(["bundle", "-o", str(out)]) == 0
    bundle = read_bundle(out)
    assert set(bundle.data["exportgate"]["revisions"]) == set(REGIMES)
    assert bundle.revision not in {PLUGINS.regime(r).revision for r in REGIMES}
    back = {r.id: r for r in regimes_from_bundle(bundle)}
    for regime_id in REGIMES:
        assert back[regime_id].revision == PLUGINS.regime(regime_id).revision
        assert back[regime_id].modules == PLUGINS.regime(regime_id).modules
        assert back[regime_id].data == PLUGINS.regime(regime_id).data


def test_parameters_in_the_configuration_go_into_the_bundle(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("parameters:\n  us-ai-diffusion-2025:\n    lpp_cap_tpp: 100\n")
    out = tmp_path / "p.tar.gz"
    assert main(["--config", str(config), "bundle", "--regime", "us-ai-diffusion-2025",
                 "-o", str(out)]) == 0
    [regime] = regimes_from_bundle(read_bundle(out))
    configured = Plugins(Settings.from_file(config), entry_points=False).regime(regime.id)
    assert regime.parameters == {"lpp_cap_tpp": 100}
    assert regime.revision == configured.revision != PLUGINS.regime(regime.id).revision
    tables = json.loads(_members(out)["/exportgate/tables/us_ai_diffusion_2025/data.json"])
    assert tables["params"]["lpp_cap_tpp"] == 100


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    path = tmp_path_factory.mktemp("b") / "all.tar.gz"
    write_bundle(PLUGINS.regimes.values(), path)
    return {r.id: r for r in regimes_from_bundle(read_bundle(path))}


CASES = conformance_cases()


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_bundle_decides_every_conformance_case_as_the_folder(
        case: dict[str, Any], bundled: dict[str, Any], tmp_path: Path) -> None:
    """The bundle's files, loaded into the ``opa`` engine, against the regime folder."""
    got: dict[str, list[Any]] = {}
    for source in ("folder", "bundle"):
        plugins = Plugins(Settings(), entry_points=False)
        if source == "bundle" and case["regime"] in bundled:
            plugins.regimes[case["regime"]] = bundled[case["regime"]]
        try:
            with Gate(Settings(), regime_id=case["regime"], engine="opa", plugins=plugins,
                      ledger_url=f"sqlite:///{tmp_path / source}.db") as gate:
                record_licenses(gate, case)
                got[source] = [gate.check(o).decision.to_dict() for o in case["orders"]]
        except InputError as exc:  # an invalid order or regime fails alike
            got[source] = [type(exc).__name__]
    assert got["bundle"] == got["folder"]
    if not case.get("expect_error"):
        assert [d["outcome"] for d in got["bundle"]] == [e["outcome"] for e in case["expect"]]


def test_an_edited_bundle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "b.tar.gz"
    write_bundle([PLUGINS.regime("us-country-deals-2025")], path)
    files = _members(path)
    data = json.loads(files["/exportgate/tables/us_country_deals_2025/data.json"])
    data["params"]["low_volume_cap_tpp"] = 1
    files["/exportgate/tables/us_country_deals_2025/data.json"] = json.dumps(data).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    path.write_bytes(raw.getvalue())
    with pytest.raises(ConfigError, match="do not match the revision the manifest records"):
        regimes_from_bundle(read_bundle(path))


def test_an_unreadable_bundle_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "x.tar.gz").write_text("not a tarball")
    with pytest.raises(ConfigError, match="not a readable bundle"):
        read_bundle(tmp_path / "x.tar.gz")


def test_bundling_into_a_missing_folder_exits_2(tmp_path: Path) -> None:
    assert main(["bundle", "-o", str(tmp_path / "no" / "such" / "b.tar.gz")]) == 2


def test_regimes_with_different_libraries_cannot_share_a_bundle() -> None:
    a = PLUGINS.regime("us-ai-diffusion-2025")
    b = PLUGINS.regime("us-country-deals-2025")
    changed = dict(b.modules)
    changed["exportgate/lib/lib.rego"] = changed["exportgate/lib/lib.rego"] + "\n# changed\n"
    with pytest.raises(ConfigError, match="differs between regimes"):
        write_bundle([a, dataclasses.replace(b, modules=changed)], "/dev/null")
