"""Baselines, reverts and agreement deltas: pure rules."""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from b24goods.domain.agreement import agreement_row, delta_of, reverses, row_name
from b24goods.domain.lock import revert_plan, snapshot
from b24goods.domain.rows import ProductRow


def make_row(**fields: object) -> ProductRow:
    return ProductRow.model_validate({"id": 1, "productName": "Стул", "price": 500, "quantity": 2, **fields})


def test_identical_rows_need_no_revert_even_when_numbers_differ_in_form() -> None:
    baseline = snapshot([make_row(taxRate=20)])
    assert revert_plan(baseline, [make_row(taxRate="20.0", price="500.00")]).empty


def test_revert_updates_deletes_and_re_adds() -> None:
    baseline = snapshot([make_row(id=1), make_row(id=2, productName="Стол", price=900)])
    current = [make_row(id=1, quantity=10), make_row(id=3, productName="Лишнее", price=1)]
    plan = revert_plan(baseline, current)
    assert [(rid, r.quantity) for rid, r in plan.updates] == [(1, D(2))]
    assert plan.deletes == [3]
    assert [(key, r.product_name) for key, r in plan.re_adds] == [("2", "Стол")]
    assert {c["row"] for c in plan.changes} == {"Стул", "Лишнее", "Стол"}


def test_row_name_template() -> None:
    assert row_name("", date(2026, 8, 21)) == "Доп. соглашение от 21.08.2026"
    assert row_name("ДС №7 от {date}", date(2026, 1, 2)) == "ДС №7 от 02.01.2026"


def test_delta_with_removals() -> None:
    rows = [make_row(price=4800, quantity=1), make_row(price="3434.40", quantity=-2)]
    assert delta_of(rows) == D("-2068.80")
    row = agreement_row("Доп. соглашение от 21.08.2026", delta_of(rows), rows, 100007)
    assert row.price == D("-2068.80") and row.quantity == 1 and row.sort == 100007


def test_reversal_detection() -> None:
    first = [make_row(price=4800, quantity=1), make_row(productName="Стол", price=900, quantity=2)]
    assert reverses([make_row(price=4800, quantity=-1), make_row(productName="Стол", price=900, quantity=-2)], first)
    assert reverses([make_row(price=-4800, quantity=1), make_row(productName="Стол", price=-900, quantity=2)], first)
    assert not reverses([make_row(price=4800, quantity=-1)], first)
    assert not reverses([], [])
