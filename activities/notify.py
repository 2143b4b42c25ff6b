"""``b24goods_notify``: tell people about an order (title, sum, stage, link, and what changed)."""

from __future__ import annotations

from typing import Any

from b24goods.notifying import DEFAULT_MESSAGE, notify
from b24goods.robot import RobotContext

from . import props
from .base import Activity, Prop


def run(ctx: RobotContext) -> dict[str, Any]:
    users, others = props.users(ctx.props, "users")
    count = notify(ctx.rest, ctx.portal, ctx.document, users, props.text(ctx.props, "message", DEFAULT_MESSAGE),
                   props.flag(ctx.props, "include_changes"), ctx.pc.installation.client_endpoint)
    values: dict[str, Any] = {"notified": count}
    if others and not users:
        ctx.progress(f"Получатели «{', '.join(others)}» не сотрудники: уведомлён ответственный")
    return values


ACTIVITY = Activity(
    code="b24goods_notify",
    function="notify",
    name_ru="Уведомить об изменениях (Товары и услуги)",
    name_en="Notify about changes (Goods and services)",
    description_ru="Отправляет уведомление о заказе: название, сумма, стадия, ссылка и изменения с прошлого "
                   "уведомления.",
    description_en="Sends a notification about the order: title, sum, stage, link and the changes since the last one.",
    run=run,
    properties={
        "users": Prop("Кому", "Recipients", "user", multiple=True),
        "message": Prop("Текст ({title}, {sum}, {stage}, {link})", "Message ({title}, {sum}, {stage}, {link})",
                        "text", default=DEFAULT_MESSAGE),
        "include_changes": Prop("Добавить изменения", "Include changes", "bool", default="Y"),
    },
    returns={"notified": Prop("Уведомлено", "Notified", "int")},
)
