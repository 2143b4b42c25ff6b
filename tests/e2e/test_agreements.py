"""Stage lock and supplementary agreements, the full story against the sandbox."""

from __future__ import annotations

import base64
import threading
from decimal import Decimal as D
from typing import Any

import pytest

from tests.csv_corpus import sample

SCAN = ["подписано.pdf", base64.b64encode(b"%PDF-1.4 signed scan").decode()]


def settings(app: Any) -> Any:
    return app.portal_store().settings()


def order_with_rows(app: Any) -> tuple[int, int]:
    """A deal with rows imported from the sample and one item («изделие») with its own rows."""
    sb = app.sandbox
    deal = sb.add_deal(title="Кухня для Ивановых", assignedById=2,
                       UF_CRM_ORDER_FILE=["order.csv", base64.b64encode(sample("order-excel-cp1251.csv")).decode()])
    values = app.run_robot(2, deal, "b24goods_import_csv", {"file_field": "UF_CRM_ORDER_FILE"}).return_values
    assert values["error"] == "" and values["rows_added"] == 5
    item_type = settings(app).item_entity_type_id
    item = sb.add_item(item_type, parentId2=deal, title="Изделие: кухня", assignedById=4)
    sb.add_row(item_type, item, productName="Фасад МДФ", price=3000, quantity=4)
    return deal, item


def lock(app: Any, deal: int) -> int:
    wf = app.run_robot(2, deal, "b24goods_lock_rows", {"action": "lock", "reason": "Договор подписан"})
    assert wf.return_values["error"] == "", wf.return_values
    return int(wf.return_values["locked_rows"])


def agreement(app: Any, deal: int, rows: list[dict[str, Any]], *, scan: bool = True, item: int | None = None) -> int:
    sb = app.sandbox
    kind = settings(app).agreement_entity_type_id
    fields: dict[str, Any] = {"parentId2": deal, "title": "Доп. соглашение"}
    if scan:
        fields["UF_CRM_SIGNED_SCAN"] = SCAN
    if item:
        fields[f"parentId{settings(app).item_entity_type_id}"] = item
    agreement_id = sb.add_item(kind, **fields)
    for row in rows:
        sb.add_row(kind, agreement_id, **row)
    return agreement_id


def apply(app: Any, agreement_id: int, **props: Any) -> dict[str, Any]:
    kind = settings(app).agreement_entity_type_id
    wf = app.run_robot(kind, agreement_id, "b24goods_apply_agreement", props)
    assert wf.status == "done", wf
    return wf.return_values


def test_full_story(app: Any) -> None:
    sb = app.sandbox
    deal, item = order_with_rows(app)
    sum_before = D(str(sb.item(2, deal)["opportunity"]))
    assert lock(app, deal) == 6  # 5 deal rows + 1 item row

    # a direct edit of a locked deal is reverted and its author told
    row = sb.rows(2, deal)[0]
    sb.edit_row(row["id"], user_id=3, quantity=10)
    sb.portal.flush()
    assert sb.rows(2, deal)[0]["quantity"] == row["quantity"]
    told = [n for n in sb.portal.notifications if n["user_id"] == 3]
    assert told and "доп. соглашение" in told[-1]["message"]
    reverts = [e for _, e in app.portal_store().history(deal) if e.action == "revert"]
    assert reverts and reverts[0].user_id == 3 and D(str(reverts[0].changes[0].after["quantity"])) == 10

    # a deleted row comes back, an added row goes away, the item is protected too
    sb.remove_row(sb.rows(2, deal)[1]["id"], user_id=3)
    sb.add_row(2, deal, user_id=3, silent=False, productName="Лишнее", price=1, quantity=1)
    item_type = settings(app).item_entity_type_id
    sb.edit_row(sb.rows(item_type, item)[0]["id"], user_id=5, price=1)
    sb.portal.flush()
    assert len(sb.rows(2, deal)) == 5 and "Лишнее" not in {r["productName"] for r in sb.rows(2, deal)}
    assert sb.rows(item_type, item)[0]["price"] == 3000.0
    assert D(str(sb.item(2, deal)["opportunity"])) == sum_before

    # the agreement: +1 service, −2 facades; signed scan uploaded; applied on its "signed" stage
    agreement_id = agreement(app, deal, [
        dict(productName="Подсветка LED", price=4800, quantity=1, taxRate=20, taxIncluded="Y"),
        dict(productId=5, productName="Фасад МДФ «Прованс»", price=3434.4, quantity=-2, taxRate=20, taxIncluded="Y"),
    ], item=item)
    kind = settings(app).agreement_entity_type_id
    sb.portal.place_robot(kind, f"DT{kind}_0:SIGNED", "b24goods_apply_agreement", {
        "agreement_date": "2026-08-21", "new_closedate": "2026-09-30", "update_item_dates": "Y", "notify_users": [6]})
    before_tokens = set(sb.portal.workflows)
    sb.move(kind, agreement_id, f"DT{kind}_0:SIGNED")
    token = next(t for t in sb.portal.workflows if t not in before_tokens)
    values = sb.portal.wait_workflow(token).return_values
    assert values["error"] == "", values
    delta = D("4800") - D("6868.80")
    assert D(str(values["delta_sum"])) == delta
    rows = sb.rows(2, deal)
    added = [r for r in rows if r["productName"] == "Доп. соглашение от 21.08.2026"]
    assert len(rows) == 6 and len(added) == 1 and D(str(added[0]["price"])) == delta and added[0]["id"] == values["row_id"]
    assert D(str(values["new_sum"])) == sum_before + delta == D(str(sb.item(2, deal)["opportunity"]))
    assert sb.item(2, deal)["closedate"] == "2026-09-30" and sb.item(item_type, item)["closedate"] == "2026-09-30"
    notified = {n["user_id"] for n in sb.portal.notifications if (n["tag"] or "").startswith("b24goods-agreement")}
    assert notified == {2, 4, 6}  # deal's responsible, item's responsible, notify_users
    entry = next(e for _, e in app.portal_store().history(deal) if e.action == "agreement")
    assert [c.row for c in entry.changes] == ["Подсветка LED", "Фасад МДФ «Прованс»"]
    assert entry.details["signed_file"]["field"] == "UF_CRM_SIGNED_SCAN"
    assert any(t["title"] == "Доп. соглашение" and t["entityId"] == deal for t in sb.portal.timeline)

    # the agreement row is part of the baseline: the lock keeps it; a second application changes nothing
    sb.portal.flush()
    assert len(sb.rows(2, deal)) == 6
    again = apply(app, agreement_id, agreement_date="2026-08-21")
    assert again == values and len(sb.rows(2, deal)) == 6
    assert D(str(sb.item(2, deal)["opportunity"])) == sum_before + delta


