"""Per-portal context: its store view, its REST client (one pooled session per portal) and verification.

Clients are created lazily and reused across requests of a warm instance.
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass

from .bitrix.client import RestClient
from .bitrix.oauth import PortalTokens
from .config import Config, config
from .errors import ForgedCall, UnknownPortal
from .store import shared_store
from .store.base import DocumentStore
from .store.models import Installation, Settings
from .store.portal import PortalStore

_clients: dict[tuple[str, str, str], RestClient] = {}
_lock = threading.Lock()


@dataclass
class PortalContext:
    portal: PortalStore
    installation: Installation
    rest: RestClient
    cfg: Config

    @property
    def member_id(self) -> str:
        return self.portal.member_id

    def settings(self) -> Settings:
        return self.portal.settings()


def store() -> DocumentStore:
    return shared_store(config().store_url)


def verify_caller(member_id: str, application_token: str | None, db: DocumentStore | None = None) -> PortalStore:
    """Raise unless ``application_token`` equals the one stored at install for ``member_id``.

    Runs before anything else is done: no REST call and no write happen for a call that fails here.
    """
    portal = PortalStore(db or store(), member_id)
    inst = portal.installation()
    if inst is None or not inst.active:
        raise UnknownPortal("this portal has not installed the application")
    if not application_token or not hmac.compare_digest(inst.application_token, application_token):
        raise ForgedCall("application_token does not match the installation")
    return portal


def portal_context(portal: PortalStore, cfg: Config | None = None) -> PortalContext:
    cfg = cfg or config()
    inst = portal.installation()
    if inst is None:
        raise UnknownPortal("this portal has not installed the application")
    key = (cfg.store_url, portal.member_id, inst.client_endpoint)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = RestClient(inst.client_endpoint, tokens=PortalTokens(portal, cfg))
    return PortalContext(portal=portal, installation=inst, rest=client, cfg=cfg)


def reset_clients(member_id: str | None = None) -> None:
    """Drop cached clients (all, or one portal's after a new install or an uninstall: tokens changed)."""
    with _lock:
        for key in [k for k in _clients if member_id is None or k[1] == member_id]:
            del _clients[key]
