"""Reading Excel's CSV and planning the import: pure functions, fast."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from b24goods.domain.csv_rows import classify, decimal_mark, parse_number, parse_rows
from b24goods.domain.csv_table import read_table, sniff_delimiter
from b24goods.domain.import_plan import CatalogProduct, build_plan, describe
from b24goods.domain.rows import ProductRow
from b24goods.errors import CsvError
from tests.csv_corpus import CASES, sample


def parse(data: bytes, **kw: object):  # type: ignore[no-untyped-def]
    return parse_rows(read_table(data, "t.csv"), "t.csv", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("raw, value", [
    ("45 900,00", "45900.00"), ("45\u00a0900,00", "45900.00"), ("1.234,5", "1234.5"), ("1,234.5", "1234.5"),
    ("3,5", "3.5"), ("350 ₽", "350"), ("1 000 руб.", "1000"), ("-4", "-4"), ("0", "0"), ("1.234.567", "1234567"),
])
def test_numbers_as_people_write_them(raw: str, value: str) -> None:
    assert parse_number(raw) == D(value)


@pytest.mark.parametrize("raw", ["три", "4,60701E+12", "", "12a", "1,2,3.4.5"])
def test_not_numbers(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_number(raw)


@pytest.mark.parametrize("title, field, vat, kind", [
    ("Наименование", "name", None, "percent"), ("Кол-во", "quantity", None, "percent"),
    ("Цена с НДС", "price", True, "percent"), ("Price excl. VAT", "price", False, "percent"),
    ("Цена, руб.", "price", None, "percent"), ("Скидка, %", "discount", None, "percent"),
    ("Скидка, руб.", "discount", None, "per_unit"), ("Скидка за ед.", "discount", None, "per_unit"),
    ("Скидка на строку", "discount", None, "row_total"), ("Скидка, сумма", "discount", None, "row_total"),
    ("НДС, %", "vat", None, "percent"), ("Ед.", "unit", None, "percent"), ("Артикул", "article", None, "percent"),
    ("SKU", "article", None, "percent"), ("Исполнитель", "executor", None, "percent"), ("Цвет", None, None, "percent"),
    ("Цена закупки, руб.", "cost", None, "percent"), ("Цена поставщика", "cost", None, "percent"),
    ("Цена продажи", "price", None, "percent"), ("Item No.", "article", None, "percent"),
    ("Item #", "article", None, "percent"), ("Product code", "article", None, "percent"),
    ("Part No.", "article", None, "percent"), ("Артикул товара", "article", None, "percent"),
    ("Товары (работы, услуги)", "name", None, "percent"), ("Сумма НДС", "vat_sum", None, "percent"),
])
def test_header_synonyms(title: str, field: str | None, vat: bool | None, kind: str) -> None:
    assert classify(title) == (field, vat, kind)


def test_sniff_delimiter() -> None:
    assert sniff_delimiter("a;b;c\n1;2,5;3\n") == ";"
    assert sniff_delimiter("a,b,c\n1,2.5,3\n") == ","
    assert sniff_delimiter("a\tb\tc\n1\t2,5\t3\n") == "\t"


def test_cp1251_sample() -> None:
    parsed = parse(sample("order-excel-cp1251.csv"))
    assert parsed.ok and parsed.encoding == "cp1251" and parsed.delimiter == ";"
    names = [r.name for r in parsed.rows]
    assert names[2] == 'Фасад МДФ "Прованс"; эмаль'
    assert [r.quantity for r in parsed.rows] == [D(1), D("3.5"), D(12), D(1), D(1)]
    assert parsed.rows[3].executor == "Петров" and parsed.rows[3].is_service and parsed.rows[3].vat == 0
    assert parsed.rows[0].cost == D("31200.00") and parsed.rows[0].discount.value == D(5)


def test_bom_sample_equals_cp1251_sample() -> None:
    a, b = parse(sample("order-excel-cp1251.csv")), parse(sample("order-excel-utf8-bom.csv"))
    assert b.encoding == "utf-8-sig"
    assert [(r.name, r.quantity, r.list_price) for r in a.rows] == [(r.name, r.quantity, r.list_price) for r in b.rows]


def test_errors_sample_reports_each_line() -> None:
    parsed = parse(sample("order-with-errors-cp1251.csv"))
    assert [(i.line, i.column) for i in parsed.issues] == [(3, "Кол-во"), (4, "Наименование"), (5, "Кол-во"), (6, "Цена")]
    assert "три" in parsed.issues[0].reason


@pytest.mark.parametrize("case", [c for c in CASES if c.errors], ids=lambda c: c.name)
def test_corpus_errors_name_the_line(case) -> None:  # type: ignore[no-untyped-def]
    try:
        parsed = parse(case.data)
    except CsvError as exc:
        assert all(line is None for line, _ in case.errors)
        assert all(word in exc.message for _, word in case.errors)
        return
    found = [(i.line, i.text()) for i in parsed.issues]
    for line, word in case.errors:
        assert any(at == line and word in text for at, text in found), (line, word, found)


def test_price_setting_decides_for_a_plain_price_header() -> None:
    data = "Наименование;Кол-во;Цена;НДС\nСтул;1;1200;20\n".encode()
    assert parse(data).rows[0].price_includes_vat is False
    assert parse(data, price_includes_vat_default=True).rows[0].price_includes_vat is True
    assert parse("Наименование;Цена\nСтул;100\n".encode(), default_vat=D(20)).rows[0].vat == D(20)


def existing(**fields: object) -> ProductRow:
    return ProductRow.model_validate({"id": 1, "productName": "Стул", "price": 500, "quantity": 1, **fields})


def test_plan_upserts_and_never_duplicates() -> None:
    rows = parse("Артикул;Наименование;Кол-во;Цена\nA-1;Стул;1;500\nA-2;Стол;2;900\n".encode()).rows
    matches = {"a:A-1": CatalogProduct(id=7, name="Стул", purchasing_price=D(300))}
    plan = build_plan(rows, matches, [existing(productId=7)], mode="append", create_products=False)
    assert [(r.name, r.op, r.source) for r in plan.rows] == [("Стул", "skip", "matched"), ("Стол", "add", "free_text")]
    assert plan.rows[0].cost == "300"
    plan = build_plan(rows, matches, [existing(productId=7, quantity=4)], mode="append", create_products=True)
    assert [r.op for r in plan.rows] == ["update", "add"] and [d.xml_id for d in plan.drafts] == ["A-2"]


def test_replace_deletes_rows_not_in_the_file() -> None:
    rows = parse("Наименование;Цена\nСтол;900\n".encode()).rows
    plan = build_plan(rows, {}, [existing(id=5), existing(id=6, productName="Стол", price=900)], mode="replace",
                      create_products=False)
    assert plan.deletes == [5] and plan.rows[0].op == "skip" and plan.rows[0].existing_row_id == 6


def test_added_rows_get_unique_sort_markers_after_existing_rows() -> None:
    rows = parse("Наименование;Цена\nA;1\nB;2\nC;3\n".encode()).rows
    plan = build_plan(rows, {}, [existing(sort=70)], mode="append", create_products=False)
    assert [r.row["sort"] for r in plan.rows] == [80, 90, 100]


def test_describe_is_readable() -> None:
    rows = parse("Наименование;Цена\nСтол;900\n".encode()).rows
    text = describe(build_plan(rows, {}, [], mode="append", create_products=False), "f.csv", ["строка 9: плохо"])
    assert "Файл «f.csv»: добавить 1" in text and "строка 2: Стол — добавить (свободная строка), 1 × 900,00" in text
    assert "ошибка: строка 9: плохо" in text
    warned = describe(build_plan(rows, {}, [], mode="append", create_products=False), "f.csv",
                      warnings=["строка 4: сумма не сходится"])
    assert "внимание: строка 4: сумма не сходится" in warned and "ошибка:" not in warned


def test_title_rows_and_totals_are_named_in_warnings_not_imported() -> None:
    parsed = parse(cp1251_bytes("Коммерческое предложение\n\nНаименование;Кол-во;Цена\nСтол;1;100\n"
                                "Итого;;100\n"))
    assert [(r.name, r.line) for r in parsed.rows] == [("Стол", 4)]
    assert not parsed.issues
    assert "Строки над заголовком пропущены: 1" in parsed.warnings
    assert "Итоговые строки не импортируются: 5" in parsed.warnings


def test_a_row_named_total_with_a_quantity_is_an_order_row() -> None:
    parsed = parse(cp1251_bytes("Наименование;Кол-во;Цена\nИтоговая сборка;1;100\n"))
    assert [r.name for r in parsed.rows] == ["Итоговая сборка"]


def test_sep_hint_wins_over_sniffing_and_keeps_line_numbers() -> None:
    parsed = parse(cp1251_bytes("sep=,\nName,Qty,Price\nDesk;oak,x,5\n"))
    assert [(i.line, i.column) for i in parsed.issues] == [(3, "Qty")]


def test_sniffing_ignores_a_title_line_without_separators() -> None:
    assert sniff_delimiter("Order 15\nName,Qty,Price\nDesk,1,5\nChair,2,3\n") == ","


def cp1251_bytes(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("cp1251")


@pytest.mark.parametrize("cells, mark", [
    (["45900.00", "3.5", "1"], "."), (["1,234.50"], "."), (["45 900,00", "3,5"], ","), (["1.234,50"], ","),
    (["1,250", "1.250", "12", ""], None), (["99.90", "45 900,00", "3,5"], ","),
])
def test_the_file_tells_its_decimal_mark(cells: list[str], mark: str | None) -> None:
    assert decimal_mark(cells) == mark


def test_comma_groups_follow_the_file() -> None:
    assert parse_number("1,250", comma_groups=True) == D("1250")
    assert parse_number("12,345,678", comma_groups=True) == D("12345678")
    assert parse_number("1,250", comma_groups=False) == D("1.250")
    assert parse_number("1,5", comma_groups=True) == D("1.5")  # not a thousands group: a decimal comma anyway
    with pytest.raises(ValueError, match="неоднозначно"):
        parse_number("1,250", comma_groups=None)


@pytest.mark.parametrize("raw, value", [("1000р", "1000"), ("1 200 р.", "1200"), ("99,90 rub.", "99.90")])
def test_rouble_marks_after_a_number(raw: str, value: str) -> None:
    assert parse_number(raw) == D(value)


def test_a_vat_cell_may_name_the_tax() -> None:
    parsed = parse("Наименование;Кол-во;Цена;НДС\nСтол;1;100;НДС 20%\nСтул;1;100;Без НДС\n".encode("cp1251"))
    assert parsed.ok and [r.vat for r in parsed.rows] == [D(20), D(0)]


@pytest.mark.parametrize("title, field", [("№", "position"), ("#", "position"), ("№ п/п", "position"),
                                          ("%", None), ("-", None), ("Сумма, руб.", "total")])
def test_columns_of_marks_only(title: str, field: str | None) -> None:
    assert classify(title)[0] == field


def test_form_columns_are_known_not_unknown() -> None:
    parsed = parse("№ п/п;Наименование;Кол-во;Цена;Сумма, руб.\n1;Стол;2;1 000,00;2 000,00\n".encode("cp1251"))
    assert parsed.ok and [r.name for r in parsed.rows] == ["Стол"]
    assert not [w for w in parsed.warnings if "Неизвестные" in w]


def test_a_row_total_that_disagrees_is_named_by_line() -> None:
    """``1,250`` read as 1,25 (a comma decimal) while the row's own total says 375: the line is flagged."""
    text = ("Наименование;Кол-во;Цена;Скидка;НДС;Сумма\n"
            "Стол;2;1 000,00;10;20;2 160,00\n"     # after discount, VAT added: agrees
            "Стул;4;500;0;20;2000\n"               # without VAT: agrees
            "Шкаф;3;1,250;0;0;375,00\n")           # disagrees
    parsed = parse(text.encode("cp1251"))
    assert parsed.ok and len(parsed.rows) == 3
    flagged = [w for w in parsed.warnings if "не сходится" in w]
    assert len(flagged) == 1 and flagged[0].startswith("строка 4, столбец «Сумма»") and "375,00" in flagged[0]


