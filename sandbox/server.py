"""The sandbox portal over HTTP: ``/rest/<method>`` (OAuth) and ``/rest/<user>/<code>/<method>`` (webhook),
``/oauth/token/`` (refresh), ``/_sandbox/download/<id>`` (file ``urlMachine`` links).

Envelopes follow ``settings/how-to-call-rest-api/general-principles.md``: ``{"result", "total", "next",
"time"}`` or ``{"error", "error_description"}`` with the documented HTTP status.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.serving import WSGIRequestHandler, make_server

from b24goods.bitrix.phpform import parse_pairs

from . import spec
from .methods import APP_ONLY, METHODS, Ctx, Page, run_batch
from .portal import Portal, RestFault


def _params() -> dict[str, Any]:
    data: dict[str, Any] = parse_pairs(list(request.args.items(multi=True)))
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            data.update(body)
    else:
        data.update(parse_pairs(list(request.form.items(multi=True))))
    return data


def _envelope(page: Page, started: float, method: str, portal: Portal) -> dict[str, Any]:
    finish = time.time()
    out: dict[str, Any] = {"result": page.result}
    if page.total is not None and not portal.omit_totals:
        out["total"] = page.total
    if page.next is not None:
        out["next"] = page.next
    out["time"] = {"start": started, "finish": finish, "duration": finish - started, "processing": finish - started,
                   "date_start": datetime.fromtimestamp(started, UTC).isoformat(),
                   "date_finish": datetime.fromtimestamp(finish, UTC).isoformat(),
                   "operating_reset_at": int(finish) + 600, "operating": 0}
    return out


def dispatch(portal: Portal, ctx: Ctx, method: str, params: dict[str, Any]) -> Page:
    """Run one method (also used for each batch sub-command): validate, check context, execute."""
    name = method.lower()
    portal.calls.append(name)
    problem = spec.validate(method, {k: v for k, v in params.items() if k != "auth"})
    if problem:
        code, text = problem
        raise RestFault(code, text, 404 if code == "ERROR_METHOD_NOT_FOUND" else 400)
    if not ctx.app and name.startswith(APP_ONLY):
        raise RestFault("ACCESS_DENIED", "Application context required", 403)
    if name in portal.operating_limit:
        raise RestFault("OPERATION_TIME_LIMIT", "Method is blocked due to operation time limit.", 429)
    if portal.refuse is not None:
        fault = portal.refuse(name, params)
        if fault is not None:
            raise fault
    if name == "batch":
        return Page(run_batch(ctx, params, lambda m, p: dispatch(portal, ctx, m, p)))
    handler = METHODS.get(name)
    if handler is None:
        raise RestFault("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
    result = handler(ctx, params)
    return result if isinstance(result, Page) else Page(result)


def create_app(portal: Portal) -> Flask:
    app = Flask("b24goods-sandbox")

    def error(fault: RestFault) -> Response:
        resp = jsonify({"error": fault.code, "error_description": fault.description})
        resp.status_code = fault.status
        return resp

    @app.route("/rest/<path:path>", methods=["GET", "POST"])
    def rest(path: str) -> Response:
        started = time.time()
        parts = path.split("/")
        params = _params()
        try:
            portal.admit()
            if portal.latency:
                time.sleep(portal.latency)  # a slow portal: each HTTP call takes at least this long
            if len(parts) == 3:
                scopes = portal.webhooks.get((int(parts[0]) if parts[0].isdigit() else -1, parts[1]))
                if scopes is None:
                    raise RestFault("NO_AUTH_FOUND", "Wrong authorization data", 401)
                ctx = Ctx(portal, int(parts[0]), app=False)
                method = parts[2]
            elif len(parts) == 1:
                token = portal.authenticate(str(params.get("auth") or ""))
                ctx = Ctx(portal, token.user_id, app=True)
                method = parts[0]
            else:
                raise RestFault("ERROR_METHOD_NOT_FOUND", "Method not found!", 404)
            method = method[:-5] if method.endswith(".json") else method
            with portal.lock:
                page = dispatch(portal, ctx, method, params)
            return jsonify(_envelope(page, started, method, portal))
        except RestFault as fault:
            return error(fault)

    @app.route("/oauth/token/", methods=["GET", "POST"])
    def oauth() -> Response:
        try:
            return jsonify(portal.oauth_refresh({k: v for k, v in request.values.items()}))
        except RestFault as fault:
            return error(fault)

    @app.route("/_sandbox/download/<int:file_id>")
    def download(file_id: int) -> Response:
        stored = portal.files.get(file_id)
        if stored is None or request.args.get("token") != stored["sig"]:
            return Response("Not found", status=404)
        if portal.file_proxy_auth:
            try:
                with portal.lock:
                    portal.authenticate(request.args.get("auth"))
            except RestFault:
                return Response("Unauthorized", status=401)
        from urllib.parse import quote

        return Response(stored["content"], mimetype="application/octet-stream",
                        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(stored['name'])}"})

    @app.route("/_sandbox/card/<code>/<int:item_id>")
    def card_tab(code: str, item_id: int) -> Response:
        """The card's tab frame: the portal loads the bound handler by POSTing the placement payload."""
        from html import escape

        found = portal.placement_request(code, item_id, int(request.args.get("user", "1")))
        if found is None:
            return Response("Tab not bound", status=404)
        url, form = found
        inputs = "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(str(v))}">' for k, v in form.items())
        page = (f'<!doctype html><html><body><form id="f" method="post" action="{escape(url)}">{inputs}</form>'
                '<script>document.getElementById("f").submit();</script></body></html>')
        return Response(page, mimetype="text/html")

    return app


class _QuietHandler(WSGIRequestHandler):
    """The portal's own access log is the portal's business: it stays out of the application's logs."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class ServerThread:
    """A WSGI app served on a loopback port in a background thread."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, quiet: bool = False) -> None:
        self.server = make_server(host, port, app, threaded=True,
                                  request_handler=_QuietHandler if quiet else None)
        self.port = self.server.server_port
        self.url = f"http://{host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ServerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)
