"""The list of installed portals (for the scheduled ``reconcile``): one document per portal, nothing else.

It lives in its own namespace, apart from every portal's data; it holds only the ``member_id`` and when the
portal installed, so nothing of one portal is readable through another.
"""

from __future__ import annotations

from .store.base import DocumentStore, now_utc

NAMESPACE = "~registry"  # '~' never occurs in a member_id (hex)


def register(db: DocumentStore, member_id: str) -> None:
    db.put(NAMESPACE, "portals", member_id, {"member_id": member_id, "at": now_utc().isoformat()})


def unregister(db: DocumentStore, member_id: str) -> None:
    db.delete(NAMESPACE, "portals", member_id)


def installed_portals(db: DocumentStore, page: int = 500) -> list[str]:
    out: list[str] = []
    after: str | None = None
    while True:
        batch = db.list(NAMESPACE, "portals", limit=page, start_after=after)
        out.extend(key for key, _ in batch)
        if len(batch) < page:
            return out
        after = batch[-1][0]
