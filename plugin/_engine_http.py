"""The sidecar engine: an OPA server next to the host, over its REST Data API.

Each evaluation is ``POST /v1/data/<package path>/<rule>`` with
``{"input": ...}``, sent through ``opa-python-client``'s ``OpaClient`` with the
configured connect and read timeouts (1 s each by default) and connection
retries. Before the first decision (and again after any failure) the engine
asks ``GET /health?bundles`` whether the sidecar is up with its bundles
activated, and checks that the sidecar serves the same revision of the
regime as this configuration (``data.exportgate.revisions[<regime id>]``,
written by ``exportgate bundle``), so no decision comes from a stale or empty
policy.

Fail closed: a refused connection, a timeout, an answer other than HTTP 200,
an unreadable body and an undefined result (HTTP 200 without ``result``, what
OPA answers for a path it has no rule for) each raise an `EngineError`, which
the gate turns into a ``license`` line with an ``error``. Never ``allow``.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from ._engine import Engine
from ._exceptions import ConfigError, EngineError, EngineUnavailable, UndefinedResult
from ._regime import Regime
from ._settings import Settings
from .hookspecs import hookimpl

DEFAULT_PORT = 8181
#: Where a bundle made by ``exportgate bundle`` keeps each regime's revision.
REVISIONS_PATH = "exportgate/revisions"


def parse_url(url: str | None) -> tuple[str, str, int]:
    """(scheme, host, port) of the sidecar URL; ConfigError naming engine.url if unusable."""
    if not url:
        raise ConfigError("engine.url: required for engine 'opa-http' "
                          "(e.g. http://127.0.0.1:8181)")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"engine.url: must be http://HOST[:PORT] or https://HOST[:PORT], "
                          f"got {url!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"engine.url: must name only the server (no path), got {url!r}")
    try:
        port = parts.port or DEFAULT_PORT
    except ValueError:
        raise ConfigError(f"engine.url: bad port in {url!r}") from None
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return parts.scheme, host, port


class OpaHttpEngine:
    """Decides through an OPA sidecar's Data API."""

    name = "opa-http"

    def __init__(self, settings: Settings) -> None:
        cfg = settings.engine
        scheme, host, port = parse_url(cfg.get("url"))
        self.url = f"{scheme}://{host}:{port}"
        self.connect_timeout = float(cfg.get("connect_timeout") or 1.0)
        self.read_timeout = float(cfg.get("read_timeout") or 1.0)
        self.check_revision = bool(cfg.get("check_revision", True))
        try:
            import requests
            from opa_client.opa import OpaClient
        except ImportError as exc:  # pragma: no cover - both are dependencies
            raise EngineUnavailable(f"engine 'opa-http' needs opa-python-client: "
                                    f"pip install opa-python-client ({exc})") from None
        self._requests = requests
        # requests takes (connect, read) timeouts; OpaClient passes it through.
        self.client = OpaClient(host=host, port=port, ssl=scheme == "https",
                                retries=int(cfg.get("retries") or 0),
                                timeout=(self.connect_timeout, self.read_timeout))
        self._ready = False
        self._checked: set[str] = set()
        self._lock = threading.Lock()
        self._local = threading.local()

    @property
    def last_decision_id(self) -> str | None:
        """The sidecar's ``decision_id`` of this thread's last evaluation (OPA decision logs)."""
        return getattr(self._local, "decision_id", None)

    # -- the wire --------------------------------------------------------

    def _post(self, path: str, input: dict[str, Any], what: str) -> dict[str, Any]:
        package, _, rule = path.rpartition("/")
        req = self._requests
        try:
            body = self.client.query_rule(input, package, rule)
        except req.exceptions.Timeout:
            raise EngineUnavailable(
                f"OPA sidecar at {self.url} did not answer {what} in time (connect timeout "
                f"{self.connect_timeout:g} s, read timeout {self.read_timeout:g} s)") from None
        except req.exceptions.ConnectionError as exc:
            raise EngineUnavailable(f"OPA sidecar at {self.url} cannot be reached for {what}: "
                                    f"{_reason(exc)}") from None
        except req.exceptions.HTTPError as exc:
            resp = exc.response
            status = resp.status_code if resp is not None else "?"
            text = (resp.text if resp is not None else "").strip().replace("\n", " ")
            raise EngineError(f"OPA sidecar at {self.url} answered HTTP {status} for {what}"
                              + (f": {text[:300]}" if text else "")) from None
        except (req.exceptions.JSONDecodeError, ValueError):
            raise UndefinedResult(f"OPA sidecar at {self.url} answered {what} with a body "
                                  "that is not JSON") from None
        except req.exceptions.RequestException as exc:
            raise EngineUnavailable(f"OPA sidecar at {self.url} failed on {what}: "
                                    f"{_reason(exc)}") from None
        if not isinstance(body, dict):
            raise UndefinedResult(f"OPA sidecar at {self.url} answered {what} with "
                                  f"{type(body).__name__}, not a JSON object")
        return body

    def _ensure_ready(self, regime: Regime) -> None:
        with self._lock:
            if not self._ready:
                if not self.client.check_health(query={"bundles": "true"}):
                    raise EngineUnavailable(
                        f"OPA sidecar at {self.url} is not ready: GET /health?bundles did not "
                        f"answer 200 (is `opa run --server --bundle ...` running there?)")
                self._ready = True
            if not self.check_revision or regime.id in self._checked:
                return
        what = f"the revision of {regime.id}"
        body = self._post(f"{REVISIONS_PATH}/{regime.id}", {}, what)
        served = body.get("result")
        if served is None:
            raise EngineError(
                f"OPA sidecar at {self.url} does not serve regime {regime.id} "
                f"(no data.{REVISIONS_PATH.replace('/', '.')}[\"{regime.id}\"]): load a bundle "
                "made by `exportgate bundle`")
        if served != regime.revision:
            raise EngineError(
                f"OPA sidecar at {self.url} serves {regime.id} at revision {served}, but this "
                f"configuration's {regime.id} is at revision {regime.revision}: rebuild the "
                "bundle with `exportgate bundle` from this configuration and reload the sidecar")
        with self._lock:
            self._checked.add(regime.id)

    def _reset(self) -> None:
        """After a failure, check health and revisions again before the next decision."""
        with self._lock:
            self._ready = False
            self._checked.clear()

    # -- the engine interface --------------------------------------------

    def evaluate(self, regime: Regime, rule: str, input: dict[str, Any]) -> Any:
        self._local.decision_id = None
        try:
            self._ensure_ready(regime)
            body = self._post(regime.path(rule), input, f"{regime.id}.{rule}")
        except EngineError:
            self._reset()
            raise
        self._local.decision_id = body.get("decision_id")
        if "result" not in body:
            raise UndefinedResult(
                f"OPA sidecar at {self.url} answered {regime.id}.{rule} without a result "
                f"(data.{regime.package}.{rule} is undefined there)")
        return body["result"]

    def run_tests(self, regime: Regime) -> list[tuple[str, bool, str]]:
        raise EngineError("engine 'opa-http' does not run Rego tests: use `exportgate test` "
                          "(embedded and opa) or `opa test` against the bundle's sources")

    def close(self) -> None:
        self.client.close_connection()


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error, short."""
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = str(seen) or type(seen).__name__
    if "Connection refused" in str(exc) or "Connection refused" in text:
        return "connection refused"
    return text[:200]


@hookimpl
def exportgate_register_engines(register: Callable[[str, Callable[[Settings], Engine]], None]
                                ) -> None:
    register("opa-http", OpaHttpEngine)
