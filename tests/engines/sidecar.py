"""A stand-in OPA sidecar for the tests: OPA's Data API over the in-process OPA engine.

It loads a bundle tarball the way ``opa run --server --bundle FILE`` does
(every ``.rego`` file, every ``data.json`` at its folder's path) into the
``opa`` engine (OPA's own Go ``rego`` package) and serves, on loopback only:

- ``GET /health`` (``?bundles`` accepted): 200 ``{}`` once the bundle is loaded;
- ``POST /v1/data/<path>`` with ``{"input": ...}``: 200 ``{"result": ...,
  "decision_id": ...}``, or 200 ``{}`` when the document is undefined, 400 for
  a body that is not JSON; ``?provenance`` adds the bundle's revision.

Switches for fault tests (attributes, changeable while it runs): ``mode`` is
``"ok"``, ``"slow"`` (sleep ``delay`` seconds before answering), ``"error"``
(HTTP 500 for every data request), ``"undefined"`` (HTTP 200 without
``result``) or ``"unready"`` (``/health`` answers 500).

Run by hand (docs/deployment.md, "Trying it without an OPA binary")::

    python tests/engines/sidecar.py --bundle bundle.tar.gz --port 8181
"""
from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from exportgate.engines.bundle import Bundle

from bundle_reader import read_bundle

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def data_ref(path: str) -> str:
    """``a/b-c/d`` as the Rego reference ``data.a["b-c"].d``."""
    ref = "data"
    for seg in (s for s in path.split("/") if s):
        ref += f".{seg}" if _IDENT.match(seg) else "[" + json.dumps(seg) + "]"
    return ref


class Sidecar:
    """OPA's Data API on 127.0.0.1, over the ``opa`` engine loaded with one bundle."""

    def __init__(self, bundle: str | Path | Bundle, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        from opa_bindings import OpaEngine
        self.bundle = bundle if isinstance(bundle, Bundle) else read_bundle(bundle)
        self.engine = OpaEngine()
        for path, source in self.bundle.modules.items():
            self.engine.add_policy(path, source)
        self.engine.add_data(self.bundle.data)
        self.engine.eval_query("true")
        self.mode = "ok"
        self.delay = 0.0
        self.requests: list[str] = []
        sidecar = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out in two writes: without this, Nagle and the
            # client's delayed ACK add 40 ms to every answer
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _send(self, status: int, doc: Any) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                sidecar.requests.append(f"GET {url.path}")
                if url.path == "/health":
                    if sidecar.mode == "unready":
                        self._send(500, {"error": "not ready"})
                    else:
                        self._send(200, {})
                elif url.path.startswith("/v1/data"):
                    self._data(url, {})
                else:
                    self._send(404, {"code": "resource_not_found", "message": url.path})

            def do_POST(self) -> None:
                url = urlsplit(self.path)
                sidecar.requests.append(f"POST {url.path}")
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                    if not isinstance(body, dict):
                        raise ValueError("not an object")
                except ValueError as exc:
                    self._send(400, {"code": "invalid_parameter",
                                     "message": f"body is not a JSON object: {exc}"})
                    return
                if url.path.startswith("/v1/data"):
                    self._data(url, body.get("input"))
                else:
                    self._send(404, {"code": "resource_not_found", "message": url.path})

            def _data(self, url: Any, input: Any) -> None:
                if sidecar.mode == "slow":
                    time.sleep(sidecar.delay)
                if sidecar.mode == "error":
                    self._send(500, {"code": "internal_error", "message": "injected fault"})
                    return
                path = url.path[len("/v1/data"):].strip("/")
                try:
                    rows = sidecar.engine.eval_query(f"x = {data_ref(path)}", input)
                except Exception as exc:  # an OPA evaluation error: 500, as OPA does
                    self._send(500, {"code": "internal_error", "message": str(exc)})
                    return
                doc: dict[str, Any] = {"decision_id": str(uuid.uuid4())}
                if rows and sidecar.mode != "undefined":
                    doc["result"] = rows[0]["x"]
                if "provenance" in parse_qs(url.query, keep_blank_values=True):
                    doc["provenance"] = {"version": "exportgate-test-sidecar", "bundles": {
                        "bundle": {"revision": sidecar.bundle.revision}}}
                self._send(200, doc)

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Sidecar:
        self._thread = threading.Thread(target=self.server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self.engine.close()

    def __enter__(self) -> Sidecar:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", required=True, help="a bundle from `exportgate bundle`")
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to listen on")
    ap.add_argument("--port", type=int, default=8181)
    args = ap.parse_args(argv)
    sidecar = Sidecar(args.bundle, args.host, args.port)
    print(f"serving {sidecar.url} (bundle revision {sidecar.bundle.revision})", flush=True)
    try:
        sidecar.server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        sidecar.server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
