"""HTTP glue shared by every entry point in ``functions/``: parse, verify, answer with a clear JSON error.

Error answers never echo tokens or values from the body; they name the field and the reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from flask import Request, Response, jsonify

from .bitrix.oauth import robot_token
from .bitrix.payloads import RobotCall, parse_model, request_data
from .context import store, verify_caller
from .errors import B24GoodsError, PayloadError

if TYPE_CHECKING:
    from activities.base import Activity

log = logging.getLogger(__name__)


def body_of(request: Request) -> dict[str, Any]:
    json_body = request.get_json(silent=True) if request.is_json else None
    return request_data(list(request.form.items(multi=True)), json_body, list(request.args.items(multi=True)))


def error_response(exc: B24GoodsError) -> Response:
    resp = jsonify({"error": exc.code, "error_description": exc.user_message})
    resp.status_code = exc.http_status
    return resp


def guarded(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Turn application errors into HTTP answers; only POST is accepted."""
    def entry(request: Request) -> Any:
        if request.method != "POST":
            resp = jsonify({"error": "METHOD_NOT_ALLOWED", "error_description": "use POST"})
            resp.status_code = 405
            return resp
        try:
            return handler(request)
        except B24GoodsError as exc:
            log.info("%s refused: %s", handler.__name__, exc.code)
            return error_response(exc)

    entry.__name__ = handler.__name__
    return entry


def robot_endpoint(activity: Activity) -> Callable[[Request], Any]:
    """The whole entry point of a robot function (DESIGN §2)."""
    from .jobs import get_queue
    from .robot import accept_call, run_job

    def handle(request: Request) -> Any:
        data = body_of(request)
        if "event" in data or "workflow_id" not in data:
            raise PayloadError("not a robot call: workflow_id is missing")
        call: RobotCall = parse_model(RobotCall, data, "robot call")
        portal = verify_caller(call.auth.member_id, call.auth.application_token)
        call.document  # noqa: B018 - validates document_id before anything is written
        db = store()
        job, created = accept_call(db, portal, call, activity)
        if not created:
            return jsonify({"status": "duplicate", "job": job.id})
        if activity.long_running:
            get_queue(db).enqueue(portal.member_id, job.id)
            return jsonify({"status": "queued", "job": job.id})
        try:
            with robot_token(portal.member_id, call.auth.access_token):
                done = run_job(db, portal.member_id, job.id)
        except B24GoodsError as exc:
            if not exc.retryable:
                raise
            get_queue(db).enqueue(portal.member_id, job.id, delay=2.0)
            return jsonify({"status": "queued", "job": job.id})
        return jsonify({"status": done.state if done else "unknown", "job": job.id})

    handle.__name__ = activity.function
    return guarded(handle)
