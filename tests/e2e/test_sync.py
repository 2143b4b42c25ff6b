"""Two-way sync between a deal and its item, driven by the events the sandbox sends as a portal does."""

from __future__ import annotations

import json
import time
from typing import Any

import requests

WRITES = ("crm.item.productrow.add", "crm.item.productrow.update", "crm.item.productrow.delete")


def writes(sb: Any, since: int) -> int:
    return sum(1 for c in sb.portal.calls[since:] if c in WRITES)


def linked_order(app: Any) -> tuple[int, int, int]:
    sb = app.sandbox
    item_type = app.portal_store().settings().item_entity_type_id
    deal = sb.add_deal(title="Кухня", assignedById=2)
    sb.add_row(2, deal, productName="Фасад", price=3000, quantity=4)
    sb.add_row(2, deal, productName="Столешница", price=5000, quantity=1, taxRate=20, taxIncluded="Y")
    sb.add_row(2, deal, productName="Доставка по городу", price=2500, quantity=1)
    item = sb.add_item(item_type, parentId2=deal, title="Изделие", assignedById=4)
    values = app.run_robot(2, deal, "b24goods_sync_rows").return_values
    assert values["error"] == "" and values["rows_changed"] == 2  # delivery stays on the deal (settings rule)
    sb.portal.flush()
    return deal, item_type, item


