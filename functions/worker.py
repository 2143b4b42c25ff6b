"""``worker``: runs durable jobs delivered by Pub/Sub (``B24GOODS_QUEUE=pubsub``).

Pub/Sub delivers at least once; a redelivered message finds the job done (or leased by another worker) and
does nothing. A retryable failure raises, so Pub/Sub redelivers with its backoff.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import functions_framework

from b24goods.context import store
from b24goods.robot import run_job


def handle_message(data: bytes) -> Any:
    message = json.loads(data)
    return run_job(store(), str(message["member_id"]), str(message["job_id"]))


@functions_framework.cloud_event
def worker(cloud_event: Any) -> None:
    payload = cloud_event.data.get("message", {}).get("data", "")
    handle_message(base64.b64decode(payload))
