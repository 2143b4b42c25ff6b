"""The tab's HTML: Jinja2 with autoescaping, Russian number formats, no front-end build step."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..domain.format import number, percent, quantity, rub

BX24_JS = "https://api.bitrix24.com/api/v1/"  # the Bitrix24 JS SDK: resizing the frame, opening cards
ACTION_LABEL = {"import": "импорт", "agreement": "доп. соглашение", "sync": "синхронизация", "conflict": "конфликт",
                "revert": "откат правки", "lock": "блокировка", "unlock": "разблокировка", "recalc": "пересчёт",
                "task": "задачи", "notify": "уведомление", "edit": "правка"}
OP_LABEL = {"add": "добавить", "update": "обновить", "skip": "без изменений"}


def _dt(value: Any) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(str(value)).strftime("%d.%m.%Y %H:%M")
    except ValueError:
        return str(value)


@lru_cache(maxsize=1)
def _env() -> Any:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                      autoescape=select_autoescape(["html"]), trim_blocks=True, lstrip_blocks=True)
    env.filters.update(rub=rub, num=number, qty=quantity, pct=percent, dt=_dt)
    return env


def render_tab(**context: Any) -> str:
    from .actions import SOURCE_LABEL

    return str(_env().get_template("tab.html").render(
        bx24_js=BX24_JS, action_label=ACTION_LABEL, op_label=OP_LABEL, source_label=SOURCE_LABEL, **context))
