"""CRM tasks for the executors of an order's service rows (``tasks.task.add/update/complete``).

One task per service row (or per row), responsible = the row's executor (the CSV «Исполнитель» column kept
per row at import, resolved to exactly one portal user) or the robot's default executor. The order keeps
row → task, so a re-run creates no duplicates: a changed row updates its task, a removed row's task is
completed with a comment. All writes are batched.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from .bitrix import crm
from .bitrix.client import RestClient
from .bitrix.payloads import DEAL_TYPE_ID, DocumentRef
from .domain.people import match_user
from .domain.portal_time import portal_today
from .domain.rows import ProductRow
from .locking import item_documents
from .store.base import now_utc
from .store.models import HistoryEntry
from .store.portal import PortalStore


@dataclass
class TaskResult:
    created: int = 0
    updated: int = 0
    closed: int = 0
    problems: list[str] = field(default_factory=list)


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value)[:10]).date()
    except ValueError:
        return None


def deadline(deal: dict[str, Any], days: int, today: date) -> str:
    start = max(_date(deal.get("begindate")) or today, today)
    due = start + timedelta(days=max(days, 0))
    close = _date(deal.get("closedate"))
    if close and close >= today and due > close:
        due = close
    return f"{due.isoformat()}T18:00:00"


def users(rest: RestClient) -> list[dict[str, Any]]:
    """All users (``user.get``, paged). Filtered here: the published schema types ``FILTER`` as a string."""
    return [u for u in rest.list_all("user.get", {}) if u.get("ACTIVE", True) in (True, "Y", "1", 1)]


def assign(rest: RestClient, portal: PortalStore, deal_id: int, *, default_executor: int | None, deadline_days: int,
           services_only: bool, user_id: int | None) -> TaskResult:
    deal = DocumentRef(entity_type_id=DEAL_TYPE_ID, id=deal_id)
    item, rows = crm.read_document(rest, deal)
    meta = (portal.store.get(portal.member_id, "row_meta", deal.key) or {}).get("rows") or {}
    wanted = [r for r in rows if not services_only or r.is_service or (meta.get(str(r.id)) or {}).get("is_service")]
    people = users(rest) if any((meta.get(str(r.id)) or {}).get("executor") for r in wanted) else []
    items = item_documents(rest, portal, deal_id)
    bindings = [deal.binding] + ([items[0].binding] if len(items) == 1 else [])
    state = portal.store.get(portal.member_id, "tasks", deal.key) or {}
    known: dict[str, dict[str, Any]] = dict(state.get("rows") or {})
    result = TaskResult()
    adds, updates = [], []
    due = deadline(item, deadline_days, portal_today(portal.settings().timezone))
    for row in wanted:
        info = meta.get(str(row.id)) or {}
        responsible = default_executor
        if info.get("executor"):
            found, candidates = match_user(str(info["executor"]), people)
            if found is None:
                why = "несколько сотрудников" if candidates else "нет такого сотрудника"
                result.problems.append(f"«{row.product_name}»: исполнитель «{info['executor']}» — {why}"
                                       + (f" (ID {', '.join(map(str, candidates))})" if candidates else ""))
                continue
            responsible = found
        if not responsible:
            result.problems.append(f"«{row.product_name}»: не указан исполнитель")
            continue
        fields = _task_fields(row, item, responsible, due, bindings, info.get("note", ""))
        digest = hashlib.sha1(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
        current = known.get(str(row.id))
        if current is None:
            adds.append((str(row.id), fields, digest))
        elif current.get("digest") != digest:
            updates.append((str(row.id), int(current["task_id"]), fields, digest))
    res = rest.batch([(f"a{rid}", "tasks.task.add", {"fields": f}) for rid, f, _ in adds]
                     + [(f"u{rid}", "tasks.task.update", {"taskId": tid, "fields": f}) for rid, tid, f, _ in updates])
    for rid, _, digest in adds:
        task = (res.results.get(f"a{rid}") or {}).get("task") or {}
        if task.get("id"):
            known[rid] = {"task_id": int(task["id"]), "digest": digest}
            result.created += 1
        elif f"a{rid}" in res.errors:
            result.problems.append(f"строка {rid}: задача не создана ({res.errors[f'a{rid}'].message})")
    for rid, tid, _, digest in updates:
        if f"u{rid}" not in res.errors:
            known[rid] = {"task_id": tid, "digest": digest}
            result.updated += 1
    live = {str(r.id) for r in rows}
    gone = [(rid, v) for rid, v in known.items() if rid not in live]
    if gone:
        rest.batch([c for rid, v in gone for c in (
            (f"c{rid}", "task.commentitem.add", {"TASKID": v["task_id"], "FIELDS": {
                "POST_MESSAGE": "Позиция удалена из заказа: задача закрыта автоматически."}}),
            (f"f{rid}", "tasks.task.complete", {"taskId": v["task_id"]}))])
        for rid, _ in gone:
            known.pop(rid)
        result.closed = len(gone)
    portal.store.put(portal.member_id, "tasks", deal.key, {"rows": known})
    portal.add_history(deal_id, HistoryEntry(
        at=now_utc().isoformat(), action="task", source="b24goods_assign_executors", user_id=user_id, deal_id=deal_id,
        summary=f"Задачи исполнителям: создано {result.created}, обновлено {result.updated}, закрыто {result.closed}"
                + (f"; не назначено: {'; '.join(result.problems)}" if result.problems else "")))
    return result


def _task_fields(row: ProductRow, deal: dict[str, Any], responsible: int, due: str, bindings: list[str],
                 note: str) -> dict[str, Any]:
    title = str(deal.get("title") or f"Сделка #{deal.get('id')}")
    lines = [f"Заказ: {title}", f"Позиция: {row.product_name}", f"Количество: {row.quantity:g} {row.measure_name or ''}".strip(),
             f"Цена: {row.price}"]
    if note:
        lines.append(f"Примечание: {note}")
    return {"TITLE": f"{row.product_name} — {title}"[:250], "RESPONSIBLE_ID": responsible, "DEADLINE": due,
            "DESCRIPTION": "\n".join(lines), "UF_CRM_TASK": bindings}