def wait_until(check: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def by_name(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["productName"]: r for r in rows}


def hold_all(held: list[dict[str, Any]]) -> Any:
    """An event filter that delivers nothing and keeps every event, to be delivered later by the test."""
    def event_filter(name: str, payload: dict[str, Any]) -> list[dict[str, Any]]:
        held.append(payload)
        return []
    return event_filter


def test_item_edit_reaches_the_deal_and_back(app: Any) -> None:
    sb = app.sandbox
    deal, item_type, item = linked_order(app)
    assert set(by_name(sb.rows(item_type, item))) == {"Фасад", "Столешница"}
    facade = by_name(sb.rows(item_type, item))["Фасад"]
    sb.edit_row(facade["id"], user_id=4, quantity=6)
    sb.portal.flush()
    wait_until(lambda: by_name(sb.rows(2, deal))["Фасад"]["quantity"] == 6.0)
    top = by_name(sb.rows(2, deal))["Столешница"]
    sb.edit_row(top["id"], user_id=3, price=5500)
    sb.portal.flush()
    wait_until(lambda: by_name(sb.rows(item_type, item))["Столешница"]["price"] == 5500.0)
    sb.portal.flush()
    assert sb.item(2, deal)["opportunity"] == 6 * 3000 + 5500 + 2500
    entries = [e for _, e in app.portal_store().history(deal) if e.action == "sync"]
    assert len(entries) >= 3
    # user 4 edited the order a moment ago: told that user 3 changed it
    assert any(n["user_id"] == 4 and (n["tag"] or "").startswith("b24goods-editors") for n in sb.portal.notifications)


def test_rows_added_and_deleted_on_one_side(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal, item_type, item = linked_order(app_sqlite)
    sb.add_row(item_type, item, user_id=4, silent=False, productName="Подсветка", price=4800, quantity=1)
    sb.portal.flush()
    wait_until(lambda: "Подсветка" in by_name(sb.rows(2, deal)))
    sb.remove_row(by_name(sb.rows(2, deal))["Фасад"]["id"], user_id=3)
    sb.portal.flush()
    wait_until(lambda: "Фасад" not in by_name(sb.rows(item_type, item)))
    assert set(by_name(sb.rows(item_type, item))) == {"Столешница", "Подсветка"}


def test_echo_events_cost_no_writes(app: Any) -> None:
    sb = app.sandbox
    deal, item_type, item = linked_order(app)
    sb.edit_row(by_name(sb.rows(item_type, item))["Фасад"]["id"], user_id=4, quantity=5)
    sb.portal.flush()
    wait_until(lambda: by_name(sb.rows(2, deal))["Фасад"]["quantity"] == 5.0)
    sb.portal.flush()
    store_writes = app.portal_store().store.stats.writes
    start = len(sb.portal.calls)
    sb.portal.emit("ONCRMDEALUPDATE", {"ID": str(deal)})  # an echo of our own write, delivered again
    sb.portal.emit("ONCRMDYNAMICITEMUPDATE", {"ID": str(item), "ENTITY_TYPE_ID": str(item_type)})
    sb.portal.flush()
    assert writes(sb, start) == 0
    assert app.portal_store().store.stats.writes == store_writes


def test_both_sides_edited_at_once(app: Any) -> None:
    sb = app.sandbox
    deal, item_type, item = linked_order(app)
    held: list[dict[str, Any]] = []
    sb.portal.event_filter = hold_all(held)
    facade_deal = by_name(sb.rows(2, deal))["Фасад"]
    facade_item = by_name(sb.rows(item_type, item))["Фасад"]
    sb.edit_row(facade_deal["id"], user_id=3, price=3100)  # different fields: both kept
    sb.edit_row(facade_item["id"], user_id=4, quantity=7)
    top_deal = by_name(sb.rows(2, deal))["Столешница"]
    top_item = by_name(sb.rows(item_type, item))["Столешница"]
    sb.edit_row(top_deal["id"], user_id=3, quantity=2)  # the same field, two values: a conflict
    sb.edit_row(top_item["id"], user_id=4, quantity=3)
    sb.portal.event_filter = None
    for payload in held[-1:]:
        requests.post(app.fn("events"), data=flatten(payload), timeout=30)
    sb.portal.flush()
    assert by_name(sb.rows(2, deal))["Фасад"]["price"] == 3100.0 and by_name(sb.rows(2, deal))["Фасад"]["quantity"] == 7.0
    assert by_name(sb.rows(item_type, item))["Фасад"]["price"] == 3100.0
    assert by_name(sb.rows(2, deal))["Столешница"]["quantity"] == 2.0  # nothing overwritten
    assert by_name(sb.rows(item_type, item))["Столешница"]["quantity"] == 3.0
    told = {n["user_id"] for n in sb.portal.notifications if (n["tag"] or "").startswith("b24goods-conflict")}
    assert told == {2, 3, 4}
    conflict = next(e for _, e in app.portal_store().history(deal) if e.action == "conflict")
    assert "количество" in conflict.summary and conflict.changes[0].before["quantity"] == "2"


def flatten(payload: dict[str, Any]) -> list[tuple[str, str]]:
    from b24goods.bitrix.phpform import flatten as php

    return php(payload)


def test_duplicated_and_reordered_events_give_the_same_end_state(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal, item_type, item = linked_order(app_sqlite)
    held: list[dict[str, Any]] = []
    sb.portal.event_filter = hold_all(held)
    rows = by_name(sb.rows(item_type, item))
    sb.edit_row(rows["Фасад"]["id"], user_id=4, quantity=9)
    sb.edit_row(rows["Столешница"]["id"], user_id=4, price=6000)
    sb.portal.event_filter = None
    for payload in list(reversed(held)) * 2:  # out of order, each twice
        requests.post(app_sqlite.fn("events"), data=flatten(payload), timeout=30)
    sb.portal.flush()
    deal_rows = by_name(sb.rows(2, deal))
    assert deal_rows["Фасад"]["quantity"] == 9.0 and deal_rows["Столешница"]["price"] == 6000.0
    assert len(sb.rows(2, deal)) == 3 and len(sb.rows(item_type, item)) == 2


def test_a_dropped_event_is_repaired_by_reconcile(app: Any) -> None:
    sb = app.sandbox
    deal, item_type, item = linked_order(app)
    sb.portal.event_filter = lambda name, payload: []  # the portal's queue loses the event
    sb.edit_row(by_name(sb.rows(item_type, item))["Фасад"]["id"], user_id=4, quantity=11)
    sb.portal.event_filter = None
    assert by_name(sb.rows(2, deal))["Фасад"]["quantity"] == 4.0
    from b24goods.context import portal_context
    from b24goods.sync import reconcile

    pc = portal_context(app.portal_store())
    summary = reconcile(pc.rest, app.portal_store(), pc.installation.client_endpoint)
    assert summary["orders"] >= 1 and summary["rows_changed"] >= 1
    assert by_name(sb.rows(2, deal))["Фасад"]["quantity"] == 11.0


def test_one_way_sync_resolves_conflicts_for_one_side(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal, item_type, item = linked_order(app_sqlite)
    sb.portal.event_filter = lambda name, payload: []
    sb.edit_row(by_name(sb.rows(2, deal))["Фасад"]["id"], user_id=3, quantity=2)
    sb.edit_row(by_name(sb.rows(item_type, item))["Фасад"]["id"], user_id=4, quantity=3)
    sb.portal.event_filter = None
    values = app_sqlite.run_robot(2, deal, "b24goods_sync_rows", {"direction": "deal_to_items"}).return_values
    assert values["conflicts"] == 0 and values["rows_changed"] == 1
    assert by_name(sb.rows(item_type, item))["Фасад"]["quantity"] == 2.0


def test_a_new_item_joins_the_order_through_its_add_event(app_sqlite: Any) -> None:
    from sandbox.methods import crm_item_add

    sb = app_sqlite.sandbox
    item_type = app_sqlite.portal_store().settings().item_entity_type_id
    deal = sb.add_deal(title="Шкаф", assignedById=2)
    sb.add_row(2, deal, productName="Корпус", price=12000, quantity=1)
    before = len(sb.portal.calls)
    sb.update(2, deal, title="Шкаф-купе")  # a deal without items: its update event costs no REST call
    sb.portal.flush()
    assert [c for c in sb.portal.calls[before:] if not c.startswith("bizproc")] == []
    with sb.portal.lock:  # the manager creates the item in the deal card: the portal sends ONCRMDYNAMICITEMADD
        item = int(crm_item_add(sb._ctx(2), {"entityTypeId": item_type,
                                             "fields": {"title": "Корпус шкафа", "parentId2": deal}})["item"]["id"])
    sb.portal.flush()
    wait_until(lambda: set(by_name(sb.rows(item_type, item))) == {"Корпус"})
    sb.add_row(2, deal, user_id=3, silent=False, productName="Зеркало", price=4000, quantity=2)
    sb.portal.flush()
    wait_until(lambda: "Зеркало" in by_name(sb.rows(item_type, item)))


def test_scheduled_reconcile_fans_out_per_portal_and_repairs(app_sqlite: Any) -> None:
    from b24goods.context import store
    from b24goods.registry import installed_portals
    from b24goods.scheduled import handle_reconcile

    sb = app_sqlite.sandbox
    deal, item_type, item = linked_order(app_sqlite)
    assert installed_portals(store()) == [sb.portal.member_id]
    published: list[bytes] = []
    assert handle_reconcile(store(), {}, published.append) == {"fanned_out": 1}
    assert [json.loads(m) for m in published] == [{"member_id": sb.portal.member_id}]
    sb.portal.event_filter = lambda name, payload: []  # lost event
    sb.edit_row(by_name(sb.rows(item_type, item))["Фасад"]["id"], user_id=4, quantity=8)
    sb.portal.event_filter = None
    summary = handle_reconcile(store(), json.loads(published[0]), None)
    assert summary["rows_changed"] == 1 and by_name(sb.rows(2, deal))["Фасад"]["quantity"] == 8.0
    sb.uninstall_app(app_sqlite.fn("events"))
    assert installed_portals(store()) == []
