"""Money rules of DESIGN §4, including the documented crm.item.productrow.add example."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b24goods.domain.money import format_rub, money, percent_of, to_decimal, unit
from b24goods.domain.rows import (
    Discount,
    DiscountType,
    ProductRow,
    derive_prices,
    document_totals,
    price_from_list,
    row_totals,
    rows_without_price,
)


def make_row(**fields: object) -> ProductRow:
    base: dict[str, object] = {"productName": "Товар", "price": 100, "quantity": 1}
    base.update(fields)
    return ProductRow.model_validate(base)


def test_documented_example_derives_the_same_prices() -> None:
    d = derive_prices(D("80000"), tax_rate=D("20"), discount_type=DiscountType.PERCENT, discount_rate=D("20"))
    assert (d.price_exclusive, d.price_netto, d.price_brutto, d.discount_sum) == (
        D("66666.67"), D("83333.34"), D("100000.01"), D("16666.67"))


def test_documented_example_row_totals() -> None:
    t = row_totals(make_row(price=80000, quantity=2, discountRate=20, taxRate=20, taxIncluded="Y"))
    assert t.total == D("160000.00")
    assert t.tax == D("26666.67")
    assert t.net == D("133333.33")
    assert t.discount == D("33333.34")


@pytest.mark.parametrize("value, expected", [
    ("0.125", "0.13"), ("0.135", "0.14"), ("2.675", "2.68"), ("-0.125", "-0.13"), ("1.005", "1.01"),
    (0.125, "0.13"), (2.675, "2.68"),
])
def test_rounding_is_half_up_like_php(value: object, expected: str) -> None:
    assert money(value) == D(expected)


def test_python_round_would_differ() -> None:
    assert round(D("0.125"), 2) == D("0.12")  # banker's rounding: why money() exists
    assert money("0.125") == D("0.13")


def test_float_conversion_is_exact() -> None:
    assert to_decimal(0.1) == D("0.1")
    assert to_decimal("45 900".replace(" ", "")) == D("45900")
    with pytest.raises(ValueError):
        to_decimal("три")
    with pytest.raises(TypeError):
        to_decimal(True)


def test_percent_discount_tax_excluded_in_list_price() -> None:
    p = price_from_list(D("1000"), D("3"), tax_rate=D("20"), list_includes_tax=False, discount=Discount("percent", D("10")))
    assert p.price == D("1080.00000000")  # 1000 × 0.9 × 1.2
    assert p.discount_type_id == DiscountType.PERCENT and p.discount_rate == D("10")
    assert not p.tax_included


def test_percent_discount_tax_included_in_list_price() -> None:
    p = price_from_list(D("1200"), D("1"), tax_rate=D("20"), list_includes_tax=True, discount=Discount("percent", D("10")))
    assert p.price == D("1080.00000000")
    assert p.tax_included
    assert p.discount_sum == D("100.00000000")  # per unit, without tax


def test_per_unit_money_discount() -> None:
    p = price_from_list(D("500"), D("4"), tax_rate=None, list_includes_tax=False, discount=Discount("per_unit", D("50")))
    assert p.price == D("450.00000000")
    assert p.discount_type_id == DiscountType.MONEY
    assert p.discount_sum == D("50.00000000")
    assert p.discount_rate == D("10.00")


def test_row_total_discount_that_does_not_divide_keeps_every_kopeck() -> None:
    p = price_from_list(D("100"), D("3"), tax_rate=None, list_includes_tax=False, discount=Discount("row_total", D("10")))
    row = make_row(price=p.price, quantity=3, discountTypeId=1, discountSum=p.discount_sum)
    assert row_totals(row).total == D("290.00")  # 300 − 10, not 290.01 or 289.99


@given(list_price=st.decimals(min_value=D("0.01"), max_value=D("1000000"), places=2),
       quantity=st.integers(min_value=1, max_value=999),
       discount_cents=st.integers(min_value=0, max_value=10_000_00))
def test_row_total_discount_never_loses_a_kopeck(list_price: D, quantity: int, discount_cents: int) -> None:
    total_list = list_price * quantity
    discount = min(D(discount_cents) / 100, total_list)
    p = price_from_list(list_price, D(quantity), tax_rate=None, list_includes_tax=False,
                        discount=Discount("row_total", discount))
    assert money(p.price * quantity) == money(total_list - discount)


def test_tax_excluded_row_with_vat_on_top() -> None:
    p = price_from_list(D("45900"), D("1"), tax_rate=D("20"), list_includes_tax=False, discount=Discount("percent", D("5")))
    row = make_row(price=p.price, quantity=1, discountRate=5, taxRate=20, taxIncluded="N")
    t = row_totals(row, D("31200"))
    assert t.total == D("52326.00")  # 45900 × 0.95 × 1.2
    assert t.net == D("43605.00")
    assert t.tax == D("8721.00")
    assert t.discount == D("2295.00")
    assert t.cost == D("31200.00")
    assert t.margin == D("12405.00")


def test_rounding_per_row_then_sum() -> None:
    rows = [make_row(price="0.333", quantity=1), make_row(price="0.333", quantity=1), make_row(price="0.334", quantity=1)]
    totals = document_totals(rows)
    assert totals.sum == D("0.99")  # each row rounds to 0.33; rounding the unrounded sum would give 1.00
    assert money(sum(r.price * r.quantity for r in rows if r.price is not None)) == D("1.00")


def test_document_totals_with_costs_and_margin() -> None:
    rows = [make_row(price=1200, quantity=2, taxRate=20, taxIncluded="Y"), make_row(price=500, quantity=1)]
    totals = document_totals(rows, {0: D("600"), 1: None})
    assert totals.sum == D("2900.00")
    assert totals.tax_sum == D("400.00")
    assert totals.net_sum == D("2500.00")
    assert totals.cost_sum == D("1200.00")
    assert totals.margin == D("1300.00")
    assert totals.margin_percent == D("52.00")
    assert totals.rows_without_cost == 1


def test_margin_percent_of_nothing_is_zero() -> None:
    assert percent_of(D("5"), D("0")) == D("0")
    assert document_totals([]).margin_percent == D("0")


def test_full_discount_with_money_type() -> None:
    d = derive_prices(D("0"), tax_rate=None, discount_type=DiscountType.MONEY, discount_sum=D("100"))
    assert d.price_netto == D("100.00") and d.discount_rate == D("100.00")


def test_rows_without_price_are_found() -> None:
    rows = [make_row(price=None), make_row(price=0, quantity=2), make_row(price=0, quantity=0), make_row(price=5)]
    assert [r.price for r in rows_without_price(rows)] == [None, D("0")]


def test_unit_price_keeps_eight_places() -> None:
    assert unit(D("1") / D("3")) == D("0.33333333")


def test_format_rub() -> None:
    assert format_rub(D("45900")) == "45\u00a0900,00\u00a0₽"
    assert format_rub(D("-1234567.891")) == "-1\u00a0234\u00a0567,89\u00a0₽"
    assert format_rub(D("0.5")) == "0,50\u00a0₽"


def test_row_to_bitrix_uses_the_right_discount_field() -> None:
    money_row = make_row(discountTypeId=1, discountSum="12.5")
    assert money_row.to_bitrix()["discountSum"] == 12.5 and "discountRate" not in money_row.to_bitrix()
    pct = make_row(discountTypeId=2, discountRate=7, taxRate=None)
    assert pct.to_bitrix()["discountRate"] == 7.0 and "taxRate" not in pct.to_bitrix()
