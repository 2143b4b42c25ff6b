"""``b24goods_assign_executors``: a CRM task per service row for its executor, without duplicates on re-runs."""

from __future__ import annotations

from typing import Any

from b24goods.errors import PropertyError
from b24goods.executors import assign
from b24goods.robot import RobotContext

from . import props
from .base import Activity, Prop


def run(ctx: RobotContext) -> dict[str, Any]:
    if not ctx.document.is_deal:
        raise PropertyError("Робот «Назначить исполнителей» работает в сделке")
    executors, _ = props.users(ctx.props, "executor")
    result = assign(ctx.rest, ctx.portal, ctx.document.id, default_executor=executors[0] if executors else None,
                    deadline_days=props.integer(ctx.props, "deadline_days", 3) or 0,
                    services_only=props.flag(ctx.props, "services_only", True), user_id=ctx.user_id)
    values: dict[str, Any] = {"tasks_created": result.created, "tasks_updated": result.updated}
    if result.problems:
        values["error"] = "Не все позиции назначены: " + "; ".join(result.problems)
    return values


ACTIVITY = Activity(
    code="b24goods_assign_executors",
    function="assign_executors",
    name_ru="Назначить исполнителей (Товары и услуги)",
    name_en="Assign executors (Goods and services)",
    description_ru="Создаёт исполнителям задачи в CRM по услугам заказа; повторный запуск обновляет задачи, "
                   "без дублей.",
    description_en="Creates CRM tasks for the executors of the order's services; re-runs update them, no duplicates.",
    run=run,
    document_types=("deal",),
    properties={
        "executor": Prop("Исполнитель по умолчанию", "Default executor", "user"),
        "deadline_days": Prop("Срок, дней", "Deadline, days", "int", default="3"),
        "services_only": Prop("Только услуги", "Services only", "bool", default="Y"),
    },
    returns={"tasks_created": Prop("Создано задач", "Tasks created", "int"),
             "tasks_updated": Prop("Обновлено задач", "Tasks updated", "int")},
)
