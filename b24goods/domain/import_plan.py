"""The import plan: what each CSV row becomes in the deal or item. Pure: no I/O.

- A row whose product (catalog id, else normalized name) already has a row in the document updates that row,
  or is skipped when nothing differs: running the same import twice never duplicates a row (``append``).
- ``replace`` also deletes the document's rows the file does not list (single-row deletes: ids stay stable).
- Unmatched rows become new catalog products when asked (one per distinct product key), else free-text rows.
- Every added row gets a unique ``sort`` value: a marker that lets a resumed import see which of its rows
  already reached the portal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from . import format as fmt
from .csv_rows import CsvRow, normalize_name, row_identity
from .money import ZERO
from .rows import ProductRow, price_from_list

Op = Literal["add", "update", "skip"]
Source = Literal["matched", "created", "free_text"]


@dataclass(frozen=True)
class CatalogProduct:
    id: int
    name: str
    is_service: bool = False
    purchasing_price: Decimal | None = None
    measure_code: int | None = None


class PlannedRow(BaseModel):
    line: int
    lines: list[int]
    name: str
    op: Op
    source: Source
    product_key: str  # identity of the product (article or normalized name)
    product_id: int = 0  # 0 until a created product's id is known
    row: dict[str, Any]  # crm.item.productrow fields (without owner)
    existing_row_id: int | None = None
    cost: str | None = None
    executor: str = ""
    note: str = ""
    is_service: bool = False


class ProductDraft(BaseModel):
    key: str
    xml_id: str
    name: str
    article: str = ""
    is_service: bool = False
    list_price: str
    price_includes_vat: bool = False
    cost: str | None = None
    measure_code: int | None = None


@dataclass
class ImportPlan:
    rows: list[PlannedRow] = field(default_factory=list)
    deletes: list[int] = field(default_factory=list)
    drafts: list[ProductDraft] = field(default_factory=list)

    def count(self, op: str) -> int:
        return sum(1 for r in self.rows if r.op == op)

    def count_source(self, source: str) -> int:
        return sum(1 for r in self.rows if r.source == source)


def xml_id_for(row: CsvRow) -> str:
    """A deterministic external id for a product we create: the next run finds it instead of creating it again."""
    if row.xml_id:
        return row.xml_id
    if row.article:
        return row.article
    return "b24goods-" + hashlib.sha1(normalize_name(row.name).encode()).hexdigest()[:16]


def _existing_key(row: ProductRow) -> str:
    return f"p:{row.product_id}" if row.product_id else f"n:{normalize_name(row.product_name)}"


def _new_key(product_id: int, name: str) -> str:
    return f"p:{product_id}" if product_id else f"n:{normalize_name(name)}"


def _same(existing: ProductRow, wanted: ProductRow) -> bool:
    """Equal as a user sees them: same name, price, quantity, discount and tax (numbers compared as numbers)."""
    def discount(r: ProductRow) -> Decimal:
        return r.discount_sum if r.discount_type_id == 1 else r.discount_rate

    return (existing.product_name.strip() == wanted.product_name.strip()
            and existing.price == wanted.price and existing.quantity == wanted.quantity
            and existing.discount_type_id == wanted.discount_type_id and discount(existing) == discount(wanted)
            and (existing.tax_rate or ZERO) == (wanted.tax_rate or ZERO) and existing.tax_included == wanted.tax_included)


def build_plan(rows: list[CsvRow], matches: dict[str, CatalogProduct], existing: list[ProductRow], *,
               mode: Literal["append", "replace"], create_products: bool,
               units: dict[str, int] | None = None) -> ImportPlan:
    units = units or {}
    plan = ImportPlan()
    sort_base = max((r.sort for r in existing), default=0) + 10
    unused = {i: r for i, r in enumerate(existing)}
    drafts: dict[str, ProductDraft] = {}
    for index, csv_row in enumerate(rows):
        identity = row_identity(csv_row)
        product = matches.get(identity)
        pricing = price_from_list(csv_row.list_price, csv_row.quantity, tax_rate=csv_row.vat,
                                  list_includes_tax=csv_row.price_includes_vat, discount=csv_row.discount)
        measure = units.get(csv_row.unit.lower().rstrip(".")) if csv_row.unit else None
        wanted = ProductRow(product_id=product.id if product else 0, product_name=csv_row.name,
                            price=pricing.price, quantity=csv_row.quantity, discount_type_id=pricing.discount_type_id,
                            discount_rate=pricing.discount_rate, discount_sum=pricing.discount_sum,
                            tax_rate=csv_row.vat, tax_included=pricing.tax_included,
                            measure_code=measure or (product.measure_code if product else None),
                            sort=sort_base + 10 * index)
        source: Source = "matched" if product else ("created" if create_products else "free_text")
        if product is None and create_products and identity not in drafts:
            drafts[identity] = ProductDraft(
                key=identity, xml_id=xml_id_for(csv_row), name=csv_row.name, article=csv_row.article,
                is_service=csv_row.is_service, list_price=str(csv_row.list_price),
                price_includes_vat=csv_row.price_includes_vat,
                cost=None if csv_row.cost is None else str(csv_row.cost), measure_code=measure)
        key = _new_key(wanted.product_id, wanted.product_name)
        match_index = next((i for i, r in unused.items() if _existing_key(r) == key), None)
        op: Op = "add"
        existing_id = None
        if match_index is not None:
            current = unused.pop(match_index)
            existing_id = current.id
            wanted.sort = current.sort
            op = "skip" if _same(current, wanted) else "update"
        cost = csv_row.cost if csv_row.cost is not None else (product.purchasing_price if product else None)
        plan.rows.append(PlannedRow(
            line=csv_row.line, lines=csv_row.lines, name=csv_row.name, op=op, source=source, product_key=identity,
            product_id=wanted.product_id, row=wanted.to_bitrix(), existing_row_id=existing_id,
            cost=None if cost is None else str(cost), executor=csv_row.executor, note=csv_row.note,
            is_service=csv_row.is_service or bool(product and product.is_service)))
    if mode == "replace":
        plan.deletes = [r.id for r in unused.values() if r.id is not None]
    plan.drafts = list(drafts.values())
    return plan


def describe(plan: ImportPlan, filename: str, issues: list[str] | None = None, limit: int = 40,
             warnings: list[str] | None = None) -> str:
    """The human summary for the ``report`` return value and the workflow log (Russian): ``issues`` stop the
    import (errors), ``warnings`` do not (what was passed over, a row total that disagrees)."""
    created = len(plan.drafts)
    lines = [f"Файл «{filename}»: добавить {plan.count('add')}, обновить {plan.count('update')}, "
             f"без изменений {plan.count('skip')}, удалить {len(plan.deletes)}; "
             f"из каталога {plan.count_source('matched')}, новых товаров {created}, "
             f"свободных строк {plan.count_source('free_text')}."]
    labels = {"add": "добавить", "update": "обновить", "skip": "без изменений"}
    sources = {"matched": "каталог", "created": "новый товар", "free_text": "свободная строка"}
    for row in plan.rows[:limit]:
        lines.append(f"строка {row.line}: {row.name} — {labels[row.op]} ({sources[row.source]}), "
                     f"{fmt.quantity(str(row.row['quantity']))} × {fmt.number(str(row.row['price']))}")
    if len(plan.rows) > limit:
        lines.append(f"… и ещё {len(plan.rows) - limit} строк")
    for text in issues or []:
        lines.append(f"ошибка: {text}")
    for text in warnings or []:
        lines.append(f"внимание: {text}")
    return "\n".join(lines)


__all__ = ["CatalogProduct", "ImportPlan", "PlannedRow", "ProductDraft", "ZERO", "build_plan", "describe",
           "xml_id_for"]
