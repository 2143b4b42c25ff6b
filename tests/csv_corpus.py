"""A corpus of nasty CSV files, generated (the samples in ../shared/samples are used as they are).

Each case: the bytes, then what the import must do — rows expected in the deal (name → (quantity, price))
or the errors expected (line numbers and a word of the reason), with nothing written.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent.parent / "shared" / "samples"
if not SAMPLES.is_dir():  # a checkout with shared/ inside
    SAMPLES = Path(__file__).resolve().parent.parent / "shared" / "samples"


@dataclass
class Case:
    name: str
    data: bytes
    rows: dict[str, tuple[str, str]] = field(default_factory=dict)  # name → (quantity, price as written to the portal)
    errors: list[tuple[int | None, str]] = field(default_factory=list)  # (line, substring of the reason)
    props: dict[str, str] = field(default_factory=dict)


def cp1251(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("cp1251")


def xlsx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", "<workbook/>")
    return buf.getvalue()


CASES = [
    Case("utf8-no-bom-semicolon", "Наименование;Кол-во;Цена\nСтул;4;1 250,50\n".encode(),
         rows={"Стул": ("4", "1250.5")}),
    Case("utf16-excel-unicode-text", "Наименование\tКоличество\tЦена\r\nСтол\t2\t7 500,00\r\n".encode("utf-16"),
         rows={"Стол": ("2", "7500")}),
    Case("nbsp-thousands", "Товар;Кол-во;Цена\nКровать;1;45\u00a0900,00\nТумба;2;3\u202f100,00\n".encode(),
         rows={"Кровать": ("1", "45900"), "Тумба": ("2", "3100")}),
    Case("quoted-line-break", cp1251('Наименование;Кол-во;Цена\n"Шкаф\nугловой; белый";1;12 000\nПолка;3;900\n'),
         rows={"Шкаф\nугловой; белый": ("1", "12000"), "Полка": ("3", "900")}),
    Case("price-with-vat-header", cp1251("Наименование;Кол-во;Цена с НДС;НДС\nДиван;1;60 000,00;20\n"),
         rows={"Диван": ("1", "60000")}),
    Case("price-without-vat-header", cp1251("Наименование;Кол-во;Цена без НДС;НДС\nДиван;1;50 000,00;20\n"),
         rows={"Диван": ("1", "60000")}),
    Case("discount-money-per-unit", cp1251("Наименование;Кол-во;Цена;Скидка, руб.\nСтул;4;1 000;150\n"),
         rows={"Стул": ("4", "850")}),
    Case("discount-on-row-total-not-dividing", cp1251("Наименование;Кол-во;Цена;Скидка на строку\nЛампа;3;100;10\n"),
         rows={"Лампа": ("3", "96.66666667")}),
    Case("percent-with-space-and-sign", b"Name;Qty;Price;Discount\nDesk;2;1000;10,5 %\n",
         rows={"Desk": ("2", "895")}),
    Case("dot-thousands-comma-decimal", cp1251("Наименование;Кол-во;Цена\nКухня;1;1.234.567,89\n"),
         rows={"Кухня": ("1", "1234567.89")}),
    Case("english-tab-price-incl-vat", b"SKU\tName\tQty\tPrice incl. VAT\tVAT\nX-1\tChair\t2\t1200\t20\n",
         rows={"Chair": ("2", "1200")}),
    Case("duplicate-article-same-price-merged", cp1251("Артикул;Наименование;Кол-во;Цена\nA-1;Стул;2;500\nA-1;Стул;3;500\n"),
         rows={"Стул": ("5", "500")}),
    Case("trailing-empty-lines-and-separators", cp1251("Наименование;Кол-во;Цена;;\nСтул;1;500;;\n\n;;;;\n\n"),
         rows={"Стул": ("1", "500")}),
    Case("unknown-columns-are-not-fatal", cp1251("Наименование;Кол-во;Цена;Цвет;Склад\nСтул;1;500;белый;1\n"),
         rows={"Стул": ("1", "500")}),
    Case("duplicate-article-other-price", cp1251("Артикул;Наименование;Кол-во;Цена\nA-1;Стул;2;500\nA-1;Стул;3;550\n"),
         errors=[(3, "строке 2")]),
    Case("excel-ate-the-article", cp1251("Артикул;Наименование;Кол-во;Цена\n4,60701E+12;Стул;2;500\n"),
         errors=[(2, "Excel")]),
    Case("xlsx-instead-of-csv", xlsx_bytes(), errors=[(None, "XLSX")]),
    Case("png-instead-of-csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, errors=[(None, "PNG")]),
    Case("unquoted-separator-in-name", cp1251("Наименование;Кол-во;Цена\nФасад; эмаль;2;500;\n"),
         errors=[(2, "ячеек")]),
    Case("discount-over-100", cp1251("Наименование;Кол-во;Цена;Скидка\nСтул;1;500;120\n"), errors=[(2, "больше 100")]),
    Case("no-price-column", cp1251("Наименование;Кол-во\nСтул;1\n"), errors=[(1, "Цена")]),
    Case("empty-file", b"", errors=[(None, "пуст")]),
    Case("excel-sep-hint-line", cp1251("sep=;\nНаименование;Кол-во;Цена\nСтул;2;1 000,00\n"),
         rows={"Стул": ("2", "1000")}),
    Case("order-form-title-above-header", cp1251("Спецификация к заказу №15 от 01.12.2026\nЗаказчик: ООО «Ромашка»;;\n"
                                                 ";;\n№;Наименование;Кол-во;Цена\n1;Стол;1;7 000,00\n"),
         rows={"Стол": ("1", "7000")}),
    Case("totals-rows-at-the-bottom", cp1251("Наименование;Кол-во;Цена;Сумма\nСтул;4;500,00;2 000,00\n"
                                             "Итого:;;;2 000,00\nВ т.ч. НДС;;;333,33\n"),
         rows={"Стул": ("4", "500")}),
    Case("dash-in-optional-cells", cp1251("Наименование;Кол-во;Цена;Скидка;НДС\nСтул;2;500;-;—\n"),
         rows={"Стул": ("2", "500")}),
    Case("dash-quantity-is-an-error", cp1251("Наименование;Кол-во;Цена\nСтул;-;500\n"), errors=[(2, "не число")]),
    Case("english-comma-thousands-beside-dot-decimals",
         b'Name,Qty,Price\nDesk,2,"1,250"\nChair,1.5,99.90\n', rows={"Desk": ("2", "1250"), "Chair": ("1.5", "99.9")}),
    Case("english-comma-thousands-without-evidence", b'Name,Qty,Price\nDesk,2,"1,250"\nChair,1,99\n',
         errors=[(2, "неоднозначно")]),
    Case("zero-quantity-and-bad-vat", cp1251("Наименование;Кол-во;Цена;НДС\nСтул;0;500;20\nСтол;1;500;120\n"),
         errors=[(2, "больше нуля"), (3, "НДС")]),
]


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()
