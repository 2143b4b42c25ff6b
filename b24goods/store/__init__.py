"""Store adapters and the per-portal view over them."""

from __future__ import annotations

import threading

from ..errors import B24GoodsError
from .base import DocumentStore

_lock = threading.Lock()
_cache: dict[str, DocumentStore] = {}


def open_store(url: str) -> DocumentStore:
    """``sqlite:///path`` (relative to the working directory), ``sqlite:///:memory:`` or ``firestore``."""
    if url.startswith("sqlite:///"):
        from .sqlite import SqliteStore

        return SqliteStore(url[len("sqlite:///"):])
    if url == "firestore" or url.startswith("firestore:"):
        from .firestore import FirestoreStore

        project = url.split(":", 1)[1].lstrip("/") if ":" in url else None
        return FirestoreStore(project=project or None)
    raise B24GoodsError(f"B24GOODS_STORE={url!r}: expected sqlite:///<path> or firestore", code="BAD_CONFIG")


def shared_store(url: str) -> DocumentStore:
    """One store client per process and URL, reused across requests (warm instances keep it)."""
    with _lock:
        store = _cache.get(url)
        if store is None:
            store = _cache[url] = open_store(url)
        return store


def reset_shared_stores() -> None:
    with _lock:
        for store in _cache.values():
            store.close()
        _cache.clear()
