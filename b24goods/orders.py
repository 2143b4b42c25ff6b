"""An order's state in the store (lock, baselines, applied agreements) and the lease that serialises work on it.

REST writes cannot join a store transaction, so every operation that reads an order's rows, writes to the
portal and then moves the order's state (a revert, an agreement, a sync) runs under a per-order lease: two
events or two agreements for one order never interleave their writes. The state itself is changed with
``update_order`` (a transaction; ``version`` grows by one each time).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import BaseModel, Field

from .bitrix.payloads import DocumentRef
from .domain.lock import Baseline
from .errors import ConflictError
from .store.portal import PortalStore

LEASE_SECONDS = 90.0


class LockState(BaseModel):
    locked: bool = False
    reason: str = ""
    by: int | None = None
    at: str | None = None
    baselines: dict[str, Baseline] = Field(default_factory=dict)  # document key → baseline


class AgreementRecord(BaseModel):
    agreement_id: int
    state: Literal["applying", "applied"] = "applying"
    row_id: int | None = None
    row_name: str = ""
    delta_sum: str = "0"
    new_sum: str | None = None
    applied_at: str | None = None
    by: int | None = None
    file: dict[str, Any] = Field(default_factory=dict)
    rows: list[dict[str, Any]] = Field(default_factory=list)
    item_id: int | None = None
    voids: int | None = None
    voided_by: int | None = None


class OrderState(BaseModel):
    version: int = 0
    lock: LockState = Field(default_factory=LockState)
    agreements: dict[str, AgreementRecord] = Field(default_factory=dict)
    items: list[str] = Field(default_factory=list)  # document keys of the order's items


def load(portal: PortalStore, deal_id: int) -> OrderState:
    return OrderState.model_validate(portal.order(deal_id) or {})


def change(portal: PortalStore, deal_id: int, fn: Callable[[OrderState], OrderState | None]) -> OrderState:
    def mutate(doc: dict[str, Any]) -> dict[str, Any] | None:
        new = fn(OrderState.model_validate(doc))
        return None if new is None else new.model_dump(mode="json", exclude={"version"})

    return OrderState.model_validate(portal.update_order(deal_id, mutate))


def deal_of_document(portal: PortalStore, doc: DocumentRef) -> int | None:
    """The order a document belongs to, from the store (no REST call): deals are their own order."""
    if doc.is_deal:
        return doc.id
    found = portal.store.get(portal.member_id, "doc_orders", doc.key)
    return int(found["deal_id"]) if found else None


def remember_document(portal: PortalStore, doc: DocumentRef, deal_id: int) -> None:
    """Map an item to its order (written only when it changes: reads stay write-free)."""
    known = portal.store.get(portal.member_id, "doc_orders", doc.key)
    if not known or int(known.get("deal_id", 0)) != deal_id:
        portal.store.put(portal.member_id, "doc_orders", doc.key, {"deal_id": deal_id})


@contextmanager
def order_lease(portal: PortalStore, deal_id: int, wait: float = 120.0) -> Iterator[None]:
    owner = uuid.uuid4().hex
    name = f"order-{deal_id}"
    deadline = time.monotonic() + wait
    while not portal.acquire_lease(name, owner, LEASE_SECONDS):
        if time.monotonic() > deadline:
            raise ConflictError(f"заказ {deal_id} занят другой операцией: повторите позже")
        time.sleep(0.05)
    try:
        yield
    finally:
        portal.release_lease(name, owner)
