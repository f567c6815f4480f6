"""The service's OpenAPI 3.1 document, built here and checked in beside it (openapi.json).

`document()` is what ``GET /openapi.json`` serves; ``python -m
exportgate.service.openapi`` prints it, and the checked-in copy
(plugin/service/openapi.json) must equal it (a test says when not).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .._model import Outcome
from .._schemas import SERVICE_SCOPES

#: The checked-in copy.
CHECKED_IN = Path(__file__).with_name("openapi.json")

_ERROR = {"type": "object", "required": ["error"],
          "properties": {"error": {"type": "string"}}}

_DECISION: dict[str, Any] = {
    "type": "object", "required": ["order", "regime", "outcome", "lines", "error"],
    "description": "The decision `exportgate check --json` prints (docs/contract.md). A held "
                   "order (engine, ledger, audit log or deadline) has every line `license` "
                   "and an `error`.",
    "properties": {
        "order": {"type": "string"},
        "regime": {"type": "string"},
        "outcome": {"type": "string", "enum": [o.value for o in Outcome]},
        "error": {"type": ["string", "null"]},
        "lines": {"type": "array", "items": {
            "type": "object", "required": ["id", "outcome"],
            "properties": {"id": {"type": "string"},
                           "outcome": {"type": "string", "enum": [o.value for o in Outcome]}}}},
        "writeback": {"type": ["object", "null"],
                      "description": "What the ERP should write back (with writeback=true)."},
        "plugin_errors": {"type": "array", "items": {"type": "string"}},
        "screening": {
            "description": "The screening list version the parties were screened against "
                           "(docs/screening.md); absent when no list is loaded.",
            "type": "object", "properties": {
                "version": {"type": ["string", "null"]},
                "published": {"type": ["string", "null"]},
                "error": {"type": "string"}}},
    },
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {400: "Bad input: the message names the record, the line and the field; "
                 "nothing was decided or reserved.",
            401: "No bearer token, or one the service does not know.",
            403: "The token lacks this endpoint's scope.",
            404: "Not found.",
            409: "The order is not in a state that allows this.",
            413: "The body is larger than service.max_body_bytes.",
            500: "A plugin failed while reading the record: nothing was decided.",
            503: "The ledger or the engine could not answer: nothing was decided; a host "
                 "treats this as `license`."}
    return {str(c): _json(_ref("Error"), text[c]) for c in codes}


_DECIDING = (400, 401, 403, 413, 500, 503)
_QUERY = [
    {"name": "adapter", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "The adapter that reads the record (default: the one that claims it)."},
    {"name": "regime", "in": "query", "required": False, "schema": {"type": "string"},
     "description": "The regime (default: the calendar's regime in force on the order date)."},
    {"name": "dry_run", "in": "query", "required": False,
     "schema": {"type": "string", "enum": ["true", "false"]},
     "description": "true: decide without reserving, auditing or telling anyone."},
    {"name": "writeback", "in": "query", "required": False,
     "schema": {"type": "string", "enum": ["true", "false"]},
     "description": "true: add what the ERP should write back."},
]
_RECORD = {"description": "One record as its ERP writes it: an SAP OData V2/V4 sales order, "
                          "an IDoc ORDERS05 (XML), an Odoo, Dynamics or NetSuite order, or a "
                          "canonical order.",
           "required": True,
           "content": {"application/json": {"schema": {"type": "object"}},
                       "application/xml": {"schema": {"type": "string"}},
                       "text/csv": {"schema": {"type": "string"}}}}


def _op(summary: str, scope: str | None, responses: dict[str, Any], **extra: Any
        ) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": responses, **extra}
    op["security"] = [{"bearer": []}] if scope else []
    if scope:
        op["x-scope"] = scope
    return op


def _path_param(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of the service."""
    body = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    paths: dict[str, Any] = {
        "/v1/check": {"post": _op(
            "Decide one order", "check",
            {"200": _json(_ref("Decision"), "The decision."), **_errors(*_DECIDING)},
            parameters=_QUERY, requestBody=_RECORD)},
        "/v1/batch": {"post": _op(
            "Decide several records, in order", "check",
            {"200": _json({"type": "object", "required": ["results"], "properties": {
                "results": {"type": "array", "items": _ref("Decision")}}},
                "One decision per order, in order."), **_errors(*_DECIDING)},
            parameters=_QUERY, requestBody={**body, "description": '{"records": [record, '
                                            '...]}; a record is a JSON value or its text.'})},
        "/v1/data/exportgate/decision": {"post": _op(
            "OPA's data API: decide one order", "check",
            {"200": _json({"type": "object", "required": ["result", "decision_id"],
                           "properties": {"result": _ref("Decision"),
                                          "decision_id": {"type": "string"}}},
                          "The decision as OPA's `result`."), **_errors(*_DECIDING)},
            parameters=_QUERY, requestBody={**body, "description": '{"input": record}'})},
        "/v1/batch/data/exportgate/decision": {"post": _op(
            "OPA's batch API: one decision per caller's id", "check",
            {"200": _json(_ref("OpaBatch"), "Every input was decided."),
             "207": _json(_ref("OpaBatch"), "Some inputs were bad input (their entry says "
                                            "why); the others were decided."),
             **_errors(*_DECIDING)},
            parameters=_QUERY, requestBody={**body, "description": '{"inputs": {id: record}}'})},
        "/v1/orders/{order_id}": {"get": _op(
            "An order's state, last outcome and reservations", "orders",
            {"200": _json({"type": "object", "required": ["order", "state", "reservations"]},
                          "The order."), **_errors(401, 403, 404, 503)},
            parameters=[_path_param("order_id")])},
        "/v1/orders/{order_id}/commit": {"post": _op(
            "The order shipped: commit its reservations", "orders",
            {"200": _json({"type": "object", "required": ["order", "committed"]},
                          "Reservations committed."), **_errors(401, 403, 404, 409, 503)},
            parameters=[_path_param("order_id")])},
        "/v1/orders/{order_id}/release": {"post": _op(
            "The order was cancelled: release its quota", "orders",
            {"200": _json({"type": "object", "required": ["order", "released"]},
                          "Reservations released."), **_errors(401, 403, 404, 409, 503)},
            parameters=[_path_param("order_id")])},
        "/v1/licenses": {
            "get": _op("Every recorded license with what remains of it", "licenses",
                       {"200": _json({"type": "object", "required": ["licenses"], "properties": {
                           "licenses": {"type": "array", "items": {"type": "object"}}}},
                           "The licenses."), **_errors(401, 403, 503)}),
            "post": _op("Record granted licenses (all or none)", "licenses",
                        {"201": _json({"type": "object", "required": ["recorded"],
                                       "properties": {"recorded": {
                                           "type": "array", "items": {"type": "string"}}}},
                                      "Recorded."), **_errors(400, 401, 403, 413, 503)},
                        requestBody={**body, "description": '{"licenses": [...]}, as '
                                                            '`exportgate license add` reads'})},
        "/v1/licenses/{number}": {"get": _op(
            "A license: what each order reserved and shipped, what remains, warnings",
            "licenses", {"200": _json({"type": "object", "required": ["license", "entries"]},
                                      "The license."), **_errors(401, 403, 404, 503)},
            parameters=[_path_param("number")])},
        "/v1/screen": {"post": _op(
            "A party against the screening list in force: hits with scores and why", "check",
            {"200": _json({"type": "object", "required": ["name", "version", "hits"],
                           "properties": {
                               "name": {"type": "string"},
                               "country": {"type": ["string", "null"]},
                               "version": {"type": "string"},
                               "published": {"type": ["string", "null"]},
                               "hits": {"type": "array", "items": {
                                   "type": "object",
                                   "required": ["list", "entry", "name", "matched", "score",
                                                "status"],
                                   "properties": {
                                       "status": {"enum": ["hit", "possible"]},
                                       "score": {"type": "number"}}}}}},
                          "The hits (none: no match)."),
             "409": _json(_ref("Error"), "No screening list is loaded, or screening is off."),
             **_errors(400, 401, 403, 413, 503)},
            requestBody={"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["name"], "additionalProperties": False,
                "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 500},
                               "country": {"type": "string", "minLength": 2,
                                           "maxLength": 2},
                               "address": {"type": "string", "maxLength": 1000}}}}}})},
        "/v1/regimes": {"get": _op(
            "The regimes: id, title, dates, sources", "check",
            {"200": _json({"type": "object", "required": ["regimes"]}, "The regimes."),
             **_errors(401, 403)})},
        "/healthz": {"get": _op("The process is up", None, {"200": _json(
            {"type": "object", "required": ["status"]}, "Up.")})},
        "/readyz": {"get": _op("Regimes compiled, engine built, ledger answering", None, {
            "200": _json({"type": "object", "required": ["status"]}, "Ready."),
            "503": _json({"type": "object", "required": ["status", "problems"]},
                         "Not ready: the problems.")})},
        "/metrics": {"get": _op("Prometheus metrics", None, {"200": {
            "description": "Prometheus text format.",
            "content": {"text/plain": {"schema": {"type": "string"}}}}})},
        "/openapi.json": {"get": _op("This document", None, {"200": _json(
            {"type": "object"}, "The OpenAPI document.")})},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "exportgate decision service", "version": "1",
                 "description": "Export-control decisions for ERP orders (docs/service.md). "
                                "Scopes: " + ", ".join(SERVICE_SCOPES) + "."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": _ERROR,
                "Decision": _DECISION,
                "OpaBatch": {"type": "object", "required": ["batch_decision_id", "responses"],
                             "properties": {"batch_decision_id": {"type": "string"},
                                            "responses": {"type": "object"}}},
            },
        },
    }


def text() -> str:
    """The document as it is checked in."""
    return json.dumps(document(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(text(), end="")
