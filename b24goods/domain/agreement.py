"""Supplementary agreements («доп. соглашение»): an immutable delta on a locked order. Pure.

An agreement's rows are the change (negative quantities or prices remove); its value is their total. Applying
it adds one row named ``Доп. соглашение от DD.MM.YYYY`` carrying that total. An agreement whose rows are the
exact negation of an applied one reverses (voids) it; history keeps both.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal
from typing import Any

from .lock import signature
from .rows import ProductRow, document_totals

DEFAULT_ROW_NAME = "Доп. соглашение от {date}"


def row_name(template: str, on: date) -> str:
    text = (template or DEFAULT_ROW_NAME).strip() or DEFAULT_ROW_NAME
    stamp = on.strftime("%d.%m.%Y")
    return text.replace("{date}", stamp).replace("{дата}", stamp)


def delta_of(rows: list[ProductRow]) -> Decimal:
    return document_totals(rows).sum


def common_tax(rows: list[ProductRow]) -> Decimal | None:
    rates = {r.tax_rate for r in rows}
    return rates.pop() if len(rates) == 1 else None


def agreement_row(name: str, delta: Decimal, rows: list[ProductRow], sort: int) -> ProductRow:
    """One free-text row carrying the agreement's total (tax included, as every Bitrix24 price)."""
    tax = common_tax(rows)
    return ProductRow(product_id=0, product_name=name, price=delta, quantity=Decimal(1), discount_type_id=2,
                      tax_rate=tax, tax_included=tax is not None, sort=sort)


def _negated(row: ProductRow) -> tuple[Any, ...]:
    flipped = row.model_copy(update={"quantity": -row.quantity})
    return signature(flipped)


def reverses(rows: list[ProductRow], earlier: list[ProductRow]) -> bool:
    """True when ``rows`` undo ``earlier`` exactly (each row negated by quantity or by price)."""
    if not rows or len(rows) != len(earlier):
        return False
    mine = Counter(signature(r) for r in rows)
    by_quantity = Counter(_negated(r) for r in earlier)
    by_price = Counter(signature(r.model_copy(update={"price": -(r.price or Decimal(0))})) for r in earlier)
    return mine == by_quantity or mine == by_price
