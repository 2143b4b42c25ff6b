"""``b24goods_sync_rows``: sync the order's rows between the deal and its items on demand (or one way)."""

from __future__ import annotations

from typing import Any

from b24goods.bitrix import crm
from b24goods.errors import DomainError
from b24goods.robot import RobotContext
from b24goods.sync import sync_order

from . import props
from .base import Activity, Prop

PREFER = {"both": None, "deal_to_items": "deal", "items_to_deal": "item"}


def run(ctx: RobotContext) -> dict[str, Any]:
    direction = props.choice(ctx.props, "direction", tuple(PREFER), "both")
    doc = ctx.document
    deal_id = doc.id if doc.is_deal else int(crm.get_item(ctx.rest, doc).get("parentId2") or 0)
    if not deal_id:
        raise DomainError("Изделие не привязано к сделке", code="NO_DEAL")
    result = sync_order(ctx.rest, ctx.portal, deal_id, prefer=PREFER[direction], source=ctx.call.code,  # type: ignore[arg-type]
                        client_endpoint=ctx.pc.installation.client_endpoint)
    if result.skipped == "locked":
        raise DomainError("Позиции сделки заблокированы: изменения — через доп. соглашение", code="DEAL_LOCKED")
    return {"rows_changed": result.rows_changed, "conflicts": result.conflicts}


ACTIVITY = Activity(
    code="b24goods_sync_rows",
    function="sync_rows",
    name_ru="Синхронизировать сделку и изделия (Товары и услуги)",
    name_en="Sync deal and items (Goods and services)",
    description_ru="Сверяет товары и услуги сделки и её изделий: изменения переносятся, конфликты сообщаются.",
    description_en="Reconciles the goods and services of the deal and its items: changes carried over, conflicts reported.",
    run=run,
    properties={"direction": Prop("Направление", "Direction", "select", default="both", options={
        "both": "В обе стороны", "deal_to_items": "Из сделки в изделия", "items_to_deal": "Из изделий в сделку"})},
    returns={"rows_changed": Prop("Изменено строк", "Rows changed", "int"),
             "conflicts": Prop("Конфликтов", "Conflicts", "int")},
)
