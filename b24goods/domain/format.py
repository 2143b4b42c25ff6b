"""Numbers as Russian users read them: ``45 900,00 ₽``, ``1,5``, ``20 %``. Pure."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u00a0"  # thousands are grouped with a non-breaking space, so a sum never wraps inside a table cell


def _group(digits: str) -> str:
    parts: list[str] = []
    while len(digits) > 3:
        parts.insert(0, digits[-3:])
        digits = digits[:-3]
    parts.insert(0, digits)
    return NBSP.join(parts)


def number(value: Decimal | int | str | None, places: int = 2) -> str:
    if value is None or value == "":
        return ""
    d = Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if d < 0 else ""
    text = f"{abs(d):.{places}f}"
    whole, _, frac = text.partition(".")
    return f"{sign}{_group(whole)}" + (f",{frac}" if places else "")


def rub(value: Decimal | int | str | None, currency: str = "RUB") -> str:
    """``Decimal("45900") → "45 900,00 ₽"`` (other currencies keep their code)."""
    if value is None or value == "":
        return ""
    symbol = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br"}.get(currency, currency)
    return f"{number(value)}{NBSP}{symbol}"


def quantity(value: Decimal | int | str | None) -> str:
    """Quantities without trailing zeros: ``1,5``, ``12``, ``1 000``."""
    if value is None or value == "":
        return ""
    d = Decimal(str(value)).normalize()
    exponent = d.as_tuple().exponent
    places = max(0, -exponent) if isinstance(exponent, int) else 0
    return number(d, min(places, 4))


def percent(value: Decimal | int | str | None) -> str:
    if value is None or value == "":
        return "—"
    return f"{quantity(value)}{NBSP}%"
