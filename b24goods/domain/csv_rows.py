"""From a table to validated order rows: header synonyms, numbers as Russians write them, one error per bad cell.

Column meanings are a contract (DESIGN §4): ``Цена`` is the unit list price before discount; whether it holds
VAT is said by its header (``Цена с НДС`` / ``Цена без НДС``) or, for a plain ``Цена``, by the portal setting
``csv_price_includes_vat`` (default: no, VAT from the ``НДС`` column is added on top). ``Скидка`` is a
percentage unless its header names money (per unit or on the row total). A value that lost information (an
article Excel turned into ``4,60701E+12``), a quantity or price that is not a number, or a line whose cells
do not fit the header is an error for that line — never guessed.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from . import format as fmt
from .csv_table import Record, Table
from .money import CENT, HUNDRED, ZERO, money
from .rows import Discount, DiscountKind, price_from_list

FIELDS = ("name", "article", "xml_id", "quantity", "unit", "price", "discount", "vat", "cost", "executor", "kind",
          "note", "total", "position", "price_discounted", "vat_sum")

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": ("наименование", "наименование товара", "название", "товар", "товар услуга", "товары услуги",
             "товары работы услуги", "наименование товара работы услуги", "наименование товаров работ услуг",
             "номенклатура", "позиция", "name", "product", "product name", "item", "description", "title"),
    "article": ("артикул", "арт", "код товара", "артикул товара", "код позиции", "sku", "article", "art",
                "part number", "part no", "vendor code", "item no", "item number", "item code", "product code",
                "product no", "код"),
    "xml_id": ("xml_id", "xml id", "внешний код", "external id", "xmlid"),
    "quantity": ("количество", "кол во", "колво", "кол", "qty", "quantity", "amount", "count"),
    "unit": ("ед", "ед изм", "единица", "единица измерения", "unit", "uom", "measure"),
    "price": ("цена", "цена за ед", "цена за единицу", "price", "unit price", "стоимость за ед"),
    "discount": ("скидка", "discount"),
    "vat": ("ндс", "ставка ндс", "налог", "vat", "tax", "vat rate", "tax rate"),
    "cost": ("себестоимость", "закупочная цена", "закупка", "цена закупки", "цена закупочная", "закупочная",
             "цена поставщика", "входная цена", "cost", "cost price", "purchase price", "purchasing price"),
    "executor": ("исполнитель", "ответственный", "executor", "assignee", "responsible"),
    "kind": ("тип", "вид", "type", "kind"),
    "note": ("примечание", "комментарий", "note", "comment", "notes"),
    # Columns of an order form that are not imported but are known: the row total is computed from quantity,
    # price and discount (and cross-checked against this column); the position number is the form's own.
    "total": ("сумма", "итого", "всего", "сумма итого", "сумма со скидкой", "итого со скидкой", "total",
              "line total", "row total", "sum", "subtotal"),
    "position": ("п п", "пп", "n", "no", "nn", "номер", "номер строки", "поз", "line", "line no", "pos"),
    "vat_sum": ("сумма ндс", "ндс сумма", "в т ч ндс", "в том числе ндс", "vat amount", "tax amount"),
}
INFORMATIONAL = ("total", "position", "price_discounted", "vat_sum")  # recognized, not imported (see map_columns)
_AMBIGUOUS_QUANTITY = "amount"  # a quantity, unless the file has another quantity column: then the row total
_INDEX = {syn: canon for canon, syns in _SYNONYMS.items() for syn in syns}
SERVICE_UNITS = {"усл", "услуга", "усл.", "service", "svc"}
SERVICE_KINDS = {"услуга", "service", "усл"}


@dataclass(frozen=True)
class Issue:
    line: int
    column: str | None
    reason: str

    def text(self, filename: str | None = None) -> str:
        where = f"строка {self.line}" + (f", столбец «{self.column}»" if self.column else "")
        return f"{filename + ': ' if filename else ''}{where}: {self.reason}"


@dataclass(frozen=True)
class Column:
    index: int
    title: str  # as written in the file
    field: str
    price_includes_vat: bool | None = None  # for price: from the header, None = portal setting
    discount_kind: DiscountKind = "percent"


@dataclass
class CsvRow:
    line: int
    name: str
    quantity: Decimal
    list_price: Decimal
    price_includes_vat: bool
    discount: Discount = field(default_factory=Discount)
    vat: Decimal | None = None
    article: str = ""
    xml_id: str = ""
    unit: str = ""
    cost: Decimal | None = None
    executor: str = ""
    note: str = ""
    is_service: bool = False
    lines: list[int] = field(default_factory=list)  # every source line (merged duplicates)


@dataclass
class ParsedFile:
    filename: str
    encoding: str
    delimiter: str
    columns: list[Column]
    rows: list[CsvRow]
    issues: list[Issue]
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return not self.issues


def normalize_header(title: str) -> str:
    text = title.lower().replace("ё", "е").replace("\u00a0", " ")
    text = re.sub(r"[.,:;%№#()/\\_\-*\"']+", " ", text)
    text = re.sub(r"\b(руб|rub|р|₽|eur|usd)\b", " ", text)
    return re.sub(r"\s+", " ", text).strip()


_DISCOUNTED = re.compile(r"(со скидкой|с учетом скидки|с уч скидки|после скидки|after discount|discounted)")


def classify(title: str) -> tuple[str | None, bool | None, DiscountKind]:
    """The canonical field of a header, its VAT statement (prices) and money meaning (discounts)."""
    norm = normalize_header(title)
    raw = title.lower()
    includes: bool | None = None
    if re.search(r"\b(с ндс|incl|including|with vat|gross)\b", norm) or "с ндс" in raw:
        includes = True
    if re.search(r"\b(без ндс|excl|excluding|without vat|net)\b", norm) or "без ндс" in raw:
        includes = False
    base = re.sub(r"\b(с ндс|без ндс|incl vat|excl vat|incl|excl|including vat|excluding vat|with vat|"
                  r"without vat|gross|net)\b", " ", norm)
    base = re.sub(r"\s+", " ", base).strip()
    kind: DiscountKind = "percent"
    if base.startswith(("скидка", "discount")):
        if re.search(r"(на строку|на позицию|сумма|итого|per row|row total|total|amount|line)", base):
            kind = "row_total"
        elif re.search(r"(руб|₽|за ед|на ед|per unit|money)", raw) or "за ед" in base:
            kind = "per_unit"
        return "discount", None, kind
    if re.fullmatch(r"(item|product|part)\s*#", title.strip(), flags=re.I):
        return "article", None, kind  # «Item #»: normalising drops the mark, which is what makes it a code
    if not base:  # a title of marks only: «№» or «#» numbers the rows; «%» or «-» says nothing
        return ("position" if re.search(r"[№#]", title) else None), None, kind
    if _DISCOUNTED.search(base) and re.search(r"\b(цена|price)\b", base):
        return "price_discounted", includes, kind  # «Цена со скидкой»: see map_columns
    canon = _INDEX.get(base)
    if canon is None:
        for syn, candidate in _INDEX.items():
            if base.startswith(syn + " ") and candidate in ("price", "quantity", "name", "vat", "cost", "unit"):
                canon = candidate
                break
    return canon, includes if canon == "price" else None, kind


def map_columns(header: Record) -> tuple[list[Column], list[str], list[Issue]]:
    columns: list[Column] = []
    unknown: list[str] = []
    issues: list[Issue] = []
    seen: dict[str, str] = {}
    classified = [(index, title, *classify(title)) for index, title in enumerate(header.cells) if title]
    quantities = [t for _, t, canon, _, _ in classified if canon == "quantity"]
    for index, title, canon, includes, kind in classified:
        if canon == "quantity" and len(quantities) > 1 and normalize_header(title) == _AMBIGUOUS_QUANTITY:
            canon = "total"  # «Qty» beside «Amount»: the amount is money
        if canon is None:
            unknown.append(title)
            continue
        if canon in seen:
            if canon not in INFORMATIONAL:  # a second «Сумма» or «№» is harmless; a second «Цена» is not
                issues.append(Issue(header.line, title, f"столбец повторяет «{seen[canon]}»"))
            continue
        seen[canon] = title
        columns.append(Column(index, title, canon, includes, kind))
    _settle_discounted_price(header, columns, seen, issues)
    for required, label in (("name", "Наименование"), ("price", "Цена")):
        if required not in seen:
            issues.append(Issue(header.line, None, f"нет столбца «{label}» (заголовки: {', '.join(header.cells)})"))
    return columns, unknown, issues


def _settle_discounted_price(header: Record, columns: list[Column], seen: dict[str, str],
                             issues: list[Issue]) -> None:
    """«Цена со скидкой» beside «Цена» is the form's own arithmetic (not imported); alone it is the price, with
    no discount left to apply. Beside a «Скидка» column and no «Цена», the discount would count twice: an error."""
    discounted = next((c for c in columns if c.field == "price_discounted"), None)
    if discounted is None or "price" in seen:
        return
    if "discount" in seen:
        issues.append(Issue(header.line, discounted.title, f"скидка уже учтена в цене, а есть ещё столбец "
                                                           f"«{seen['discount']}»: оставьте «Цену» без скидки или "
                                                           f"уберите столбец скидки"))
        return
    columns[columns.index(discounted)] = dataclasses.replace(discounted, field="price")
    seen["price"] = discounted.title


_EXCEL_EXP = re.compile(r"^[+-]?\d+([.,]\d+)?[eE][+-]?\d+$")
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")


_COMMA_GROUPS = re.compile(r"[+-]?[1-9]\d{0,2}(,\d{3})+")  # 1,250 — thousands in English, 1.25 in Russian


def _number_text(raw: str) -> str:
    text = _SPACES.sub("", raw.strip())
    return re.sub(r"(руб\.?|р\.?|₽|rub\.?)$", "", text, flags=re.I)


def decimal_mark(cells: list[str]) -> str | None:
    """``.`` or ``,``: what the file's unambiguous numbers use for decimals (``None``: they do not say).

    ``99.90``, ``3.5`` or ``1,234.50`` speak for a dot; ``45 900,00`` or ``3,5`` for a comma; ``1,250``,
    ``1.250`` and whole numbers say nothing.
    """
    dot = comma = 0
    for raw in cells:
        text = _number_text(raw.rstrip("%").strip())
        if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+\.\d+|[+-]?\d*\.\d+", text) and not re.fullmatch(
                r"[+-]?[1-9]\d{0,2}(\.\d{3})+", text):
            dot += 1
        elif re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+,\d+|[+-]?\d*,\d+", text) and not _COMMA_GROUPS.fullmatch(text):
            comma += 1
    return "." if dot > comma else "," if comma > dot else None


def parse_number(raw: str, comma_groups: bool | None = False) -> Decimal:
    """``45 900,00`` / ``45\u00a0900,00`` / ``1.234,5`` / ``1,234.5`` / ``3,5`` / ``350 ₽`` → Decimal.

    ``comma_groups`` says what ``1,250`` is in this file: thousands (``True``, a file with dot decimals), a
    decimal comma (``False``, the Russian default), or unknown (``None``: an error, never a guess).
    """
    text = _number_text(raw)
    if not text:
        raise ValueError("пусто")
    if _EXCEL_EXP.match(text):
        raise ValueError("число в экспоненциальной записи (Excel потерял цифры)")
    if _COMMA_GROUPS.fullmatch(text) and comma_groups is not False:
        if comma_groups is None:
            raise ValueError("неоднозначно: тысячи или дробная часть? Запишите число без разделителя тысяч")
        return Decimal(text.replace(",", ""))
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        if text.count(",") > 1:
            text = text.replace(",", "")
        else:
            text = text.replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    if not re.fullmatch(r"[+-]?\d+(\.\d+)?", text):
        raise ValueError("не число")
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError("не число") from None


def _cell(record: Record, column: Column | None) -> str:
    if column is None or column.index >= len(record.cells):
        return ""
    return record.cells[column.index].strip()


HEADER_SEARCH = 10  # a header below this many title rows is not looked for
_SUMMARY = re.compile(r"(итого|всего|итог|в том числе|в т ч|total|subtotal|grand total)\b.*")
_BLANK_NUMBER = {"-", "—", "–", "x", "х"}  # what Excel users put in an empty optional number


def locate_header(table: Table) -> tuple[Record, list[Record], list[str]]:
    """The header is the first record (of the first few) naming both the product and its price.

    Files saved from an order form often carry a title ("Спецификация к заказу №15") or a customer line above
    the table; those records are passed over with a warning that names them. With no such record the first
    one is the header, and :func:`map_columns` says which columns are missing.
    """
    records = [table.header, *table.records]
    for index, record in enumerate(records[:HEADER_SEARCH]):
        fields = {classify(title)[0] for title in record.cells if title}
        if "name" in fields and fields & {"price", "price_discounted"}:
            skipped = records[:index]
            warnings = [f"Строки над заголовком пропущены: {', '.join(str(r.line) for r in skipped)}"] if skipped else []
            return record, records[index + 1:], warnings
    return table.header, table.records, []


def is_summary(record: Record, by_field: dict[str, Column]) -> bool:
    """A totals line ("Итого", "Всего", "В т.ч. НДС") with no quantity: part of the form, not an order row."""
    name = _cell(record, by_field.get("name"))
    label = name or next((c for c in record.cells if c.strip()), "")
    if not _SUMMARY.fullmatch(normalize_header(label)):
        return False
    return "quantity" not in by_field or not _cell(record, by_field["quantity"])


def parse_rows(table: Table, filename: str, *, price_includes_vat_default: bool = False,
               default_vat: Decimal | None = None) -> ParsedFile:
    header, records, warnings = locate_header(table)
    columns, unknown, issues = map_columns(header)
    if unknown:
        warnings.append(f"Неизвестные столбцы пропущены: {', '.join(unknown)}")
    by_field = {c.field: c for c in columns}
    if "quantity" not in by_field and not issues:
        warnings.append("Нет столбца «Количество»: у всех строк количество 1")
    rows: list[CsvRow] = []
    if issues:
        return ParsedFile(filename, table.encoding, table.delimiter, columns, rows, issues, warnings)
    width = len(header.cells)
    numeric = [c for c in columns if c.field in ("quantity", "price", "discount", "vat", "cost")]
    mark = decimal_mark([r.cells[c.index] for r in records for c in numeric if c.index < len(r.cells)])
    comma_groups = True if mark == "." else False if mark == "," or table.delimiter != "," else None
    summaries: list[int] = []
    for record in records:
        if is_summary(record, by_field):
            summaries.append(record.line)
            continue
        extra = [c for c in record.cells[width:] if c]
        needed = max(by_field[f].index for f in ("name", "price", "quantity") if f in by_field) + 1
        if extra or len(record.cells) < needed:
            issues.append(Issue(record.line, None, f"в строке {len(record.cells)} ячеек, а в заголовке {width}: "
                                                   f"проверьте разделители и кавычки"))
            continue
        row = _parse_record(record, by_field, issues, price_includes_vat_default, default_vat, comma_groups)
        if row is not None:
            rows.append(row)
            if "total" in by_field:
                mismatch = total_mismatch(row, _cell(record, by_field["total"]), comma_groups)
                if mismatch:
                    warnings.append(Issue(record.line, by_field["total"].title, mismatch).text())
    if summaries:
        warnings.append(f"Итоговые строки не импортируются: {', '.join(map(str, summaries))}")
    rows = merge_duplicates(rows, issues)
    if not rows and not issues:
        issues.append(Issue(header.line, None, "в файле нет ни одной строки с товарами под заголовком"))
    return ParsedFile(filename, table.encoding, table.delimiter, columns, rows, issues, warnings)


def total_mismatch(row: CsvRow, raw_total: str, comma_groups: bool | None) -> str | None:
    """Why the file's own row total (``Сумма``) disagrees with quantity × price − discount, or ``None``.

    The column is not imported (the total is always computed), but a total that matches no reading of the row
    (with or without VAT, before or after the discount) usually means a misread number: worth a warning that
    names the line. Excel rounds the unit price to kopecks, so a kopeck per unit is tolerated.
    """
    if not raw_total or raw_total in _BLANK_NUMBER:
        return None
    try:
        stated = parse_number(raw_total, comma_groups)
    except ValueError:
        return f"«{raw_total}» — не число (столбец не импортируется, но проверьте строку)"
    factor = Decimal(1) + (row.vat or ZERO) / HUNDRED
    readings = set()
    for discount in (row.discount, Discount()):
        for includes in (True, False):
            pricing = price_from_list(row.list_price, row.quantity, tax_rate=row.vat, list_includes_tax=includes,
                                      discount=discount)
            gross = money(pricing.price * row.quantity)
            readings |= {gross, money(gross / factor)}
    tolerance = CENT * (row.quantity + 1)
    if any(abs(stated - value) <= tolerance for value in readings):
        return None
    expected = money(row.list_price * row.quantity)
    return (f"сумма {fmt.number(stated)} не сходится с количеством и ценой ({fmt.quantity(row.quantity)} × "
            f"{fmt.number(row.list_price)} = {fmt.number(expected)}): проверьте числа в строке")


def _parse_record(record: Record, cols: dict[str, Column], issues: list[Issue], vat_default: bool,
                  default_vat: Decimal | None, comma_groups: bool | None = False) -> CsvRow | None:
    before = len(issues)

    def number(name: str, *, required: bool, label: str) -> Decimal | None:
        column = cols.get(name)
        raw = _cell(record, column)
        if name in ("discount", "vat", "cost") and raw in _BLANK_NUMBER:
            raw = ""
        if not raw:
            if required:
                issues.append(Issue(record.line, column.title if column else label, "не заполнено"))
            return None
        if name == "vat":
            raw = re.sub(r"^(ндс|vat)\s*", "", raw, flags=re.I)  # «НДС 20%»
        try:
            return parse_number(raw.rstrip("%").strip() if name in ("discount", "vat") else raw, comma_groups)
        except ValueError as exc:
            issues.append(Issue(record.line, column.title if column else label, f"«{raw}» — {exc}"))
            return None

    name = _cell(record, cols.get("name"))
    article = _cell(record, cols.get("article"))
    if not name:
        issues.append(Issue(record.line, cols["name"].title, "пустое наименование"))
    if article and _EXCEL_EXP.match(_SPACES.sub("", article)):
        issues.append(Issue(record.line, cols["article"].title,
                            f"«{article}»: Excel превратил артикул в число и потерял цифры; задайте столбцу "
                            f"текстовый формат и сохраните файл заново"))
    quantity = number("quantity", required=False, label="Количество") if "quantity" in cols else Decimal(1)
    if "quantity" in cols and quantity is None and not _cell(record, cols["quantity"]):
        issues.append(Issue(record.line, cols["quantity"].title, "не заполнено"))
    if quantity is not None and quantity <= 0:
        issues.append(Issue(record.line, cols["quantity"].title, f"количество должно быть больше нуля ({quantity})"))
    price = number("price", required=True, label="Цена")
    if price is not None and price < 0:
        issues.append(Issue(record.line, cols["price"].title, f"отрицательная цена ({price})"))
    discount_value = number("discount", required=False, label="Скидка") or ZERO
    dcol = cols.get("discount")
    kind: DiscountKind = dcol.discount_kind if dcol else "percent"
    if discount_value < 0:
        issues.append(Issue(record.line, dcol.title if dcol else "Скидка", "отрицательная скидка"))
    if kind == "percent" and discount_value > HUNDRED:
        issues.append(Issue(record.line, dcol.title if dcol else "Скидка", f"скидка больше 100 % ({discount_value})"))
    if price is not None and quantity is not None and kind != "percent":
        total = price * (quantity if kind == "row_total" else 1)
        if discount_value > total:
            issues.append(Issue(record.line, dcol.title if dcol else "Скидка", "скидка больше цены"))
    vat = number("vat", required=False, label="НДС") if "vat" in cols else None
    if vat is None:
        raw_vat = _cell(record, cols.get("vat")).lower()
        vat = ZERO if raw_vat in ("без ндс", "без налога", "нет") else default_vat
        if raw_vat in ("без ндс", "без налога", "нет"):
            issues[:] = [i for i in issues if not (i.line == record.line and cols.get("vat") and i.column == cols["vat"].title)]
    if vat is not None and not (ZERO <= vat < HUNDRED):
        issues.append(Issue(record.line, cols["vat"].title if "vat" in cols else "НДС", f"ставка НДС {vat} % вне диапазона"))
    cost = number("cost", required=False, label="Себестоимость")
    if cost is not None and cost < 0:
        issues.append(Issue(record.line, cols["cost"].title, "отрицательная себестоимость"))
    if len(issues) > before or price is None or quantity is None:
        return None
    unit = _cell(record, cols.get("unit"))
    kind_cell = _cell(record, cols.get("kind")).lower()
    pcol = cols["price"]
    return CsvRow(
        line=record.line, name=name, quantity=quantity, list_price=price,
        price_includes_vat=pcol.price_includes_vat if pcol.price_includes_vat is not None else vat_default,
        discount=Discount(kind, discount_value), vat=vat, article=article, xml_id=_cell(record, cols.get("xml_id")),
        unit=unit, cost=cost, executor=_cell(record, cols.get("executor")), note=_cell(record, cols.get("note")),
        is_service=kind_cell in SERVICE_KINDS or unit.lower().rstrip(".") in {u.rstrip(".") for u in SERVICE_UNITS},
        lines=[record.line])


def normalize_name(name: str) -> str:
    text = name.lower().replace("ё", "е")
    text = re.sub(r"[\"'«»“”„`]", "", text)
    return re.sub(r"\s+", " ", text).strip()


def row_identity(row: CsvRow) -> str:
    return f"a:{row.article.upper()}" if row.article else f"n:{normalize_name(row.name)}"


def merge_duplicates(rows: list[CsvRow], issues: list[Issue]) -> list[CsvRow]:
    """The same article (or, without one, the same name) twice: one row with the quantities added, if the
    price, discount and VAT agree; otherwise an error naming both lines. Never two rows silently."""
    out: list[CsvRow] = []
    first: dict[str, CsvRow] = {}
    for row in rows:
        key = row_identity(row)
        prev = first.get(key)
        if prev is None:
            first[key] = row
            out.append(row)
            continue
        same = (prev.list_price, prev.discount, prev.vat, prev.price_includes_vat) == (
            row.list_price, row.discount, row.vat, row.price_includes_vat)
        if not same or row.discount.kind == "row_total":
            what = f"артикул {row.article}" if row.article else f"«{row.name}»"
            issues.append(Issue(row.line, None, f"{what} уже есть в строке {prev.line} с другой ценой или скидкой: "
                                                f"объедините строки или исправьте цену"))
            continue
        prev.quantity += row.quantity
        prev.lines.append(row.line)
    return out
