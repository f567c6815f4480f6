"""Live servers for the service tests: `exportgate serve` in a subprocess, or uvicorn in a
thread, on a free loopback port; a configuration with the ERP examples' master data."""
from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from tests.helpers import ROOT, exportgate_cmd

ERP = ROOT / "examples" / "erp"

#: Tokens of the tests: one with every scope, one that may only check.
ADMIN, CHECKER = "admin-token-7f3a", "checker-token-c81e"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def config(tmp: Path, **overrides: Any) -> Path:
    """A configuration on a fresh SQLite ledger and audit log under ``tmp``."""
    doc: dict[str, Any] = {
        "ledger": f"sqlite:///{tmp / 'ledger.db'}",
        "audit_log": str(tmp / "audit.jsonl"),
        "catalogs": [str(ERP / "master" / "items.yaml")],
        "parties": [str(ERP / "master" / "parties.yaml"), str(ERP / "master" / "parties.csv")],
        "adapters": yaml.safe_load((ERP / "exportgate.yaml").read_text())["adapters"],
        "calendar": [{"regime": "us-ai-diffusion-2025", "effective_from": "2025-01-15"}],
        "service": {"tokens": [
            {"name": "admin", "sha256": hashlib.sha256(ADMIN.encode()).hexdigest(),
             "scopes": ["check", "orders", "licenses"]},
            {"name": "checker", "sha256": hashlib.sha256(CHECKER.encode()).hexdigest(),
             "scopes": ["check"]}]},
    }
    doc["adapters"]["tabular"]["mapping"] = str(ERP / "tabular" / "mapping.yaml")
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key] = {**doc[key], **value}
        else:
            doc[key] = value
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "exportgate.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def client(base: str, token: str | None = ADMIN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=base, headers=headers, timeout=30.0)


def wait_up(base: str, alive: Any) -> None:
    for _ in range(300):
        if not alive():
            raise RuntimeError("the server stopped while starting")
        try:
            if httpx.get(base + "/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError("the server did not come up")


class Subprocess:
    """``exportgate --config FILE serve`` on a free port, until `stop`."""

    def __init__(self, cfg: Path, *extra: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "EXPORTGATE_LOAD_PLUGINS": ""}
        self.log = cfg.with_suffix(".log")
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [*exportgate_cmd(), "--config", str(cfg), "serve", "--port", str(self.port),
                 *extra], stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            wait_up(self.base, lambda: self.proc.poll() is None)
        except Exception:
            self.stop()
            raise RuntimeError(self.log.read_text()) from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class InThread:
    """The application of ``cfg`` under uvicorn in a thread of the test process."""

    def __init__(self, cfg: Path) -> None:
        from exportgate._settings import Settings
        from exportgate.service.app import create_app
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(
            create_app(Settings.load(cfg)), host="127.0.0.1", port=self.port,
            log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_up(self.base, self.thread.is_alive)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
