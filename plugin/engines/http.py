"""The sidecar engine: an OPA server next to the host, over its REST Data API.

Each evaluation is ``POST /v1/data/<package path>/<rule>`` with
``{"input": ...}``. Before the first decision (and again after any failure)
the engine asks ``GET /health?bundles`` whether the sidecar is up with its
bundles activated, and checks that the sidecar serves the same revision of
the regime as this configuration (``data.exportgate.revisions[<regime id>]``,
written by ``exportgate bundle``), so no decision comes from a stale or empty
policy.

The channel (docs/security.md):

- **Deadlines.** ``connect_timeout`` and ``read_timeout`` bound each wait on
  the socket; ``timeout`` (default: their sum) bounds the whole request,
  retries included. A sidecar that trickles its answer a byte at a time is
  cut off at the deadline: a watchdog shuts the request's socket down.
- **No ambient proxy.** ``HTTP_PROXY``/``HTTPS_PROXY``/``NO_PROXY`` and
  ``.netrc`` are ignored; ``engine.proxy`` names a proxy explicitly.
- **Authentication.** A bearer token (OPA's ``--authentication=token``) read
  once from ``engine.token_file`` or the environment variable
  ``engine.token_env``; it is sent in the ``Authorization`` header and never
  appears in a message, a ``repr`` or the configuration. Off loopback it is
  sent over ``https://`` only.
- **TLS.** For an ``https://`` URL the server certificate is verified
  against ``engine.ca_file`` (default: the system's trust store); a client
  certificate is ``engine.cert_file`` (with ``engine.key_file`` unless the
  key is in the same file). A failed handshake is reported as a TLS failure.
- **No redirects** (the token would follow them), and an answer larger than
  ``max_response_bytes`` (default 64 MiB) or nested too deeply is refused.
- **Nothing secret comes back.** Every text taken from the sidecar (its
  answer's body, an error page, a malformed status line in a connection
  error) passes through `redact_secrets` before anything reads it: the
  configured token, in every form a server may echo it (raw, JSON-escaped,
  Go-escaped), and any ``Authorization``/``Bearer`` credential are masked, so
  an error page that echoes the request's headers cannot carry the token into
  a message, a decision's ``error`` or the audit log.
- **Strict JSON.** The answer is read with `exportgate._json.loads`: a key
  given twice (which of the two values the sidecar meant is unknown), NaN,
  Infinity or a number too large is an `UndefinedResult` naming where.

Fail closed: a refused connection, a timeout, a TLS failure, an answer other
than HTTP 200, an unreadable body (not UTF-8, not strict JSON) and an
undefined result (HTTP 200 without ``result``, what OPA answers for a path it
has no rule for) each raise an `EngineError`, which the gate turns into a
``license`` line with an ``error``. Never ``allow``.
"""
from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
from pathlib import Path
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

from .base import Answer
from .._exceptions import ConfigError, EngineError, EngineUnavailable, UndefinedResult
from .._json import DuplicateKeyError, loads
from .._redact import MASK, redact_url
from .._regime import Regime
from .._settings import ENGINE_DEFAULTS, Settings, parse_url

#: Where a bundle made by ``exportgate bundle`` keeps each regime's revision.
REVISIONS_PATH = "exportgate/revisions"
MAX_RESPONSE_BYTES = 64 * 1024 * 1024


# -- secrets out of what the sidecar says ------------------------------------------

#: A credential: up to a quote, a space or JSON punctuation, so that masking one
#: inside a JSON string leaves the document JSON (an escape such as ``\u0026``
#: counts as one character of it).
_CREDENTIAL = r"((?:\\.|[^\s\"'\\,;{}\[\]<>])+)"
#: A bearer credential anywhere (``Bearer abc``).
_BEARER = re.compile(r"(\bbearer\s+)" + _CREDENTIAL, re.IGNORECASE)
#: The value of an ``Authorization`` (or ``Proxy-Authorization``) header echoed
#: back as text, JSON or a repr: ``Authorization: Basic abc``, ``"authorization": "x"``.
_AUTHORIZATION = re.compile(
    r"(\bauthorization\b[\"']?\s*[:=]\s*[\"']?(?:[A-Za-z][\w.-]*\s+)?)"
    + _CREDENTIAL, re.IGNORECASE)
