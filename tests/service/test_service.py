"""The decision service as a host calls it: a live `exportgate serve` on a loopback port."""
from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.helpers import h100_order
from tests.licenses.builders import h200_order, license_doc
from tests.service.live import ADMIN, CHECKER, ERP, Subprocess, client

SAP_ORDER = (ERP / "sap-odata-v2" / "4711-de-research.json").read_text()
#: A regime under which H200s to China need a license (tests/licenses).
LICENSED_REGIME = "us-advanced-computing-2023"
IDOC = (ERP / "sap-idoc" / "orders05-4500017002-ir.xml").read_text()


def post(server: Subprocess, path: str, body: Any, token: str | None = ADMIN,
         **params: str) -> httpx.Response:
    content = body if isinstance(body, (str, bytes)) else json.dumps(body)
    with client(server.base, token) as c:
        return c.post(path, content=content, params=params)


def get(server: Subprocess, path: str, token: str | None = ADMIN) -> httpx.Response:
    with client(server.base, token) as c:
        return c.get(path)


def quotas(server: Subprocess, order_id: str) -> list[dict[str, Any]]:
    r = get(server, f"/v1/orders/{order_id}")
    assert r.status_code == 200, r.text
    return list(r.json()["reservations"])


# -- deciding --------------------------------------------------------------------


def test_an_sap_sales_order_posted_as_is_is_decided_and_reserved(server: Subprocess) -> None:
    r = post(server, "/v1/check", SAP_ORDER, writeback="true")
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["order"] == "4711" and doc["error"] is None
    assert [line["id"] for line in doc["lines"]] == ["10", "20"]
    assert doc["writeback"]["order"] == "4711"
    assert quotas(server, "4711"), "the order's quota is reserved"


def test_an_idoc_is_sniffed_and_its_decision_matches_the_cli(server: Subprocess) -> None:
    r = post(server, "/v1/check", IDOC)
    assert r.status_code == 200, r.text
    assert r.json()["order"] == "4500017002"
    assert r.json()["outcome"] in ("license", "deny")


def test_an_identical_resend_returns_the_same_decision_and_moves_no_quota(
        server: Subprocess) -> None:
    order = h100_order("SVC-RESEND", "IN", 500)
    first = post(server, "/v1/check", order)
    held = quotas(server, "SVC-RESEND")
    again = post(server, "/v1/check", order)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert quotas(server, "SVC-RESEND") == held and held


def test_resending_an_order_id_replaces_its_reservations(server: Subprocess) -> None:
    post(server, "/v1/check", h100_order("SVC-REPLACE", "IN", 500))
    before = sum(r["tpp"] for r in quotas(server, "SVC-REPLACE"))
    r = post(server, "/v1/check", h100_order("SVC-REPLACE", "IN", 100))
    assert r.status_code == 200
    after = sum(r["tpp"] for r in quotas(server, "SVC-REPLACE"))
    assert 0 < after < before and after * 5 == before


def test_a_dry_run_decides_as_a_check_would_and_reserves_nothing(server: Subprocess) -> None:
    dry = post(server, "/v1/check", h100_order("SVC-DRY", "IN", 300), dry_run="true")
    assert dry.status_code == 200
    assert get(server, "/v1/orders/SVC-DRY").status_code == 404
    real = post(server, "/v1/check", h100_order("SVC-DRY", "IN", 300))
    assert dry.json() == real.json()


def test_a_named_regime_and_adapter_are_used(server: Subprocess) -> None:
    r = post(server, "/v1/check", h100_order("SVC-REGIME", "JP", 8),
             regime="us-ai-diffusion-2025", adapter="canonical")
    assert r.status_code == 200 and r.json()["regime"] == "us-ai-diffusion-2025"
    r = post(server, "/v1/check", h100_order("SVC-REGIME", "JP", 8), regime="no-such-regime")
    assert r.status_code == 400 and "no-such-regime" in r.json()["error"]


def test_the_batch_decides_every_record_in_order(server: Subprocess) -> None:
    r = post(server, "/v1/batch", {"records": [h100_order("SVC-B1", "JP", 8), IDOC,
                                               h100_order("SVC-B2", "IN", 8)]})
    assert r.status_code == 200, r.text
    assert [d["order"] for d in r.json()["results"]] == ["SVC-B1", "4500017002", "SVC-B2"]


def test_one_bad_record_in_a_batch_decides_nothing(server: Subprocess) -> None:
    bad = h100_order("SVC-B4", "IN", 8)
    bad["lines"][0]["quantity"] = -3
    r = post(server, "/v1/batch", {"records": [h100_order("SVC-B3", "IN", 8), bad]})
    assert r.status_code == 400
    assert "SVC-B4" in r.json()["error"] and "quantity" in r.json()["error"]
    assert get(server, "/v1/orders/SVC-B3").status_code == 404


def test_the_opa_data_route_answers_result_and_decision_id(server: Subprocess) -> None:
    r = post(server, "/v1/data/exportgate/decision", {"input": h100_order("SVC-OPA", "JP", 8)})
    assert r.status_code == 200, r.text
    assert r.json()["result"]["order"] == "SVC-OPA" and r.json()["decision_id"]
    assert quotas(server, "SVC-OPA") is not None


def test_the_opa_batch_answers_per_id_and_207_when_some_fail(server: Subprocess) -> None:
    bad = h100_order("SVC-OB2", "JP", 8)
    del bad["lines"]
    r = post(server, "/v1/batch/data/exportgate/decision",
             {"inputs": {"a": h100_order("SVC-OB1", "JP", 8), "b": bad}})
    assert r.status_code == 207, r.text
    responses = r.json()["responses"]
    assert responses["a"]["result"]["order"] == "SVC-OB1"
    assert responses["b"]["http_status_code"] == "400" and "lines" in responses["b"]["message"]
    r = post(server, "/v1/batch/data/exportgate/decision",
             {"inputs": {"a": h100_order("SVC-OB1", "JP", 8)}})
    assert r.status_code == 200


