"""``make demo``: the whole story against the local sandbox portal, on the embedded store.

The sandbox portal and the functions are both served over HTTP on loopback ports; the portal calls the robots
exactly as Bitrix24's queue servers do. Every step prints what happened.
"""

from __future__ import annotations

import logging
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from .domain import format as fmt
from .domain.money import format_rub, money

ROOT = Path(__file__).resolve().parent.parent


def say(text: str = "") -> None:
    print(text, flush=True)


def step(title: str) -> None:
    say()
    say(f"== {title}")


def open_stack() -> Any:
    from sandbox.stack import LocalStack

    os.environ["B24GOODS_QUEUE"] = "inline"
    return LocalStack(f"sqlite:///{ROOT / 'var' / 'demo.db'}", install=False)


def install(demo: Any) -> None:
    step("1. Installing the application on the sandbox portal")
    resp = demo.sandbox.install_app(demo.fn("install"))
    data = resp.json()
    say(f"install → HTTP {resp.status_code}; robots registered: {', '.join(data['robots_added'])}")
    say(f"events bound: {', '.join(data['events_bound'])}")
    say(f"smart processes: item = {data['settings']['item_entity_type_id']}, "
        f"agreement = {data['settings']['agreement_entity_type_id']}")


def recalc(demo: Any) -> None:
    step("2. A deal with mixed rows; the recalc_sum robot on stage «Подготовка документов»")
    sb = demo.sandbox
    deal = sb.add_deal(title="Кухня для Ивановых", assignedById=2)
    rows = [
        dict(productId=1, price=52326, quantity=1, discountTypeId=2, discountRate=5, taxRate=20, taxIncluded="N"),
        dict(productId=3, price=5100.6, quantity=3.5, discountTypeId=2, discountRate=0, taxRate=20, taxIncluded="Y"),
        dict(productId=5, price=3434.4, quantity=12, discountTypeId=1, discountSum=318, taxRate=20, taxIncluded="N"),
        dict(productName="Сборка и монтаж", price=9800, quantity=1),
    ]
    for row in rows:
        sb.add_row(2, deal, **row)
    for row in sb.rows(2, deal):
        say(row_line(row, terms=True))
    wf = demo.robot_on_stage(2, deal, "PREPARATION", "b24goods_recalc_sum",
                    {"cost_field": "UF_CRM_B24GOODS_COST", "margin_field": "UF_CRM_B24GOODS_MARGIN"})
    values = wf.return_values or {}
    hand = sum((money(Decimal(str(r["price"])) * Decimal(str(r["quantity"]))) for r in sb.rows(2, deal)), Decimal(0))
    say(f"robot answered ({wf.status}): error={values.get('error')!r}")
    for key in ("sum", "discount_sum", "tax_sum", "cost_sum", "margin", "margin_percent"):
        say(f"  {key:<15} {values.get(key)}")
    match = money(Decimal(str(values["sum"]))) == hand
    say(f"hand calculation Σ round(price × qty) = {hand} → {'MATCH' if match else 'MISMATCH'}")
    item = sb.item(2, deal)
    say(f"deal opportunity in the portal: {format_rub(Decimal(str(item['opportunity'])))} "
        f"(isManualOpportunity={item['isManualOpportunity']})")


def run_demo() -> int:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    demo = open_stack()
    try:
        from . import demo_story  # noqa: F401 - registers the remaining chapters

        install(demo)
        recalc(demo)
        for extra in _EXTRA_STEPS:
            extra(demo)
        step("Done")
        say(f"REST calls made to the portal: {demo.portal.http_calls} HTTP requests "
            f"({len(demo.portal.calls)} methods including batch sub-calls)")
        return 0
    finally:
        demo.close()


_EXTRA_STEPS: list[Any] = []


def demo_step(fn: Any) -> Any:
    """Features add their chapter of the story here."""
    _EXTRA_STEPS.append(fn)
    return fn


def row_line(row: dict[str, Any], *, terms: bool = False) -> str:
    """A product row as a manager reads it: ``Фасад МДФ   12 × 3 434,40 ₽`` (and its discount and VAT)."""
    line = (f"  #{row['id']:<5} {row['productName'][:40]:<40} {fmt.quantity(str(row['quantity'])):>5} × "
            f"{fmt.rub(str(row['price'])):>14}")
    if not terms:
        return line
    discount = (f"скидка {fmt.rub(str(row['discountSum']))}/ед." if int(row.get("discountTypeId") or 2) == 1
                else f"скидка {fmt.percent(str(row.get('discountRate') or 0))}")
    tax = ("без НДС" if row.get("taxRate") is None else
           f"НДС {fmt.percent(str(row['taxRate']))} {'в цене' if row.get('taxIncluded') == 'Y' else 'сверху'}")
    return f"{line}  ({discount}, {tax})"

