"""Product rows and their prices, the way Bitrix24 understands them.

Bitrix24's ``price`` is the final unit price: after the discount, tax included. The other price fields are
derived from it (``crm.item.productrow.add`` documentation, worked example: price 80000, 20 % discount, 20 %
tax included → priceExclusive 66666.67, priceNetto 83333.34, priceBrutto 100000.01, discountSum 16666.67),
rounding to kopecks at each step. :func:`derive_prices` reproduces that chain; :func:`price_from_list`
goes the other way, from a list price and a discount as a manager writes them in a spreadsheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

from .money import HUNDRED, ZERO, money, percent_of, to_decimal, unit


class DiscountType(IntEnum):
    MONEY = 1  # discountSum per unit
    PERCENT = 2  # discountRate


def _yn(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().upper() in {"Y", "1", "TRUE"}


def _opt_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    return to_decimal(value)


Dec = Annotated[Decimal, BeforeValidator(to_decimal), PlainSerializer(lambda d: str(d), return_type=str)]
OptDec = Annotated[Decimal | None, BeforeValidator(_opt_decimal),
                   PlainSerializer(lambda d: None if d is None else str(d), return_type=str | None)]
YesNo = Annotated[bool, BeforeValidator(_yn)]

SERVICE_ROW_TYPE = 7  # crm_item_product_row.type of a catalog service


class ProductRow(BaseModel):
    """One product row of a deal or a smart-process item (fields of ``crm.item.productrow.*``)."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore")

    id: int | None = None
    owner_id: int | None = None
    owner_type: str | None = None
    product_id: int = 0
    product_name: str = ""
    price: OptDec = None
    quantity: Dec = Decimal("1")
    discount_type_id: int = DiscountType.PERCENT
    discount_rate: Dec = ZERO
    discount_sum: Dec = ZERO
    tax_rate: OptDec = None
    tax_included: YesNo = False
    measure_code: int | None = None
    measure_name: str | None = None
    sort: int = 0
    type: int | None = None

    @property
    def is_service(self) -> bool:
        return self.type == SERVICE_ROW_TYPE

    def to_bitrix(self) -> dict[str, Any]:
        """Writable fields for ``crm.item.productrow.add/update``; amounts stay ``Decimal`` (the REST client
        writes them as exact JSON numbers, the store as exact strings).

        A free-text row leaves ``productId`` out: the docs create a row with no catalog link then, and answer
        a ``productId`` not in the catalog (0 included) with ``INVALID_ARG_VALUE``.
        """
        out: dict[str, Any] = {
            "productName": self.product_name,
            "price": self.price if self.price is not None else ZERO,
            "quantity": self.quantity,
            "discountTypeId": int(self.discount_type_id),
            "taxIncluded": "Y" if self.tax_included else "N",
            "sort": self.sort,
        }
        if self.discount_type_id == DiscountType.MONEY:
            out["discountSum"] = self.discount_sum
        else:
            out["discountRate"] = self.discount_rate
        if self.tax_rate is not None:
            out["taxRate"] = self.tax_rate
        if self.measure_code is not None:
            out["measureCode"] = self.measure_code
        if self.product_id:
            out["productId"] = self.product_id
        return out


@dataclass(frozen=True)
class DerivedPrices:
    price_exclusive: Decimal  # after discount, no tax
    price_netto: Decimal  # before discount, no tax
    price_brutto: Decimal  # before discount, with tax
    discount_sum: Decimal  # per unit, no tax
    discount_rate: Decimal


def _tax_factor(tax_rate: Decimal | None) -> Decimal:
    return Decimal(1) + (tax_rate or ZERO) / HUNDRED


def derive_prices(price: Decimal, *, tax_rate: Decimal | None, discount_type: int,
                  discount_rate: Decimal = ZERO, discount_sum: Decimal = ZERO) -> DerivedPrices:
    """The read-only price fields Bitrix24 derives from ``price`` (rounded at each step, as the docs show)."""
    factor = _tax_factor(tax_rate)
    exclusive = money(price / factor)
    if discount_type == DiscountType.MONEY:
        per_unit = money(discount_sum)
        netto = exclusive + per_unit
        rate = percent_of(per_unit, netto)
    elif discount_rate >= HUNDRED:
        per_unit = money(discount_sum)
        netto = exclusive + per_unit
        rate = HUNDRED
    else:
        netto = money(exclusive / (Decimal(1) - discount_rate / HUNDRED))
        per_unit = netto - exclusive
        rate = discount_rate
    return DerivedPrices(exclusive, netto, money(netto * factor), per_unit, rate)


DiscountKind = Literal["percent", "per_unit", "row_total"]


@dataclass(frozen=True)
class Discount:
    """A discount as written in a spreadsheet: percent, money per unit, or money on the row total."""

    kind: DiscountKind = "percent"
    value: Decimal = ZERO


@dataclass(frozen=True)
class Pricing:
    price: Decimal  # Bitrix24 price: unit, after discount, tax included (8 places)
    discount_type_id: int
    discount_rate: Decimal
    discount_sum: Decimal  # per unit, no tax (8 places)
    tax_included: bool


