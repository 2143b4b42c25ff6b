"""``b24goods_recalc_sum``: recompute the sum of a deal or an item from its rows and write it.

Totals are computed, never trusted from storage: the rows are read live, costs come from per-row snapshots
or the catalog (one batch), and ``opportunity`` is written with ``isManualOpportunity=Y`` (see
:mod:`b24goods.totals`). Nothing is written when nothing changed.
"""

from __future__ import annotations

from typing import Any

from b24goods.domain.format import rub
from b24goods.errors import PropertyError
from b24goods.robot import RobotContext
from b24goods.totals import compute_totals, deal_of, returns_of, write_sum

from . import props
from .base import Activity, Prop


def uf_code(props_: dict[str, Any], name: str) -> str:
    code = props.text(props_, name)
    if code and not code.upper().startswith("UF_"):
        raise PropertyError(f"Параметр «{name}»: ожидается код пользовательского поля UF_CRM_..., получено «{code}»")
    return code.upper()


def run(ctx: RobotContext) -> dict[str, Any]:
    cost_field = uf_code(ctx.props, "cost_field")
    margin_field = uf_code(ctx.props, "margin_field")
    item, rows, totals = compute_totals(ctx.rest, ctx.portal, ctx.document)
    changed = write_sum(ctx.rest, ctx.document, item, totals, cost_field, margin_field)
    deal_id = deal_of(ctx.document, item)
    if deal_id:
        ctx.history(deal_id, "recalc", f"Сумма пересчитана: {rub(totals.sum)} (было {rub(str(item.get('opportunity') or 0))})",
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
