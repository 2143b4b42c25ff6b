"""Events from the portal (``event.bind`` handlers), dispatched by name after verification.

Events carry only ids (``data[FIELDS][ID]``) and may arrive late, duplicated or out of order (the queue does
not retry and documents no ordering, ``events/index.md``): handlers re-read the current state and are
idempotent. Handlers for CRM updates are registered by the features that need them (sync, lock).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .bitrix.payloads import EventCall
from .context import verify_caller
from .store.portal import PortalStore

log = logging.getLogger(__name__)

Handler = Callable[[PortalStore, EventCall], dict[str, Any]]
_HANDLERS: dict[str, list[Handler]] = {}


def on(event: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS.setdefault(event.upper(), []).append(fn)
        return fn

    return register


def handle_event(call: EventCall, portal_factory: Callable[[str], PortalStore]) -> dict[str, Any]:
    name = call.name
    if name == "ONAPPINSTALL":  # bound here by an admin, or the install callback pointed at this path
        from .config import config
        from .install import install

        return {"status": "installed", **install(portal_factory(call.auth.member_id), call.auth, config()).as_dict()}
    if name == "ONAPPUNINSTALL":
        from .install import uninstall

        data = call.data if isinstance(call.data, dict) else {}
        clean = str(data.get("CLEAN", "0")).strip() in ("1", "Y")
        uninstall(portal_factory(call.auth.member_id), call.auth.application_token, clean=clean)
        return {"status": "uninstalled", "data_deleted": clean}
    portal = verify_caller(call.auth.member_id, call.auth.application_token)
    results: dict[str, Any] = {"status": "ok", "event": name}
    for handler in _HANDLERS.get(name, []):
        results[handler.__name__] = handler(portal, call)
    return results
