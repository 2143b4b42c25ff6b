"""The REST client against the sandbox portal over HTTP: batch, paging, limits, token refresh, errors."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from b24goods.bitrix.client import RestClient
from b24goods.errors import (
    AccessDenied,
    AuthFailed,
    InvalidArgument,
    NotFound,
    RateLimited,
    RestError,
    ServerError,
    TransportError,
    rest_error_from,
)


class Tokens:
    """A token source that refreshes through the sandbox's OAuth endpoint."""

    def __init__(self, sandbox: Any) -> None:
        self.sandbox = sandbox
        issued = sandbox.portal.issue_tokens(1)
        self.token, self.refresh_token = issued["access_token"], issued["refresh_token"]
        self.refreshes = 0

    def access_token(self) -> str:
        return self.token

    def refresh(self, stale: str | None) -> str:
        resp = requests.get(f"{self.sandbox.url}/oauth/token/", params={
            "grant_type": "refresh_token", "client_id": self.sandbox.portal.client_id,
            "client_secret": self.sandbox.portal.client_secret, "refresh_token": self.refresh_token}, timeout=10)
        data = resp.json()
        self.token, self.refresh_token = data["access_token"], data["refresh_token"]
        self.refreshes += 1
        return self.token


def make_client(sandbox: Any, **kw: Any) -> RestClient:
    return RestClient(sandbox.portal.client_endpoint, tokens=Tokens(sandbox), sleep=lambda s: None, **kw)


def test_call_and_envelope(sandbox: Any) -> None:
    client = make_client(sandbox)
    deal = sandbox.add_deal(title="Заказ")
    resp = client.call("crm.item.get", {"entityTypeId": 2, "id": deal})
    assert resp.result["item"]["title"] == "Заказ"
    assert "operating_reset_at" in resp.time


def test_batch_chunks_to_fifty_and_types_errors(sandbox: Any) -> None:
    client = make_client(sandbox)
    deal = sandbox.add_deal()
    commands = [(f"g{i}", "crm.item.get", {"entityTypeId": 2, "id": deal}) for i in range(120)]
    commands.append(("missing", "crm.item.get", {"entityTypeId": 2, "id": 999999}))
    commands.append(("nomethod", "crm.nothing.here", {}))
    res = client.batch(commands)
    assert len(res.results) == 120
    assert isinstance(res.errors["missing"], NotFound)
    assert res.errors["nomethod"].code == "ERROR_METHOD_NOT_FOUND"
    assert client.stats.by_method["batch"] == 3  # 122 commands → 50 + 50 + 22
    assert sandbox.portal.calls.count("crm.item.get") == 121


def test_paging_and_keyset(sandbox: Any) -> None:
    client = make_client(sandbox)
    ids = [sandbox.add_deal(title=f"D{i}") for i in range(123)]
    all_items = client.list_all("crm.item.list", {"entityTypeId": 2}, items_key="items")
    assert [i["id"] for i in all_items] == ids
    assert client.stats.by_method["crm.item.list"] == 3
    keyset = list(client.iter_keyset("crm.item.list", {"entityTypeId": 2}, items_key="items"))
    assert [i["id"] for i in keyset] == ids


def test_rate_limit_is_retried_until_it_passes(sandbox: Any) -> None:
    sandbox.portal.enable_rate_limit(burst=3, rate=50.0)
    slept: list[float] = []
    import time

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(0.05)

    client = RestClient(sandbox.portal.client_endpoint, tokens=Tokens(sandbox), sleep=sleep, backoff_base=0.01)
    deal = sandbox.add_deal()
    for _ in range(12):
        assert client.result("crm.item.get", {"entityTypeId": 2, "id": deal})["item"]["id"] == deal
    assert sandbox.portal.rate_limit.rejected > 0
    assert client.stats.retries == len(slept) > 0


def test_rate_limit_gives_up_after_max_retries(sandbox: Any) -> None:
    sandbox.portal.enable_rate_limit(burst=1, rate=0.0001)
    client = make_client(sandbox, max_retries=2)
    client.result("crm.type.list")
    with pytest.raises(RateLimited):
        client.result("crm.type.list")
    assert client.stats.retries == 2


def test_expired_token_is_refreshed_once_and_retried(sandbox: Any) -> None:
    client = make_client(sandbox)
    sandbox.portal.expire_all_tokens()
    assert client.result("crm.type.list") == {"types": []}
    assert isinstance(client.tokens, Tokens) and client.tokens.refreshes == 1


