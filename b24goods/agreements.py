"""Applying a signed supplementary agreement to its locked order, in one consistent step.

Under the order's lease: check (signed file, rows, lock), add the one agreement row to the deal, move the lock
baseline to include it, update dates when asked, recalculate the deal sum, record the agreement in the order
and history, add a timeline line, notify. The order record makes it idempotent: a second application of the
same agreement returns the first result and changes nothing. A record left ``applying`` by a crash is
finished, not redone (its row is found by id or by its unique name and sort).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, TypeGuard

from . import costs
from .bitrix import crm
from .bitrix.client import RestClient
from .bitrix.payloads import DEAL_TYPE_ID, DocumentRef
from .domain.agreement import agreement_row, delta_of, reverses, row_name
from .domain.lock import snapshot
from .domain.money import format_rub
from .domain.rows import ProductRow, document_totals
from .errors import DomainError, RestError
from .messenger import deal_link, send
from .orders import AgreementRecord, OrderState, change, load, order_lease
from .store.base import now_utc
from .store.models import HistoryEntry, RowChange, Settings
from .store.portal import PortalStore
from .totals import as_text, write_sum

log = logging.getLogger(__name__)


@dataclass
class AgreementRequest:
    agreement: DocumentRef
    on: date
    row_name_template: str = ""
    new_closedate: date | None = None
    update_item_dates: bool = False
    notify_users: list[int] = field(default_factory=list)
    user_id: int | None = None
    client_endpoint: str = ""


def signed_file(item: dict[str, Any], settings: Settings) -> dict[str, Any] | None:
    """The signed scan: the configured file field, else any UF field of the agreement holding a file."""
    def is_file(v: Any) -> TypeGuard[dict[str, Any]]:
        return isinstance(v, dict) and bool(v.get("id")) and ("url" in v or "urlMachine" in v)

    candidates = [settings.agreement_file_field.upper()] if settings.agreement_file_field else \
        [k for k in item if k.upper().startswith("UF_")]
    for key in candidates:
        value = item.get(key)
        values = value if isinstance(value, list) else [value]
        files = [v for v in values if is_file(v)]
        if files:
            return {"field": key, "id": files[-1]["id"]}
    return None


def _find_row(rows: list[ProductRow], record: AgreementRecord, sort: int) -> ProductRow | None:
    if record.row_id:
        hit = next((r for r in rows if r.id == record.row_id), None)
        if hit:
            return hit
    return next((r for r in rows if r.product_name == record.row_name and r.sort == sort), None)


def apply(rest: RestClient, portal: PortalStore, req: AgreementRequest) -> dict[str, Any]:
    settings = portal.settings()
    agreement = crm.get_item(rest, req.agreement, original_uf=True)
    if not agreement:
        raise DomainError(f"Доп. соглашение {req.agreement.id} не найдено", code="AGREEMENT_NOT_FOUND")
    deal_id = int(agreement.get("parentId2") or 0)
    if not deal_id:
        raise DomainError("Доп. соглашение не привязано к сделке (нет родительской сделки)", code="NO_DEAL")
    key = str(req.agreement.id)
    done = load(portal, deal_id).agreements.get(key)
    if done is not None and done.state == "applied":
        return _returns(done)
    scan = signed_file(agreement, settings)
    if scan is None:
        raise DomainError("К доп. соглашению не загружен подписанный файл: загрузите скан и повторите",
                          code="NO_SIGNED_FILE")
    _, rows = crm.read_document(rest, req.agreement)
    if not rows:
        raise DomainError("В доп. соглашении нет товарных позиций", code="AGREEMENT_EMPTY")
    deal = DocumentRef(entity_type_id=DEAL_TYPE_ID, id=deal_id)
    with order_lease(portal, deal_id):
        state = load(portal, deal_id)
        record = state.agreements.get(key)
        if record is not None and record.state == "applied":
            return _returns(record)
        if not state.lock.locked:
            raise DomainError(f"Сделка {deal_id} не заблокирована: доп. соглашение применяется только после "
                              f"блокировки позиций (робот «Заблокировать позиции»)", code="DEAL_NOT_LOCKED")
        name = row_name(req.row_name_template, req.on)
        delta = delta_of(rows)
        deal_item, deal_rows = crm.read_document(rest, deal)
        sort = 100000 + req.agreement.id  # unique per agreement: lets a resumed application find its row
        voided = _reversed_agreement(state, rows)
        record = record or AgreementRecord(agreement_id=req.agreement.id, row_name=name, delta_sum=str(delta),
                                           by=req.user_id, file=scan, rows=[r.to_bitrix() for r in rows],
                                           item_id=_item_of(agreement, settings), voids=voided)
        change(portal, deal_id, lambda s: _put(s, key, record))
        existing = _find_row(deal_rows, record, sort)
        new_row = agreement_row(name, delta, rows, sort)
        if existing is None:
            new_row.id = crm.added_row_id(rest.result("crm.item.productrow.add", {"fields": {
                "ownerId": deal_id, "ownerType": deal.owner_type, **new_row.to_bitrix()}}))
            deal_rows.append(new_row)
        else:
            new_row.id = existing.id
        record.row_id = new_row.id
        change(portal, deal_id, lambda s: _include_in_baseline(s, deal, new_row))
        _update_dates(rest, portal, req, deal, record)
        # the rows just read plus the one just added: the live state, without reading it a second time
        totals = document_totals(deal_rows, costs.row_costs(rest, portal, deal, deal_rows))
        write_sum(rest, deal, deal_item, totals)
        record.state, record.new_sum, record.applied_at = "applied", as_text(totals.sum), now_utc().isoformat()
        change(portal, deal_id, lambda s: _finish(s, key, record))
    _after(rest, portal, req, deal_id, deal_item, record, rows)
    return _returns(record)


def _item_responsibles(rest: RestClient, portal: PortalStore, record: AgreementRecord,
                       deal_id: int) -> list[int | None]:
    """The responsible people of the item the agreement names, else of every item of the order. Best effort:
    the agreement is applied by now, so a refused lookup (no rights to the item process) leaves the deal's
    responsible person and ``notify_users`` to be told, rather than an error for an agreement that happened."""
    item_type = portal.settings().item_entity_type_id
    if not item_type:
        return []
    flt = {"=id": record.item_id} if record.item_id else {"=parentId2": deal_id}
    try:
        items = crm.list_items(rest, item_type, flt, select=("id", "assignedById"))
    except RestError as exc:
        log.info("agreement %s: items' responsible people not read (%s)", record.agreement_id, exc.code)
        return []
    return [_int(i.get("assignedById")) for i in items]


def _put(state: OrderState, key: str, record: AgreementRecord) -> OrderState:
    state.agreements[key] = record
    return state


def _finish(state: OrderState, key: str, record: AgreementRecord) -> OrderState:
    state.agreements[key] = record
    if record.voids is not None and str(record.voids) in state.agreements:
        state.agreements[str(record.voids)].voided_by = record.agreement_id
    return state


def _include_in_baseline(state: OrderState, deal: DocumentRef, row: ProductRow) -> OrderState:
    if row.id:
        state.lock.baselines.setdefault(deal.key, {}).update(snapshot([row]))
    return state


def _reversed_agreement(state: OrderState, rows: list[ProductRow]) -> int | None:
    for other in state.agreements.values():
        if other.state == "applied" and other.voided_by is None and \
                reverses(rows, [ProductRow.model_validate(r) for r in other.rows]):
            return other.agreement_id
    return None


def _item_of(agreement: dict[str, Any], settings: Settings) -> int | None:
    if settings.item_entity_type_id:
        value = agreement.get(f"parentId{settings.item_entity_type_id}")
        return int(value) if value else None
    return None


def _update_dates(rest: RestClient, portal: PortalStore, req: AgreementRequest, deal: DocumentRef,
                  record: AgreementRecord) -> None:
    if req.new_closedate is None:
        return
    stamp = req.new_closedate.isoformat()
    crm.update_item(rest, deal, {"closedate": stamp})
    item_type = portal.settings().item_entity_type_id
    if req.update_item_dates and item_type:
        ids = [record.item_id] if record.item_id else [
            int(i["id"]) for i in crm.list_items(rest, item_type, {"=parentId2": deal.id}, select=("id",))]
        for item_id in ids:
            crm.update_item(rest, DocumentRef(entity_type_id=item_type, id=item_id), {"closedate": stamp})


def _after(rest: RestClient, portal: PortalStore, req: AgreementRequest, deal_id: int, deal_item: dict[str, Any],
           record: AgreementRecord, rows: list[ProductRow]) -> None:
    delta = Decimal(record.delta_sum)
    reversal = f" (отменяет доп. соглашение №{record.voids})" if record.voids else ""
    summary = (f"Применено доп. соглашение №{record.agreement_id}{reversal}: «{record.row_name}» на "
               f"{format_rub(delta)}; новая сумма {format_rub(Decimal(record.new_sum or '0'))}")
    portal.add_history(deal_id, HistoryEntry(
        at=now_utc().isoformat(), action="agreement", source="b24goods_apply_agreement", user_id=req.user_id,
        deal_id=deal_id, document=req.agreement.key, summary=summary,
        changes=[RowChange(row=r.product_name, before=None, after=r.to_bitrix()) for r in rows],
        details={"agreement_id": record.agreement_id, "row_id": record.row_id, "signed_file": record.file,
                 "delta_sum": record.delta_sum, "new_sum": record.new_sum, "voids": record.voids,
                 "new_closedate": req.new_closedate.isoformat() if req.new_closedate else None}))
    crm.timeline_note(rest, DocumentRef(entity_type_id=DEAL_TYPE_ID, id=deal_id), "Доп. соглашение", summary)
    recipients = [_int(deal_item.get("assignedById")), *req.notify_users,
                  *_item_responsibles(rest, portal, record, deal_id)]
    link = deal_link(req.client_endpoint, deal_id, str(deal_item.get("title") or ""))
    send(rest, recipients, f"{link}: {summary}", tag=f"b24goods-agreement-{deal_id}")


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _returns(record: AgreementRecord) -> dict[str, Any]:
    return {"row_id": record.row_id or "", "delta_sum": as_text(Decimal(record.delta_sum)),
            "new_sum": record.new_sum or ""}
