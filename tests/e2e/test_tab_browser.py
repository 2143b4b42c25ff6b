"""The "Товары и услуги" tab in a real browser: Playwright driving Debian's Chromium (headless), the tab served by
the placement function under functions-framework, opened the way the portal opens it (a POST from the card's
frame). Screenshots go to tests/artifacts/."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent.parent
SAMPLES = ROOT.parent / "shared" / "samples"
ARTIFACTS = ROOT / "tests" / "artifacts"
NBSP = "\u00a0"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str:
    path = os.environ.get("B24GOODS_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        raise RuntimeError("Chromium is not installed: .ci/run installs Debian's chromium package")
    return path


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 900, "height": 900}, locale="ru-RU")
    # no network beyond loopback: the Bitrix24 JS SDK cannot load here, and the page must work without it
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    p = context.new_page()
    yield p
    context.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def open_tab(page: Any, sb: Any, deal: int, user: int = 1, code: str = "CRM_DEAL_DETAIL_TAB") -> None:
    page.goto(f"{sb.url}/_sandbox/card/{code}/{deal}?user={user}")
    page.wait_for_selector("#total-sum")


def rub(value: str) -> str:
    from b24goods.domain.money import format_rub

    return format_rub(Decimal(value))


def mixed_deal(app: Any) -> int:
    sb = app.sandbox
    deal = sb.add_deal(title="Кухня Иванова", assignedById=2)
    sb.add_row(2, deal, productId=1, price=45900, quantity=2, taxRate=20, taxIncluded="Y", discountTypeId=2,
               discountRate=5)
    sb.add_row(2, deal, productId=3, price=4250.5, quantity=3, taxRate=20, taxIncluded="N")
    sb.add_row(2, deal, productName="Монтаж кухни", price=7000, quantity=1, discountTypeId=1, discountSum=500)
    return deal


def test_tab_shows_the_same_totals_as_recalc_sum(app_sqlite: Any, page: Any) -> None:
    sb = app_sqlite.sandbox
    app_sqlite.portal_store().update_settings(margin_viewers=[1])
    deal = mixed_deal(app_sqlite)
    values = app_sqlite.run_robot(2, deal, "b24goods_recalc_sum").return_values
    assert values["error"] == ""
    open_tab(page, sb, deal)
    assert page.inner_text("#total-sum") == rub(values["sum"])
    assert page.inner_text("#total-tax") == rub(values["tax_sum"])
    assert page.inner_text("#total-discount") == rub(values["discount_sum"])
    assert page.inner_text("#total-cost") == rub(values["cost_sum"])
    assert rub(values["margin"]) in page.inner_text("#total-margin")
    assert re.fullmatch(r"\d{1,3}(\u00a0\d{3})*,\d{2}\u00a0₽", page.inner_text("#total-sum"))
    names = page.locator("table.rows tbody tr td:first-child").all_inner_texts()
    assert any("Монтаж кухни" in n for n in names) and len(names) == 3
    shot(page, "tab-deal-mixed")
    # a user outside margin_viewers sees no cost or margin
    open_tab(page, sb, deal, user=2)
    assert page.locator("#total-cost").count() == 0 and page.locator("#total-margin").count() == 0
    assert page.inner_text("#total-sum") == rub(values["sum"])


def test_preview_lists_every_error_by_line_and_writes_nothing(app_sqlite: Any, page: Any) -> None:
    sb = app_sqlite.sandbox
    deal = sb.add_deal(title="Заказ с ошибками")
    open_tab(page, sb, deal)
    calls = len(sb.portal.calls)
    page.set_input_files("input[name=file]", str(SAMPLES / "order-with-errors-cp1251.csv"))
    page.click("text=Проверить файл")
    page.wait_for_selector("#preview")
    errors = page.locator("#preview-errors li").all_inner_texts()
    for line in (3, 4, 5, 6):
        assert any(f"строка {line}" in e for e in errors), errors
    assert len(errors) >= 4
    assert page.locator("#confirm-import").count() == 0  # nothing to confirm while the file has errors
    shot(page, "tab-preview-errors")
    writes = [c for c in sb.portal.calls[calls:] if c.endswith((".add", ".update", ".delete", ".set"))]
    assert writes == [] and sb.rows(2, deal) == []


def test_confirmed_import_shows_the_new_rows(app_sqlite: Any, page: Any, tmp_path: Path) -> None:
    sb = app_sqlite.sandbox
    deal = sb.add_deal(title="Заказ из Excel", assignedById=2)
    open_tab(page, sb, deal)
    form = tmp_path / "order-form.csv"  # the sample under a title line and over a totals line
    lines = SAMPLES.joinpath("order-excel-cp1251.csv").read_bytes().rstrip(b"\r\n").split(b"\r\n")
    form.write_bytes(b"\r\n".join(["Спецификация к заказу".encode("cp1251"), *lines,
                                    "Итого;;;;".encode("cp1251")]) + b"\r\n")
    page.set_input_files("input[name=file]", str(form))
    page.click("text=Проверить файл")
    page.wait_for_selector("#preview-rows")
    planned = page.locator("#preview-rows tbody tr, #preview-rows tr:has(td)").count()
    assert planned == 5
    shot(page, "tab-preview-form")
    warnings = page.inner_text("#preview-warnings")
    assert "над заголовком пропущены: 1" in warnings and f"Итоговые строки не импортируются: {len(lines) + 2}" in warnings
    assert "товар из каталога" in page.inner_text("#preview-rows")
    assert sb.rows(2, deal) == []  # the preview wrote nothing
    page.click("#confirm-import")
    page.wait_for_selector("#message")
    assert "Импорт «order-form.csv» из вкладки: добавлено 5" in page.inner_text("#message")
    rows = sb.rows(2, deal)
    assert len(rows) == 5
    shown = page.locator("table.rows tbody tr[data-row]").count()
    assert shown == 5
    opportunity = Decimal(str(sb.item(2, deal)["opportunity"]))
    assert page.inner_text("#total-sum") == rub(str(opportunity))
    assert "импорт" in page.inner_text("#history")
    shot(page, "tab-after-import")


def test_editing_a_row_updates_the_row_the_sum_and_history(app_sqlite: Any, page: Any) -> None:
    sb = app_sqlite.sandbox
    deal = mixed_deal(app_sqlite)
    open_tab(page, sb, deal)
    row = sb.rows(2, deal)[1]  # price 4 250,50 (Bitrix24's price holds the tax), 20 % VAT not included
    line = page.locator(f"tr[data-row='{row['id']}']")
    assert line.locator("input[name=list_price]").input_value() == f"3{NBSP}542,08"  # the list price without VAT
    line.locator("input[name=quantity]").fill("5")
    line.locator("input[name=discount_rate]").fill("10")
    line.locator("text=Сохранить").click()
    page.wait_for_selector("#message")
    updated = next(r for r in sb.rows(2, deal) if r["id"] == row["id"])
    assert updated["quantity"] == 5.0 and updated["discountRate"] == 10.0
    assert Decimal(str(updated["price"])).quantize(Decimal("0.01")) == Decimal("3825.45")  # 3542.08 × 0.9 × 1.2
    opportunity = Decimal(str(sb.item(2, deal)["opportunity"]))
    assert page.inner_text("#total-sum") == rub(str(opportunity))
    assert "правка" in page.inner_text("#history")
    # a bad number is refused with the field named, and nothing changes
    line = page.locator(f"tr[data-row='{row['id']}']")
    line.locator("input[name=quantity]").fill("пять")
    line.locator("text=Сохранить").click()
    page.wait_for_selector("#error")
    assert "Количество" in page.inner_text("#error")
    assert next(r for r in sb.rows(2, deal) if r["id"] == row["id"])["quantity"] == 5.0


def test_locked_deal_cannot_be_edited_from_the_tab(app_sqlite: Any, page: Any) -> None:
    sb = app_sqlite.sandbox
    deal = mixed_deal(app_sqlite)
    values = app_sqlite.run_robot(2, deal, "b24goods_lock_rows", {"action": "lock", "reason": "Договор подписан"})
    assert values.return_values["error"] == ""
    open_tab(page, sb, deal)
    assert "Договор подписан" in page.inner_text("#lock")
    assert page.locator("#new-agreement").count() == 1
    inputs = page.locator("table.rows input")
    assert inputs.count() >= 6 and all(inputs.nth(i).is_disabled() for i in range(inputs.count()))
    assert page.locator("text=Сохранить").count() == 0 and page.locator("input[name=file]").count() == 0
    shot(page, "tab-locked")
    # even a hand-made edit request with a valid session is refused and changes nothing
    session = page.locator("input[name=tab_session]").first.get_attribute("value")
    row = sb.rows(2, deal)[0]
    resp = requests.post(page.url, data={"tab_session": session, "op": "edit", "row_id": row["id"], "quantity": "9",
                                         "list_price": "1", "discount_rate": "0"}, timeout=30)
    assert resp.status_code == 200 and "доп. соглашением" in resp.text
    assert sb.rows(2, deal)[0]["quantity"] == row["quantity"]


def test_item_tab_and_narrow_width(app_sqlite: Any, browser: Any) -> None:
    sb = app_sqlite.sandbox
    item_type = app_sqlite.portal_store().settings().item_entity_type_id
    deal = sb.add_deal(title="Шкаф")
    item = sb.add_item(item_type, parentId2=deal, title="Корпус")
    sb.add_row(item_type, item, productName="Корпус шкафа, ЛДСП 18 мм", price=123456.78, quantity=1)
    context = browser.new_context(viewport={"width": 420, "height": 800})
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
    narrow = context.new_page()
    open_tab(narrow, sb, item, code=f"CRM_DYNAMIC_{item_type}_DETAIL_TAB")
    assert narrow.inner_text("#total-sum") == f"123{NBSP}456,78{NBSP}₽"
    assert narrow.evaluate("document.documentElement.scrollWidth") <= 420
    shot(narrow, "tab-item-narrow")
    context.close()


def test_forged_placement_call_gets_401_and_no_data(app_sqlite: Any) -> None:
    sb = app_sqlite.sandbox
    deal = mixed_deal(app_sqlite)
    url, form = sb.portal.placement_request("CRM_DEAL_DETAIL_TAB", deal, 1)
    calls = len(sb.portal.calls)
    forged = requests.post(url, data={**form, "APPLICATION_TOKEN": "forged"}, timeout=30)
    assert forged.status_code == 401 and "Монтаж" not in forged.text
    assert sb.portal.calls[calls:] == []  # refused before any REST call
    no_user = requests.post(url, data={**form, "AUTH_ID": "not-a-token"}, timeout=30)
    assert no_user.status_code == 401 and "Монтаж" not in no_user.text
    bad_session = requests.post(url, data={"tab_session": "eyJ4Ijoi.forged", "op": "history"}, timeout=30)
    assert bad_session.status_code == 401
    ok = requests.post(url, data=form, timeout=30)
    assert ok.status_code == 200 and "Монтаж кухни" in ok.text
