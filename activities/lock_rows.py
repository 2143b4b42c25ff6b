"""``b24goods_lock_rows``: lock (or unlock) the deal's rows. Placing it on a stage is how an admin chooses
"the stages after which direct editing is blocked"; changes then go through supplementary agreements."""

from __future__ import annotations

from typing import Any

from b24goods.errors import PropertyError
from b24goods.locking import lock, unlock
from b24goods.robot import RobotContext

from . import props
from .base import Activity, Prop


def run(ctx: RobotContext) -> dict[str, Any]:
    if not ctx.document.is_deal:
        raise PropertyError("Робот «Заблокировать позиции» работает в сделке")
    action = props.choice(ctx.props, "action", ("lock", "unlock"), "lock")
    reason = props.text(ctx.props, "reason")
    if action == "lock":
        count = lock(ctx.rest, ctx.portal, ctx.document.id, reason, ctx.user_id)
    else:
        count = unlock(ctx.portal, ctx.document.id, reason, ctx.user_id)
    return {"locked_rows": count if action == "lock" else 0}


ACTIVITY = Activity(
    code="b24goods_lock_rows",
    function="lock_rows",
    name_ru="Заблокировать позиции (Товары и услуги)",
    name_en="Lock rows (Goods and services)",
    description_ru="Фиксирует утверждённый состав товаров и услуг сделки: прямые изменения отменяются, "
                   "изменения — только через доп. соглашение.",
    description_en="Freezes the approved rows of the deal: direct edits are reverted; changes go through a "
                   "supplementary agreement.",
    run=run,
    document_types=("deal",),
    properties={
        "action": Prop("Действие", "Action", "select", default="lock",
                       options={"lock": "Заблокировать", "unlock": "Разблокировать"}),
        "reason": Prop("Причина", "Reason"),
    },
    returns={"locked_rows": Prop("Заблокировано строк", "Locked rows", "int")},
)
