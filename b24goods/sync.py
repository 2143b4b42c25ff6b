"""Two-way sync of an order's rows between the deal and its items, on events, on demand and by reconcile.

Reads: one batch (deal, its rows, its items) and one batch (the items' rows). Then the three-way merge
(:mod:`b24goods.domain.merge`) against the link table, under the order's lease; its writes go out as one
batch of single-row add/update/delete commands (row ids stay stable; ``productrow.set`` would recreate
them). Our own writes come back as update events: the state then equals the snapshot, and the event costs the
two reads and nothing else — no REST write, no store write.

Whoever changed the order in the last hour is told when someone else changes it (one notification per order
and person, replaced through its tag). A conflict notifies both editors and the deal's responsible person
with the two versions, and goes to history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from .bitrix import crm
from .bitrix.client import Command, RestClient
from .bitrix.payloads import DEAL_TYPE_ID, DocumentRef, EventCall
from .domain.merge import Conflict, Pair, Side, merge
from .domain.rows import ProductRow
from .events import on
from .messenger import deal_link, send
from .orders import deal_of_document, load, order_lease, remember_document
from .store.base import now_utc
from .store.models import HistoryEntry, RowChange
from .store.portal import PortalStore

EDITOR_WINDOW = 3600.0
FIELD_NAMES = {"productName": "название", "price": "цена", "quantity": "количество", "discountRate": "скидка, %",
               "discountSum": "скидка", "taxRate": "НДС", "productId": "товар", "deleted": "удаление"}


@dataclass
class SyncResult:
    rows_changed: int = 0
    conflicts: int = 0
    writes: int = 0
    skipped: str | None = None
    editors_notified: list[int] = field(default_factory=list)


@dataclass
class LinkTable:
    """The order's link table as stored: pairs, version, and the conflicts already reported."""
    exists: bool = False
    pairs: list[Pair] = field(default_factory=list)
    version: int = 0
    reported: dict[str, str] = field(default_factory=dict)


def _links(portal: PortalStore, deal_id: int) -> LinkTable:
    doc = portal.store.get(portal.member_id, "links", str(deal_id))
    if doc is None:
        return LinkTable()
    return LinkTable(True, [Pair(**p) for p in doc.get("pairs") or []], int(doc.get("version", 0)),
                     dict(doc.get("conflicts") or {}))


def _save_links(portal: PortalStore, deal_id: int, pairs: list[Pair], version: int,
                conflicts: dict[str, str] | None = None) -> None:
    portal.store.put(portal.member_id, "links", str(deal_id),
                     {"pairs": [p.__dict__ for p in pairs], "version": version, "at": now_utc().isoformat(),
                      "conflicts": conflicts or {}})


def fingerprint(conflict: Conflict) -> str:
    """A conflict is reported once per distinct pair of versions, not again on every later event."""
    import hashlib
    import json

    return hashlib.sha1(json.dumps([conflict.deal, conflict.item], sort_keys=True).encode()).hexdigest()[:16]


def _conflict_map(result: Any) -> dict[str, str]:
    return {str(c.pair.deal_row): fingerprint(c) for c in result.conflicts}


def read_order(rest: RestClient, portal: PortalStore, deal_id: int) -> tuple[dict[str, Any], list[ProductRow],
                                                                              dict[str, dict[str, Any]], dict[str, list[ProductRow]]]:
    """The deal, its rows, its items and their rows.

    Call 1: the deal, the first page of its rows, its items. Call 2: the first page of every item's rows
    together with the deal's remaining pages. Call 3, only when an item has more than 50 rows: the items'
    remaining pages. An ordinary order costs two calls, a 500-row order three.
    """
    item_type = portal.settings().item_entity_type_id
    deal = DocumentRef(entity_type_id=DEAL_TYPE_ID, id=deal_id)
    commands: list[Command] = [
        ("deal", "crm.item.get", {"entityTypeId": DEAL_TYPE_ID, "id": deal_id}),
        ("rows", "crm.item.productrow.list", crm.rows_params(deal, 0))]
    if item_type:
        commands.append(("items", "crm.item.list", {"entityTypeId": item_type, "filter": {"=parentId2": deal_id},
                                                    "select": ["id", "title", "assignedById", "updatedBy"]}))
    res = rest.batch(commands)
    res.raise_first()
    deal_item = dict((res.results.get("deal") or {}).get("item") or {})
    items = {f"{item_type}:{i['id']}": i for i in ((res.results.get("items") or {}).get("items") or [])}
    docs = {key: DocumentRef(entity_type_id=int(item_type or 0), id=int(i["id"])) for key, i in items.items()}
    first = {deal.key: (crm.rows_of(res.results.get("rows")), res.totals.get("rows"))}
    rows = crm.read_rows_of_many(rest, [deal, *docs.values()], first)
    for d in docs.values():
        remember_document(portal, d, deal_id)
    return deal_item, rows[deal.key], items, {key: rows[d.key] for key, d in docs.items()}


