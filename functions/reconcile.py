"""``reconcile``: the periodic repair of two-way sync (Cloud Scheduler publishes to ``b24goods-reconcile``).

A message without ``member_id`` fans out one message per installed portal; a message with one reconciles it.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import functions_framework

from b24goods.context import store
from b24goods.scheduled import handle_reconcile


def _publisher() -> Any:
    import os

    from google.cloud import pubsub_v1

    client = pubsub_v1.PublisherClient()
    topic = client.topic_path(os.environ.get("GOOGLE_CLOUD_PROJECT", "b24goods-local"),
                              os.environ.get("B24GOODS_RECONCILE_TOPIC", "b24goods-reconcile"))
    return lambda data: client.publish(topic, data).result(timeout=30)


@functions_framework.cloud_event
def reconcile(cloud_event: Any) -> None:
    raw = (cloud_event.data or {}).get("message", {}).get("data", "")
    message = json.loads(base64.b64decode(raw) or b"{}") if raw else {}
    handle_reconcile(store(), message, None if message.get("member_id") else _publisher())
