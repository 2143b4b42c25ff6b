"""import_csv end to end: files uploaded into the card, the robot called by the sandbox, rows in the portal."""

from __future__ import annotations

import base64
from decimal import Decimal as D
from typing import Any

import pytest

from tests.csv_corpus import CASES, sample

FIELD = "UF_CRM_ORDER_FILE"


def upload(sb: Any, data: bytes, name: str = "order.csv", entity_type_id: int = 2, item_id: int | None = None, **fields: Any) -> int:
    value = [name, base64.b64encode(data).decode()]
    if item_id is None:
        return sb.add_item(entity_type_id, **{FIELD: value, "title": "Заказ", **fields})
    sb.update(entity_type_id, item_id, **{FIELD: value})
    return item_id


def run_import(app: Any, item_id: int, entity_type_id: int = 2, **props: str) -> Any:
    wf = app.run_robot(entity_type_id, item_id, "b24goods_import_csv", {"file_field": FIELD, **props})
    assert wf.status == "done", wf
    return wf.return_values


def rows_of(sb: Any, item_id: int, entity_type_id: int = 2) -> dict[str, tuple[str, str]]:
    def plain(value: Any) -> str:
        return f"{D(str(value)):f}".rstrip("0").rstrip(".")
    return {r["productName"]: (plain(r["quantity"]), plain(r["price"])) for r in sb.rows(entity_type_id, item_id)}


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_corpus_through_the_robot(app_sqlite: Any, case: Any) -> None:
    sb = app_sqlite.sandbox
    deal = upload(sb, case.data)
    values = run_import(app_sqlite, deal, **case.props)
    if case.errors:
        assert values["error"], values
        for line, word in case.errors:
            assert word in values["error"] + values["report"], (word, values)
            if line is not None:
                assert f"строка {line}" in values["error"] + values["report"]
        assert sb.rows(2, deal) == [] and sb.item(2, deal)["opportunity"] == 0.0  # nothing written
    else:
        assert values["error"] == "", values
        assert rows_of(sb, deal) == case.rows
        assert int(values["rows_added"]) == len(case.rows)
        assert D(str(values["sum"])) == D(str(sb.item(2, deal)["opportunity"]))


def test_sample_cp1251_into_a_deal_with_catalog_and_new_products(app: Any) -> None:
    sb = app.sandbox
    deal = upload(sb, sample("order-excel-cp1251.csv"))
    values = run_import(app, deal, create_products="Y")
    assert values["error"] == ""
    assert (values["rows_added"], values["products_created"]) == (5, 1)
    rows = sb.rows(2, deal)
    by_name = {r["productName"]: r for r in rows}
    assert by_name["Шкаф-купе 2-дверный, дуб сонома"]["productId"] == 1  # matched by article SH-001
    assert by_name["Доставка по городу"]["productId"] == 9  # matched by name (a service without article)
    assert by_name["Столешница, пластик HPL 38 мм"]["measureCode"] == 6  # «м»
    created = [p for p in sb.portal.products.values() if p["name"] == "Сборка и монтаж мебели"]
    assert len(created) == 1 and created[0]["type"] == 7 and created[0]["purchasingPrice"] == 5000.0
    # 45900 × 0.95 × 1.2 + 4250.5 × 3.5 × 1.2 + 3180 × 0.9 × 1.2 × 12 + 2500 + 9800 × 1.2
    assert D(str(values["sum"])) == D("52326.00") + D("17852.10") + D("41212.80") + D("2500.00") + D("11760.00")
    assert sb.item(2, deal)["isManualOpportunity"] == "Y"
    assert "Импорт" in sb.portal.timeline[-1]["title"]
    history = app.portal_store().history(deal)
    assert history[0][1].action == "import" and "order.csv" in history[0][1].summary
    # costs are snapshotted per row: the margin uses the file's cost for the created product
    wf = app.run_robot(2, deal, "b24goods_recalc_sum")
    assert D(str(wf.return_values["cost_sum"])) == D("31200") + D("2900") * D("3.5") + D("1950.40") * 12 + D("1200") + D("5000")


