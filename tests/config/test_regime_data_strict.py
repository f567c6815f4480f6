"""A regime's data is configuration: a number written twice is refused, not the last one kept."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from exportgate import _regime
from exportgate._exceptions import ConfigError


def _copy_of_builtin(tmp_path: Path) -> Path:
    root = Path(str(_regime.rego_root()))
    tree = tmp_path / "rego"
    shutil.copytree(root, tree)
    return tree


def test_a_regime_data_file_naming_a_parameter_twice_is_refused(tmp_path: Path) -> None:
    tree = _copy_of_builtin(tmp_path)
    folder = tree / "exportgate" / "regimes" / "us_ai_diffusion_2025"
    data = folder / "data.yaml"
    text = data.read_text(encoding="utf-8")
    assert "  lpp_cap_tpp: 26900000\n" in text
    data.write_text(text.replace("  lpp_cap_tpp: 26900000\n",
                                 "  lpp_cap_tpp: 26900000\n  lpp_cap_tpp: 1\n"), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        _regime.load_folder(folder, tree)
    assert "lpp_cap_tpp" in str(err.value) and "data.yaml" in str(err.value)


def test_the_unchanged_copy_loads(tmp_path: Path) -> None:
    tree = _copy_of_builtin(tmp_path)
    folder = tree / "exportgate" / "regimes" / "us_ai_diffusion_2025"
    regime = _regime.load_folder(folder, tree)
    assert regime.parameter_values["lpp_cap_tpp"] == 26900000
