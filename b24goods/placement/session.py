"""A signed session for the tab's own follow-up requests (paging, preview, confirm, edit).

The first request comes from the portal and is verified by ``APPLICATION_TOKEN`` and the viewing user's token.
The page then posts back to the function without those: each form carries a session signed with HMAC-SHA256
under the portal's ``application_token`` (a secret only the portal and the app know), naming the portal, the
user, the one document the tab shows, and an expiry. A forged or stale session changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from ..errors import ForgedCall

TTL_SECONDS = 8 * 3600  # a working day with the card open


@dataclass(frozen=True)
class TabSession:
    member_id: str
    user_id: int
    entity_type_id: int
    item_id: int
    expires: float
    show_costs: bool = False  # decided when the portal opened the tab (user ids / departments in settings)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(session: TabSession, secret: str) -> str:
    body = _b64(json.dumps([session.member_id, session.user_id, session.entity_type_id, session.item_id,
                            int(session.expires), int(session.show_costs)], separators=(",", ":")).encode())
    mac = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def member_of(token: str) -> str:
    """The portal a session claims (to look up its secret); not trusted until :func:`verify`."""
    try:
        return str(json.loads(_unb64(token.split(".", 1)[0]))[0])
    except (ValueError, IndexError, TypeError):
        raise ForgedCall("the tab session is malformed") from None


def verify(token: str, secret: str, now: float | None = None) -> TabSession:
    body, _, mac = (token or "").partition(".")
    expected = _b64(hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest())
    if not body or not hmac.compare_digest(mac, expected):
        raise ForgedCall("the tab session signature does not match")
    member, user, etid, item, expires, costs = json.loads(_unb64(body))
    if float(expires) < (now or time.time()):
        raise ForgedCall("the tab session has expired: reopen the card")
    return TabSession(str(member), int(user), int(etid), int(item), float(expires), bool(costs))


def new_session(member_id: str, user_id: int, entity_type_id: int, item_id: int, show_costs: bool) -> TabSession:
    return TabSession(member_id, user_id, entity_type_id, item_id, time.time() + TTL_SECONDS, show_costs)
