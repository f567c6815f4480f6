"""Regimes shipped as configuration (``regime_folders:``): loaded and refused like built-in ones."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from exportgate import _regime
from exportgate._cli import main
from exportgate._exceptions import ConfigError
from exportgate._plugins import Plugins
from exportgate._settings import Settings

from tests.helpers import h100_order

SOURCE = "us_country_deals_2025"


def _copy(tmp_path: Path, leaf: str = "acme_deals_2026", regime_id: str = "acme-deals-2026",
          package: str | None = None) -> Path:
    """A copy of us-country-deals-2025 under ``tmp_path/regimes/<leaf>``, renamed."""
    source = Path(str(_regime.rego_root())) / "exportgate" / "regimes" / SOURCE
    folder = tmp_path / "regimes" / leaf
    shutil.copytree(source, folder)
    for name in ("policy.rego", "policy_test.rego"):
        path = folder / name
        text = path.read_text(encoding="utf-8")
        text = text.replace(f"exportgate.regimes.{SOURCE}", f"exportgate.regimes.{package or leaf}")
        text = text.replace(f"tables.{SOURCE}", f"tables.{package or leaf}")
        text = text.replace("us-country-deals-2025", regime_id)
        path.write_text(text, encoding="utf-8")
    return folder


def _config(tmp_path: Path, *folders: str) -> Path:
    path = tmp_path / "exportgate.yaml"
    path.write_text(yaml.safe_dump({"regime_folders": list(folders)}), encoding="utf-8")
    return path


def test_a_folder_named_relative_to_the_file_is_registered_like_a_builtin(
        tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    plugins = Plugins(Settings.load(_config(tmp_path, "regimes/acme_deals_2026")),
                      entry_points=False)
    regime = plugins.regime("acme-deals-2026")
    builtin = plugins.regime("us-country-deals-2025")
    assert regime.package == "exportgate.regimes.acme_deals_2026"
    assert regime.revision == _regime.load_folder(folder, _regime.rego_root()).revision
    assert regime.revision != builtin.revision
    # the installed library comes with it, as with every built-in regime
    assert {m for m in builtin.modules if "/lib/" in m} <= set(regime.modules)
    assert regime.parameter_values == builtin.parameter_values


def test_its_revision_follows_its_data(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    config = _config(tmp_path, str(folder))
    before = Plugins(Settings.load(config), entry_points=False).regime("acme-deals-2026")
    data = folder / "data.yaml"
    data.write_text(data.read_text(encoding="utf-8").replace(
        "low_volume_cap_tpp: 7916000", "low_volume_cap_tpp: 3166400"), encoding="utf-8")
    after = Plugins(Settings.load(config), entry_points=False).regime("acme-deals-2026")
    assert after.parameter_values["low_volume_cap_tpp"] == 3166400
    assert after.revision != before.revision


def test_the_cli_lists_checks_and_overrides_a_configured_regime(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _copy(tmp_path)
    config = tmp_path / "exportgate.yaml"
    config.write_text(yaml.safe_dump({
        "regime_folders": ["regimes/acme_deals_2026"],
        "parameters": {"acme-deals-2026": {"low_volume_cap_tpp": 1}}}), encoding="utf-8")
    assert main(["--config", str(config), "regimes", "--json"]) == 0
    listed = {r["id"]: r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert listed["acme-deals-2026"]["package"] == "exportgate.regimes.acme_deals_2026"
    order = tmp_path / "order.json"
    order.write_text(json.dumps(h100_order("SO-1", "KR", 1, "2026-03-02")), encoding="utf-8")
    assert main(["--config", str(config), "check", "--regime", "acme-deals-2026", "--json",
                 "--ledger", f"sqlite:///{tmp_path / 'ledger.db'}", str(order)]) == 0
    decision = json.loads(capsys.readouterr().out)
    assert decision["regime"] == "acme-deals-2026"
    # the override of the configured regime applies: one TPP of low volume fits nothing
    assert decision["lines"][0]["outcome"] == "license"


def test_a_copy_that_keeps_the_id_is_refused_naming_the_folder(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _copy(tmp_path, regime_id="us-country-deals-2025")
    config = _config(tmp_path, str(folder))
    assert main(["--config", str(config), "regimes"]) == 2
    err = capsys.readouterr().err
    assert f"regime_folders: {folder}" in err
    assert "regime 'us-country-deals-2025' is already registered" in err
    assert "exportgate.regimes" in err


def test_two_folders_with_one_id_are_refused_naming_the_second(tmp_path: Path) -> None:
    first = _copy(tmp_path / "a")
    second = _copy(tmp_path / "b")
    with pytest.raises(ConfigError) as err:
        Plugins(Settings.from_dict({"regime_folders": [str(first), str(second)]}),
                entry_points=False)
    assert str(err.value).startswith(f"regime_folders: {second}: ")
    assert str(first) in str(err.value)


def test_a_copy_that_keeps_the_package_is_refused_naming_the_folder(tmp_path: Path) -> None:
    folder = _copy(tmp_path, package=SOURCE)
    with pytest.raises(ConfigError) as err:
        Plugins(Settings.from_dict({"regime_folders": [str(folder)]}), entry_points=False)
    message = str(err.value)
    assert message.startswith(f"regime_folders: {folder}/policy.rego: ")
    assert f"package exportgate.regimes.{SOURCE} does not follow its folder" in message
    assert "exportgate.regimes.acme_deals_2026" in message


def test_a_folder_that_is_not_there_is_refused(tmp_path: Path) -> None:
    config = _config(tmp_path, "regimes/missing")
    assert main(["--config", str(config), "regimes"]) == 2


def test_a_folder_without_a_policy_names_it(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "policy.rego").unlink()
    with pytest.raises(ConfigError) as err:
        Plugins(Settings.from_dict({"regime_folders": [str(folder)]}), entry_points=False)
    assert str(err.value) == f"regime_folders: {folder}: policy.rego is missing"


def test_its_data_is_checked_as_a_builtin_regime_data_is(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    data = folder / "data.yaml"
    data.write_text(data.read_text(encoding="utf-8").replace(
        "  low_volume_cap_tpp: 7916000\n",
        "  low_volume_cap_tpp: 7916000\n  low_volume_cap_tpp: 1\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        Plugins(Settings.from_dict({"regime_folders": [str(folder)]}), entry_points=False)
    assert f"regime_folders: {folder}/data.yaml" in str(err.value)
    assert "low_volume_cap_tpp" in str(err.value)


@pytest.mark.parametrize("value", ["regimes/x", [""], [3]])
def test_a_bad_value_names_the_key(value: object) -> None:
    with pytest.raises(ConfigError) as err:
        Settings.from_dict({"regime_folders": value})
    assert "regime_folders" in str(err.value)


def test_a_new_id_in_a_builtin_package_is_refused_naming_the_folder(tmp_path: Path) -> None:
    """One package, one regime: a bundle lays regimes out by package."""
    folder = _copy(tmp_path, leaf=SOURCE, regime_id="acme-deals-2026")
    with pytest.raises(ConfigError) as err:
        Plugins(Settings.from_dict({"regime_folders": [str(folder)]}), entry_points=False)
    assert str(err.value) == (
        f"regime_folders: {folder}: regime package 'exportgate.regimes.{SOURCE}' is already "
        "registered (by plugin 'exportgate.regimes')")
