"""The scheduled repair pass: ``reconcile`` every installed portal (Cloud Scheduler → Pub/Sub → function).

The schedule's message carries no portal: it fans out one message per installed portal to the same topic, so
each portal is reconciled by its own invocation (its own timeout, its own retries, in parallel). A message
that names a portal reconciles that portal. Reconcile is idempotent, so a redelivered message costs reads only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from .context import portal_context
from .registry import installed_portals
from .store.base import DocumentStore
from .store.portal import PortalStore

log = logging.getLogger(__name__)


def handle_reconcile(db: DocumentStore, message: dict[str, Any], publish: Callable[[bytes], None] | None) -> dict[str, Any]:
    member_id = message.get("member_id")
    if member_id:
        from .sync import reconcile

        portal = PortalStore(db, str(member_id))
        inst = portal.installation()
        if inst is None or not inst.active:
            return {"member_id": member_id, "skipped": "not installed"}
        pc = portal_context(portal)
        return {"member_id": member_id, **reconcile(pc.rest, portal, inst.client_endpoint)}
    portals = installed_portals(db)
    if publish is None:
        return {"portals": [handle_reconcile(db, {"member_id": m}, None) for m in portals]}
    for m in portals:
        publish(json.dumps({"member_id": m}).encode())
    log.info("reconcile fanned out to %d portals", len(portals))
    return {"fanned_out": len(portals)}
