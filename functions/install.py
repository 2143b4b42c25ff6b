"""``install``: the local application's install callback / ``ONAPPINSTALL``."""

from __future__ import annotations

from typing import Any

from flask import Request, jsonify

from b24goods.bitrix.payloads import AuthBlock, parse_model
from b24goods.config import config
from b24goods.context import store
from b24goods.http import body_of, guarded
from b24goods.install import install as run_install
from b24goods.store.portal import PortalStore


@guarded
def install(request: Request) -> Any:
    data = body_of(request)
    auth = parse_model(AuthBlock, data.get("auth") or _placement_style(data), "install call")
    report = run_install(PortalStore(store(), auth.member_id), auth, config())
    return jsonify({"status": "installed", **report.as_dict()})


def _placement_style(data: dict[str, Any]) -> dict[str, Any]:
    """Install from the application page: ``AUTH_ID``, ``REFRESH_ID``, ``member_id``, ``DOMAIN``..."""
    domain = data.get("DOMAIN")
    scheme = "http" if str(data.get("PROTOCOL", "1")) == "0" else "https"  # query string: 0 http, 1 https
    return {"member_id": data.get("member_id"), "access_token": data.get("AUTH_ID"),
            "refresh_token": data.get("REFRESH_ID"), "expires_in": data.get("AUTH_EXPIRES"),
            "application_token": data.get("APPLICATION_TOKEN"), "domain": domain,
            "server_endpoint": data.get("SERVER_ENDPOINT"),
            "client_endpoint": f"{scheme}://{domain}/rest/" if domain else None}
