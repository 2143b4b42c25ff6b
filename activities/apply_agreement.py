"""``b24goods_apply_agreement``: apply a signed supplementary agreement (a smart-process item, child of the
deal) to its locked deal: one row «Доп. соглашение от DD.MM.YYYY», baseline, dates, sum, notifications,
history. Place it on the agreement's "signed" stage."""

from __future__ import annotations

from typing import Any

from b24goods.agreements import AgreementRequest, apply
from b24goods.robot import RobotContext

from . import props
from .base import Activity, Prop


def run(ctx: RobotContext) -> dict[str, Any]:
    users, _ = props.users(ctx.props, "notify_users")
    req = AgreementRequest(
        agreement=ctx.document, on=props.a_date(ctx.props, "agreement_date") or props.today(ctx.settings().timezone),
        row_name_template=props.text(ctx.props, "row_name"), new_closedate=props.a_date(ctx.props, "new_closedate"),
        update_item_dates=props.flag(ctx.props, "update_item_dates"), notify_users=users, user_id=ctx.user_id,
        client_endpoint=ctx.pc.installation.client_endpoint)
    return apply(ctx.rest, ctx.portal, req)


ACTIVITY = Activity(
    code="b24goods_apply_agreement",
    function="apply_agreement",
    name_ru="Применить доп. соглашение (Товары и услуги)",
    name_en="Apply supplementary agreement (Goods and services)",
    description_ru="Добавляет в сделку строку «Доп. соглашение от ДД.ММ.ГГГГ» с суммой изменений, обновляет "
                   "даты и сумму, уведомляет ответственных и сохраняет историю.",
    description_en="Adds one row carrying the agreement's change to the deal, updates dates and the sum, "
                   "notifies the responsible people and keeps the history.",
    run=run,
    document_types=("dynamic",),
    properties={
        "agreement_date": Prop("Дата соглашения", "Agreement date", "date"),
        "row_name": Prop("Название строки", "Row name", default="Доп. соглашение от {date}"),
        "new_closedate": Prop("Новая дата завершения сделки", "New deal close date", "date"),
        "update_item_dates": Prop("Обновить даты изделий", "Update item dates", "bool", default="N"),
        "notify_users": Prop("Уведомить", "Notify", "user", multiple=True),
    },
    returns={
        "row_id": Prop("ID строки соглашения", "Agreement row ID", "int"),
        "delta_sum": Prop("Сумма изменения", "Change amount", "double"),
        "new_sum": Prop("Новая сумма сделки", "New deal sum", "double"),
    },
)
