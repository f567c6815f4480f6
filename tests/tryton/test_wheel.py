"""A plain wheel carries the Tryton module whole: code, tryton.cfg, XML and views, entry point."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "adapters" / "tryton"


def test_the_wheel_carries_the_tryton_module(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, timeout=300,
                   cwd=tmp_path)
    [wheel] = tmp_path.glob("exportgate-*.whl")
    archive = zipfile.ZipFile(wheel)
    names = set(archive.namelist())
    expected = {f"exportgate/adapters/tryton/{p.relative_to(MODULE).as_posix()}"
                for p in MODULE.rglob("*")
                if p.is_file() and p.suffix in {".py", ".cfg", ".xml"}}
    assert "exportgate/adapters/tryton/tryton.cfg" in expected
    assert "exportgate/adapters/tryton/view/sale_form.xml" in expected
    assert expected <= names, sorted(expected - names)
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = archive.read(entry_points).decode()
    assert "[trytond.modules]\nexportgate = exportgate.adapters.tryton" in text