def price_from_list(list_price: Decimal, quantity: Decimal, *, tax_rate: Decimal | None,
                    list_includes_tax: bool, discount: Discount = Discount()) -> Pricing:
    """From a list price and a discount to the Bitrix24 row price.

    ``price = L·(1−r/100)·(1+t/100)`` or ``(L−s)·(1+t/100)`` where L is the list price without tax. A discount
    on the row total is spread per unit and kept to 8 places, so ``price × quantity`` still rounds to the
    intended row total: no kopeck is lost when the total does not divide by the quantity.
    """
    factor = _tax_factor(tax_rate)
    net_list = list_price / factor if list_includes_tax else list_price
    if discount.kind == "percent":
        unit_net = net_list * (Decimal(1) - discount.value / HUNDRED)
        pricing_type, rate = DiscountType.PERCENT, discount.value
        per_unit_net = net_list - unit_net
    else:
        given = discount.value / quantity if discount.kind == "row_total" else discount.value
        per_unit_net = given / factor if list_includes_tax else given
        unit_net = net_list - per_unit_net
        pricing_type = DiscountType.MONEY
        rate = percent_of(per_unit_net, net_list) if net_list else ZERO
    return Pricing(price=unit(unit_net * factor), discount_type_id=pricing_type, discount_rate=rate,
                   discount_sum=unit(per_unit_net), tax_included=list_includes_tax)


@dataclass(frozen=True)
class RowTotals:
    total: Decimal  # what the customer pays for the row (tax included)
    net: Decimal  # without tax, after discount
    tax: Decimal
    discount: Decimal  # without tax
    cost: Decimal
    margin: Decimal
    cost_known: bool


def row_totals(row: ProductRow, cost_per_unit: Decimal | None = None) -> RowTotals:
    price = row.price if row.price is not None else ZERO
    total = money(price * row.quantity)
    tax = ZERO
    if row.tax_rate:
        tax = total - money(total / _tax_factor(row.tax_rate))
    net = total - tax
    derived = derive_prices(price, tax_rate=row.tax_rate, discount_type=row.discount_type_id,
                            discount_rate=row.discount_rate, discount_sum=row.discount_sum)
    discount = money(derived.discount_sum * row.quantity)
    cost = money((cost_per_unit or ZERO) * row.quantity)
    return RowTotals(total, net, tax, discount, cost, net - cost, cost_per_unit is not None)


class DocumentTotals(BaseModel):
    """What ``recalc_sum`` returns and the placement tab shows: computed, never read from storage."""

    sum: Decimal = ZERO
    discount_sum: Decimal = ZERO
    tax_sum: Decimal = ZERO
    net_sum: Decimal = ZERO
    cost_sum: Decimal = ZERO
    margin: Decimal = ZERO
    margin_percent: Decimal = ZERO
    rows: int = 0
    rows_without_cost: int = 0


def document_totals(rows: list[ProductRow], costs: dict[int, Decimal | None] | None = None) -> DocumentTotals:
    """Sum of rounded row totals; ``costs`` maps a row's position in ``rows`` to its unit cost."""
    costs = costs or {}
    out = DocumentTotals(rows=len(rows))
    for index, row in enumerate(rows):
        t = row_totals(row, costs.get(index))
        out.sum += t.total
        out.discount_sum += t.discount
        out.tax_sum += t.tax
        out.net_sum += t.net
        out.cost_sum += t.cost
        out.margin += t.margin
        out.rows_without_cost += 0 if t.cost_known else 1
    out.margin_percent = percent_of(out.margin, out.net_sum)
    return out


def rows_without_price(rows: list[ProductRow]) -> list[ProductRow]:
    return [r for r in rows if r.price is None or (r.price == ZERO and r.quantity != ZERO)]


def content_key(row: ProductRow) -> tuple[Any, ...]:
    """What makes two rows 'the same' when ids cannot be trusted (``productrow.set`` recreates rows)."""
    return (row.product_id, row.product_name.strip().lower(), row.price, row.quantity, row.discount_type_id,
            row.discount_rate, row.discount_sum, row.tax_rate, row.tax_included)


def field_values(row: ProductRow) -> dict[str, Any]:
    """The comparable, user-editable fields of a row (for merges, diffs and history)."""
    return {
        "productId": row.product_id, "productName": row.product_name,
        "price": None if row.price is None else str(row.price), "quantity": str(row.quantity),
        "discountTypeId": row.discount_type_id, "discountRate": str(row.discount_rate),
        "discountSum": str(row.discount_sum), "taxRate": None if row.tax_rate is None else str(row.tax_rate),
        "taxIncluded": "Y" if row.tax_included else "N", "measureCode": row.measure_code, "sort": row.sort,
    }


__all__ = [
    "DerivedPrices", "Discount", "DiscountType", "DocumentTotals", "Pricing", "ProductRow", "RowTotals",
    "content_key", "derive_prices", "document_totals", "field_values", "price_from_list", "row_totals",
    "rows_without_price",
]
