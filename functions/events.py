"""``events``: ``ONCRMDEALUPDATE``, ``ONCRMDYNAMICITEMUPDATE``, ``ONAPPUNINSTALL``."""

from __future__ import annotations

from typing import Any

from flask import Request, jsonify

import b24goods.features  # noqa: F401 - registers the event handlers of every feature
from b24goods.bitrix.payloads import EventCall, parse_model
from b24goods.context import store
from b24goods.events import handle_event
from b24goods.http import body_of, guarded
from b24goods.store.portal import PortalStore


@guarded
def events(request: Request) -> Any:
    call = parse_model(EventCall, body_of(request), "event")
    return jsonify(handle_event(call, lambda member_id: PortalStore(store(), member_id)))
