"""End to end: install, the recalc_sum robot called by the sandbox over HTTP, verification and idempotency.

Functions run under functions-framework on a real port; the sandbox portal calls them like Bitrix24's queue
servers do; the store is SQLite and the Firestore emulator.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
import requests

from b24goods.bitrix.phpform import flatten
from b24goods.domain.money import money


def deal_with_mixed_rows(sb: Any) -> int:
    """Goods with percent and money discounts, tax included and excluded, a free-text service."""
    deal = sb.add_deal(title="Кухня для Ивановых", assignedById=2)
    sb.add_row(2, deal, productId=1, price=52326, quantity=1, discountTypeId=2, discountRate=5, taxRate=20, taxIncluded="N")
    sb.add_row(2, deal, productId=3, price=5100.6, quantity=3.5, discountTypeId=2, discountRate=0, taxRate=20, taxIncluded="Y")
    sb.add_row(2, deal, productId=5, price=3434.4, quantity=12, discountTypeId=1, discountSum=318, taxRate=20, taxIncluded="N")
    sb.add_row(2, deal, productName="Сборка и монтаж", price=9800, quantity=1)
    return deal


def hand_calculation() -> dict[str, D]:
    total = money(D("52326")) + money(D("5100.6") * D("3.5")) + money(D("3434.4") * 12) + D("9800")
    tax = (money(D("52326")) - money(D("52326") / D("1.2"))) + (money(D("17852.1")) - money(D("17852.1") / D("1.2"))) \
        + (money(D("41212.8")) - money(D("41212.8") / D("1.2")))
    cost = D("31200") + D("2900") * D("3.5") + D("1950.4") * 12
    net = total - tax
    return {"sum": total, "tax_sum": tax, "cost_sum": money(cost), "margin": net - money(cost)}


def test_recalc_sum_robot_on_stage_entry(app: Any) -> None:
    sb = app.sandbox
    deal = deal_with_mixed_rows(sb)
    sb.portal.place_robot(2, "WON", "b24goods_recalc_sum", {"cost_field": "UF_CRM_COST", "margin_field": "UF_CRM_MARGIN"})
    sb.move(2, deal, "WON")
    token = next(iter(sb.portal.workflows))
    wf = sb.portal.wait_workflow(token)
    expected = hand_calculation()
    assert wf.status == "done", wf
    values = wf.return_values
    assert values["error"] == ""
    assert D(str(values["sum"])) == expected["sum"] == D("121190.90")
    assert D(str(values["tax_sum"])) == expected["tax_sum"]
    assert D(str(values["cost_sum"])) == expected["cost_sum"]
    assert D(str(values["margin"])) == expected["margin"]
    assert D(str(values["margin_percent"])) == money(expected["margin"] * 100 / (expected["sum"] - expected["tax_sum"]))
    item = sb.item(2, deal)
    assert D(str(item["opportunity"])) == expected["sum"] and item["isManualOpportunity"] == "Y"
    assert D(str(item["_uf"]["UF_CRM_MARGIN"])) == expected["margin"]
    history = app.portal_store().history(deal)
    assert history and history[0][1].action == "recalc"


def test_recalc_calls_are_pages_plus_one_batch(app: Any) -> None:
    sb = app.sandbox
    deal = sb.add_deal()
    for i in range(120):
        sb.add_row(2, deal, productId=1 if i % 2 else 3, price=100 + i, quantity=1)
    sb.portal.calls.clear()
    wf = app.run_robot(2, deal, "b24goods_recalc_sum")
    assert wf.return_values["error"] == ""
    http = [c for c in sb.portal.calls if c in ("batch", "crm.item.update", "bizproc.event.send")]
    # batch(item + page 1), batch(pages 2-3), batch(catalog costs), update, event.send
    assert http == ["batch", "batch", "batch", "crm.item.update", "bizproc.event.send"]
    assert sb.portal.calls.count("crm.item.productrow.list") == 3
    assert sb.portal.calls.count("catalog.product.list") == 1  # one list for both products, not 120 gets
    assert "catalog.product.get" not in sb.portal.calls
    sb.portal.calls.clear()
    app.run_robot(2, deal, "b24goods_recalc_sum")
    assert "catalog.product.list" not in sb.portal.calls  # costs were snapshotted per row
    assert "crm.item.update" not in sb.portal.calls  # nothing changed: nothing written


def test_a_portal_that_sends_no_totals_still_gets_every_page_read(app_sqlite: Any) -> None:
    """``total`` is in the docs' envelopes but a portal may leave it out: ``next`` and full pages are followed."""
    sb = app_sqlite.sandbox
    deal = sb.add_deal()
    for i in range(120):
        sb.add_row(2, deal, productName=f"Позиция {i}", price=10, quantity=1)
    sb.portal.omit_totals = True
    wf = app_sqlite.run_robot(2, deal, "b24goods_recalc_sum")
    assert wf.return_values["error"] == ""
    assert D(str(wf.return_values["sum"])) == D("1200") == D(str(sb.item(2, deal)["opportunity"]))
    assert sb.portal.calls.count("crm.item.productrow.list") == 3


