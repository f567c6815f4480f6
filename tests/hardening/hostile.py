"""A hostile stand-in sidecar and a throwaway PKI for the attack tests (127.0.0.1 only)."""
from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class FakeSidecar:
    """OPA's Data API shape, answering whatever the test sets, and misbehaving on request.

    ``mode``: ``"ok"`` (200 with ``result``), ``"trickle"`` (headers at once,
    then the body one byte every ``delay`` seconds), ``"trickle-headers"``
    (the status line itself one byte at a time), ``"huge"`` (a body of
    ``size`` bytes), ``"deep"`` (a body nested ``size`` arrays deep),
    ``"redirect"`` (307 to ``location``), ``"echo"`` (every data request
    answered HTTP ``status`` with the request's headers echoed back as text, as
    many servers' error pages do), ``"echo-json"`` (HTTP 200 with the headers
    echoed inside the JSON result, escaped as Go's encoder escapes ``&<>``),
    ``"echo-id"`` (HTTP 200 with ``result`` and the headers echoed as the
    ``decision_id``),
    ``"echo-status"`` (a status line that is the ``Authorization`` header),
    ``"raw"`` (HTTP 200 with ``body`` as it is). ``token``: when set, every
    request must carry ``Authorization: Bearer <token>`` or gets 401.
    ``cut_off`` is set when the client hangs up while a trickled answer is
    still being written: an event, so no test needs to time the engine.
    """

    def __init__(self, tls: Any = None) -> None:
        self.mode = "ok"
        self.result: Any = {"ok": True}
        self.delay = 0.2
        self.size = 0
        self.location = ""
        self.status = 500
        self.body = b""
        self.token: str | None = None
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.cut_off = threading.Event()
        side = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                side.seen.append((method, self.path, dict(self.headers)))
                if side.token is not None and \
                        self.headers.get("Authorization") != f"Bearer {side.token}":
                    self._send(401, b'{"code":"unauthorized","message":"missing token"}')
                    return
                if side.mode == "trickle-headers":
                    self._trickle(b"HTTP/1.1 200 OK\r\n" * 50)
                    return
                if side.mode == "redirect":
                    self.send_response(307)
                    self.send_header("Location", side.location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if self.path.startswith("/health"):
                    self._send(200, b"{}")
                    return
                echoed = "".join(f"{k}: {v}\r\n" for k, v in self.headers.items())
                if side.mode == "echo":
                    self._send(side.status, f"bad request; you sent:\n{echoed}".encode())
                    return
                if side.mode in ("echo-json", "echo-id"):
                    doc = {"result": {"contract": echoed}, "decision_id": "d-1"} \
                        if side.mode == "echo-json" else \
                        {"result": side.result, "decision_id": echoed}
                    text = json.dumps(doc)
                    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
                        text = text.replace(char, escaped)
                    self._send(200, text.encode())
                    return
                if side.mode == "echo-status":
                    line = f"Authorization: {self.headers.get('Authorization')}"
                    self.wfile.write(f"{line}\r\n\r\n".encode())
                    return
                if side.mode == "raw":
                    self._send(200, side.body)
                    return
                if side.mode == "huge":
                    body = b'{"result": "' + b"x" * side.size + b'"}'
                elif side.mode == "deep":
                    body = b'{"result": ' + b"[" * side.size + b"]" * side.size + b"}"
                else:
                    body = json.dumps({"result": side.result, "decision_id": "d-1"}).encode()
                if side.mode == "trickle":
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self._trickle(body)
                    return
                self._send(200, body)

            def _trickle(self, data: bytes) -> None:
                """One byte every ``delay`` seconds, until the client hangs up (``cut_off``)."""
                try:
                    for byte in data:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(side.delay)
                except OSError:
                    side.cut_off.set()

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                self._answer("GET")

            def do_POST(self) -> None:
                self._answer("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self.scheme = "http"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Pki:
    """A throwaway CA, a server certificate for 127.0.0.1, and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def _ca(d: Path, name: str) -> None:
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=d)


def _leaf(d: Path, name: str, ca: str, ext: str) -> None:
    (d / f"{name}.ext").write_text(ext)
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", cwd=d)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
             "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext",
             "-out", f"{name}.pem", cwd=d)


