"""Cost price per row: snapshotted when a row is first seen, so margins do not drift with the catalog.

The snapshot lives in the store under the document (``row_costs/<entityTypeId:id>``), keyed by row id. Rows
without a snapshot take the catalog's ``purchasingPrice`` (one batch for all of them) and are snapshotted.
"""

from __future__ import annotations

from decimal import Decimal

from .bitrix import crm
from .bitrix.client import RestClient
from .bitrix.payloads import DocumentRef
from .domain.money import to_decimal
from .domain.rows import ProductRow
from .store.portal import PortalStore

COLL = "row_costs"


def row_costs(rest: RestClient, portal: PortalStore, doc: DocumentRef,
              rows: list[ProductRow]) -> dict[int, Decimal | None]:
    """Unit cost by position in ``rows`` (``None`` where nothing is known)."""
    stored = portal.store.get(portal.member_id, COLL, doc.key) or {}
    known: dict[str, str | None] = dict(stored.get("rows") or {})
    missing = [r for r in rows if r.id is not None and str(r.id) not in known]
    if missing:
        catalog = crm.purchasing_prices(rest, (r.product_id for r in missing), portal.settings().catalog_iblock_id)
        for r in missing:
            cost = catalog.get(r.product_id) if r.product_id else None
            known[str(r.id)] = None if cost is None else str(cost)
        remember(portal, doc, {int(k): (None if v is None else Decimal(v)) for k, v in known.items()},
                 live_ids={r.id for r in rows if r.id is not None})
    out: dict[int, Decimal | None] = {}
    for index, r in enumerate(rows):
        value = known.get(str(r.id)) if r.id is not None else None
        out[index] = None if value is None else to_decimal(value)
    return out


def remember(portal: PortalStore, doc: DocumentRef, costs: dict[int, Decimal | None],
             live_ids: set[int] | None = None) -> None:
    """Store snapshots (merging with what is there); rows no longer alive are dropped."""
    def mutate(current: dict | None) -> dict:
        rows = dict((current or {}).get("rows") or {})
        rows.update({str(k): (None if v is None else str(v)) for k, v in costs.items()})
        if live_ids is not None:
            rows = {k: v for k, v in rows.items() if int(k) in live_ids}
        return {"rows": rows}

    portal.store.transact(portal.member_id, COLL, doc.key, mutate)