def test_recalc_on_smart_process_item(app: Any) -> None:
    sb = app.sandbox
    settings = app.portal_store().settings()
    item_type = settings.item_entity_type_id
    assert item_type, "install creates the item smart process"
    deal = sb.add_deal()
    item = sb.add_item(item_type, parentId2=deal, title="Изделие 1")
    sb.add_row(item_type, item, productName="Фасад", price=1500.5, quantity=2)
    wf = app.run_robot(item_type, item, "b24goods_recalc_sum")
    assert wf.return_values["sum"] == 3001.0 and wf.return_values["error"] == ""
    assert sb.item(item_type, item)["opportunity"] == 3001.0


def test_errors_come_back_to_the_business_process(app: Any) -> None:
    sb = app.sandbox
    wf = app.run_robot(2, 987654, "b24goods_recalc_sum")
    assert wf.status == "done" and "не найден" in wf.return_values["error"]
    assert wf.log_message.startswith("Ошибка")
    deal = sb.add_deal()
    sb.add_row(2, deal, productName="Без цены", price=0, quantity=2)
    wf = app.run_robot(2, deal, "b24goods_recalc_sum")
    assert "без цены" in wf.return_values["error"].lower()
    assert sb.item(2, deal)["isManualOpportunity"] == "N"  # nothing written
    wf = app.run_robot(2, deal, "b24goods_recalc_sum", {"cost_field": "NOT_A_UF"})
    assert "UF_CRM" in wf.return_values["error"]


def robot_form(app: Any, **auth: str) -> list[tuple[str, str]]:
    portal = app.portal
    block = portal.auth_block(1)
    block.update(auth)
    return flatten({"workflow_id": "w1", "code": "b24goods_recalc_sum", "document_id": ["crm", "CCrmDocumentDeal", "DEAL_1"],
                    "event_token": "w1|A1|sig", "properties": {}, "use_subscription": "Y", "auth": block})


def test_forged_call_is_refused_with_nothing_done(app: Any) -> None:
    before_calls = len(app.portal.calls)
    resp = requests.post(app.fn("recalc_sum"), data=robot_form(app, application_token="forged"), timeout=10)
    assert resp.status_code == 401 and resp.json()["error"] == "FORGED_CALL"
    assert len(app.portal.calls) == before_calls
    assert app.portal_store().jobs() == []


def test_unknown_portal_is_refused(app: Any) -> None:
    resp = requests.post(app.fn("recalc_sum"), data=robot_form(app, member_id="someone-else"), timeout=10)
    assert resp.status_code == 401 and resp.json()["error"] == "UNKNOWN_PORTAL"


def test_malformed_payload_is_refused(app: Any) -> None:
    before_calls = len(app.portal.calls)
    for body in ({"workflow_id": "x"}, {"hello": "world"}):
        resp = requests.post(app.fn("recalc_sum"), data=body, timeout=10)
        assert resp.status_code == 400 and resp.json()["error"] == "BAD_PAYLOAD"
    bad_doc = [(k, "LEAD_X" if k == "document_id[2]" else v) for k, v in robot_form(app)]
    resp = requests.post(app.fn("recalc_sum"), data=bad_doc, timeout=10)
    assert resp.status_code == 400 and "document_id" in resp.json()["error_description"]
    assert requests.get(app.fn("recalc_sum"), timeout=10).status_code == 405
    assert len(app.portal.calls) == before_calls
    assert app.portal_store().jobs() == []


