"""Locking an order's rows after a stage, and reverting direct edits of a locked order.

``lock`` stores the approved baseline of the deal's rows and of each of its items' rows. While locked, every
``ONCRMDEALUPDATE`` / ``ONCRMDYNAMICITEMUPDATE`` of the deal or its items re-reads the rows; a difference
from the baseline is put back (single-row update/add/delete in one batch), recorded in history with who
tried what, and the editor is told to use a supplementary agreement. Our own reverts come back as events
whose rows equal the baseline: they cost one read and no write. Unlocked orders cost no REST call at all.
"""

from __future__ import annotations

import logging
from typing import Any

from .bitrix import crm
from .bitrix.client import RestClient
from .bitrix.payloads import DEAL_TYPE_ID, DocumentRef, EventCall
from .domain.lock import revert_plan, snapshot
from .events import on
from .messenger import deal_link, send
from .orders import LockState, OrderState, change, deal_of_document, load, order_lease, remember_document
from .store.base import now_utc
from .store.models import HistoryEntry, RowChange
from .store.portal import PortalStore

log = logging.getLogger(__name__)


def item_documents(rest: RestClient, portal: PortalStore, deal_id: int) -> list[DocumentRef]:
    item_type = portal.settings().item_entity_type_id
    if not item_type:
        return []
    items = crm.list_items(rest, item_type, {"=parentId2": deal_id}, select=("id",))
    return [DocumentRef(entity_type_id=item_type, id=int(i["id"])) for i in items]


def lock(rest: RestClient, portal: PortalStore, deal_id: int, reason: str, user_id: int | None) -> int:
    deal = DocumentRef(entity_type_id=DEAL_TYPE_ID, id=deal_id)
    with order_lease(portal, deal_id):
        _, rows = crm.read_document(rest, deal)
        baselines = {deal.key: snapshot(rows)}
        items = item_documents(rest, portal, deal_id)
        for doc in items:
            baselines[doc.key] = snapshot(crm.read_document(rest, doc)[1])
            remember_document(portal, doc, deal_id)

        def apply(state: OrderState) -> OrderState:
            state.lock = LockState(locked=True, reason=reason, by=user_id, at=now_utc().isoformat(), baselines=baselines)
            state.items = [d.key for d in items]
            return state

        change(portal, deal_id, apply)
    total = sum(len(b) for b in baselines.values())
    _history(portal, deal_id, "lock", user_id, f"Позиции заблокированы ({total} строк). Причина: {reason or '—'}",
             reason=reason)
    return total


def unlock(portal: PortalStore, deal_id: int, reason: str, user_id: int | None) -> int:
    state = load(portal, deal_id)
    count = sum(len(b) for b in state.lock.baselines.values())

    def apply(current: OrderState) -> OrderState:
        current.lock = LockState(locked=False, reason=reason, by=user_id, at=now_utc().isoformat())
        return current

    change(portal, deal_id, apply)
    _history(portal, deal_id, "unlock", user_id, f"Блокировка снята. Причина: {reason or '—'}", reason=reason)
    return count


def _history(portal: PortalStore, deal_id: int, action: str, user_id: int | None, summary: str, **extra: Any) -> None:
    portal.add_history(deal_id, HistoryEntry(at=now_utc().isoformat(), action=action, source="b24goods_lock_rows",
                                             user_id=user_id, deal_id=deal_id, summary=summary, **extra))


def enforce(rest: RestClient, portal: PortalStore, doc: DocumentRef, event_user: int | None,
            client_endpoint: str) -> dict[str, Any]:
    """Put a locked order's document back on its baseline. Returns what was done (for tests and logs)."""
    deal_id = deal_of_document(portal, doc)
    if deal_id is None or not load(portal, deal_id).lock.locked:
        return {"locked": False}
    with order_lease(portal, deal_id):
        state = load(portal, deal_id)
        baseline = state.lock.baselines.get(doc.key)
        if not state.lock.locked or baseline is None:
            return {"locked": state.lock.locked}
        item, rows = crm.read_document(rest, doc)
        plan = revert_plan(baseline, rows)
        if plan.empty:
            return {"locked": True, "reverted": 0}
        adds = [(f"a{k}", row) for k, row in plan.re_adds]
        res = rest.batch(crm.row_write_commands(doc, adds, [(f"u{rid}", rid, row) for rid, row in plan.updates],
                                                [(f"d{rid}", rid) for rid in plan.deletes]))
        res.raise_first()
        moved = {k: crm.added_row_id(res.results.get(f"a{k}")) for k, _ in plan.re_adds}

        def rebase(current: OrderState) -> OrderState:
            base = dict(current.lock.baselines.get(doc.key) or {})
            for old, new in moved.items():
                if new:
                    fields = base.pop(old)
                    base[str(new)] = {**fields, "id": new}
            current.lock.baselines[doc.key] = base
            return current

        change(portal, deal_id, rebase)
    editor = event_user or _int(item.get("updatedBy"))
    what = "сделки" if doc.is_deal else "изделия"
    summary = f"Прямое изменение позиций {what} отменено (заблокировано: {state.lock.reason or 'стадия'})"
    portal.add_history(deal_id, HistoryEntry(
        at=now_utc().isoformat(), action="revert", source="ONCRMDEALUPDATE" if doc.is_deal else "ONCRMDYNAMICITEMUPDATE",
        user_id=editor, deal_id=deal_id, document=doc.key, summary=summary, reason=state.lock.reason,
        changes=[RowChange(**c) for c in plan.changes]))
    title = str(item.get("title") or "")
    send(rest, [editor], f"{deal_link(client_endpoint, deal_id, title)}: позиции заблокированы "
                         f"({state.lock.reason or 'стадия сделки'}). Ваше изменение отменено — оформите "
                         f"доп. соглашение.", tag=f"b24goods-lock-{deal_id}")
    return {"locked": True, "reverted": len(plan.changes), "editor": editor}


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


@on("ONCRMDEALUPDATE")
@on("ONCRMDYNAMICITEMUPDATE")
def enforce_lock(portal: PortalStore, call: EventCall) -> dict[str, Any]:
    from .context import portal_context

    doc = call.document
    deal_id = deal_of_document(portal, doc) if doc else None
    if doc is None or deal_id is None or not load(portal, deal_id).lock.locked:
        return {"locked": False}  # the common case costs two store reads and no REST call
    pc = portal_context(portal)
    return enforce(pc.rest, portal, doc, call.auth.user_id, pc.installation.client_endpoint)
