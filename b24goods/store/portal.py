"""A portal's view of the store: every read and write is scoped to one ``member_id``.

Application code never touches :class:`DocumentStore` directly; it gets a :class:`PortalStore` for the
portal that called, so portals cannot see each other's data by construction.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from .base import Doc, DocumentStore, now_utc, sortable_key
from .models import HistoryEntry, Installation, Job, Settings

IDEMPOTENCY_TTL = timedelta(days=7)


def token_key(token: str) -> str:
    """Store keys derived from tokens are hashes: the token itself is a credential."""
    return hashlib.sha256(token.encode()).hexdigest()


class PortalStore:
    def __init__(self, store: DocumentStore, member_id: str) -> None:
        if not member_id or "/" in member_id:
            raise ValueError("member_id must be a non-empty string without '/'")
        self.store = store
        self.member_id = member_id
        self._memo: dict[str, Any] = {}  # installation and settings, read once per request

    def forget_memo(self) -> None:
        self._memo.clear()

    # installation -----------------------------------------------------------------------------------
    def installation(self, fresh: bool = False) -> Installation | None:
        """The installation as read once by this request; ``fresh`` reads it again (tokens, leases)."""
        if fresh or "installation" not in self._memo:
            doc = self.store.get(self.member_id, "portal", "installation")
            self._memo["installation"] = Installation.model_validate(doc) if doc else None
        return self._memo["installation"]  # type: ignore[no-any-return]

    def save_installation(self, inst: Installation) -> None:
        self._memo.pop("installation", None)
        self.store.put(self.member_id, "portal", "installation", inst.model_dump(mode="json"))

    def update_tokens(self, access_token: str, refresh_token: str, expires: int | None) -> None:
        def mutate(doc: Doc | None) -> Doc | None:
            if doc is None:
                return None
            return {**doc, "access_token": access_token, "refresh_token": refresh_token, "expires": expires}

        self._memo.pop("installation", None)
        self.store.transact(self.member_id, "portal", "installation", mutate)

    def forget_tokens(self) -> None:
        """``ONAPPUNINSTALL``: the portal revoked us; keep nothing that grants access."""
        def mutate(doc: Doc | None) -> Doc | None:
            if doc is None:
                return None
            return {**doc, "access_token": None, "refresh_token": None, "active": False}

        self._memo.pop("installation", None)
        self.store.transact(self.member_id, "portal", "installation", mutate)

    def purge(self) -> int:
        """``ONAPPUNINSTALL`` with ``CLEAN=1``: the admin asked for the application's data to go. Everything
        of this portal (installation, settings, orders, history, jobs) is deleted; returns how many documents."""
        self._memo.clear()
        return self.store.drop_namespace(self.member_id)

    # settings ---------------------------------------------------------------------------------------
    def settings(self) -> Settings:
        if "settings" not in self._memo:
            self._memo["settings"] = Settings.model_validate(self.store.get(self.member_id, "portal", "settings") or {})
        return self._memo["settings"].model_copy(deep=True)  # type: ignore[no-any-return]

    def update_settings(self, **changes: Any) -> Settings:
        def mutate(doc: Doc | None) -> Doc | None:
            merged = Settings.model_validate({**(doc or {}), **changes})
            return merged.model_dump(mode="json")

        self._memo.pop("settings", None)
        return Settings.model_validate(self.store.transact(self.member_id, "portal", "settings", mutate))

    # idempotency ------------------------------------------------------------------------------------
    def claim_once(self, kind: str, token: str, ttl: timedelta = IDEMPOTENCY_TTL) -> bool:
        """``True`` the first time ``(kind, token)`` is seen; ``False`` for every repeat (create semantics)."""
        return self.store.create(self.member_id, "idempotency", f"{kind}-{token_key(token)}",
                                 {"kind": kind, "at": now_utc().isoformat()}, expires_at=now_utc() + ttl)

    # leases -----------------------------------------------------------------------------------------
    def acquire_lease(self, name: str, owner: str, seconds: float) -> bool:
        got = False

        def mutate(doc: Doc | None) -> Doc | None:
            nonlocal got
            now = time.time()
            if doc and doc.get("owner") != owner and float(doc.get("until", 0)) > now:
                got = False
                return None
            got = True
            return {"owner": owner, "until": now + seconds}

        self.store.transact(self.member_id, "leases", name, mutate)
        return got

    def release_lease(self, name: str, owner: str) -> None:
        def mutate(doc: Doc | None) -> Doc | None:
            if doc and doc.get("owner") == owner:
                return {"owner": None, "until": 0}
            return None

        self.store.transact(self.member_id, "leases", name, mutate)

    # jobs -------------------------------------------------------------------------------------------
    def create_job(self, job: Job) -> bool:
        return self.store.create(self.member_id, "jobs", job.id, job.model_dump(mode="json"))

    def job(self, job_id: str) -> Job | None:
        doc = self.store.get(self.member_id, "jobs", job_id)
        return Job.model_validate(doc) if doc else None

    def update_job(self, job_id: str, change: Callable[[Job], Job | None]) -> Job | None:
        def mutate(doc: Doc | None) -> Doc | None:
            if doc is None:
                return None
            new = change(Job.model_validate(doc))
            if new is None:
                return None
            new.updated_at = now_utc().isoformat()
            return new.model_dump(mode="json")

        doc = self.store.transact(self.member_id, "jobs", job_id, mutate)
        return Job.model_validate(doc) if doc else None

    def jobs(self, limit: int = 500) -> list[Job]:
        return [Job.model_validate(d) for _, d in self.store.list(self.member_id, "jobs", limit=limit)]

    # orders -----------------------------------------------------------------------------------------
    def order(self, deal_id: int) -> Doc:
        return self.store.get(self.member_id, "orders", str(deal_id)) or {}

    def update_order(self, deal_id: int, mutate: Callable[[Doc], Doc | None]) -> Doc:
        """Atomic read-modify-write of one order's state; ``version`` grows by one on every write."""
        def wrapped(doc: Doc | None) -> Doc | None:
            current = doc or {"version": 0}
            new = mutate(dict(current))
            if new is None:
                return None
            new["version"] = int(current.get("version", 0)) + 1
            return new

        return self.store.transact(self.member_id, "orders", str(deal_id), wrapped) or {}

    # history ----------------------------------------------------------------------------------------
    def add_history(self, deal_id: int, entry: HistoryEntry) -> str:
        key = sortable_key()
        self.store.put(self.member_id, f"orders/{deal_id}/history", key, entry.model_dump(mode="json"))
        return key

    def history(self, deal_id: int, limit: int = 20, before: str | None = None) -> list[tuple[str, HistoryEntry]]:
        """Newest first; pass the last key as ``before`` for the next page."""
        rows = self.store.list(self.member_id, f"orders/{deal_id}/history", limit=limit, start_after=before,
                               descending=True)
        return [(k, HistoryEntry.model_validate(d)) for k, d in rows]