def test_write_is_not_retried_on_transport_error() -> None:
    client = RestClient("http://127.0.0.1:9/rest/", sleep=lambda s: None)
    with pytest.raises(TransportError):
        client.result("crm.item.update", {"entityTypeId": 2, "id": 1, "fields": {}})
    assert client.stats.http_calls == 1
    with pytest.raises(TransportError):
        client.result("crm.item.get", {"entityTypeId": 2, "id": 1})
    assert client.stats.http_calls == 1 + 1 + client.max_retries


def test_spec_validation_rejects_missing_required(sandbox: Any) -> None:
    client = make_client(sandbox)
    with pytest.raises(InvalidArgument, match="entityTypeId"):
        client.result("crm.item.get", {"id": 1})


def test_webhook_cannot_use_app_only_methods(sandbox: Any) -> None:
    client = RestClient(sandbox.portal.add_webhook(1), sleep=lambda s: None)
    with pytest.raises(AccessDenied):
        client.result("bizproc.robot.list")
    assert client.result("crm.type.list") == {"types": []}


def test_bad_token_is_auth_failure(sandbox: Any) -> None:
    client = RestClient(sandbox.portal.client_endpoint, sleep=lambda s: None)
    with pytest.raises(AuthFailed):
        client.result("crm.type.list")


@pytest.mark.parametrize("error, description, status, expected", [
    ("", "Not found", 400, NotFound),
    ("", "Access denied", 400, AccessDenied),
    ("", "The parameter id is invalid or not defined.", 400, InvalidArgument),
    (0, "something", 400, RestError),
    (100, "Missing fields", 400, RestError),
    (200040300010, "Access denied for catalog", 403, AccessDenied),
    ("QUERY_LIMIT_EXCEEDED", "Too many", 503, RateLimited),
    ("OPERATION_TIME_LIMIT", "Too long", 429, RateLimited),
    ("INTERNAL_SERVER_ERROR", "oops", 500, ServerError),
    ("SOMETHING_NEW", "oops", 502, ServerError),
])
def test_error_codes_of_every_shape_are_typed(error: object, description: str, status: int, expected: type) -> None:
    err = rest_error_from(error, description, status=status)
    assert type(err) is expected
    assert err.code != ""


class CannedSession:
    """A ``requests.Session`` stand-in answering every POST with one JSON body (unit tests only)."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.body = body
        self.headers: dict[str, str] = {}

    def post(self, url: str, data: bytes | None = None, timeout: float = 0, headers: Any = None) -> Any:
        body = self.body

        class Answer:
            status_code = 200

            def json(self) -> Any:
                return body

        return Answer()


@pytest.mark.parametrize("result_error, expected", [
    ([{"error": "NOT_FOUND", "error_description": "Not found"}], {"b": NotFound}),  # keyless, one per failure
    ([{"error": "X"}, {"error": "Y"}, {"error": "Z"}], {"b": RestError}),  # cannot be laid over: still failed
    ([], {}),
])
def test_keyless_batch_errors_are_never_taken_for_empty_successes(result_error: Any, expected: Any) -> None:
    body = {"result": {"result": {"a": {"item": {"id": 1}}}, "result_error": result_error, "result_total": [],
                       "result_next": [], "result_time": []}}
    client = RestClient("https://portal.example/rest/", session=CannedSession(body))  # type: ignore[arg-type]
    res = client.batch([("a", "crm.item.get", {"id": 1}), ("b", "crm.item.get", {"id": 2})])
    assert res.results == {"a": {"item": {"id": 1}}}
    assert {k: type(v) for k, v in res.errors.items()} == expected


def test_money_goes_to_the_portal_as_exact_json_numbers() -> None:
    import json
    from decimal import Decimal

    from b24goods.bitrix.client import json_body
    from b24goods.bitrix.phpform import build_query

    body = {"fields": {"price": Decimal("12345678.12345678"), "rate": Decimal("1E+1"), "name": "Фасад \"x\"",
                       "rows": [Decimal("-0.10")]}}
    text = json_body(body).decode()
    assert '"price": 12345678.12345678' in text and '"rate": 10' in text and '"rows": [-0.10]' in text
    assert json.loads(text, parse_float=Decimal)["fields"]["price"] == Decimal("12345678.12345678")
    assert float("12345678.12345678") != Decimal("12345678.12345678")  # what a float would have lost
    assert build_query(body) == ("fields[price]=12345678.12345678&fields[rate]=10&"
                                 "fields[name]=%D0%A4%D0%B0%D1%81%D0%B0%D0%B4%20%22x%22&fields[rows][0]=-0.10")