def test_repeated_event_token_is_processed_once(app: Any) -> None:
    sb = app.sandbox
    deal = sb.add_deal()
    sb.add_row(2, deal, productName="X", price=10, quantity=1)
    token = sb.portal.start_robot(2, deal, "b24goods_recalc_sum", {})
    wf = sb.portal.wait_workflow(token)
    assert wf.status == "done"
    form = flatten({"workflow_id": wf.workflow_id, "code": "b24goods_recalc_sum",
                    "document_id": ["crm", "CCrmDocumentDeal", f"DEAL_{deal}"], "event_token": token,
                    "properties": {}, "use_subscription": "Y", "auth": sb.portal.auth_block(1)})
    sb.portal.calls.clear()
    resp = requests.post(app.fn("recalc_sum"), data=form, timeout=10)
    assert resp.status_code == 200 and resp.json()["status"] == "duplicate"
    assert sb.portal.calls == []
    assert wf.ignored_sends == 0


def test_install_twice_leaves_the_same_state(app: Any) -> None:
    sb = app.sandbox
    robots, events = dict(sb.portal.robots), list(sb.portal.events)
    resp = sb.install_app(app.fn("install"))
    assert resp.status_code == 200, resp.text
    from activities import ALL

    assert sorted(resp.json()["robots_updated"]) == sorted(a.code for a in ALL) and resp.json()["robots_added"] == []
    assert sb.portal.robots.keys() == robots.keys()
    from b24goods.install import EVENTS

    assert len(sb.portal.events) == len(events) == len(EVENTS)
    reg = sb.portal.robots["b24goods_recalc_sum"]
    assert reg["USE_SUBSCRIPTION"] == "Y" and reg["HANDLER"] == app.fn("recalc_sum")
    assert reg["NAME"] == {"ru": "Пересчитать сумму (Товары и услуги)", "en": "Recalculate sum (Goods and services)"}
    assert set(reg["RETURN_PROPERTIES"]) == {"sum", "discount_sum", "tax_sum", "cost_sum", "margin", "margin_percent", "error"}
    assert len(sb.portal.types) == 2  # smart processes found, not created again


def _refuse_binding(sb: Any, event: str) -> None:
    from sandbox.portal import RestFault

    def refuse(method: str, params: dict[str, Any]) -> Any:
        if method == "event.bind" and str(params.get("event", "")).upper() == event:
            return RestFault("ERROR_EVENT_NOT_FOUND", "Event not found", 400)
        return None
    sb.portal.refuse = refuse


def test_a_portal_without_the_optional_item_add_event_still_installs(app: Any) -> None:
    sb = app.sandbox
    sb.portal.events.clear()
    _refuse_binding(sb, "ONCRMDYNAMICITEMADD")
    resp = sb.install_app(app.fn("install"))
    assert resp.status_code == 200, resp.text
    assert "ONCRMDYNAMICITEMADD" not in resp.json()["events_bound"]
    assert "event.bind ONCRMDYNAMICITEMADD: ERROR_EVENT_NOT_FOUND" in resp.json()["warnings"]
    assert {e["event"] for e in sb.portal.events} == {"ONCRMDEALUPDATE", "ONCRMDYNAMICITEMUPDATE", "ONAPPUNINSTALL"}


def test_a_refused_required_event_fails_the_install_with_its_code(app: Any) -> None:
    sb = app.sandbox
    _refuse_binding(sb, "ONCRMDEALUPDATE")
    before = app.portal_store().installation()
    resp = sb.install_app(app.fn("install"))
    assert resp.status_code >= 400 and "ERROR_EVENT_NOT_FOUND" in resp.text
    assert app.portal_store().installation() == before  # nothing stored from the failed install


def test_install_event_delivered_to_the_events_path_installs(app: Any) -> None:
    sb = app.sandbox
    resp = sb.install_app(app.fn("events"))
    assert resp.status_code == 200, resp.text
    assert resp.json()["status"] == "installed" and resp.json()["robots_added"] == []


def test_install_from_the_application_page_keeps_the_protocol(app: Any) -> None:
    """A UI application's first open posts ``AUTH_ID``/``REFRESH_ID``; ``PROTOCOL=0`` means plain http."""
    sb = app.sandbox
    tokens = sb.portal.issue_tokens(1)
    host = sb.portal.client_endpoint.split("//", 1)[1].split("/", 1)[0]
    resp = requests.post(f"{app.fn('install')}?DOMAIN={host}&PROTOCOL=0&LANG=ru&APP_SID=x", data={
        "AUTH_ID": tokens["access_token"], "AUTH_EXPIRES": "3600", "REFRESH_ID": tokens["refresh_token"],
        "member_id": sb.portal.member_id, "APPLICATION_TOKEN": sb.portal.application_token,
        "status": "L", "PLACEMENT": "DEFAULT", "PLACEMENT_OPTIONS": "{}"}, timeout=60)
    assert resp.status_code == 200, resp.text
    assert app.portal_store().installation().client_endpoint == sb.portal.client_endpoint