def test_refusals_change_nothing(app: Any) -> None:
    sb = app.sandbox
    deal, _ = order_with_rows(app)
    rows_before = sb.rows(2, deal)
    not_locked = apply(app, agreement(app, deal, [dict(productName="X", price=100, quantity=1)]))
    assert "не заблокирована" in not_locked["error"]
    lock(app, deal)
    no_scan = apply(app, agreement(app, deal, [dict(productName="X", price=100, quantity=1)], scan=False))
    assert "подписанный файл" in no_scan["error"]
    no_rows = apply(app, agreement(app, deal, []))
    assert "нет товарных позиций" in no_rows["error"]
    assert sb.rows(2, deal) == rows_before
    assert not [e for _, e in app.portal_store().history(deal) if e.action == "agreement"]


def test_what_the_portal_refuses_after_applying_does_not_undo_the_answer(app_sqlite: Any) -> None:
    """Applied is applied: a refused timeline line and a refused look-up of the items' responsible people
    leave the deal's responsible person and ``notify_users`` told, and no error for the business process."""
    from sandbox.portal import RestFault

    app, sb = app_sqlite, app_sqlite.sandbox
    deal, _ = order_with_rows(app)
    lock(app, deal)
    item_type = settings(app).item_entity_type_id

    def refuse(method: str, params: dict[str, Any]) -> Any:
        if method.startswith("crm.timeline."):
            return RestFault("ACCESS_DENIED", "Access denied", 403)
        if method == "crm.item.list" and int(params.get("entityTypeId") or 0) == item_type \
                and "assignedById" in (params.get("select") or []):
            return RestFault("ACCESS_DENIED", "Access denied", 403)
        return None

    sb.portal.refuse = refuse
    values = apply(app, agreement(app, deal, [dict(productName="Подсветка LED", price=4500, quantity=1)]),
                   notify_users=["user_6"])
    assert values["error"] == "" and int(values["row_id"]) > 0
    assert any(r["productName"].startswith("Доп. соглашение от") for r in sb.rows(2, deal))
    notified = {n["user_id"] for n in sb.portal.notifications if (n["tag"] or "").startswith("b24goods-agreement")}
    assert notified == {2, 6}  # the deal's responsible person and notify_users; the item's (4) could not be read
    assert any(e.action == "agreement" for _, e in app.portal_store().history(deal))


def test_a_reversing_agreement_voids_the_first(app_sqlite: Any) -> None:
    app, sb = app_sqlite, app_sqlite.sandbox
    deal, _ = order_with_rows(app)
    lock(app, deal)
    total = D(str(sb.item(2, deal)["opportunity"]))
    first = agreement(app, deal, [dict(productName="Подсветка", price=4800, quantity=1)])
    apply(app, first, agreement_date="01.09.2026")
    second = agreement(app, deal, [dict(productName="Подсветка", price=4800, quantity=-1)])
    values = apply(app, second, agreement_date="02.09.2026")
    assert D(str(values["new_sum"])) == total
    state = app.portal_store().order(deal)["agreements"]
    assert state[str(first)]["voided_by"] == second and state[str(second)]["voids"] == first
    summaries = [e.summary for _, e in app.portal_store().history(deal) if e.action == "agreement"]
    assert len(summaries) == 2 and f"отменяет доп. соглашение №{first}" in summaries[0]


@pytest.mark.firestore
def test_two_agreements_at_the_same_moment_both_apply(app_firestore: Any) -> None:
    app = app_firestore
    sb = app.sandbox
    deal, _ = order_with_rows(app)
    lock(app, deal)
    total = D(str(sb.item(2, deal)["opportunity"]))
    ids = [agreement(app, deal, [dict(productName=f"Допработа {n}", price=1000 * (n + 1), quantity=1)]) for n in range(2)]
    kind = settings(app).agreement_entity_type_id
    tokens: list[str] = []
    barrier = threading.Barrier(2)

    def start(agreement_id: int) -> None:
        barrier.wait()
        tokens.append(sb.portal.start_robot(kind, agreement_id, "b24goods_apply_agreement", {"agreement_date": "2026-08-21"}))

    threads = [threading.Thread(target=start, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results = [sb.portal.wait_workflow(t, 120).return_values for t in tokens]
    assert all(r["error"] == "" for r in results), results
    assert D(str(sb.item(2, deal)["opportunity"])) == total + D("3000")
    assert len([r for r in sb.rows(2, deal) if r["productName"].startswith("Доп. соглашение")]) == 2
    state = app.portal_store().order(deal)
    assert {a["state"] for a in state["agreements"].values()} == {"applied"}
    assert len(state["lock"]["baselines"][f"2:{deal}"]) == 7
