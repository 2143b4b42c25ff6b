"""Robot property values, as Bitrix24 sends them, into Python values (with errors that name the property)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from b24goods.domain.money import to_decimal
from b24goods.domain.portal_time import portal_today
from b24goods.errors import PropertyError


def _values(value: Any) -> list[Any]:
    """A property's values: PHP form keys give a list, or a dict when the indexes are sparse (``[1]``, ``[3]``)."""
    if isinstance(value, dict):
        return list(value.values())  # in the form's order, which is the index order
    if isinstance(value, list):
        return value
    return [] if value in (None, "") else [value]


def _scalar(value: Any) -> Any:
    values = _values(value)
    return values[0] if values else None


def text(props: dict[str, Any], name: str, default: str = "") -> str:
    value = _scalar(props.get(name))
    return default if value is None else str(value).strip() or default


def flag(props: dict[str, Any], name: str, default: bool = False) -> bool:
    value = text(props, name)
    if value == "":
        return default
    if value.upper() in {"Y", "1", "TRUE", "ДА"}:
        return True
    if value.upper() in {"N", "0", "FALSE", "НЕТ"}:
        return False
    raise PropertyError(f"Параметр «{name}»: ожидается Да/Нет (Y/N), получено «{value}»")


def choice(props: dict[str, Any], name: str, options: tuple[str, ...], default: str) -> str:
    value = text(props, name, default)
    if value not in options:
        raise PropertyError(f"Параметр «{name}»: допустимые значения {', '.join(options)}, получено «{value}»")
    return value


def integer(props: dict[str, Any], name: str, default: int | None = None) -> int | None:
    value = text(props, name)
    if value == "":
        return default
    try:
        return int(Decimal(value.replace(",", ".")))
    except Exception:
        raise PropertyError(f"Параметр «{name}»: ожидается целое число, получено «{value}»") from None


def number(props: dict[str, Any], name: str) -> Decimal | None:
    value = text(props, name)
    if value == "":
        return None
    try:
        return to_decimal(value.replace(" ", "").replace(",", "."))
    except ValueError:
        raise PropertyError(f"Параметр «{name}»: ожидается число, получено «{value}»") from None


def parse_date(value: str) -> date:
    """A date as the portal formats it (``bitrix24-rest.md`` §2.3: the site's format, not ISO).

    ``21.08.2026`` (Russian and most cultures), ``08/21/2026`` (the English culture: month first; day first only
    where the first number cannot be a month, ``21/08/2026``), ``2026-08-21``; any time part is ignored.
    """
    value = value.strip()
    m = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ T].*)?", value)
    if m:
        return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    m = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})(?:[ T].*)?", value)
    if m:
        first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        return date(year, second, first) if first > 12 else date(year, first, second)
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?", value)
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    raise ValueError(value)


def a_date(props: dict[str, Any], name: str) -> date | None:
    value = text(props, name)
    if value == "":
        return None
    try:
        return parse_date(value)
    except ValueError:
        raise PropertyError(f"Параметр «{name}»: не дата («{value}»); ожидается ДД.ММ.ГГГГ, ММ/ДД/ГГГГ или "
                            f"ГГГГ-ММ-ДД") from None


def users(props: dict[str, Any], name: str) -> tuple[list[int], list[str]]:
    """``user_12`` values → user ids. Groups and roles (``group_...``, ``Author``...) are returned apart."""
    values = _values(props.get(name))
    ids: list[int] = []
    other: list[str] = []
    for item in values:
        for part in re.split(r"[;,]", str(item)):
            part = part.strip()
            if not part:
                continue
            m = re.fullmatch(r"(?:user_)?(\d+)", part)
            if m:
                ids.append(int(m.group(1)))
            else:
                other.append(part)
    return list(dict.fromkeys(ids)), other


def today(timezone: str | None) -> date:
    """Today in the portal's time zone (the server runs in UTC)."""
    return portal_today(timezone)
