"""The decision service: an ASGI application (Starlette) over one `Decider` per process.

Routes (docs/service.md; the OpenAPI document, `openapi.document`, is the
reference):

- ``POST /v1/check``: one record, as its ERP writes it, in the body;
  ``adapter``, ``regime``, ``dry_run``, ``writeback`` as query parameters.
  Answers the decision ``exportgate check --json`` prints.
- ``POST /v1/batch``: ``{"records": [...]}``, decided in order.
- ``POST /v1/data/exportgate/decision`` and
  ``POST /v1/batch/data/exportgate/decision``: the same, in OPA's shapes.
- ``/v1/orders/{id}`` (``GET``, ``POST .../commit``, ``POST .../release``),
  ``/v1/licenses`` (``GET``, ``POST``), ``/v1/licenses/{number}``,
  ``/v1/regimes``, ``/healthz``, ``/readyz``, ``/metrics``, ``/openapi.json``.

Every body is read within the configured limit (413 above it) and through
the command line's one input path (`_input.parse_record`: strict JSON, size
and depth limits). Bad input is a 400 with the message the command line
gives; nothing of it is decided. A fault of the engine, the ledger or the
audit log is a 200 whose every line is ``license`` with an ``error``.
"""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .. import _input
from .._adapter import Record
from .._decide import Checked
from .._exceptions import ConfigError, ExportgateError, InputError, LedgerError, PluginError
from .._settings import Settings
from ..ledger import licenses as _licenses
from .auth import Refused, Tokens
from .decider import Decider
from .metrics import CONTENT_TYPE_LATEST, Metrics
from .openapi import document

log = logging.getLogger("exportgate.service")

Handler = Callable[[Request], Awaitable[Response]]


class _TooLarge(Exception):
    pass


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


def _party_to_screen(doc: Any) -> tuple[str, str | None, str | None]:
    """``{"name", "country"?, "address"?}`` of ``POST /v1/screen`` (InputError naming the field)."""
    if not isinstance(doc, dict):
        raise InputError("request: give a JSON object with name, and country and address "
                         "if known")
    unknown = sorted(set(doc) - {"name", "country", "address"})
    if unknown:
        raise InputError(f"request: unknown field {unknown[0]!r} (name, country, address)")
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 500:
        raise InputError("request: name: a party name of 1 to 500 characters")
    out: list[str | None] = []
    for key, longest in (("country", 2), ("address", 1000)):
        value = doc.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()
                                  or len(value) > longest):
            raise InputError(f"request: {key}: "
                             + ("an ISO 3166-1 alpha-2 code" if key == "country" else
                                "one line of at most 1,000 characters"))
        out.append(value.upper() if key == "country" and value else value)
    return name, out[0], out[1]


def _flag(request: Request, name: str) -> bool:
    """A boolean query parameter (``true``/``1``/``yes``); anything else unknown is bad input."""
    value = request.query_params.get(name, "false").lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no", ""):
        return False
    raise InputError(f"query parameter {name}: {value[:40]!r} is not true or false")