#: How Go's JSON encoder (OPA's) writes these characters inside a string.
_GO_ESCAPES = (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"))


def secret_forms(secret: str) -> tuple[str, ...]:
    """``secret`` as a server may echo it: raw, JSON-escaped, Go-escaped, with ``\\/``."""
    forms = {secret, json.dumps(secret)[1:-1]}
    for form in list(forms):
        go = form
        for char, escaped in _GO_ESCAPES:
            go = go.replace(char, escaped)
        forms |= {go, go.replace("/", "\\/"), form.replace("/", "\\/")}
    return tuple(sorted(forms, key=len, reverse=True))


def redact_secrets(text: str, forms: tuple[str, ...] = ()) -> str:
    """``text`` from a sidecar with every secret masked: the one filter for its answers.

    ``forms`` are the configured token's forms (`secret_forms`); whatever the
    configuration, a ``Bearer`` credential and an echoed ``Authorization``
    header value are masked too. The result is still JSON when ``text`` was:
    only the insides of strings are replaced.
    """
    for form in forms:
        if form:
            text = text.replace(form, MASK)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    return _AUTHORIZATION.sub(lambda m: m.group(1) + MASK, text)


# -- the deadline watchdog ------------------------------------------------------
#
# requests' timeouts bound each wait on the socket, not the request. Every
# socket a request uses is registered with the request's `_Watch`; when the
# deadline passes, a timer shuts those sockets down, and the blocked read in
# the request's thread returns at once with an error.

_current = threading.local()


class _Watch:
    def __init__(self) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()

    def add(self, sock: Any) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _register(sock: Any) -> None:
    watch = getattr(_current, "watch", None)
    if watch is not None:
        watch.add(sock)


class _WatchedConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        sock = super()._new_conn()
        _register(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        _register(getattr(self, "sock", None))
        super().request(*args, **kwargs)


class _WatchedTlsConnection(_WatchedConnection, HTTPSConnection):
    """HTTPS with the same socket registration: the watched methods come first in the
    method order, then HTTPSConnection's TLS, then the plain connection's."""


class _WatchedPool(HTTPConnectionPool):
    ConnectionCls = _WatchedConnection


class _WatchedTlsPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedTlsConnection


class _WatchedAdapter(HTTPAdapter):
    _pools = {"http": _WatchedPool, "https": _WatchedTlsPool}

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self._pools)

    def proxy_manager_for(self, *args: Any, **kwargs: Any) -> Any:
        manager = super().proxy_manager_for(*args, **kwargs)
        manager.pool_classes_by_scheme = dict(self._pools)
        return manager


def _read_token(cfg: dict[str, Any]) -> str | None:
    """The bearer token from ``token_file`` or ``token_env``; ConfigError never quoting it."""
    token_file, token_env = cfg.get("token_file"), cfg.get("token_env")
    if token_file and token_env:
        raise ConfigError("engine.token_file and engine.token_env: give one, not both")
    if token_file:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ConfigError(f"engine.token_file {token_file}: cannot read ({reason})") \
                from None
        where = f"engine.token_file {token_file}"
    elif token_env:
        token = (os.environ.get(str(token_env)) or "").strip()
        where = f"engine.token_env: the environment variable {token_env}"
    else:
        return None
    if not token:
        raise ConfigError(f"{where} is empty or unset: the sidecar's bearer token goes there")
    if any(ord(c) < 0x21 or ord(c) > 0x7e for c in token):
        raise ConfigError(f"{where}: the token holds spaces or characters an HTTP header "
                          "cannot carry")
    return token


def _loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    import ipaddress
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _existing_file(cfg: dict[str, Any], key: str) -> str | None:
    value = cfg.get(key)
    if not value:
        return None
    if not Path(value).is_file():
        raise ConfigError(f"engine.{key}: {value} is not a readable file")
    return str(value)


class OpaHttpEngine:
    """Decides through an OPA sidecar's Data API."""

    name = "opa-http"

    def __init__(self, settings: Settings) -> None:
        cfg = settings.engine
        scheme, host, port = parse_url(cfg.get("url"))
        self.url = f"{scheme}://{host}:{port}"
        defaults = ENGINE_DEFAULTS
        self.connect_timeout = float(cfg.get("connect_timeout") or defaults["connect_timeout"])
        self.read_timeout = float(cfg.get("read_timeout") or defaults["read_timeout"])
        self.deadline = float(cfg.get("timeout") or self.connect_timeout + self.read_timeout)
        self.max_response_bytes = int(cfg.get("max_response_bytes") or MAX_RESPONSE_BYTES)
        self.check_revision = bool(cfg.get("check_revision", True))
        ca_file = _existing_file(cfg, "ca_file")
        cert_file = _existing_file(cfg, "cert_file")
        key_file = _existing_file(cfg, "key_file")
        if scheme != "https":
            for key, value in (("ca_file", ca_file), ("cert_file", cert_file),
                               ("key_file", key_file)):
                if value:
                    raise ConfigError(f"engine.{key}: needs an https:// engine.url "
                                      f"(got {self.url})")
        if key_file and not cert_file:
            raise ConfigError("engine.key_file: needs engine.cert_file")
        token = _read_token(cfg)
        if token is not None and scheme != "https" and not _loopback(host):
            raise ConfigError(f"engine.url: {self.url} is plain HTTP off this host: the bearer "
                              "token would cross the network in clear; use https:// (with "
                              "engine.ca_file) or a loopback address")
        self.authenticated = token is not None
        self._secrets = secret_forms(token) if token is not None else ()
        session = requests.Session()
        session.trust_env = False  # no HTTP(S)_PROXY, NO_PROXY, .netrc, REQUESTS_CA_BUNDLE
        proxy = cfg.get("proxy")
        if proxy:
            session.proxies = {"http": str(proxy), "https": str(proxy)}
        self.proxy = redact_url(proxy) if proxy else None
        session.verify = ca_file or True
        if cert_file:
            session.cert = (cert_file, key_file) if key_file else cert_file
        if token is not None:
            session.headers["Authorization"] = f"Bearer {token}"
        retries = int(cfg.get("retries") or 0)
        adapter = _WatchedAdapter(max_retries=Retry(
            total=retries, connect=retries, read=0, redirect=0, status=0, other=0,
            backoff_factor=0.05, raise_on_status=False))
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        self._session = session
        self._ready = False
        self._checked: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        auth = ", bearer token" if self.authenticated else ""
        return f"<OpaHttpEngine {self.url}{auth}>"

    # -- the wire --------------------------------------------------------

    def _timeouts(self) -> str:
        return (f"deadline {self.deadline:g} s; connect timeout {self.connect_timeout:g} s, "
                f"read timeout {self.read_timeout:g} s")

    def _redact(self, text: str) -> str:
        return redact_secrets(text, self._secrets)

    def _request(self, method: str, path: str, what: str,
                 body: dict[str, Any] | None = None) -> tuple[int, str]:
        """One request under the deadline: (status, body text, redacted); EngineError if none.

        The body is decoded as UTF-8, with bytes that are not kept as
        surrogate escapes (`_post` refuses them), then passed through
        `redact_secrets`: nothing the sidecar says is read before that.
        """
        watch = _Watch()
        timer = threading.Timer(self.deadline, watch.expire)
        timer.daemon = True
        _current.watch = watch
        started = time.monotonic()
        timer.start()
        try:
            resp = self._session.request(
                method, f"{self.url}{path}", json=body, stream=True, allow_redirects=False,
                timeout=(self.connect_timeout, self.read_timeout))
            try:
                chunks: list[bytes] = []
                size = 0
                for chunk in resp.iter_content(65536):
                    size += len(chunk)
                    if size > self.max_response_bytes:
                        raise UndefinedResult(
                            f"OPA sidecar at {self.url} answered {what} with more than "
                            f"{self.max_response_bytes:,} bytes: refused")
                    chunks.append(chunk)
                    if watch.expired:
                        break
                status = resp.status_code
            finally:
                resp.close()
            if watch.expired:
                raise _Expired()
            return status, self._redact(b"".join(chunks).decode("utf-8", "surrogateescape"))
        except EngineError:
            raise
        except BaseException as exc:
            # redacted whole, then cut: a malformed status line is the sidecar's own text
            reason = self._redact(_reason(exc))[:200]
            if watch.expired or time.monotonic() - started >= self.deadline:
                raise EngineUnavailable(
                    f"OPA sidecar at {self.url} did not answer {what} in time "
                    f"({self._timeouts()})") from None
            if isinstance(exc, requests.exceptions.SSLError):
                raise EngineUnavailable(
                    f"OPA sidecar at {self.url}: TLS failed for {what}: {reason} "
                    "(check engine.ca_file, engine.cert_file and the server's certificate)") \
                    from None
            if isinstance(exc, requests.exceptions.Timeout):
                raise EngineUnavailable(
                    f"OPA sidecar at {self.url} did not answer {what} in time "
                    f"({self._timeouts()})") from None
            if isinstance(exc, requests.exceptions.ProxyError):
                raise EngineUnavailable(f"OPA sidecar at {self.url}: the proxy {self.proxy} "
                                        f"failed for {what}: {reason}") from None
            if isinstance(exc, requests.exceptions.ConnectionError):
                raise EngineUnavailable(f"OPA sidecar at {self.url} cannot be reached for "
                                        f"{what}: {reason}") from None
            if isinstance(exc, (requests.exceptions.RequestException, OSError)):
                raise EngineUnavailable(f"OPA sidecar at {self.url} failed on {what}: "
                                        f"{reason}") from None
            raise
        finally:
            timer.cancel()
            _current.watch = None

    def _post(self, path: str, input: dict[str, Any], what: str) -> dict[str, Any]:
        status, raw = self._request("POST", f"/v1/data/{path}", what, {"input": input})
        if status != 200:
            text = raw[:300].encode("utf-8", "surrogateescape").decode("utf-8", "replace") \
                .strip().replace("\n", " ")
            hint = " (the sidecar wants a bearer token: set engine.token_file or " \
                "engine.token_env)" if status == 401 and not self.authenticated else ""
            raise EngineError(f"OPA sidecar at {self.url} answered HTTP {status} for {what}"
                              + (f": {text}" if text else "") + hint)
        try:
            raw.encode("utf-8")
            body = loads(raw)
        except DuplicateKeyError as exc:
            raise UndefinedResult(f"OPA sidecar at {self.url} answered {what} with JSON that "
                                  f"gives a key twice: {exc}") from None
        except UnicodeEncodeError:
            raise UndefinedResult(f"OPA sidecar at {self.url} answered {what} with a body "
                                  "that is not UTF-8") from None
        except (ValueError, RecursionError):
            raise UndefinedResult(f"OPA sidecar at {self.url} answered {what} with a body "
                                  "that is not JSON (or is nested too deeply)") from None
        if not isinstance(body, dict):
            raise UndefinedResult(f"OPA sidecar at {self.url} answered {what} with "
                                  f"{type(body).__name__}, not a JSON object")
        return body

    def _health(self) -> None:
        status, _ = self._request("GET", "/health?bundles=true", "the health check")
        if status == 401 and not self.authenticated:
            raise EngineUnavailable(
                f"OPA sidecar at {self.url} answered HTTP 401 to GET /health: it wants a "
                "bearer token (set engine.token_file or engine.token_env)")
        if status != 200:
            raise EngineUnavailable(
                f"OPA sidecar at {self.url} is not ready: GET /health?bundles answered HTTP "
                f"{status}, not 200 (is `opa run --server --bundle ...` running there?)")

    def _ensure_ready(self, regime: Regime) -> None:
        with self._lock:
            if not self._ready:
                self._health()
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
                f"OPA sidecar at {self.url} serves {regime.id} at revision "
                f"{str(served)[:80]}, but this configuration's {regime.id} is at revision "
                f"{regime.revision}: rebuild the bundle with `exportgate bundle` from this "
                "configuration and reload the sidecar")
        with self._lock:
            self._checked.add(regime.id)

    def _reset(self) -> None:
        """After a failure, check health and revisions again before the next decision."""
        with self._lock:
            self._ready = False
            self._checked.clear()

    # -- the engine interface --------------------------------------------

    def answer(self, regime: Regime, rule: str, input: dict[str, Any]) -> Answer:
        """The rule's value with the sidecar's ``decision_id`` (OPA decision logs)."""
        try:
            self._ensure_ready(regime)
            body = self._post(regime.path(rule), input, f"{regime.id}.{rule}")
        except EngineError:
            self._reset()
            raise
        if "result" not in body:
            raise UndefinedResult(
                f"OPA sidecar at {self.url} answered {regime.id}.{rule} without a result "
                f"(data.{regime.package}.{rule} is undefined there)")
        decision_id = body.get("decision_id")
        return Answer(body["result"], decision_id if isinstance(decision_id, str) else None)

    def evaluate(self, regime: Regime, rule: str, input: dict[str, Any]) -> Any:
        return self.answer(regime, rule, input).value

    def run_tests(self, regime: Regime) -> list[tuple[str, bool, str]]:
        raise EngineError("engine 'opa-http' does not run Rego tests: use `exportgate test` "
                          "(embedded and opa) or `opa test` against the bundle's sources")

    def close(self) -> None:
        self._session.close()


class _Expired(Exception):
    """The request's deadline passed while its answer was still arriving."""


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests/urllib3 error (cut short once redacted)."""
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
    text = str(seen) or type(seen).__name__
    if "Connection refused" in str(exc) or "Connection refused" in text:
        return "connection refused"
    return text
