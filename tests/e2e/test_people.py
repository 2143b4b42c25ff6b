"""notify and assign_executors end to end, with history."""

from __future__ import annotations

import base64
from typing import Any

from tests.csv_corpus import sample


def imported_deal(app: Any) -> int:
    sb = app.sandbox
    deal = sb.add_deal(title="Шкаф для Сидоровых", assignedById=2, begindate="2026-01-10",
                       UF_CRM_ORDER_FILE=["order.csv", base64.b64encode(sample("order-excel-cp1251.csv")).decode()])
    values = app.run_robot(2, deal, "b24goods_import_csv", {"file_field": "UF_CRM_ORDER_FILE"}).return_values
    assert values["error"] == ""
    return deal


def test_assign_executors_creates_updates_and_closes_tasks(app: Any) -> None:
    sb = app.sandbox
    deal = imported_deal(app)
    values = app.run_robot(2, deal, "b24goods_assign_executors", {"executor": "user_7", "deadline_days": "5"}).return_values
    assert values["tasks_created"] == 1
    assert "Петров" in values["error"] and "несколько сотрудников" in values["error"] and "3, 5" in values["error"]
    (task,) = sb.portal.tasks.values()
    assert task["RESPONSIBLE_ID"] == 4 and task["TITLE"] == "Сборка и монтаж мебели — Шкаф для Сидоровых"  # «Сидорова»
    assert task["UF_CRM_TASK"] == [f"D_{deal}"] and "Количество: 1" in task["DESCRIPTION"]
    assert task["DEADLINE"].endswith("T18:00:00")
    again = app.run_robot(2, deal, "b24goods_assign_executors", {"executor": "user_7", "deadline_days": "5"}).return_values
    assert (again["tasks_created"], again["tasks_updated"]) == (0, 0) and len(sb.portal.tasks) == 1
    service_row = next(r for r in sb.rows(2, deal) if r["productName"] == "Сборка и монтаж мебели")
    sb.edit_row(service_row["id"], quantity=2)
    changed = app.run_robot(2, deal, "b24goods_assign_executors", {"executor": "user_7"}).return_values
    assert (changed["tasks_created"], changed["tasks_updated"]) == (0, 1)
    assert "Количество: 2" in task["DESCRIPTION"]
    sb.remove_row(service_row["id"])
    app.run_robot(2, deal, "b24goods_assign_executors", {"executor": "user_7"})
    assert task["STATUS"] == 5 and any("удалена" in c["text"] for c in sb.portal.task_comments)
    history = [e for _, e in app.portal_store().history(deal) if e.action == "task"]
    assert len(history) == 4 and "закрыто 1" in history[0].summary


def test_all_rows_with_a_default_executor(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal = sb.add_deal(title="Без CSV")
    sb.add_row(2, deal, productName="Стол", price=100, quantity=1)
    sb.add_row(2, deal, productName="Стул", price=50, quantity=4)
    values = app_sqlite.run_robot(2, deal, "b24goods_assign_executors", {"executor": "user_6", "services_only": "N"}).return_values
    assert values["tasks_created"] == 2 and values["error"] == ""
    assert {t["RESPONSIBLE_ID"] for t in sb.portal.tasks.values()} == {6}
    nobody = app_sqlite.run_robot(2, sb.add_deal(), "b24goods_assign_executors", {"services_only": "N"}).return_values
    assert nobody["tasks_created"] == 0 and nobody["error"] == ""


def test_notify_with_template_changes_and_tag(app: Any) -> None:
    sb = app.sandbox
    deal = imported_deal(app)
    sb.move(2, deal, "EXECUTING")
    props = {"users": ["user_3", "user_5"], "message": "Заказ {title} ({link}): {sum}, стадия «{stage}»",
             "include_changes": "Y"}
    values = app.run_robot(2, deal, "b24goods_notify", props).return_values
    assert values["notified"] == 2 and values["error"] == ""
    first = [n for n in sb.portal.notifications if n["user_id"] == 3]
    assert len(first) == 1
    text = first[0]["message"]
    assert "Заказ Шкаф для Сидоровых" in text and "125\u00a0650,90\u00a0₽" in text and "стадия «В работе»" in text
    assert f"/crm/deal/details/{deal}/" in text and "Импорт «order.csv»" in text
    app.run_robot(2, deal, "b24goods_recalc_sum")
    app.run_robot(2, deal, "b24goods_notify", props)
    again = [n for n in sb.portal.notifications if n["user_id"] == 3]
    assert len(again) == 1  # the tag replaced the stale notification
    assert "Сумма пересчитана" in again[0]["message"] and "Импорт «order.csv»" not in again[0]["message"]


def test_notify_defaults_to_the_responsible_person(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal = sb.add_deal(title="Заказ", assignedById=6)
    values = app_sqlite.run_robot(2, deal, "b24goods_notify", {"users": ["group_dr12"]}).return_values
    assert values["notified"] == 1 and [n["user_id"] for n in sb.portal.notifications] == [6]