class Service:
    """The routes, over one decider, with the configuration's tokens and limits."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        options = settings.service
        self.tokens = Tokens(options["tokens"])
        if not self.tokens:
            raise ConfigError("service.tokens: no token configured; the service answers "
                              "nobody without one (docs/service.md, Configuration)")
        self.max_body = int(options["max_body_bytes"])
        self.deadline = float(options["deadline"])
        self.metrics = Metrics()
        self.decider = Decider(settings, on_group=self.metrics.groups.observe)
        self._document = document()

    # -- plumbing -------------------------------------------------------------

    def route(self, name: str, scope: str | None, handler: Handler) -> Handler:
        """``handler`` behind the token check, the error mapping and the latency metric."""
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            try:
                if scope is not None:
                    self.tokens.check(request.headers.get("authorization"), scope)
                response = await handler(request)
            except Refused as exc:
                headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
                response = _error(exc.status, str(exc), **headers)
            except _TooLarge:
                response = _error(413, f"the request body is larger than {self.max_body} "
                                       "bytes (service.max_body_bytes)")
            except PluginError as exc:
                log.error("plugin failed: %s", exc)
                response = _error(500, str(exc))
            except InputError as exc:
                response = _error(400, str(exc))
            except ExportgateError as exc:  # the ledger or the engine outside a decision
                response = _error(503, str(exc))
            self.metrics.latency.labels(name).observe(time.perf_counter() - started)
            return response
        return endpoint

    async def body(self, request: Request) -> str:
        """The request body as text, within the limit (`_TooLarge` above it)."""
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
        raw = b"".join(chunks)
        if not raw.strip():
            raise InputError("request: the body is empty")
        return _input._decode(raw, "request")

    async def json_body(self, request: Request) -> Any:
        record = _input.parse_record(await self.body(request), "request")
        if record.data is None:
            raise InputError("request: the body is not a JSON document")
        return record.data

    def _deadline(self, records: int = 1) -> float:
        """When this request's orders stop being evaluated: the configured deadline
        per record (a batch of n records has n times it)."""
        return time.monotonic() + self.deadline * records

    def _result(self, checked: Checked, writeback: bool) -> dict[str, Any]:
        """The decision as ``check --json`` prints it (with ``writeback`` when asked)."""
        self.metrics.count(checked)
        doc = checked.decision.to_dict()
        if writeback:
            doc["writeback"] = checked.writeback
        if checked.plugin_errors:
            doc["plugin_errors"] = [str(e) for e in checked.plugin_errors]
        return doc

    def _options(self, request: Request) -> tuple[str | None, str | None, bool, bool]:
        q = request.query_params
        return (q.get("adapter") or None, q.get("regime") or None, _flag(request, "dry_run"),
                _flag(request, "writeback"))

    async def _check(self, record: Record, request: Request) -> dict[str, Any]:
        """Decide one record: in the next group of checks, or alone when a dry run."""
        adapter, regime, dry_run, writeback = self._options(request)
        deadline = self._deadline()
        if dry_run:
            [checked] = await self.decider.run(
                lambda: self.decider.check(record, adapter, regime, dry_run, deadline))
        else:
            checked = await self.decider.submit(record, adapter, regime, deadline)
        self.engine_time()
        return self._result(checked, writeback)

    def engine_time(self) -> None:
        spent, self.decider.engine.seconds = self.decider.engine.seconds, 0.0
        self.metrics.engine.inc(spent)

    # -- deciding -------------------------------------------------------------

    async def check(self, request: Request) -> Response:
        record = _input.parse_record(await self.body(request), "request")
        return JSONResponse(await self._check(record, request))

    async def batch(self, request: Request) -> Response:
        doc = await self.json_body(request)
        if not isinstance(doc, dict) or not isinstance(doc.get("records"), list) \
                or not doc["records"]:
            raise InputError("request: expected {\"records\": [record, ...]} with at least "
                             "one record")
        records = [_record(value, f"request: records[{i}]")
                   for i, value in enumerate(doc["records"])]
        adapter, regime, dry_run, writeback = self._options(request)
        deadline = self._deadline(len(records))
        results = await self.decider.run(
            lambda: self.decider.batch(records, adapter, regime, dry_run, deadline))
        self.engine_time()
        return JSONResponse({"results": [self._result(c, writeback) for c in results]})

    async def opa_decision(self, request: Request) -> Response:
        doc = await self.json_body(request)
        if not isinstance(doc, dict) or "input" not in doc:
            raise InputError("request: expected {\"input\": record}")
        result = await self._check(_record(doc["input"], "request: input"), request)
        return JSONResponse({"result": result, "decision_id": str(uuid.uuid4())})

    async def opa_batch(self, request: Request) -> Response:
        """OPA's batch shape: one response per caller's id, 207 when some failed."""
        doc = await self.json_body(request)
        inputs = doc.get("inputs") if isinstance(doc, dict) else None
        if not isinstance(inputs, dict) or not inputs:
            raise InputError("request: expected {\"inputs\": {id: record, ...}}")

        async def one(key: str, value: Any) -> dict[str, Any]:
            try:
                result = await self._check(_record(value, f"request: inputs.{key}"), request)
            except InputError as exc:
                return {"code": "invalid_parameter", "message": str(exc),
                        "http_status_code": "400"}
            return {"result": result, "decision_id": str(uuid.uuid4())}
        # queued in input order, so they are decided in it (in one group when they can be)
        answers = await asyncio.gather(*(one(k, v) for k, v in inputs.items()))
        responses = dict(zip(inputs, answers, strict=True))
        failed = any("result" not in a for a in answers)
        return JSONResponse({"batch_decision_id": str(uuid.uuid4()), "responses": responses},
                            status_code=207 if failed else 200)

    # -- orders ---------------------------------------------------------------

    async def order(self, request: Request) -> Response:
        order_id = request.path_params["order_id"]

        def read() -> dict[str, Any] | None:
            ledger = self.decider.ledger
            found = [o for o in ledger.orders() if o["order"] == order_id]
            if not found:
                return None
            last = found[-1]
            return {"order": order_id, "state": last["state"], "regime": last["regime"],
                    "outcome": last["outcome"], "checked_at": last["checked_at"],
                    "reservations": [{k: v for k, v in r.items() if k != "order"}
                                     for r in ledger.reservations(order_id)]}
        doc = await self.decider.run(read)
        if doc is None:
            return _error(404, f"order {order_id}: not in the ledger")
        return JSONResponse(doc)

    async def move(self, request: Request) -> Response:
        order_id, action = request.path_params["order_id"], request.path_params["action"]
        if action not in ("commit", "release"):
            return _error(404, f"no such action: {action[:40]!r} (commit or release)")
        ledger_call = self.decider.ledger.commit if action == "commit" \
            else self.decider.ledger.release
        try:
            moved = await self.decider.run(lambda: ledger_call(order_id))
        except LedgerError as exc:
            if "not reserved" in str(exc) or ": is " in str(exc):
                return _error(409, str(exc))
            raise
        except InputError as exc:
            return _error(404, str(exc))
        key = "committed" if action == "commit" else "released"
        return JSONResponse({"order": order_id, key: moved})

    # -- licenses and regimes -------------------------------------------------

    async def licenses(self, request: Request) -> Response:
        rows = await self.decider.run(lambda: _licenses.listing(self.decider.ledger))
        return JSONResponse({"licenses": rows})

    async def license(self, request: Request) -> Response:
        number = request.path_params["number"]
        try:
            doc = await self.decider.run(lambda: _licenses.show(self.decider.ledger, number))
        except ConfigError as exc:
            return _error(404, str(exc))
        return JSONResponse(doc)

    async def add_licenses(self, request: Request) -> Response:
        doc = await self.json_body(request)
        found = _licenses.parse(doc, "request")
        numbers = await self.decider.run(lambda: _licenses.add(self.decider.ledger, found))
        return JSONResponse({"recorded": numbers}, status_code=201)

    async def screen(self, request: Request) -> Response:
        """A party against the screening list in force: what `exportgate screen` prints.

        For a host that screens a business partner when it is created or
        changed, before any order names it. 409 while no list is loaded.
        """
        doc = await self.json_body(request)
        name, country, address = _party_to_screen(doc)
        screener = self.decider.gate.screener
        if screener is None:
            return _error(409, "screening is turned off in the configuration")

        def search() -> dict[str, Any] | None:
            assert screener is not None
            version = screener.version()
            if version is None:
                return None
            hits = screener.index(version).search(name, country=country, address=address)
            return {"name": name, "country": country, "version": version.id,
                    "published": version.published, "hits": [h.to_dict() for h in hits]}
        found = await self.decider.run(search)
        if found is None:
            return _error(409, "no screening list is loaded (exportgate screening load FILE)")
        return JSONResponse(found)

    async def regimes(self, request: Request) -> Response:
        out = []
        for regime_id in sorted(self.decider.plugins.regimes):
            regime = self.decider.plugins.regimes[regime_id]
            doc = regime.metadata()
            if regime.parameters:
                doc["parameters"] = regime.parameters
            out.append(doc)
        return JSONResponse({"regimes": out})

    # -- operations -----------------------------------------------------------

    async def healthz(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    def probe(self) -> list[str]:
        """What keeps the service from deciding (on the decision thread): the regimes,
        the engine, the ledger. Run at startup too, so the first order does not pay."""
        problems = []
        try:
            self.decider.plugins.engine(self.settings.engine_name)
            for regime_id in self.decider.plugins.regimes:
                self.decider.plugins.regime(regime_id)
        except ExportgateError as exc:
            problems.append(f"engine: {exc}")
        try:
            self.decider.ledger.version()
        except ExportgateError as exc:
            self.decider.gate.drop_ledger()
            problems.append(str(exc))
        return problems

    async def readyz(self, request: Request) -> Response:
        """Ready when every regime is compiled, the engine built and the ledger answering."""
        problems = await self.decider.run(self.probe)
        if problems:
            return JSONResponse({"status": "not ready", "problems": problems}, status_code=503)
        return JSONResponse({"status": "ready"})

    async def metrics_text(self, request: Request) -> Response:
        return Response(self.metrics.text(), media_type=CONTENT_TYPE_LATEST)

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(self._document)

    # -- the application ------------------------------------------------------

    def app(self) -> Starlette:
        r = self.route
        routes = [
            Route("/v1/check", r("check", "check", self.check), methods=["POST"]),
            Route("/v1/batch", r("batch", "check", self.batch), methods=["POST"]),
            Route("/v1/data/exportgate/decision", r("opa", "check", self.opa_decision),
                  methods=["POST"]),
            Route("/v1/batch/data/exportgate/decision",
                  r("opa_batch", "check", self.opa_batch), methods=["POST"]),
            Route("/v1/orders/{order_id}", r("order", "orders", self.order), methods=["GET"]),
            Route("/v1/orders/{order_id}/{action:str}", r("order_move", "orders", self.move),
                  methods=["POST"]),
            Route("/v1/licenses", r("licenses", "licenses", self.licenses), methods=["GET"]),
            Route("/v1/licenses", r("licenses_add", "licenses", self.add_licenses),
                  methods=["POST"]),
            Route("/v1/licenses/{number}", r("license", "licenses", self.license),
                  methods=["GET"]),
            Route("/v1/regimes", r("regimes", "check", self.regimes), methods=["GET"]),
            Route("/v1/screen", r("screen", "check", self.screen), methods=["POST"]),
            Route("/healthz", r("healthz", None, self.healthz), methods=["GET"]),
            Route("/readyz", r("readyz", None, self.readyz), methods=["GET"]),
            Route("/metrics", r("metrics", None, self.metrics_text), methods=["GET"]),
            Route("/openapi.json", r("openapi", None, self.openapi), methods=["GET"]),
        ]

        @asynccontextmanager
        async def lifespan(app: Starlette) -> AsyncIterator[None]:
            for problem in await self.decider.run(self.probe):
                log.warning("not ready: %s", problem)
            try:
                yield
            finally:
                self.decider.close()
        return Starlette(routes=routes, lifespan=lifespan)


def _record(value: Any, source: str) -> Record:
    """A record inside a JSON request: a JSON value, or a string holding its text (an IDoc)."""
    if isinstance(value, str):
        return _input.parse_record(value, source)
    if not isinstance(value, (dict, list)):
        raise InputError(f"{source}: a record is a JSON object or the record's text")
    return Record.from_value(value, source)


def create_app(settings: Settings | None = None) -> Starlette:
    """The application for ``settings`` (default: ``$EXPORTGATE_CONFIG``); uvicorn's factory."""
    return Service(settings or Settings.load()).app()