def sync_order(rest: RestClient, portal: PortalStore, deal_id: int, *, prefer: Side | None = None,
               source: str = "event", client_endpoint: str = "", actor: int | None = None,
               changed_doc: str | None = None) -> SyncResult:
    """``actor`` is who caused the change (the event's user), else the changed document's ``updatedBy``."""
    settings = portal.settings()
    if not settings.item_entity_type_id:
        return SyncResult(skipped="no item smart process configured")
    if load(portal, deal_id).lock.locked:
        return SyncResult(skipped="locked")  # locked orders are enforced, not synced
    deal_key = f"{DEAL_TYPE_ID}:{deal_id}"
    # Optimistic first pass without the lease: an echo (state == snapshot) ends here with no store write.
    links = _links(portal, deal_id)
    deal_item, deal_rows, items, item_rows = read_order(rest, portal, deal_id)
    if not items:
        return SyncResult(skipped="no items")
    result = merge(deal_key, deal_rows, item_rows, links.pairs, deal_only_prefixes=settings.deal_only_row_prefixes,
                   prefer=prefer)
    if not result.writes and _conflict_map(result) == links.reported and links.exists and \
            [p.__dict__ for p in result.pairs] == [p.__dict__ for p in links.pairs]:
        return SyncResult(conflicts=len(result.conflicts))
    with order_lease(portal, deal_id):
        current = _links(portal, deal_id)
        if current.version != links.version:  # another worker synced meanwhile: start from its state
            links = current
            deal_item, deal_rows, items, item_rows = read_order(rest, portal, deal_id)
            result = merge(deal_key, deal_rows, item_rows, links.pairs,
                           deal_only_prefixes=settings.deal_only_row_prefixes, prefer=prefer)
        out = SyncResult(rows_changed=len(result.changed), conflicts=len(result.conflicts), writes=len(result.writes))
        new_conflicts = [c for c in result.conflicts if links.reported.get(str(c.pair.deal_row)) != fingerprint(c)]
        if result.writes:
            res = rest.batch([_command(n, w) for n, w in enumerate(result.writes)])
            for n, write in enumerate(result.writes):
                if f"w{n}" in res.errors:
                    raise res.errors[f"w{n}"]
                if write.op == "add" and write.pair_index is not None:
                    new_id = crm.added_row_id(res.results.get(f"w{n}")) or 0
                    pair = result.pairs[write.pair_index]
                    if write.side == "item":
                        pair.item_row = new_id
                    else:
                        pair.deal_row = new_id
        _save_links(portal, deal_id, result.pairs, links.version + 1, _conflict_map(result))
    editor = actor or _int((items.get(changed_doc or "") or deal_item).get("updatedBy"))
    if result.changed:
        portal.add_history(deal_id, HistoryEntry(
            at=now_utc().isoformat(), action="sync", source=source, user_id=editor,
            deal_id=deal_id, summary=f"Синхронизация сделки и изделий: изменено строк {len(result.changed)}",
            changes=[RowChange(row=c["row"], before=c["before"], after=c["after"]) for c in result.changed],
            details={"sides": sorted({c["side"] for c in result.changed})}))
    link = deal_link(client_endpoint, deal_id, str(deal_item.get("title") or ""))
    for conflict in new_conflicts:
        _report_conflict(rest, portal, deal_id, deal_item, items, conflict, link)
    if result.changed and editor:
        out.editors_notified = _tell_other_editors(rest, portal, deal_id, editor, link)
    return out


def _command(n: int, w: Any) -> Command:
    doc = DocumentRef(entity_type_id=int(w.doc.split(":")[0]), id=int(w.doc.split(":")[1]))
    if w.op == "add":
        return (f"w{n}", "crm.item.productrow.add", {"fields": {"ownerId": doc.id, "ownerType": doc.owner_type,
                                                               **_clean(w.fields)}})
    if w.op == "update":
        return (f"w{n}", "crm.item.productrow.update", {"id": w.row_id, "fields": _clean(w.fields)})
    return (f"w{n}", "crm.item.productrow.delete", {"id": w.row_id})


