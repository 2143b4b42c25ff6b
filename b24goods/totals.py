"""Totals of a deal or item, computed from its live rows, and the write of ``opportunity``.

Shared by ``recalc_sum``, the import, agreements and the card tab: one computation everywhere. Totals are
never read from storage; ``opportunity`` is written with ``isManualOpportunity=Y`` so Bitrix24 keeps our
rounding and discounts (``bitrix24-rest.md`` §4.4), and only when something differs (no write, no echo).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from . import costs
from .bitrix import crm
from .bitrix.client import RestClient
from .bitrix.payloads import DocumentRef
from .domain.money import money, to_decimal
from .domain.rows import DocumentTotals, ProductRow, document_totals, rows_without_price
from .errors import DomainError, NotFound
from .store.portal import PortalStore


def compute_totals(rest: RestClient, portal: PortalStore, doc: DocumentRef, *,
                   require_prices: bool = True) -> tuple[dict[str, Any], list[ProductRow], DocumentTotals]:
    try:
        item, rows = crm.read_document(rest, doc)
    except NotFound:
        item, rows = {}, []
    if not item:
        what = "Сделка" if doc.is_deal else "Элемент"
        raise DomainError(f"{what} {doc.id} не найден(а) в Битрикс24", code="DOCUMENT_NOT_FOUND")
    unpriced = rows_without_price(rows)
    if require_prices and unpriced:
        names = ", ".join(f"«{r.product_name or r.id}»" for r in unpriced[:5])
        raise DomainError(f"Строки без цены: {names}. Укажите цену и повторите.", code="ROW_WITHOUT_PRICE")
    return item, rows, document_totals(rows, costs.row_costs(rest, portal, doc, rows))


def write_sum(rest: RestClient, doc: DocumentRef, item: dict[str, Any], totals: DocumentTotals,
              cost_field: str = "", margin_field: str = "") -> bool:
    fields: dict[str, Any] = {}
    current = to_decimal(item.get("opportunity") or 0)
    if money(current) != totals.sum or str(item.get("isManualOpportunity", "N")).upper() != "Y":
        fields["opportunity"] = totals.sum
        fields["isManualOpportunity"] = "Y"
    if cost_field:
        fields[cost_field] = totals.cost_sum
    if margin_field:
        fields[margin_field] = totals.margin
    if not fields:
        return False
    crm.update_item(rest, doc, fields)
    return True


def as_text(value: Decimal) -> str:
    return f"{money(value):.2f}"


def returns_of(totals: DocumentTotals) -> dict[str, Any]:
    return {"sum": as_text(totals.sum), "discount_sum": as_text(totals.discount_sum),
            "tax_sum": as_text(totals.tax_sum), "cost_sum": as_text(totals.cost_sum),
            "margin": as_text(totals.margin), "margin_percent": as_text(totals.margin_percent)}


def deal_of(doc: DocumentRef, item: dict[str, Any]) -> int | None:
    """The order (deal) a document belongs to: itself, or the item's parent deal (``parentId2``)."""
    if doc.is_deal:
        return doc.id
    parent = item.get("parentId2")
    return int(parent) if parent else None
