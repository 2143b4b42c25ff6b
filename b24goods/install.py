"""Installation: store the portal, register every robot, bind events, set up smart processes. Idempotent.

- Robots: ``bizproc.robot.list`` → ``update`` the ones present, ``add`` the rest (``bizproc-robot-*.md``);
  an app update deletes all robots on the portal side, so this runs at every install. Where the list method
  is unavailable, ``add`` answering ``ERROR_ACTIVITY_ALREADY_INSTALLED`` falls back to ``update``.
- Events: ``event.bind`` for ``ONCRMDEALUPDATE``, ``ONCRMDYNAMICITEMADD``, ``ONCRMDYNAMICITEMUPDATE`` and ``ONAPPUNINSTALL``; an
  "already bound" answer is success.
- The tokens are proven before anything is stored: registration is done with them first. An active
  installation can only be replaced by a call carrying its application token or from its own endpoint,
  so a forged install cannot take over a portal.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from activities import ALL

from .bitrix.client import Command, RestClient, StaticToken
from .bitrix.payloads import AuthBlock
from .config import Config
from .errors import CallerError, PayloadError, RestError
from .store.base import now_utc
from .store.models import Installation
from .store.portal import PortalStore

EVENTS = ("ONCRMDEALUPDATE", "ONCRMDYNAMICITEMADD", "ONCRMDYNAMICITEMUPDATE", "ONAPPUNINSTALL")
# Without these the application cannot do what DESIGN §3.2 promises (sync, uninstall): a refusal fails the install.
# ONCRMDYNAMICITEMADD only lets a new item join its order at once; without it the item joins at its first update
# or at the scheduled reconcile, so a portal that refuses it gets a warning, not a failed installation.
REQUIRED_EVENTS = frozenset({"ONCRMDEALUPDATE", "ONCRMDYNAMICITEMUPDATE", "ONAPPUNINSTALL"})
ITEM_TYPE_CODE = "b24goods_item"
AGREEMENT_TYPE_CODE = "b24goods_agreement"


@dataclass
class InstallReport:
    robots_added: list[str] = field(default_factory=list)
    robots_updated: list[str] = field(default_factory=list)
    events_bound: list[str] = field(default_factory=list)
    tabs_bound: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__


def _same_host(a: str | None, b: str | None) -> bool:
    return bool(a and b) and urlsplit(a).netloc.lower() == urlsplit(b).netloc.lower()


def install(portal: PortalStore, auth: AuthBlock, cfg: Config, rest: RestClient | None = None) -> InstallReport:
    if not auth.application_token or not auth.access_token or not auth.client_endpoint:
        raise PayloadError("install call needs auth[application_token], auth[access_token] and "
                           "auth[client_endpoint]")
    existing = portal.installation()
    if existing and existing.active and not (
            hmac.compare_digest(existing.application_token, auth.application_token)
            or _same_host(existing.client_endpoint, auth.client_endpoint)):
        raise CallerError("an active installation of this portal exists at another address")
    rest = rest or RestClient(auth.client_endpoint,
                              tokens=StaticToken(auth.access_token, "the install token has expired: install again"))
    report = InstallReport()
    register_robots(rest, cfg, report, auth.user_id)
    bind_events(rest, cfg, report)
    portal.save_installation(Installation(
        member_id=auth.member_id, domain=auth.domain, client_endpoint=auth.client_endpoint,
        server_endpoint=auth.server_endpoint, application_token=auth.application_token,
        access_token=auth.access_token, refresh_token=auth.refresh_token, expires=auth.expires,
        user_id=auth.user_id, scope=auth.scope, installed_at=now_utc().isoformat(), active=True))
    from .context import reset_clients
    from .registry import register

    reset_clients(portal.member_id)  # cached clients of this portal hold the previous tokens
    register(portal.store, portal.member_id)
    setup_smart_processes(rest, portal, report)
    setup_catalog(rest, portal, report)
    bind_tabs(rest, cfg, portal, report)
    report.settings = portal.settings().model_dump(mode="json")
    return report


def register_robots(rest: RestClient, cfg: Config, report: InstallReport, auth_user_id: int | None) -> None:
    try:
        present = set(rest.result("bizproc.robot.list") or [])
        listed = True
    except RestError as exc:
        report.warnings.append(f"bizproc.robot.list: {exc.code}")
        present, listed = set(), False
    commands: list[Command] = []
    for activity in ALL:
        fields = activity.registration(cfg.handler_url(activity.function), auth_user_id)
        if activity.code in present:
            commands.append((f"u_{activity.code}", "bizproc.robot.update",
                             {"CODE": activity.code, "FIELDS": {k: v for k, v in fields.items() if k != "CODE"}}))
        else:
            commands.append((f"a_{activity.code}", "bizproc.robot.add", fields))
    res = rest.batch(commands)
    for key, _, params in commands:
        code = str(params["CODE"])
        err = res.errors.get(key)
        if err is None:
            (report.robots_updated if key.startswith("u_") else report.robots_added).append(code)
        elif key.startswith("a_") and (err.code == "ERROR_ACTIVITY_ALREADY_INSTALLED" or not listed):
            fields = {k: v for k, v in params.items() if k != "CODE"}
            rest.result("bizproc.robot.update", {"CODE": code, "FIELDS": fields})
            report.robots_updated.append(code)
        else:
            raise err


def bind_events(rest: RestClient, cfg: Config, report: InstallReport) -> None:
    handler = cfg.handler_url("events")
    res = rest.batch([(f"e_{name}", "event.bind", {"event": name, "handler": handler}) for name in EVENTS])
    for name in EVENTS:
        err = res.errors.get(f"e_{name}")
        if err is None or "already" in err.message.lower() or "ALREADY" in err.code.upper():
            report.events_bound.append(name)
        elif name in REQUIRED_EVENTS:
            raise err
        else:
            report.warnings.append(f"event.bind {name}: {err.code}")


TAB_TITLE = {"ru": "Товары и услуги", "en": "Goods and services"}


def tab_placements(portal: PortalStore) -> list[str]:
    """The deal card and the item card (``CRM_DYNAMIC_<entityTypeId>_DETAIL_TAB``)."""
    codes = ["CRM_DEAL_DETAIL_TAB"]
    item_type = portal.settings().item_entity_type_id
    if item_type:
        codes.append(f"CRM_DYNAMIC_{item_type}_DETAIL_TAB")
    return codes


def bind_tabs(rest: RestClient, cfg: Config, portal: PortalStore, report: InstallReport) -> None:
    """``placement.bind`` of the "Товары и услуги" tab; a handler already bound is fine (re-install)."""
    handler = cfg.handler_url("placement")
    codes = tab_placements(portal)
    res = rest.batch([(f"p_{code}", "placement.bind", {
        "PLACEMENT": code, "HANDLER": handler, "TITLE": TAB_TITLE["ru"],
        "LANG_ALL": {lang: {"TITLE": title} for lang, title in TAB_TITLE.items()}}) for code in codes])
    for code in codes:
        err = res.errors.get(f"p_{code}")
        if err is None or "ALREADY" in err.code.upper():
            report.tabs_bound.append(code)
        else:
            report.warnings.append(f"placement.bind {code}: {err.code}")


def setup_smart_processes(rest: RestClient, portal: PortalStore, report: InstallReport) -> None:
    """Find (or create) the item and agreement smart processes and remember their ``entityTypeId``s.

    ``crm.type.list`` needs CRM admin rights, which the installing admin has; robots never call it. A
    failure here does not fail the installation: the settings can be pointed at existing types later.
    """
    settings = portal.settings()
    wanted = {"item_entity_type_id": (ITEM_TYPE_CODE, "Изделие"),
              "agreement_entity_type_id": (AGREEMENT_TYPE_CODE, "Доп. соглашение")}
    try:
        types = rest.list_all("crm.type.list", {}, items_key="types")
        changes: dict[str, Any] = {}
        for setting, (code, title) in wanted.items():
            if getattr(settings, setting):
                continue
            found = next((t for t in types if t.get("code") == code), None)
            if found is None:
                created = rest.result("crm.type.add", {"fields": {
                    "title": title, "code": code, "isLinkWithProductsEnabled": "Y", "isStagesEnabled": "Y",
                    "isBeginCloseDatesEnabled": "Y", "isAutomationEnabled": "Y", "isBizProcEnabled": "Y",
                    "isUseInUserfieldEnabled": "Y",
                    "relations": {"parent": [{"entityTypeId": 2, "isChildrenListEnabled": "Y"}]}}})
                found = (created or {}).get("type") or {}
            if found.get("entityTypeId"):
                changes[setting] = int(found["entityTypeId"])
        if changes:
            portal.update_settings(**changes)
    except RestError as exc:
        report.warnings.append(f"smart processes not set up ({exc.code}): run `python -m b24goods settings`")


def setup_catalog(rest: RestClient, portal: PortalStore, report: InstallReport) -> None:
    """Remember the product catalog's iblock and the article property (admin-only lookups, done once here)."""
    from .bitrix.crm import product_catalog_iblock

    try:
        iblock = product_catalog_iblock(rest)
        changes: dict[str, Any] = {"catalog_iblock_id": iblock}
        if iblock:
            props = rest.list_all("catalog.productProperty.list", {"filter": {"iblockId": iblock}},
                                  items_key="productProperties")
            article = next((p for p in props if str(p.get("code", "")).upper() == "CML2_ARTICLE"), None) or next(
                (p for p in props if str(p.get("name", "")).strip().lower() in {"артикул", "article", "sku"}), None)
            changes["article_property_id"] = int(article["id"]) if article else None
            types = rest.list_all("catalog.priceType.list", {}, items_key="priceTypes")
            base = next((t for t in types if str(t.get("base", "")).upper() == "Y"), None)
            changes["base_price_type_id"] = int(base["id"]) if base else None
        portal.update_settings(**changes)
    except RestError as exc:
        report.warnings.append(f"catalog not inspected ({exc.code}): products are matched by name only")


def uninstall(portal: PortalStore, application_token: str | None, *, clean: bool = False) -> None:
    """``ONAPPUNINSTALL``: the tokens are forgotten at once. ``clean`` (the admin ticked "delete application
    data", ``data[CLEAN]=1``) deletes everything the application holds for this portal."""
    inst = portal.installation()
    if inst is None:
        return
    if not application_token or not hmac.compare_digest(inst.application_token, application_token):
        raise CallerError("application_token does not match the installation")
    from .context import reset_clients
    from .registry import unregister
    from .robot import forget_open_jobs

    portal.forget_tokens()
    reset_clients(portal.member_id)
    unregister(portal.store, portal.member_id)
    if clean:
        forget_open_jobs(portal.store, portal.member_id)
        portal.purge()
