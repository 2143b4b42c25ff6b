"""The store port: a small document store with atomic read-modify-write.

Two adapters implement it (SQLite for the embedded default, Firestore for the cloud) and pass one contract
test suite (``tests/store/test_contract.py``). Everything is addressed by ``(namespace, collection, key)``;
the namespace is the portal's ``member_id``, so one portal's code path can never read another's documents
(see :class:`b24goods.store.portal.PortalStore`, the only way application code reaches the store).

``collection`` may be a path such as ``orders/2:15/history``: Firestore stores it as a subcollection, SQLite
as a plain string.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

Doc = dict[str, Any]
Mutator = Callable[[Doc | None], Doc | None]
"""Gets the current document (or ``None``) and returns the new one, or ``None`` to leave it unchanged.
It may run several times under contention, so it must have no side effects."""

EXPIRES_FIELD = "expires_at"  # Firestore TTL policy field (infra/firestore.ttl.json)


class StoreStats:
    """Counts operations, for benchmarks (``bench/``)."""

    def __init__(self) -> None:
        self.reads = 0
        self.writes = 0
        self.transactions = 0

    def snapshot(self) -> dict[str, int]:
        return {"reads": self.reads, "writes": self.writes, "transactions": self.transactions}


class DocumentStore(Protocol):
    stats: StoreStats

    def get(self, ns: str, coll: str, key: str) -> Doc | None: ...

    def create(self, ns: str, coll: str, key: str, data: Doc, *, expires_at: datetime | None = None) -> bool:
        """Write only if absent (or expired). ``True`` if this call created it."""
        ...

    def put(self, ns: str, coll: str, key: str, data: Doc, *, expires_at: datetime | None = None) -> None: ...

    def delete(self, ns: str, coll: str, key: str) -> None: ...

    def transact(self, ns: str, coll: str, key: str, mutate: Mutator) -> Doc | None:
        """Atomically apply ``mutate``; returns the document as stored afterwards."""
        ...

    def list(self, ns: str, coll: str, *, limit: int = 100, start_after: str | None = None,
             descending: bool = False) -> list[tuple[str, Doc]]:
        """Documents ordered by key."""
        ...

    def drop_namespace(self, ns: str) -> int:
        """Delete every document of a namespace, nested collections included: a portal that uninstalled asking
        for its data to be removed. Returns how many documents went."""
        ...

    def close(self) -> None: ...


def now_utc() -> datetime:
    return datetime.now(UTC)


def is_expired(doc: Doc | None, at: datetime | None = None) -> bool:
    if not doc or doc.get(EXPIRES_FIELD) is None:
        return False
    value = doc[EXPIRES_FIELD]
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return bool(value <= (at or now_utc()))


def sortable_key() -> str:
    """A key that sorts by creation time (for history: newest first with ``descending=True``)."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