@pytest.mark.parametrize("path", ["install", "events"])
def test_forged_install_cannot_take_over_a_portal(app: Any, path: str) -> None:
    block = app.portal.auth_block(1)
    block.update(application_token="attacker", client_endpoint="http://127.0.0.1:9/rest/")
    resp = requests.post(app.fn(path), data=flatten({"event": "ONAPPINSTALL", "auth": block}), timeout=10)
    assert resp.status_code == 401
    assert app.portal_store().installation().client_endpoint == app.portal.client_endpoint


def test_uninstall_forgets_tokens_and_refuses_later_calls(app: Any) -> None:
    resp = app.sandbox.uninstall_app(app.fn("events"))
    assert resp.status_code == 200
    inst = app.portal_store().installation()
    assert inst.access_token is None and inst.refresh_token is None and not inst.active
    resp = requests.post(app.fn("recalc_sum"), data=robot_form(app), timeout=10)
    assert resp.status_code == 401


def test_uninstall_keeps_the_data_unless_the_admin_asks_to_delete_it(app: Any) -> None:
    from b24goods.context import store
    from b24goods.robot import OPEN_JOBS

    sb = app.sandbox
    deal = sb.add_deal()
    sb.add_row(2, deal, productName="X", price=10, quantity=3)
    assert app.run_robot(2, deal, "b24goods_recalc_sum").return_values["error"] == ""
    member = sb.portal.member_id
    store().put(*OPEN_JOBS, f"{member}:stale", {"member_id": member, "job_id": "stale"})
    store().put(*OPEN_JOBS, "other-portal:j", {"member_id": "other-portal", "job_id": "j"})

    assert sb.uninstall_app(app.fn("events")).json()["data_deleted"] is False
    assert app.portal_store().history(deal)  # CLEAN=0: the order's history stays for a reinstall
    assert sb.install_app(app.fn("install")).status_code == 200

    resp = sb.uninstall_app(app.fn("events"), clean=True)
    assert resp.status_code == 200 and resp.json()["data_deleted"] is True
    assert app.portal_store().installation() is None and app.portal_store().history(deal) == []
    assert [k for k, _ in store().list(*OPEN_JOBS)] == ["other-portal:j"]
    assert requests.post(app.fn("recalc_sum"), data=robot_form(app), timeout=10).status_code == 401
    assert sb.install_app(app.fn("install")).status_code == 200  # a fresh install works after the purge
    assert app.portal_store().installation().active


def test_forged_uninstall_is_refused(app: Any) -> None:
    block = app.portal.auth_block(1, with_tokens=False)
    block["application_token"] = "forged"
    resp = requests.post(app.fn("events"), data=flatten({"event": "ONAPPUNINSTALL", "auth": block}), timeout=10)
    assert resp.status_code == 401
    assert app.portal_store().installation().active


def test_a_robot_goes_on_with_its_own_token_when_the_portals_cannot_be_refreshed(
        app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The stored pair has expired and the OAuth server refuses the client (wrong secret): the robot call's own
    fresh token still gets the business process its answer, and is not stored."""
    from b24goods.config import reset_config
    from b24goods.context import reset_clients

    sb = app.sandbox
    deal = sb.add_deal()
    sb.add_row(2, deal, productName="X", price=10, quantity=3)
    stored = app.portal_store().installation()
    sb.portal.expire_all_tokens()
    monkeypatch.setenv("B24GOODS_CLIENT_SECRET", "not-the-secret")
    reset_config()
    reset_clients()
    wf = app.run_robot(2, deal, "b24goods_recalc_sum")
    assert wf.return_values["error"] == "" and wf.return_values["sum"] == 30.0
    assert sb.item(2, deal)["opportunity"] == 30.0
    after = app.portal_store().installation()
    assert (after.access_token, after.refresh_token) == (stored.access_token, stored.refresh_token)


def test_expired_token_is_refreshed_through_the_oauth_server(app: Any) -> None:
    sb = app.sandbox
    deal = sb.add_deal()
    sb.add_row(2, deal, productName="X", price=10, quantity=3)
    old = app.portal_store().installation().access_token
    sb.portal.expire_all_tokens()
    wf = app.run_robot(2, deal, "b24goods_recalc_sum")
    assert wf.return_values["sum"] == 30.0
    assert app.portal_store().installation().access_token != old
