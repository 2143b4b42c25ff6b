"""The demo's chapters after the sum: CSV import, stage lock, a direct edit reverted, an agreement applied."""

from __future__ import annotations

import base64
from decimal import Decimal
from pathlib import Path
from typing import Any

from .demo import demo_step, row_line, say, step
from .domain.money import format_rub

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"


def _sample(name: str) -> bytes:
    path = SAMPLES / name
    if path.is_file():
        return path.read_bytes()
    return ("Артикул;Наименование;Ед.;Кол-во;Цена;Скидка, %;НДС, %;Себестоимость;Исполнитель\r\n"
            "SH-001;Шкаф-купе 2-дверный, дуб сонома;шт;1;45 900,00;5;20;31 200,00;\r\n"
            ";Сборка и монтаж мебели;усл;1;9 800,00;0;20;5 000,00;Сидорова\r\n").encode("cp1251")


def _settings(demo: Any) -> Any:
    from .context import store
    from .store.portal import PortalStore

    return PortalStore(store(), demo.portal.member_id).settings()


def _show_rows(demo: Any, etid: int, item_id: int) -> None:
    for r in demo.sandbox.rows(etid, item_id):
        say(row_line(r))
    item = demo.sandbox.item(etid, item_id)
    say(f"  сумма в портале: {format_rub(Decimal(str(item['opportunity'])))}")


@demo_step
def import_chapter(demo: Any) -> None:
    step("3. CSV from Excel (cp1251, «;», decimal commas) uploaded into a new deal; import_csv robot")
    sb = demo.sandbox
    deal = sb.add_deal(title="Гардеробная для Петровых", assignedById=2,
                       UF_CRM_ORDER_FILE=["заказ.csv", base64.b64encode(_sample("order-excel-cp1251.csv")).decode()])
    demo.deal = deal
    wf = demo.robot_on_stage(2, deal, "PREPAYMENT_INVOICE", "b24goods_import_csv",
                             {"file_field": "UF_CRM_ORDER_FILE", "create_products": "Y"})
    values = wf.return_values or {}
    say(f"robot answered: added {values.get('rows_added')}, updated {values.get('rows_updated')}, "
        f"skipped {values.get('rows_skipped')}, products created {values.get('products_created')}, "
        f"sum {values.get('sum')}, error={values.get('error')!r}")
    say("report:")
    for line in str(values.get("report", "")).splitlines():
        say(f"  {line}")
    _show_rows(demo, 2, deal)
    again = demo.robot(2, deal, "b24goods_import_csv", {"file_field": "UF_CRM_ORDER_FILE", "create_products": "Y"})
    say(f"the same file again: added {again.return_values['rows_added']}, skipped {again.return_values['rows_skipped']}"
        f", products created {again.return_values['products_created']} (no duplicates)")
    bad = sb.add_deal(title="Заказ с ошибками",
                      UF_CRM_ORDER_FILE=["ошибки.csv", base64.b64encode(_sample("order-with-errors-cp1251.csv")).decode()])
    wf = demo.robot(2, bad, "b24goods_import_csv", {"file_field": "UF_CRM_ORDER_FILE"})
    say("a file with bad rows is refused whole, every line named:")
    for line in str(wf.return_values.get("report", "")).splitlines():
        say(f"  {line}")
    say(f"  rows written: {len(sb.rows(2, bad))}")


@demo_step
def agreement_chapter(demo: Any) -> None:
    step("4. Stage «В работе» locks the rows; a direct edit is reverted")
    sb, deal = demo.sandbox, demo.deal
    item_type = _settings(demo).item_entity_type_id
    item = sb.add_item(item_type, parentId2=deal, title="Изделие: гардеробная", assignedById=4)
    sb.add_row(item_type, item, productName="Каркас гардеробной", price=38000, quantity=1)
    wf = demo.robot_on_stage(2, deal, "EXECUTING", "b24goods_lock_rows", {"action": "lock", "reason": "Договор подписан"})
    say(f"lock_rows answered: locked_rows={wf.return_values['locked_rows']}")
    row = sb.rows(2, deal)[0]
    say(f"user 3 (Сергей Петров) sets the quantity of «{row['productName']}» to 10 in the card…")
    sb.edit_row(row["id"], user_id=3, quantity=10)
    sb.portal.flush()
    say(f"  quantity now: {sb.rows(2, deal)[0]['quantity']} (reverted)")
    note = [n for n in sb.portal.notifications if n["user_id"] == 3][-1]
    say(f"  notification to user 3: {note['message']}")

    step("5. A supplementary agreement: +LED lighting, −2 facades; signed scan uploaded; stage «Подписано»")
    kind = _settings(demo).agreement_entity_type_id
    agreement = sb.add_item(kind, parentId2=deal, title="Доп. соглашение №1", assignedById=2,
                            UF_CRM_SIGNED_SCAN=["подписано.pdf", base64.b64encode(b"%PDF-1.4").decode()])
    sb.add_row(kind, agreement, productName="Подсветка LED", price=4800, quantity=1, taxRate=20, taxIncluded="Y")
    sb.add_row(kind, agreement, productName='Фасад МДФ "Прованс"; эмаль', price=3434.4, quantity=-2, taxRate=20,
               taxIncluded="Y")
    wf = demo.robot_on_stage(kind, agreement, f"DT{kind}_0:SIGNED", "b24goods_apply_agreement", {
        "agreement_date": "2026-08-21", "new_closedate": "2026-09-30", "update_item_dates": "Y", "notify_users": [6]})
    values = wf.return_values or {}
    say(f"apply_agreement answered: row_id={values.get('row_id')}, delta_sum={values.get('delta_sum')}, "
        f"new_sum={values.get('new_sum')}, error={values.get('error')!r}")
    _show_rows(demo, 2, deal)
    say(f"  deal close date: {sb.item(2, deal)['closedate']}, item close date: {sb.item(item_type, item)['closedate']}")
    for n in sb.portal.notifications:
        if (n["tag"] or "").startswith("b24goods-agreement"):
            say(f"  notified user {n['user_id']}: {n['message'][:140]}…")
    again = demo.robot(kind, agreement, "b24goods_apply_agreement", {"agreement_date": "2026-08-21"})
    say(f"applied a second time: row_id={again.return_values['row_id']} (same), rows now {len(sb.rows(2, deal))} (unchanged)")

    step("History of the order (newest first)")
    from .context import store
    from .store.portal import PortalStore

    for _, entry in PortalStore(store(), demo.portal.member_id).history(deal, limit=20):
        say(f"  {entry.at[:19]}  {entry.action:<9} user {entry.user_id or '-':<3} {entry.summary}")


