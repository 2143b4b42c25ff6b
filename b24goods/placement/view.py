"""What the tab shows, read live and computed on display (never read from storage).

Rows come from REST at the moment the tab opens; totals, discount, tax, cost and margin come from the same
domain code as ``recalc_sum`` (:func:`b24goods.domain.rows.document_totals`). The store contributes only what
Bitrix24 does not hold: the lock and its baseline, applied agreements, the link table (which item a deal row
belongs to, and conflicts waiting for a decision) and the history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .. import costs
from ..bitrix import crm
from ..bitrix.client import RestClient
from ..bitrix.payloads import DEAL_TYPE_ID, DocumentRef
from ..domain.rows import DiscountType, DocumentTotals, ProductRow, derive_prices, document_totals, row_totals
from ..errors import PayloadError
from ..orders import OrderState, load
from ..store.models import HistoryEntry, Settings
from ..store.portal import PortalStore

HISTORY_PAGE = 10
DEAL_TAB = "CRM_DEAL_DETAIL_TAB"


def document_of_placement(placement: str, options: dict[str, Any]) -> DocumentRef:
    """``CRM_DEAL_DETAIL_TAB`` / ``CRM_DYNAMIC_<id>_DETAIL_TAB`` and ``PLACEMENT_OPTIONS.ID`` → the document."""
    raw_id = str(options.get("ID") or options.get("id") or "")
    if not raw_id.isdigit():
        raise PayloadError("PLACEMENT_OPTIONS.ID: expected the card's numeric id")
    if placement == DEAL_TAB:
        return DocumentRef(entity_type_id=DEAL_TYPE_ID, id=int(raw_id))
    m = re.fullmatch(r"CRM_DYNAMIC_(\d+)_DETAIL_TAB", placement)
    if not m:
        raise PayloadError(f"PLACEMENT: {placement!r} is not a card tab of this application")
    return DocumentRef(entity_type_id=int(m.group(1)), id=int(raw_id))


@dataclass
class RowView:
    id: int
    name: str
    quantity: Decimal
    unit: str
    list_price: Decimal  # before discount, in the row's tax mode
    discount_rate: Decimal
    discount_sum: Decimal  # per unit
    money_discount: bool
    tax_rate: Decimal | None
    tax_included: bool
    total: Decimal
    cost: Decimal | None
    margin: Decimal | None
    is_service: bool


@dataclass
class Group:
    title: str
    rows: list[RowView] = field(default_factory=list)
    total: Decimal = Decimal(0)


@dataclass
class AgreementView:
    id: int
    name: str
    delta: Decimal
    status: str
    applied_at: str | None
    voided_by: int | None
    voids: int | None


@dataclass
class TabView:
    doc: DocumentRef
    deal_id: int | None
    title: str
    currency: str
    groups: list[Group]
    totals: DocumentTotals
    show_costs: bool
    order: OrderState
    baseline_rows: int
    agreements: list[AgreementView]
    conflicts: list[str]
    history: list[tuple[str, HistoryEntry]]
    history_next: str | None
    editable: bool
    agreement_url: str | None


def can_see_costs(settings: Settings, user: dict[str, Any]) -> bool:
    """A list of user ids or departments per portal; with neither set, cost and margin stay hidden."""
    uid = int(user.get("ID") or 0)
    departments = {int(d) for d in (user.get("UF_DEPARTMENT") or []) if str(d).isdigit()}
    return uid in settings.margin_viewers or bool(departments & set(settings.margin_viewer_departments))


def _row_view(row: ProductRow, cost: Decimal | None, show_costs: bool) -> RowView:
    price = row.price or Decimal(0)
    derived = derive_prices(price, tax_rate=row.tax_rate, discount_type=row.discount_type_id,
                            discount_rate=row.discount_rate, discount_sum=row.discount_sum)
    list_price = derived.price_brutto if row.tax_included else derived.price_netto
    t = row_totals(row, cost)
    return RowView(id=row.id or 0, name=row.product_name, quantity=row.quantity, unit=row.measure_name or "шт",
                   list_price=list_price, discount_rate=derived.discount_rate, discount_sum=derived.discount_sum,
                   money_discount=row.discount_type_id == DiscountType.MONEY, tax_rate=row.tax_rate,
                   tax_included=row.tax_included, total=t.total,
                   cost=t.cost if show_costs and t.cost_known else None,
                   margin=t.margin if show_costs and t.cost_known else None, is_service=row.is_service)


def build_view(rest: RestClient, portal: PortalStore, doc: DocumentRef, *, show_costs: bool,
               client_endpoint: str, history_before: str | None = None) -> TabView:
    settings = portal.settings()
    item, rows = crm.read_document(rest, doc)
    if not item:
        raise PayloadError(f"документ {doc.key} не найден")
    deal_id = doc.id if doc.is_deal else (int(item["parentId2"]) if item.get("parentId2") else None)
    unit_costs = costs.row_costs(rest, portal, doc, rows)
    totals = document_totals(rows, unit_costs)
    groups = _groups(rest, portal, doc, rows, unit_costs, show_costs, settings)
    order = load(portal, deal_id) if deal_id else OrderState()
    baseline = order.lock.baselines.get(doc.key)
    links = portal.store.get(portal.member_id, "links", str(deal_id)) if deal_id else None
    names = {str(r.id): r.product_name for r in rows}
    conflicts = [f"«{names.get(k, k)}»: правки в сделке и в изделии расходятся"
                 for k in ((links or {}).get("conflicts") or {})]
    history: list[tuple[str, HistoryEntry]] = []
    history_next = None
    if deal_id:
        page = portal.history(deal_id, limit=HISTORY_PAGE + 1, before=history_before)
        history, more = page[:HISTORY_PAGE], len(page) > HISTORY_PAGE
        history_next = history[-1][0] if more and history else None
    agreements = [AgreementView(a.agreement_id, a.row_name, Decimal(a.delta_sum or "0"), _status(a.state, a.voided_by),
                                a.applied_at, a.voided_by, a.voids)
                  for a in sorted(order.agreements.values(), key=lambda a: a.applied_at or "")]
    base = client_endpoint.rsplit("/rest/", 1)[0]
    agreement_url = None
    if settings.agreement_entity_type_id and deal_id:
        agreement_url = (f"{base}/crm/type/{settings.agreement_entity_type_id}/details/0/"
                         f"?parentTypeId={DEAL_TYPE_ID}&parentId={deal_id}")
    return TabView(doc=doc, deal_id=deal_id, title=str(item.get("title") or ""),
                   currency=str(item.get("currencyId") or settings.currency or "RUB"), groups=groups, totals=totals,
                   show_costs=show_costs, order=order, baseline_rows=len(baseline) if baseline else 0,
                   agreements=agreements, conflicts=conflicts, history=history, history_next=history_next,
                   editable=not order.lock.locked, agreement_url=agreement_url)


def _status(state: str, voided_by: int | None) -> str:
    if voided_by:
        return f"аннулировано соглашением #{voided_by}"
    return {"applied": "применено", "applying": "применяется"}.get(state, state)


def _groups(rest: RestClient, portal: PortalStore, doc: DocumentRef, rows: list[ProductRow],
            unit_costs: dict[int, Decimal | None], show_costs: bool, settings: Settings) -> list[Group]:
    """A deal's rows grouped by the item they belong to (link table); an item's rows in one group."""
    views = [_row_view(r, unit_costs.get(i), show_costs) for i, r in enumerate(rows)]
    if not doc.is_deal:
        return [_group("Позиции изделия", views)]
    links = portal.store.get(portal.member_id, "links", str(doc.id)) or {}
    owner = {int(p["deal_row"]): str(p["item"]) for p in links.get("pairs") or [] if p.get("deal_row")}
    titles: dict[str, str] = {}
    if owner and settings.item_entity_type_id:
        listed = rest.result("crm.item.list", {"entityTypeId": settings.item_entity_type_id,
                                               "filter": {"=parentId2": doc.id}, "select": ["id", "title"]})
        for it in (listed or {}).get("items") or []:
            titles[f"{settings.item_entity_type_id}:{it['id']}"] = str(it.get("title") or f"Изделие #{it['id']}")
    by_item: dict[str, list[RowView]] = {}
    rest_rows: list[RowView] = []
    for v in views:
        key = owner.get(v.id)
        if key:
            by_item.setdefault(key, []).append(v)
        else:
            rest_rows.append(v)
    groups = [_group(titles.get(k, f"Изделие {k.split(':')[1]}"), by_item[k]) for k in sorted(by_item)]
    if rest_rows:
        groups.append(_group("Без изделия" if groups else "Позиции сделки", rest_rows))
    return groups


def _group(title: str, rows: list[RowView]) -> Group:
    return Group(title, rows, sum((r.total for r in rows), Decimal(0)))
