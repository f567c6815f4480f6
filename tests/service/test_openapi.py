"""The OpenAPI document: served, checked in, and run against a live server by schemathesis."""
from __future__ import annotations

import json

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from schemathesis import checks

from exportgate.service.openapi import CHECKED_IN, text
from tests.service.live import ADMIN, Subprocess, client

#: Examples per operation: bounded, so the run stays well under half a minute.
EXAMPLES = 12

#: What schemathesis checks on every response: no 5xx, a documented status, content
#: type and headers, a body that matches the document, and the tokens enforced.
CHECKS = [checks.not_a_server_error, checks.status_code_conformance,
          checks.content_type_conformance, checks.response_headers_conformance,
          checks.response_schema_conformance, checks.ignored_auth]


def test_the_served_document_is_the_checked_in_one(server: Subprocess) -> None:
    with client(server.base, None) as c:
        served = c.get("/openapi.json").json()
    assert served["openapi"].startswith("3.1")
    assert CHECKED_IN.read_text() == text(), \
        "regenerate it: python -m exportgate.service.openapi > plugin/service/openapi.json"
    assert served == json.loads(CHECKED_IN.read_text())


SCHEMA = schemathesis.openapi.from_path(str(CHECKED_IN))


@pytest.mark.parametrize("label", sorted(
    op.ok().label for op in SCHEMA.get_all_operations()))
def test_schemathesis_finds_nothing_against_the_live_server(server: Subprocess,
                                                            label: str) -> None:
    operation = SCHEMA.find_operation_by_label(label)
    assert operation is not None
    auth = {"Authorization": f"Bearer {ADMIN}"}

    @given(operation.as_strategy(headers=auth))
    @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None,
                         suppress_health_check=list(HealthCheck))
    def run(case: schemathesis.Case) -> None:
        case.call_and_validate(base_url=server.base, headers=auth, checks=CHECKS)

    run()
