"""``exportgate serve`` on the command line: a configuration it cannot serve is refused
before it listens (exit 2), and ``--workers N`` serves from several processes."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from exportgate.engines.opa import GO_RUNTIME, go_environment
from tests.helpers import exportgate_cmd, h100_order
from tests.service.live import Subprocess, client, config


def test_a_configuration_without_tokens_is_refused_before_listening(tmp_path: Path) -> None:
    cfg = config(tmp_path, service={"tokens": []})
    proc = subprocess.run([*exportgate_cmd(), "--config", str(cfg), "serve", "--port", "9"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "EXPORTGATE_LOAD_PLUGINS": ""})
    assert proc.returncode == 2
    assert "service.tokens" in proc.stderr


def test_a_token_stored_in_clear_is_refused(tmp_path: Path) -> None:
    cfg = config(tmp_path, service={"tokens": [
        {"name": "x", "sha256": "my-secret-token", "scopes": ["check"]}]})
    proc = subprocess.run([*exportgate_cmd(), "--config", str(cfg), "serve", "--port", "9"],
                          capture_output=True, text=True, timeout=60,
                          env={**os.environ, "EXPORTGATE_LOAD_PLUGINS": ""})
    assert proc.returncode == 2 and "service.tokens.0.sha256" in proc.stderr
    assert "my-secret-token" not in proc.stderr


def test_several_workers_answer_on_one_port(tmp_path: Path) -> None:
    server = Subprocess(config(tmp_path), "--workers", "2")
    try:
        with client(server.base) as c:
            for i in range(4):
                r = c.post("/v1/check", json=h100_order(f"SVC-W{i}", "JP", 8))
                assert r.status_code == 200 and r.json()["error"] is None
            assert c.get("/readyz").status_code == 200
    finally:
        server.stop()


def test_on_opa_the_server_starts_with_the_go_collector_settings(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Go reads GOGC and GOMEMLIMIT only from the environment a process starts with: on
    `opa` the server starts again (same process) with `GO_RUNTIME` where the environment
    lacks them, and keeps what the environment says."""
    monkeypatch.delenv("GOGC", raising=False)
    monkeypatch.setenv("GOMEMLIMIT", "300MiB")
    server = Subprocess(config(tmp_path, engine={"name": "opa"}))
    try:
        with client(server.base) as c:
            r = c.post("/v1/check", json=h100_order("SVC-GO", "JP", 8))
            assert r.status_code == 200 and r.json()["error"] is None
        started = dict(item.split("=", 1) for item in Path(
            f"/proc/{server.proc.pid}/environ").read_bytes().decode().split("\0") if "=" in item)
    finally:
        server.stop()
    assert started["GOGC"] == GO_RUNTIME["GOGC"]
    assert started["GOMEMLIMIT"] == "300MiB"


def test_go_environment_fills_only_what_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOGC", "50")
    monkeypatch.delenv("GOMEMLIMIT", raising=False)
    assert go_environment() is True
    assert os.environ["GOGC"] == "50" and os.environ["GOMEMLIMIT"] == GO_RUNTIME["GOMEMLIMIT"]
    assert go_environment() is False