def test_amount_beside_a_quantity_is_money_alone_it_is_a_quantity() -> None:
    both = parse(b"Name,Qty,Price,Amount\nTable,2,10.50,21.00\n")
    assert both.ok and both.rows[0].quantity == D(2)
    alone = parse(b"Name,Price,Amount\nTable,10.50,3\n")
    assert alone.ok and alone.rows[0].quantity == D(3)


def test_a_header_without_rows_is_refused() -> None:
    parsed = parse("Наименование;Кол-во;Цена\n;;\n".encode("cp1251"))
    assert not parsed.ok and "нет ни одной строки" in parsed.issues[0].reason


@pytest.mark.parametrize("data, kind", [
    (b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n<Workbook>', "XML Spreadsheet 2003"),
    (b"\xef\xbb\xbf<!DOCTYPE html><html><body><table><tr><td>1</td></tr></table>", "веб-страница (HTML)"),
    (b"<table><tr><td>\xd2\xee\xe2\xe0\xf0</td></tr></table>", "веб-страница (HTML)"),
])
def test_excels_other_save_as_types_are_named_with_how_to_save_a_csv(data: bytes, kind: str) -> None:
    with pytest.raises(CsvError) as info:
        read_table(data, "заказ.csv")
    assert kind in info.value.user_message and "CSV" in info.value.user_message
    assert info.value.code == "NOT_A_CSV"


def test_a_csv_that_starts_with_a_bracket_is_still_a_csv() -> None:
    parsed = parse("<Наименование>;Кол-во;Цена\n<b>Стол</b>;1;10\n".encode("cp1251"))
    assert parsed.issues and "Наименование" in parsed.issues[0].reason  # parsed as a table, not refused as markup


@pytest.mark.parametrize("encoding", ["cp1251", "mac_cyrillic", "cp866", "koi8_r"])
def test_single_byte_cyrillic_encodings_are_told_apart(encoding: str) -> None:
    """Windows Excel (cp1251), Excel for Mac's legacy CSV (MacCyrillic), DOS (cp866), old Unix (KOI8-R)."""
    text = ("Артикул;Наименование;Ед.;Кол-во;Цена\n"
            "ШК-001;Шкаф-купе Прованс, ЁЛКА;шт;1;45 900,00\n"
            ";Сборка и монтаж мебели;усл;1;9 800,00\n")
    parsed = parse(text.encode(encoding))
    assert parsed.ok and parsed.encoding == encoding
    assert [r.name for r in parsed.rows] == ["Шкаф-купе Прованс, ЁЛКА", "Сборка и монтаж мебели"]


def test_a_discounted_price_beside_the_list_price_is_the_forms_own_arithmetic() -> None:
    parsed = parse("Наименование;Кол-во;Цена;Скидка, %;Цена со скидкой\nСтол;2;1 000,00;10;900,00\n".encode("cp1251"))
    assert parsed.ok and parsed.rows[0].list_price == D("1000.00") and parsed.rows[0].discount.value == D(10)


def test_a_discounted_price_alone_is_the_price_with_nothing_left_to_discount() -> None:
    parsed = parse("Наименование;Кол-во;Цена со скидкой, руб.\nСтол;2;900,00\n".encode("cp1251"))
    assert parsed.ok and parsed.rows[0].list_price == D("900.00") and parsed.rows[0].discount.value == 0


def test_a_discounted_price_with_a_discount_column_would_discount_twice() -> None:
    parsed = parse("Наименование;Кол-во;Скидка;Цена со скидкой\nСтол;2;10;900,00\n".encode("cp1251"))
    assert not parsed.ok and parsed.rows == []
    assert parsed.issues[0].column == "Цена со скидкой" and "скидка уже учтена" in parsed.issues[0].reason


def test_an_english_invoice_layout() -> None:
    parsed = parse(b"Item No.,Description,Qty,Unit Price,VAT amount,Line Total\n"
                   b"A-17,Oak table,2,100.00,40.00,200.00\n")
    assert parsed.ok and [(r.article, r.name, r.quantity) for r in parsed.rows] == [("A-17", "Oak table", D(2))]
    assert not [w for w in parsed.warnings if "Неизвестные" in w]
