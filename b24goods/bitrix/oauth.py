"""OAuth token refresh, one at a time per portal across all instances.

The OAuth host comes from ``auth[server_endpoint]`` received from Bitrix24 (``oauth.bitrix.info`` or, for
RU-region portals, ``oauth.bitrix24.tech``; a sandbox or an on-premise portal names its own), never
hard-coded. Each refresh returns a new refresh token; whether the old one stays valid is not documented, so
two instances refreshing at once could invalidate each other: a lease in the store serialises refreshes and
the loser simply re-reads the token the winner saved (``settings/oauth/index.md``).

A robot call carries a fresh token of its own (the robot's run-as user, which registration sets to the
installing admin). When the stored token has expired and cannot be refreshed (the OAuth server is down, the
client secret is wrong or not configured), a robot running inside its own request goes on with that token
rather than failing the business process: :func:`robot_token` offers it for the request alone. It is never
stored, never used for another portal or another request, and never offered by events, whose tokens belong to
whoever edited the order.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from ..config import Config
from ..errors import AuthFailed, B24GoodsError, TransportError, rest_error_from
from ..store.portal import PortalStore

log = logging.getLogger(__name__)

LEASE = "oauth-refresh"
LEASE_SECONDS = 20.0


@dataclass
class _Offered:
    member_id: str
    token: str
    in_use: bool = False  # the stored token failed to refresh: this request goes on with the offered one


_offered: ContextVar[_Offered | None] = ContextVar("b24goods_robot_token", default=None)


@contextmanager
def robot_token(member_id: str, access_token: str | None) -> Iterator[None]:
    """Within a verified robot call: its own token, the fallback when the portal's pair cannot be refreshed."""
    if not access_token:
        yield
        return
    reset = _offered.set(_Offered(member_id, access_token))
    try:
        yield
    finally:
        _offered.reset(reset)


def _offered_for(member_id: str) -> _Offered | None:
    offered = _offered.get()
    return offered if offered is not None and offered.member_id == member_id else None


def token_url(server_endpoint: str | None, client_endpoint: str) -> str:
    """``https://oauth.bitrix.info/rest/`` → ``https://oauth.bitrix.info/oauth/token/``."""
    parts = urlsplit(server_endpoint or client_endpoint)
    return f"{parts.scheme}://{parts.netloc}/oauth/token/"


class PortalTokens:
    """The token source of :class:`~b24goods.bitrix.client.RestClient` for an installed portal."""

    def __init__(self, portal: PortalStore, cfg: Config, session: requests.Session | None = None,
                 wait: float = 15.0) -> None:
        self.portal = portal
        self.cfg = cfg
        self.session = session or requests.Session()
        self.wait = wait
        self._token: str | None = None  # kept in memory: one store read per refresh, not per call

    def access_token(self) -> str | None:
        offered = _offered_for(self.portal.member_id)
        if offered is not None and offered.in_use:
            return offered.token
        if self._token is None:
            inst = self.portal.installation(fresh=True)
            self._token = inst.access_token if inst else None
        return self._token

    def refresh(self, stale_token: str | None) -> str:
        offered = _offered_for(self.portal.member_id)
        if offered is not None and offered.token == stale_token:
            offered.in_use = False  # the robot's own token has expired too: back to the portal's pair
            offered = None
        try:
            self._token = self._refresh(stale_token)
        except B24GoodsError as exc:
            if offered is None:
                raise
            log.info("token refresh failed (%s): the robot call goes on with its own token", exc.code)
            offered.in_use = True
            return offered.token
        return self._token

    def _refresh(self, stale_token: str | None) -> str:
        owner = uuid.uuid4().hex
        deadline = time.monotonic() + self.wait
        while True:
            inst = self.portal.installation(fresh=True)
            if inst is None or not inst.active:
                raise AuthFailed("the application is not installed on this portal", code="NOT_INSTALLED")
            if inst.access_token and inst.access_token != stale_token:
                return inst.access_token  # another instance refreshed it meanwhile
            if self.portal.acquire_lease(LEASE, owner, LEASE_SECONDS):
                try:
                    inst = self.portal.installation(fresh=True)
                    if inst and inst.access_token and inst.access_token != stale_token:
                        return inst.access_token
                    return self._refresh_now()
                finally:
                    self.portal.release_lease(LEASE, owner)
            if time.monotonic() > deadline:
                raise AuthFailed("token refresh is taking too long on another instance", code="REFRESH_TIMEOUT")
            time.sleep(0.2)

    def _refresh_now(self) -> str:
        inst = self.portal.installation(fresh=True)
        if inst is None or not inst.refresh_token:
            raise AuthFailed("no refresh token stored: reinstall the application", code="NO_REFRESH_TOKEN")
        if not self.cfg.client_id or not self.cfg.client_secret:
            raise B24GoodsError("B24GOODS_CLIENT_ID / B24GOODS_CLIENT_SECRET are not set: cannot refresh tokens",
                                code="BAD_CONFIG")
        try:
            resp = self.session.get(token_url(inst.server_endpoint, inst.client_endpoint), params={
                "grant_type": "refresh_token", "client_id": self.cfg.client_id,
                "client_secret": self.cfg.client_secret, "refresh_token": inst.refresh_token}, timeout=30)
        except requests.RequestException:
            raise TransportError("OAuth server did not answer", code="TRANSPORT_ERROR", method="oauth") from None
        try:
            data = resp.json()
        except ValueError:
            data = {}
        if resp.status_code != 200 or "access_token" not in data:
            raise rest_error_from(data.get("error", "invalid_grant"), data.get("error_description", "refresh failed"),
                                  status=resp.status_code or 401, method="oauth")
        self.portal.update_tokens(data["access_token"], data.get("refresh_token") or inst.refresh_token,
                                  int(data["expires"]) if data.get("expires") else None)
        return str(data["access_token"])
