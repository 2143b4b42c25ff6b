"""``b24goods_recalc_sum``: recompute the sum of a deal or an item from its rows and write it.

Totals are computed, never trusted from storage: the rows are read live (``crm.item.productrow.list``),
costs come from per-row snapshots or the catalog (one batch), and ``opportunity`` is written with
``isManualOpportunity=Y`` so Bitrix24 does not overwrite our discounts and rounding
(``crm-item-update.md``; ``bitrix24-rest.md`` §4.4). Nothing is written when nothing changed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from b24goods import costs
from b24goods.bitrix import crm
from b24goods.domain.money import money, to_decimal
from b24goods.domain.rows import DocumentTotals, ProductRow, document_totals, rows_without_price
from b24goods.errors import DomainError, NotFound
from b24goods.robot import RobotContext

from . import props
from .base import Activity, Prop


def compute(ctx: RobotContext) -> tuple[dict[str, Any], list[ProductRow], DocumentTotals]:
    """Read the document and compute its totals (shared with the placement tab and other robots)."""
    doc = ctx.document
    try:
        item, rows = crm.read_document(ctx.rest, doc)
    except NotFound:
        raise DomainError(f"{'Сделка' if doc.is_deal else 'Элемент'} {doc.id} не найден(а) в Битрикс24",
                          code="DOCUMENT_NOT_FOUND") from None
    if not item:
        raise DomainError(f"Документ {doc.key} не найден", code="DOCUMENT_NOT_FOUND")
    unpriced = rows_without_price(rows)
    if unpriced:
        names = ", ".join(f"«{r.product_name or r.id}»" for r in unpriced[:5])
        raise DomainError(f"Строки без цены: {names}. Укажите цену и повторите.", code="ROW_WITHOUT_PRICE")
    unit_costs = costs.row_costs(ctx.rest, ctx.portal, doc, rows)
    return item, rows, document_totals(rows, unit_costs)


def write_sum(ctx: RobotContext, item: dict[str, Any], totals: DocumentTotals,
              cost_field: str = "", margin_field: str = "") -> bool:
    """Write ``opportunity`` (and the cost/margin UF fields) only when something differs."""
    fields: dict[str, Any] = {}
    current = to_decimal(item.get("opportunity") or 0)
    if money(current) != totals.sum or str(item.get("isManualOpportunity", "N")).upper() != "Y":
        fields["opportunity"] = float(totals.sum)
        fields["isManualOpportunity"] = "Y"
    if cost_field:
        fields[cost_field] = float(totals.cost_sum)
    if margin_field:
        fields[margin_field] = float(totals.margin)
    if not fields:
        return False
    crm.update_item(ctx.rest, ctx.document, fields)
    return True


def returns_of(totals: DocumentTotals) -> dict[str, Any]:
    return {"sum": _s(totals.sum), "discount_sum": _s(totals.discount_sum), "tax_sum": _s(totals.tax_sum),
            "cost_sum": _s(totals.cost_sum), "margin": _s(totals.margin),
            "margin_percent": _s(totals.margin_percent)}


def _s(value: Decimal) -> str:
    return f"{money(value):.2f}"


def _uf(props_: dict[str, Any], name: str) -> str:
    code = props.text(props_, name)
    if code and not code.upper().startswith("UF_"):
        raise props.PropertyError(f"Параметр «{name}»: ожидается код пользовательского поля UF_CRM_..., "
                                  f"получено «{code}»")
    return code.upper()


def run(ctx: RobotContext) -> dict[str, Any]:
    cost_field = _uf(ctx.props, "cost_field")
    margin_field = _uf(ctx.props, "margin_field")
    item, rows, totals = compute(ctx)
    before = item.get("opportunity")
    changed = write_sum(ctx, item, totals, cost_field, margin_field)
    deal_id = ctx.document.id if ctx.document.is_deal else int(item.get("parentId2") or 0) or None
    if deal_id:
        ctx.history(deal_id, "recalc", f"Сумма пересчитана: {_s(totals.sum)} (было {before})",
                    details={"rows": len(rows), "changed": changed, **returns_of(totals)})
    return returns_of(totals)


ACTIVITY = Activity(
    code="b24goods_recalc_sum",
    function="recalc_sum",
    name_ru="Пересчитать сумму (Товары и услуги)",
    name_en="Recalculate sum (Goods and services)",
    description_ru="Пересчитывает сумму сделки или изделия по товарным позициям: скидки, налоги, "
                   "себестоимость и маржа.",
    description_en="Recalculates the sum from product rows: discounts, taxes, cost price and margin.",
    run=run,
    properties={
        "cost_field": Prop("Поле для себестоимости (код UF)", "Cost field (UF code)"),
        "margin_field": Prop("Поле для маржи (код UF)", "Margin field (UF code)"),
    },
    returns={
        "sum": Prop("Сумма", "Sum", "double"),
        "discount_sum": Prop("Сумма скидок", "Discount sum", "double"),
        "tax_sum": Prop("Сумма налогов", "Tax sum", "double"),
        "cost_sum": Prop("Себестоимость", "Cost sum", "double"),
        "margin": Prop("Маржа", "Margin", "double"),
        "margin_percent": Prop("Маржа, %", "Margin, %", "double"),
    },
)