def test_running_twice_changes_nothing_and_creates_no_product_twice(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal = upload(sb, sample("order-excel-utf8-bom.csv"))
    first = run_import(app_sqlite, deal, create_products="Y")
    products = len(sb.portal.products)
    ids = [r["id"] for r in sb.rows(2, deal)]
    second = run_import(app_sqlite, deal, create_products="Y")
    assert (first["rows_added"], second["rows_added"], second["rows_skipped"]) == (5, 0, 5)
    assert second["products_created"] == 0 and len(sb.portal.products) == products
    assert [r["id"] for r in sb.rows(2, deal)] == ids


def test_replace_mode_keeps_ids_of_rows_that_stay(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal = upload(sb, sample("order-excel-cp1251.csv"))
    run_import(app_sqlite, deal)
    keep = {r["productName"]: r["id"] for r in sb.rows(2, deal)}
    upload(sb, "Артикул;Наименование;Кол-во;Цена;Скидка, %;НДС, %\nSH-001;Шкаф-купе 2-дверный, дуб сонома;2;45 900,00;5;20\n"
           .encode("cp1251"), item_id=deal)
    values = run_import(app_sqlite, deal, mode="replace")
    rows = sb.rows(2, deal)
    assert len(rows) == 1 and rows[0]["id"] == keep["Шкаф-купе 2-дверный, дуб сонома"] and rows[0]["quantity"] == 2.0
    assert values["rows_updated"] == 1 and D(str(values["sum"])) == D("104652.00")


def test_errors_file_reports_every_line_and_writes_nothing(app: Any) -> None:
    sb = app.sandbox
    deal = upload(sb, sample("order-with-errors-cp1251.csv"), name="заказ с ошибками.csv")
    values = run_import(app, deal)
    assert "заказ с ошибками.csv" in values["error"] and "ничего не импортировано" in values["error"]
    for line in (3, 4, 5, 6):
        assert f"строка {line}" in values["report"]
    assert sb.rows(2, deal) == []


def test_dry_run_returns_the_plan_and_writes_nothing(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal = upload(sb, sample("order-utf8-comma.csv"))
    calls_before = len(sb.portal.calls)
    values = run_import(app_sqlite, deal, dry_run="Y", create_products="Y")
    assert values["error"] == "" and values["rows_added"] == 3 and values["products_created"] == 1
    assert "Пробный запуск" in values["report"] and "NEW-900" not in values["report"]
    assert "Handle set, brushed steel — добавить (новый товар)" in values["report"]
    assert sb.rows(2, deal) == []
    writes = [c for c in sb.portal.calls[calls_before:] if c.endswith((".add", ".update", ".delete"))]
    assert writes == []
    dry_errors = run_import(app_sqlite, upload(sb, sample("order-with-errors-cp1251.csv")), dry_run="Y")
    assert "строка 3" in dry_errors["report"] and dry_errors["rows_added"] == 1


def test_import_into_a_smart_process_item(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    item_type = app_sqlite.portal_store().settings().item_entity_type_id
    deal = sb.add_deal()
    item = upload(sb, sample("order-utf8-comma.csv"), entity_type_id=item_type, parentId2=deal)
    values = run_import(app_sqlite, item, entity_type_id=item_type)
    assert values["error"] == "" and values["rows_added"] == 3
    assert {r["ownerType"] for r in sb.rows(item_type, item)} == {"T" + format(item_type, "x")}
    # the import writes its entry; the sync its own rows' echo causes may write one after it (no order between them)
    imports = [e for _, e in app_sqlite.portal_store().history(deal) if e.action == "import"]
    assert len(imports) == 1 and "order.csv" in imports[0].summary and imports[0].document == f"{item_type}:{item}"


def test_a_file_link_to_another_host_is_refused(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal = sb.add_deal()
    sb.portal.items[2][deal]["_uf"][FIELD] = {"id": 1, "url": "x", "urlMachine": "http://169.254.169.254/latest/meta-data"}
    values = run_import(app_sqlite, deal)
    assert "не на ваш портал" in values["error"]


def test_size_limit(app_sqlite: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from b24goods.config import reset_config

    monkeypatch.setenv("B24GOODS_MAX_CSV_BYTES", "1000")
    reset_config()
    sb = app_sqlite.sandbox
    deal = upload(sb, ("Наименование;Цена\n" + "Стул;1\n" * 500).encode())
    values = run_import(app_sqlite, deal)
    assert "больше" in values["error"] and sb.rows(2, deal) == []


def test_missing_file_and_bad_properties_are_reported(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal = sb.add_deal()
    assert "нет файла" in run_import(app_sqlite, deal)["error"]
    wf = app_sqlite.run_robot(2, deal, "b24goods_import_csv", {"file_field": "TITLE"})
    assert "UF_CRM" in wf.return_values["error"]
    wf = app_sqlite.run_robot(2, deal, "b24goods_import_csv", {"file_field": FIELD, "mode": "merge"})
    assert "append" in wf.return_values["error"]


def test_progress_is_logged_for_a_long_file(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    body = "".join(f"Позиция {i};{i % 7 + 1};{100 + i},50\n" for i in range(260))
    deal = upload(sb, ("Наименование;Кол-во;Цена\n" + body).encode())
    token = sb.portal.start_robot(2, deal, "b24goods_import_csv", {"file_field": FIELD})
    wf = sb.portal.wait_workflow(token, 60)
    assert wf.return_values["rows_added"] == 260 and len(sb.rows(2, deal)) == 260
    assert any("план готов" in line for line in wf.logs) and any("половина" in line for line in wf.logs)


def test_file_proxy_that_wants_the_token_and_a_camel_case_field_code(app_sqlite: Any) -> None:
    """``urlMachine`` links may need the application's ``auth`` token; admins may paste ``ufCrm...`` codes."""
    sb = app_sqlite.sandbox
    sb.portal.file_proxy_auth = True
    deal = upload(sb, sample("order-utf8-comma.csv"))
    values = run_import(app_sqlite, deal, file_field="ufCrmOrderFile")
    assert values["error"] == "" and values["rows_added"] == 3
    assert len(sb.rows(2, deal)) == 3



def test_a_large_catalog_without_totals_is_searched_not_duplicated(app_sqlite: Any) -> None:
    """With no ``total`` a full first page of the catalog cannot be taken for all of it."""
    sb = app_sqlite.sandbox
    for n in range(60):  # the sample's products now sit beyond the first page of 50
        pid = sb.portal.next_id()
        sb.portal.products[pid] = {"id": pid, "iblockId": sb.portal.iblock_id, "name": f"Заглушка {n}",
                                   "active": "Y", "xmlId": f"z{pid}", "type": 1, "purchasingPrice": 1,
                                   "purchasingCurrency": "RUB", "measureCode": 796, "vatIncluded": "N", "price": 1}
    for pid in sorted(sb.portal.products)[:5]:  # seeded products move to the end of the id order
        product = sb.portal.products.pop(pid)
        product["id"] = new = sb.portal.next_id()
        sb.portal.products[new] = product
    sb.portal.omit_totals = True
    before = len(sb.portal.products)
    deal = upload(sb, sample("order-excel-cp1251.csv"))
    values = run_import(app_sqlite, deal, create_products="Y")
    assert values["error"] == "" and values["rows_added"] == 5
    assert int(values["products_created"]) == 1 and len(sb.portal.products) == before + 1


def content(sb: Any, deal: int) -> list[tuple[str, str, str, str]]:
    """Rows as the manager sees them (ids aside): name, quantity, price, discount."""
    return sorted((r["productName"], str(r["quantity"]), str(r["price"]), str(r["discountRate"])) for r in sb.rows(2, deal))


def refuse_row(sb: Any, name: str) -> None:
    from sandbox.portal import RestFault

    def refuse(method: str, params: dict[str, Any]) -> Any:
        fields = params.get("fields") or {}
        if method == "crm.item.productrow.add" and fields.get("productName") == name:
            return RestFault("ACCESS_DENIED", "Access denied", 403)
        return None

    sb.portal.refuse = refuse


def test_a_write_the_portal_refuses_takes_the_whole_import_back(app_sqlite: Any) -> None:
    """replace: rows updated and deleted in the same batch as the refused add get their old content back."""
    sb = app_sqlite.sandbox
    deal = upload(sb, sample("order-excel-cp1251.csv"))
    assert run_import(app_sqlite, deal)["rows_added"] == 5
    before, sum_before = content(sb, deal), sb.item(2, deal)["opportunity"]
    upload(sb, sample("order-utf8-comma.csv"), item_id=deal)
    refuse_row(sb, "Handle set, brushed steel")
    values = run_import(app_sqlite, deal, mode="replace")
    assert "строку 4" in values["error"] and "импорт отменён" in values["error"], values
    assert content(sb, deal) == before
    assert sb.item(2, deal)["opportunity"] == sum_before
    sb.portal.refuse = None
    values = run_import(app_sqlite, deal, mode="replace")  # the same file once the portal allows it
    assert values["error"] == "" and len(sb.rows(2, deal)) == 3


def test_a_refusal_in_a_late_chunk_takes_back_the_chunks_already_written(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    body = "".join(f"Позиция {i};1;{100 + i}\n" for i in range(160))
    deal = upload(sb, ("Наименование;Кол-во;Цена\n" + body).encode())
    refuse_row(sb, "Позиция 130")
    values = run_import(app_sqlite, deal)
    assert "строку 132" in values["error"], values
    assert sb.rows(2, deal) == []
    adds = sb.portal.calls.count("crm.item.productrow.add")
    deletes = sb.portal.calls.count("crm.item.productrow.delete")
    assert adds == 150 and deletes == 149  # chunks 1-3 sent (the 4th never), every row that got in taken out


@pytest.mark.parametrize("refused", [("crm.timeline.logmessage.add",),
                                     ("crm.timeline.logmessage.add", "crm.timeline.comment.add")])
def test_a_timeline_line_the_portal_refuses_does_not_fail_a_done_import(app_sqlite: Any,
                                                                       refused: tuple[str, ...]) -> None:
    from sandbox.portal import RestFault

    sb = app_sqlite.sandbox

    def refuse(method: str, params: dict[str, Any]) -> Any:
        return RestFault("ERROR_METHOD_NOT_FOUND", "Method not found", 404) if method in refused else None

    sb.portal.refuse = refuse
    deal = upload(sb, sample("order-utf8-comma.csv"))
    values = run_import(app_sqlite, deal)
    assert values["error"] == "" and values["rows_added"] == 3 and len(sb.rows(2, deal)) == 3
    lines = [t for t in sb.portal.timeline if t.get("entityId") == deal]
    if len(refused) == 1:  # no log messages on this portal: a comment instead
        assert [t["kind"] for t in lines] == ["comment"] and lines[0]["text"].startswith("Импорт товаров из CSV: ")
    else:  # nothing in the card, the order's history still has it
        assert lines == []
        assert any(e.action == "import" for _, e in app_sqlite.portal_store().history(deal))


def test_rows_written_but_sum_refused_says_so_with_the_true_counts(app_sqlite: Any) -> None:
    """The robot's user may write rows but not the deal's sum: the answer keeps the counts of what was done."""
    from sandbox.portal import RestFault

    sb = app_sqlite.sandbox

    def refuse(method: str, params: dict[str, Any]) -> Any:
        if method == "crm.item.update" and "opportunity" in (params.get("fields") or {}):
            return RestFault("ACCESS_DENIED", "Access denied", 403)
        return None

    sb.portal.refuse = refuse
    deal = upload(sb, sample("order-utf8-comma.csv"))
    values = run_import(app_sqlite, deal)
    assert values["rows_added"] == 3 and len(sb.rows(2, deal)) == 3
    assert values["error"].startswith("Позиции записаны (добавлено 3, обновлено 0), но сумма не пересчитана")
    assert sb.item(2, deal)["isManualOpportunity"] != "Y"
    history = [e for _, e in app_sqlite.portal_store().history(deal)]
    assert history and history[0].action == "import" and "сумма не пересчитана" in history[0].summary
