"""The ``notify`` robot's operation: a templated message about an order, with what changed since the
recipient's last notification about it. Totals in the message are computed from live rows."""

from __future__ import annotations

from typing import Any

from .bitrix.client import RestClient
from .bitrix.payloads import DocumentRef
from .domain.money import format_rub
from .messenger import send
from .orders import deal_of_document
from .store.base import now_utc
from .store.portal import PortalStore
from .totals import compute_totals, deal_of

DEFAULT_MESSAGE = "Заказ {link}: сумма {sum}, стадия «{stage}»."


def card_link(client_endpoint: str, doc: DocumentRef, title: str) -> str:
    base = client_endpoint.rsplit("/rest/", 1)[0]
    path = f"crm/deal/details/{doc.id}/" if doc.is_deal else f"crm/type/{doc.entity_type_id}/details/{doc.id}/"
    return f"[URL={base}/{path}]{title or doc.key}[/URL]"


def stage_name(rest: RestClient, stage_id: str) -> str:
    if not stage_id:
        return "—"
    statuses = rest.result("crm.status.list", {"filter": {"STATUS_ID": stage_id}}) or []
    return str(statuses[0].get("NAME") or stage_id) if statuses else stage_id


def render(template: str, values: dict[str, str]) -> str:
    text = template or DEFAULT_MESSAGE
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text


def changes_since(portal: PortalStore, deal_id: int, user_id: int) -> tuple[list[str], str | None]:
    mark = portal.store.get(portal.member_id, "notify_marks", f"{deal_id}:{user_id}") or {}
    since = mark.get("at")
    lines = [f"— {e.summary}" for _, e in portal.history(deal_id, limit=20) if not since or e.at > since]
    return list(reversed(lines)), since


def notify(rest: RestClient, portal: PortalStore, doc: DocumentRef, users: list[int], template: str,
           include_changes: bool, client_endpoint: str) -> int:
    item, _, totals = compute_totals(rest, portal, doc, require_prices=False)
    recipients = users or [int(item.get("assignedById") or 0)]
    deal_id = deal_of(doc, item) or deal_of_document(portal, doc)
    base = render(template, {"title": str(item.get("title") or ""), "sum": format_rub(totals.sum),
                             "stage": stage_name(rest, str(item.get("stageId") or "")),
                             "link": card_link(client_endpoint, doc, str(item.get("title") or "")), "id": str(doc.id)})
    sent: list[int] = []
    for user in [u for u in recipients if u]:
        message = base
        if include_changes and deal_id:
            lines, _ = changes_since(portal, deal_id, user)
            message += "\nИзменения с прошлого уведомления:\n" + ("\n".join(lines) if lines else "— нет изменений")
        sent += send(rest, [user], message, tag=f"b24goods-notify-{doc.key}")
        if deal_id:
            portal.store.put(portal.member_id, "notify_marks", f"{deal_id}:{user}", {"at": now_utc().isoformat()})
    return len(sent)


def as_returns(count: int) -> dict[str, Any]:
    return {"notified": count}