# -- bad input -------------------------------------------------------------------


@pytest.mark.parametrize("body, says", [
    ('{"id": "X", "id": "Y"}', "duplicate key"),
    ("[" * 100 + "]" * 100, "nested"),
    ('{"id": NaN}', "NaN"),
    ("", "empty"),
    ('{"broken": ', "invalid JSON"),
])
def test_bad_input_is_a_400_with_the_cli_message(server: Subprocess, body: str,
                                                 says: str) -> None:
    r = post(server, "/v1/check", body)
    assert r.status_code == 400, r.text
    assert says.lower() in r.json()["error"].lower()


def test_a_bad_field_is_named_and_nothing_is_reserved(server: Subprocess) -> None:
    order = h100_order("SVC-BAD", "ZZ", 8)
    r = post(server, "/v1/check", order)
    assert r.status_code == 400 and "country" in r.json()["error"]
    assert get(server, "/v1/orders/SVC-BAD").status_code == 404


def test_a_body_over_the_limit_is_413(server: Subprocess) -> None:
    r = post(server, "/v1/check", '{"pad": "' + "x" * (1024 * 1024 + 10) + '"}')
    assert r.status_code == 413


# -- tokens ----------------------------------------------------------------------


def test_no_token_or_a_wrong_one_is_401_and_a_missing_scope_403(server: Subprocess) -> None:
    order = h100_order("SVC-AUTH", "JP", 8)
    assert post(server, "/v1/check", order, token=None).status_code == 401
    wrong = post(server, "/v1/check", order, token="not-a-token")
    assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
    assert post(server, "/v1/check", order, token=CHECKER).status_code == 200
    assert get(server, "/v1/orders/SVC-AUTH", token=CHECKER).status_code == 403
    assert get(server, "/v1/licenses", token=CHECKER).status_code == 403


def test_a_token_never_appears_in_the_log_or_the_audit_log(server: Subprocess) -> None:
    post(server, "/v1/check", h100_order("SVC-SECRET", "JP", 8))
    post(server, "/v1/check", "{}", token="wrong-" + ADMIN)
    refused = get(server, "/v1/licenses", token=CHECKER)
    assert ADMIN not in refused.text and CHECKER not in refused.text
    audit = server.log.with_name("audit.jsonl").read_text()
    assert "SVC-SECRET" in audit
    for text in (audit, server.log.read_text()):
        assert ADMIN not in text and CHECKER not in text


# -- orders, licenses, regimes, operations ----------------------------------------


def test_commit_and_release_move_the_order(server: Subprocess) -> None:
    post(server, "/v1/check", h100_order("SVC-SHIP", "IN", 8))
    r = post(server, "/v1/orders/SVC-SHIP/commit", "")
    assert r.status_code == 200 and r.json()["committed"] >= 1
    assert get(server, "/v1/orders/SVC-SHIP").json()["state"] == "committed"
    again = post(server, "/v1/orders/SVC-SHIP/commit", "")
    assert again.status_code == 409 and "committed" in again.json()["error"]
    shipped = post(server, "/v1/check", h100_order("SVC-SHIP", "IN", 8))
    assert shipped.status_code == 200 and shipped.json()["error"], "a shipped order is held"
    metrics = get(server, "/metrics", token=None).text
    assert 'exportgate_held_decisions_total{cause="shipped"} 1.0' in metrics
    assert post(server, "/v1/orders/SVC-SHIP/release", "").json()["released"] >= 1
    assert post(server, "/v1/orders/NO-SUCH/release", "").status_code == 404
    assert get(server, "/v1/orders/NO-SUCH").status_code == 404


def test_licenses_are_recorded_listed_shown_and_drawn_on(server: Subprocess) -> None:
    r = post(server, "/v1/licenses", {"licenses": [license_doc("D-SVC-1")]})
    assert r.status_code == 201 and r.json() == {"recorded": ["D-SVC-1"]}
    assert "D-SVC-1" in [x["number"] for x in get(server, "/v1/licenses").json()["licenses"]]
    drawn = post(server, "/v1/check", h200_order("SVC-LIC", 40), regime=LICENSED_REGIME)
    assert drawn.json()["outcome"] == "allow", drawn.text
    shown = get(server, "/v1/licenses/D-SVC-1").json()
    assert shown["entries"][0]["remaining"] == 60
    assert get(server, "/v1/licenses/NOPE").status_code == 404
    bad = post(server, "/v1/licenses", {"licenses": [license_doc("D-SVC-2", issued=3)]})
    assert bad.status_code == 400 and "issued" in bad.json()["error"]


def test_regimes_health_readiness_and_metrics(server: Subprocess) -> None:
    ids = [r["id"] for r in get(server, "/v1/regimes").json()["regimes"]]
    assert "us-ai-diffusion-2025" in ids
    assert get(server, "/healthz", token=None).json() == {"status": "ok"}
    assert get(server, "/readyz", token=None).json() == {"status": "ready"}
    post(server, "/v1/check", h100_order("SVC-METRICS", "JP", 8))
    text = get(server, "/metrics", token=None).text
    assert 'exportgate_decisions_total{outcome="' in text
    assert 'exportgate_request_seconds_count{endpoint="check"}' in text
    assert "exportgate_engine_seconds_total" in text
