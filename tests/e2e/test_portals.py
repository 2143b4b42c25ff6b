"""Two portals on one deployment (one set of functions, one store) never see each other's data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from b24goods.bitrix.phpform import flatten
from b24goods.context import store
from b24goods.store.portal import PortalStore


@pytest.fixture
def second(app: Any) -> Iterator[Any]:
    from sandbox import Sandbox

    other = Sandbox.start()
    assert other.install_app(app.fn("install")).status_code == 200
    yield other
    other.stop()


def robot(sb: Any, deal: int) -> dict[str, Any]:
    token = sb.portal.start_robot(2, deal, "b24goods_recalc_sum", {})
    return dict(sb.portal.wait_workflow(token, 60).return_values)


def test_same_deal_ids_on_two_portals_stay_apart(app: Any, second: Any) -> None:
    first = app.sandbox
    assert first.portal.member_id != second.portal.member_id
    deal_a = first.add_deal(title="Заказ портала A")
    deal_b = second.add_deal(title="Заказ портала B")
    assert deal_a == deal_b  # the same id on both portals: only the member_id tells them apart
    first.add_row(2, deal_a, productName="Стол A", price=10, quantity=1)
    second.add_row(2, deal_b, productName="Шкаф B", price=99, quantity=2)

    assert robot(second, deal_b)["sum"] == 198.0
    assert second.item(2, deal_b)["opportunity"] == 198.0
    assert first.item(2, deal_a)["opportunity"] != 198.0  # portal A's deal of the same id is untouched
    assert robot(first, deal_a)["sum"] == 10.0
    assert second.item(2, deal_b)["opportunity"] == 198.0

    history_a = PortalStore(store(), first.portal.member_id).history(deal_a)
    history_b = PortalStore(store(), second.portal.member_id).history(deal_b)
    assert [e.summary for _, e in history_a] and [e.summary for _, e in history_b]
    assert all("198" not in e.summary for _, e in history_a)
    assert all("198" in e.summary for _, e in history_b)


def test_one_portals_token_does_not_open_the_other(app: Any, second: Any) -> None:
    """A call naming portal B but carrying portal A's application token: 401, no REST call, nothing written."""
    first = app.sandbox
    deal = second.add_deal(title="Чужой заказ")
    second.add_row(2, deal, productName="Шкаф B", price=99, quantity=2)
    auth = second.portal.auth_block(1)
    auth["application_token"] = first.portal.application_token
    calls_before = second.portal.http_calls
    resp = requests.post(app.fn("recalc_sum"), data=flatten({
        "workflow_id": "w", "code": "b24goods_recalc_sum", "event_token": "x|y|z",
        "document_id": ["crm", "CCrmDocumentDeal", f"DEAL_{deal}"], "auth": auth}), timeout=30)
    assert resp.status_code == 401
    assert second.portal.http_calls == calls_before
    assert PortalStore(store(), second.portal.member_id).history(deal) == []
    tab = requests.post(f"{app.fn('placement')}?DOMAIN={second.portal.domain}&PROTOCOL=0", data={
        "member_id": second.portal.member_id, "APPLICATION_TOKEN": first.portal.application_token,
        "AUTH_ID": auth["access_token"], "PLACEMENT": "CRM_DEAL_DETAIL_TAB",
        "PLACEMENT_OPTIONS": f'{{"ID":"{deal}"}}'}, timeout=30)
    assert tab.status_code == 401 and "Шкаф B" not in tab.text
