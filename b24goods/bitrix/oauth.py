"""OAuth token refresh, one at a time per portal across all instances.

The OAuth host comes from ``auth[server_endpoint]`` received from Bitrix24 (``oauth.bitrix.info`` or, for
RU-region portals, ``oauth.bitrix24.tech``; a sandbox or an on-premise portal names its own), never
hard-coded. Each refresh returns a new refresh token; whether the old one stays valid is not documented, so
two instances refreshing at once could invalidate each other: a lease in the store serialises refreshes and
the loser simply re-reads the token the winner saved (``settings/oauth/index.md``).
"""

from __future__ import annotations

import time
import uuid
from urllib.parse import urlsplit

import requests

from ..config import Config
from ..errors import AuthFailed, B24GoodsError, TransportError, rest_error_from
from ..store.portal import PortalStore

LEASE = "oauth-refresh"
LEASE_SECONDS = 20.0


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
        if self._token is None:
            inst = self.portal.installation(fresh=True)
            self._token = inst.access_token if inst else None
        return self._token

    def refresh(self, stale_token: str | None) -> str:
        self._token = self._refresh(stale_token)
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
