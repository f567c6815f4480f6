"""Running the ``exportgate`` command line from the ledger tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

import scenario


def exe() -> list[str]:
    """The installed console script next to this Python, else ``python -m``."""
    script = Path(sys.executable).with_name("exportgate")
    return [str(script)] if script.exists() else [sys.executable, "-m", "exportgate._cli"]


def write_config(path: Path, ledger: str | None = None, timeout: float = 30.0) -> Path:
    """A configuration with the scenario's small country allocation (and a ledger)."""
    doc: dict[str, Any] = {
        "parameters": {scenario.REGIME: {"alloc_cap_tpp": scenario.ALLOC_CAP}},
        "ledger_timeout": timeout,
    }
    if ledger is not None:
        doc["ledger"] = ledger
    path.write_text(yaml.safe_dump(doc))
    return path


def write_orders(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    return path


def env(config: Path | None = None) -> dict[str, str]:
    out = dict(os.environ)
    out.pop("EXPORTGATE_CONFIG", None)
    if config is not None:
        out["EXPORTGATE_CONFIG"] = str(config)
    return out


def batch_cmd(orders: Path, ledger: str | None = None) -> list[str]:
    cmd = exe() + ["batch", "--regime", scenario.REGIME, "--json"]
    if ledger is not None:
        cmd += ["--ledger", ledger]
    return cmd + [str(orders)]


def run_batch(orders: Path, ledger: str | None, config: Path,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(batch_cmd(orders, ledger), capture_output=True, text=True,
                          env=env(config), timeout=timeout)


def decisions(stdout: str) -> list[dict[str, Any]]:
    """The decisions printed: complete (newline-terminated) JSON lines only."""
    lines = stdout.split("\n")[:-1]  # what follows the last newline was not printed whole
    return [json.loads(line) for line in lines if line.startswith("{")]