def _clean(fields: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (fields or {}).items() if k not in ("id", "ownerId", "ownerType")}


def _tell_other_editors(rest: RestClient, portal: PortalStore, deal_id: int, editor: int, link: str) -> list[int]:
    now = time.time()
    told: list[int] = []

    def mutate(doc: dict[str, Any] | None) -> dict[str, Any]:
        seen = {k: v for k, v in ((doc or {}).get("editors") or {}).items() if now - float(v) < EDITOR_WINDOW}
        told.clear()  # a retried transaction runs this again: keep only the last run's answer
        told.extend(int(u) for u in seen if int(u) != editor)
        seen[str(editor)] = now
        return {"editors": seen}

    portal.store.transact(portal.member_id, "editors", str(deal_id), mutate)
    if told:
        send(rest, told, f"{link}: заказ изменил другой сотрудник (ID {editor}). Обновите карточку перед правкой.",
             tag=f"b24goods-editors-{deal_id}")
    return told


def _report_conflict(rest: RestClient, portal: PortalStore, deal_id: int, deal_item: dict[str, Any],
                     items: dict[str, dict[str, Any]], conflict: Conflict, link: str) -> None:
    fields = ", ".join(FIELD_NAMES.get(f, f) for f in conflict.fields)
    name = (conflict.deal or conflict.item or {}).get("productName") or "позиция"

    def show(values: dict[str, Any] | None) -> str:
        if values is None:
            return "удалена"
        return f"{values.get('quantity')} × {values.get('price')}" + (
            f", скидка {values.get('discountRate')}%" if values.get("discountRate") not in (None, "0") else "")

    message = (f"{link}: конфликт правок «{name}» ({fields}). В сделке: {show(conflict.deal)}; в изделии: "
               f"{show(conflict.item)}. Ничего не перезаписано — согласуйте и исправьте одну из сторон.")
    item = items.get(conflict.pair.item) or {}
    send(rest, [_int(deal_item.get("updatedBy")), _int(item.get("updatedBy")), _int(deal_item.get("assignedById"))],
         message, tag=f"b24goods-conflict-{deal_id}-{conflict.pair.deal_row}")
    portal.add_history(deal_id, HistoryEntry(
        at=now_utc().isoformat(), action="conflict", source="sync", deal_id=deal_id, document=conflict.pair.item,
        summary=f"Конфликт правок «{name}»: {fields}", user_id=_int(item.get("updatedBy")),
        changes=[RowChange(row=str(name), before=conflict.deal, after=conflict.item)]))


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def reconcile(rest: RestClient, portal: PortalStore, client_endpoint: str = "", limit: int = 1000) -> dict[str, int]:
    """Sync every order that has a link table: repairs whatever a lost event missed."""
    done = conflicts = changed = 0
    for key, _ in portal.store.list(portal.member_id, "links", limit=limit):
        result = sync_order(rest, portal, int(key), source="reconcile", client_endpoint=client_endpoint)
        done += 1
        conflicts += result.conflicts
        changed += result.rows_changed
    return {"orders": done, "rows_changed": changed, "conflicts": conflicts}


@on("ONCRMDEALUPDATE")
@on("ONCRMDYNAMICITEMADD")
@on("ONCRMDYNAMICITEMUPDATE")
def sync_on_event(portal: PortalStore, call: EventCall) -> dict[str, Any]:
    from .context import portal_context

    doc = call.document
    if doc is None:
        return {"skipped": "no document"}
    if doc.entity_type_id not in (DEAL_TYPE_ID, portal.settings().item_entity_type_id):
        return {"skipped": "not an order document"}
    if doc.is_deal and portal.store.get(portal.member_id, "links", str(doc.id)) is None:
        # A deal without items costs no REST call: its first item's ADD/UPDATE event starts the link table.
        return {"skipped": "no items linked"}
    pc = portal_context(portal)
    deal_id = deal_of_document(portal, doc)
    if deal_id is None:
        parent = crm.get_item(pc.rest, doc).get("parentId2")
        if not parent:
            return {"skipped": "item without deal"}
        deal_id = int(parent)
        remember_document(portal, doc, deal_id)
    result = sync_order(pc.rest, portal, deal_id, source=call.event.upper(),
                        client_endpoint=pc.installation.client_endpoint, actor=call.auth.user_id, changed_doc=doc.key)
    return result.__dict__