@demo_step
def sync_chapter(demo: Any) -> None:
    step("6. Two-way sync: an item («изделие») joins an order; an edit on either side reaches the other")
    from sandbox.methods import crm_item_add

    sb = demo.sandbox
    item_type = _settings(demo).item_entity_type_id
    deal = sb.add_deal(title="Кухня для Смирновых", assignedById=2)
    sb.add_row(2, deal, productName="Фасад МДФ, белый глянец", price=3180, quantity=8)
    sb.add_row(2, deal, productName="Столешница, пластик HPL 38 мм", price=4250.5, quantity=2)
    with sb.portal.lock:  # the manager creates the item in the deal card: the portal sends ONCRMDYNAMICITEMADD
        item = int(crm_item_add(sb._ctx(2), {"entityTypeId": item_type,
                                             "fields": {"title": "Кухонный гарнитур", "parentId2": deal}})["item"]["id"])
    sb.portal.flush()
    _wait(lambda: len(sb.rows(item_type, item)) == 2)
    say("the item received the deal's rows:")
    _show_rows(demo, item_type, item)
    facade = next(r for r in sb.rows(item_type, item) if r["productName"].startswith("Фасад"))
    sb.edit_row(facade["id"], user_id=4, quantity=10)  # the technologist corrects the item
    sb.portal.flush()
    _wait(lambda: any(r["quantity"] == 10.0 for r in sb.rows(2, deal)))
    say("Сидорова changed the facades to 10 in the item → the deal:")
    _show_rows(demo, 2, deal)


def _wait(check: Any, timeout: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.05)


@demo_step
def tab_chapter(demo: Any) -> None:
    step("7. The «Товары и услуги» tab of the deal card, as the portal opens it (totals computed on display)")
    import re
    from html import unescape

    import requests

    sb = demo.sandbox
    url, form = sb.portal.placement_request("CRM_DEAL_DETAIL_TAB", demo.deal, 1)
    page = requests.post(url, data=form, timeout=60)
    text = unescape(page.text)
    for label, anchor in (("Сумма", "total-sum"), ("Скидка", "total-discount"), ("НДС", "total-tax")):
        found = re.search(rf'id="{anchor}">([^<]+)<', text)
        say(f"  {label:<7} {found.group(1) if found else '?'}")
    locked = 'id="lock"' in page.text
    say(f"  lock banner shown: {locked}; rows shown: {page.text.count('data-row=')}; HTTP {page.status_code}")
    forged = requests.post(url, data={**form, "APPLICATION_TOKEN": "forged"}, timeout=60)
    say(f"  the same call with a forged application token: HTTP {forged.status_code}")


@demo_step
def people_chapter(demo: Any) -> None:
    step("8. Executors get CRM tasks; the responsible people get a notification")
    sb, deal = demo.sandbox, demo.deal
    wf = demo.robot(2, deal, "b24goods_assign_executors", {"executor": "user_7", "deadline_days": "5"})
    values = wf.return_values or {}
    say(f"assign_executors answered: tasks_created={values.get('tasks_created')}, "
        f"tasks_updated={values.get('tasks_updated')}")
    if values.get("error"):
        say(f"  reported: {values['error']}")
    wf = demo.robot(2, deal, "b24goods_notify", {"users": ["user_2", "user_4"], "include_changes": "Y"})
    say(f"notify answered: notified={wf.return_values.get('notified')}")
    step("Tasks in the portal")
    users = sb.portal.users
    for task in sb.portal.tasks.values():
        who = users[int(task["RESPONSIBLE_ID"])]
        say(f"  #{task['id']} {task['TITLE']} → {who['NAME']} {who['LAST_NAME']}, срок {task['DEADLINE']}, "
            f"привязки {task['UF_CRM_TASK']}")
    step("Notifications in the portal")
    for n in sb.portal.notifications:
        who = users[n["user_id"]]
        say(f"  → {who['NAME']} {who['LAST_NAME']} [{n['tag']}]")
        for line in n["message"].splitlines():
            say(f"      {line}")
