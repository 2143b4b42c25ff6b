"""Firestore adapter (``B24GOODS_STORE=firestore``).

Layout: ``portals/{ns}/{collection}/{key}``; a collection path such as ``orders/2:15/history`` becomes a
subcollection. Read-modify-write runs in a Firestore transaction, which retries on contention: under
concurrent transactions the emulator behaves as production does, and the contract tests exercise it.
Expiring documents carry ``expires_at`` (a timestamp) for the TTL policy in ``infra/``; reads treat an
expired document as absent because TTL deletion may lag by a day.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from .base import EXPIRES_FIELD, Doc, Mutator, StoreStats, is_expired

_ROOT = "portals"
_KEY = "_key"  # the document id repeated as a field: Firestore cannot scan document ids in descending order
_MAX_ATTEMPTS = 25


class FirestoreStore:
    def __init__(self, project: str | None = None, client: Any = None) -> None:
        if client is None:
            from google.cloud import firestore  # lazy: keeps cold start of functions that do not need it small

            client = firestore.Client(project=project)
        self._client = client
        self.stats = StoreStats()

    def _coll(self, ns: str, coll: str) -> Any:
        return self._client.collection(_ROOT, ns, *coll.split("/"))

    def _ref(self, ns: str, coll: str, key: str) -> Any:
        return self._coll(ns, coll).document(key)

    @staticmethod
    def _doc(snapshot: Any) -> Doc | None:
        if not snapshot.exists:
            return None
        data: Doc = snapshot.to_dict() or {}
        data.pop(_KEY, None)
        return None if is_expired(data) else data

    def get(self, ns: str, coll: str, key: str) -> Doc | None:
        self.stats.reads += 1
        return self._doc(self._ref(ns, coll, key).get())

    def create(self, ns: str, coll: str, key: str, data: Doc, *, expires_at: datetime | None = None) -> bool:
        created = False

        def mutate(current: Doc | None) -> Doc | None:
            nonlocal created
            created = current is None
            if not created:
                return None
            return {**data, EXPIRES_FIELD: expires_at} if expires_at else dict(data)

        self.transact(ns, coll, key, mutate)
        return created

    def put(self, ns: str, coll: str, key: str, data: Doc, *, expires_at: datetime | None = None) -> None:
        self.stats.writes += 1
        doc = {**data, EXPIRES_FIELD: expires_at} if expires_at else dict(data)
        self._ref(ns, coll, key).set(_storable({**doc, _KEY: key}))

    def delete(self, ns: str, coll: str, key: str) -> None:
        self.stats.writes += 1
        self._ref(ns, coll, key).delete()

    def transact(self, ns: str, coll: str, key: str, mutate: Mutator) -> Doc | None:
        from google.cloud import firestore

        ref = self._ref(ns, coll, key)
        result: dict[str, Doc | None] = {}

        @firestore.transactional
        def run(transaction: Any) -> None:
            self.stats.transactions += 1
            self.stats.reads += 1
            current = self._doc(ref.get(transaction=transaction))
            new = mutate(_plain(current))
            if new is not None:
                self.stats.writes += 1
                stored = _storable({**new, _KEY: key})
                transaction.set(ref, stored)
                stored.pop(_KEY, None)
                result["doc"] = stored
            else:
                result["doc"] = current

        run(self._client.transaction(max_attempts=_MAX_ATTEMPTS))
        return _plain(result.get("doc"))

    def list(self, ns: str, coll: str, *, limit: int = 100, start_after: str | None = None,
             descending: bool = False) -> list[tuple[str, Doc]]:
        from google.cloud import firestore

        query = self._coll(ns, coll).order_by(
            _KEY, direction=firestore.Query.DESCENDING if descending else firestore.Query.ASCENDING)
        if start_after is not None:
            query = query.start_after({_KEY: start_after})
        docs = list(query.limit(limit).stream())
        self.stats.reads += max(1, len(docs))
        out = []
        for snap in docs:
            data = self._doc(snap)
            if data is not None:
                out.append((snap.id, _plain(data) or {}))
        return out

    def drop_namespace(self, ns: str) -> int:
        """``recursive_delete`` of the portal's document: every subcollection under it, in bulk writes.

        Its count includes the delete of the portal's own document, which is never written (it only parents
        collections), so that one is not counted as a document that went."""
        issued = int(self._client.recursive_delete(self._client.collection(_ROOT).document(ns)))
        self.stats.writes += max(1, issued)
        return max(0, issued - 1)

    def close(self) -> None:
        close = getattr(self._client, "close", None)
        if close:
            close()


def _storable(value: Any) -> Any:
    """What Firestore can hold: ``Decimal`` (money) as its exact text, as the SQLite adapter stores it."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {k: _storable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value]
    return value


def _plain(doc: Doc | None) -> Doc | None:
    """Firestore returns its own datetime subclass; hand back plain values (ISO strings for times)."""
    if doc is None:
        return None
    return {k: _plain_value(v) for k, v in doc.items()}


def _plain_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_value(v) for v in value]
    return value
