"""Sending notifications (``im.notify.system.add``): one batch for all recipients, the tag replacing a stale
one; and the BB-code links to cards that they carry. Every feature that tells people something uses this."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from .bitrix import crm
from .bitrix.client import RestClient

log = logging.getLogger(__name__)


def deal_link(client_endpoint: str, deal_id: int, title: str) -> str:
    base = client_endpoint.rsplit("/rest/", 1)[0]
    return f"[URL={base}/crm/deal/details/{deal_id}/]{title or f'Сделка #{deal_id}'}[/URL]"


def send(rest: RestClient, users: Iterable[int | None], message: str, tag: str | None = None) -> list[int]:
    """Notify each user once; returns who was notified (unknown users are skipped, not fatal)."""
    ids = sorted({int(u) for u in users if u})
    if not ids:
        return []
    res = crm.notify(rest, ids, message, tag)
    for key, err in res.errors.items():
        log.info("notification to %s not sent: %s", key, err.code)
    return [uid for uid in ids if f"u{uid}" not in res.errors]
