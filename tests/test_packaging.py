"""A plain wheel carries the Rego, the data and the adapters as an editable install does."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.helpers import ROOT


def test_the_wheel_carries_rego_and_data_and_decides(tmp_path: Path) -> None:
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps",
                            "--no-build-isolation", "-v", "-w", str(tmp_path), str(ROOT)],
                           check=True, timeout=300, cwd=tmp_path, capture_output=True, text=True)
    # Data folders (the Tryton views, the Rego) are package data, not packages
    # setuptools finds missing from the package list and warns about at length.
    assert "would be ignored" not in build.stdout + build.stderr
    [wheel] = tmp_path.glob("exportgate-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for leaf in ("us_advanced_computing_2023", "us_ai_diffusion_2025", "us_country_deals_2025"):
        for f in ("policy.rego", "data.yaml", "policy_test.rego"):
            assert f"exportgate/rego/exportgate/regimes/{leaf}/{f}" in names
    assert "exportgate/rego/exportgate/lib/data.yaml" in names
    assert "exportgate/rego/exportgate/testing/testing.rego" in names
    assert "exportgate/data/items.yaml" in names
    assert "exportgate/adapters/canonical.py" in names
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    order = {"id": "W-1", "date": "2025-06-02", "parties": {"ship_to": {"id": "x", "country": "CN"}},
             "lines": [{"id": "1", "item": "H100", "quantity": 1}]}
    code = ("import json, sys; from exportgate._gate import Gate; from exportgate import Settings;"
            "import exportgate; assert exportgate.__file__.startswith(sys.argv[1]), exportgate.__file__;"
            "g = Gate(Settings(), regime_id='us-advanced-computing-2023', ledger_url='sqlite:///l.db');"
            "print(json.dumps(g.check(json.loads(sys.argv[2])).decision.to_dict()))")
    env = {**os.environ, "PYTHONPATH": str(unpacked), "EXPORTGATE_LOAD_PLUGINS": ""}
    proc = subprocess.run([sys.executable, "-c", code, str(unpacked), json.dumps(order)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["outcome"] == "deny"
