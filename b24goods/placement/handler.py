"""The ``placement`` function: the portal opens the tab; the tab's forms post back with a signed session.

Opening: ``APPLICATION_TOKEN`` must match the installation (else 401, nothing read), then the viewing user's
``AUTH_ID`` is checked with ``user.current`` on the portal's own endpoint (else 401) and the rows are read with
that user's token, so the tab shows only what the user may see in the CRM. Follow-up forms (history pages, CSV
preview and confirm, row edits) carry the session of :mod:`.session`, bound to that user and that document;
they act with the application's token, like the robots, and record the user in history.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Request, Response

from ..bitrix.client import RestClient, StaticToken
from ..bitrix.payloads import DocumentRef, PlacementCall, parse_model
from ..context import portal_context, store, verify_caller
from ..errors import AuthFailed, B24GoodsError, CallerError, ForgedCall, PayloadError, RestError
from ..store.portal import PortalStore
from . import actions
from . import session as sessions
from .render import render_tab
from .view import build_view, can_see_costs, document_of_placement


def handle(request: Request, data: dict[str, Any]) -> Response:
    if data.get("tab_session"):
        return _follow_up(request, data)
    return _open(request, data)


def _html(text: str, status: int = 200) -> Response:
    resp = Response(text, status=status, mimetype="text/html")
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _action_url(request: Request) -> str:
    """Post back to the URL the portal opened (the gateway serves the function at one fixed path)."""
    query = request.query_string.decode()
    return (request.script_root or "") + "/" + (f"?{query}" if query else "")


def _open(request: Request, data: dict[str, Any]) -> Response:
    call: PlacementCall = parse_model(PlacementCall, data, "placement call")
    portal = verify_caller(call.member_id, call.APPLICATION_TOKEN)
    if not call.AUTH_ID:
        raise ForgedCall("AUTH_ID (the viewing user's token) is missing")
    doc = document_of_placement(call.PLACEMENT, call.options)
    inst = portal.installation()
    assert inst is not None
    # the user's token, checked on the portal's own endpoint stored at install (never the DOMAIN sent)
    rest = RestClient(inst.client_endpoint, tokens=StaticToken(call.AUTH_ID, "откройте карточку заново"))
    try:
        user = rest.result("user.current") or {}
    except (AuthFailed, RestError) as exc:
        raise ForgedCall(f"the viewing user's token was refused ({exc.code})") from None
    show_costs = can_see_costs(portal.settings(), user)
    tab = sessions.new_session(portal.member_id, int(user.get("ID") or 0), doc.entity_type_id, doc.id, show_costs)
    view = build_view(rest, portal, doc, show_costs=show_costs, client_endpoint=inst.client_endpoint)
    return _html(render_tab(view=view, session=sessions.sign(tab, inst.application_token),
                            action=_action_url(request)))


def _verified_session(token: str) -> tuple[PortalStore, sessions.TabSession, str]:
    portal = PortalStore(store(), sessions.member_of(token))
    inst = portal.installation()
    if inst is None or not inst.active:
        raise ForgedCall("the tab session names a portal that has not installed the application")
    tab = sessions.verify(token, inst.application_token)
    return portal, tab, token


def _follow_up(request: Request, data: dict[str, Any]) -> Response:
    portal, tab, token = _verified_session(str(data["tab_session"]))
    pc = portal_context(portal)
    doc = DocumentRef(entity_type_id=tab.entity_type_id, id=tab.item_id)
    op = str(data.get("op") or "")
    extra: dict[str, Any] = {}
    message = error = None
    before = None
    try:
        if op == "history":
            before = str(data.get("before") or "") or None
        elif op == "preview":
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                raise PayloadError("Выберите файл CSV")
            raw = upload.read(pc.cfg.max_csv_bytes + 1)
            mode, create = str(data.get("mode") or "append"), str(data.get("create_products") or "") == "Y"
            preview = actions.preview_import(pc.rest, portal, doc, raw, upload.filename, mode=mode,
                                             create_products=create, max_bytes=pc.cfg.max_csv_bytes)
            extra = {"preview": preview, "file_b64": base64.b64encode(raw).decode(), "mode": mode,
                     "create_products": create}
        elif op == "confirm":
            try:
                raw = base64.b64decode(str(data.get("file_b64") or ""), validate=True)
            except (binascii.Error, ValueError):
                raise PayloadError("Файл повреждён при передаче: загрузите его снова") from None
            message = actions.confirm_import(
                pc.rest, portal, doc, raw, str(data.get("filename") or "import.csv"),
                mode=str(data.get("mode") or "append"), create_products=str(data.get("create_products")) == "Y",
                max_bytes=pc.cfg.max_csv_bytes, user_id=tab.user_id)
        elif op == "edit":
            message = actions.edit_row(pc.rest, portal, doc, actions.RowEdit(
                row_id=_int(data.get("row_id")), quantity=str(data.get("quantity") or ""),
                list_price=str(data.get("list_price") or ""), discount_rate=str(data.get("discount_rate") or "0")),
                tab.user_id)
        else:
            raise PayloadError(f"неизвестное действие «{op}»")
    except (ForgedCall, CallerError):
        raise
    except B24GoodsError as exc:  # shown in the tab; nothing was half-written (each action checks first)
        error = exc.user_message
    view = build_view(pc.rest, portal, doc, show_costs=tab.show_costs, client_endpoint=pc.installation.client_endpoint,
                      history_before=before)
    return _html(render_tab(view=view, session=token, action=_action_url(request), message=message, error=error,
                            **extra))


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise PayloadError("row_id: ожидается число") from None
