"""Money arithmetic: ``Decimal`` only, PHP-like half-up rounding.

Bitrix24 rounds with PHP's ``round()``, which rounds half away from zero. Python's ``round()`` rounds half to
even, so ``round(0.125, 2) == 0.12`` while Bitrix24 shows ``0.13``. Everything here goes through
:func:`money` (2 places) or :func:`unit` (8 places, for unit prices that must not lose a kopeck when a
row-total discount does not divide by the quantity).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
UNIT_PLACES = Decimal("0.00000001")
ZERO = Decimal("0")
HUNDRED = Decimal("100")
NBSP = "\u00a0"


def to_decimal(value: Any) -> Decimal:
    """Exact conversion: floats go through ``repr`` so ``0.1`` stays ``0.1`` (JSON numbers arrive as float)."""
    if isinstance(value, Decimal):
        return value
    if value is None or value == "":
        return ZERO
    if isinstance(value, bool):
        raise TypeError("a boolean is not an amount")
    if isinstance(value, float):
        value = repr(value)
    try:
        return Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {value!r}") from exc


def money(value: Any) -> Decimal:
    """Round to kopecks, half up (PHP ``round($x, 2)``)."""
    return to_decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def unit(value: Any) -> Decimal:
    """Round a unit price to 8 places: enough that ``unit × quantity`` rounds back to the intended total."""
    return to_decimal(value).quantize(UNIT_PLACES, rounding=ROUND_HALF_UP)


def percent_of(part: Decimal, whole: Decimal) -> Decimal:
    """``part / whole`` in percent, rounded to 0.01; zero when ``whole`` is zero."""
    if whole == ZERO:
        return ZERO
    return money(part * HUNDRED / whole)


def plain(value: Decimal) -> str:
    """A decimal as Bitrix24 expects it in JSON or a form: no exponent, no trailing zeros beyond need."""
    text = format(value.normalize(), "f") if value != ZERO else "0"
    return text


def format_rub(value: Decimal) -> str:
    """``45 900,00 ₽`` as Russian users expect (NBSP thousands separator, decimal comma)."""
    from .format import rub

    return rub(money(value))
